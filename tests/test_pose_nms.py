"""OKS and OKS-NMS: hand-checked cases and equality with pycocotools' computeOks."""
import contextlib
import io
import math

import numpy as np
import pytest

from gluonpose.data.schema import COCO_PERSON, MPII, KeypointSchema
from gluonpose.utils.pose_nms import oks_iou, oks_nms, soft_oks_nms

pycoco = pytest.importorskip("pycocotools.coco")
from pycocotools.cocoeval import COCOeval  # noqa: E402


def test_oks_two_joint_hand_value():
    schema = KeypointSchema("two", ["a", "b"], sigmas=[0.1, 0.1])
    a = np.array([[10.0, 10.0, 2], [20.0, 20.0, 2]])
    b = np.array([[13.0, 14.0, 1], [20.0, 20.0, 1]])   # joint a off by (3, 4): d^2 = 25
    # e = 25 / (2 * 0.1)^2 / 100 / 2 = 3.125 (area 100 for both -> mean 100)
    expected = (math.exp(-3.125) + 1.0) / 2.0
    assert oks_iou(a, b, 100.0, 100.0, sigmas=schema) == pytest.approx(expected, rel=1e-12)
    assert oks_iou(a, b[None], 100.0, [100.0], sigmas=[0.1, 0.1]).shape == (1,)
    # mean of the two areas: (100 + 300) / 2 = 200 -> e = 1.5625
    assert oks_iou(a, b, 100.0, 300.0, sigmas=schema) == pytest.approx(
        (math.exp(-1.5625) + 1) / 2, rel=1e-12)
    # pycocotools mode: the reference ("ground truth") area only
    assert oks_iou(a, b, 100.0, 300.0, sigmas=schema, area_mode="a") == pytest.approx(
        expected, rel=1e-12)
    # only visible reference joints: joint b invisible -> exp(-3.125) alone
    a_vis = a.copy()
    a_vis[1, 2] = 0
    assert oks_iou(a_vis, b, 100.0, 100.0, sigmas=schema, vis_thresh=0) == pytest.approx(
        math.exp(-3.125), rel=1e-12)
    a_vis[:, 2] = 0
    assert oks_iou(a_vis, b, 100.0, 100.0, sigmas=schema, vis_thresh=0) == 0.0


def test_sigma_mismatch_is_reported():
    kpts = np.zeros((16, 3))
    with pytest.raises(ValueError, match="17 OKS sigmas"):
        oks_iou(kpts, kpts[None], 1.0, [1.0])             # default COCO vs 16 joints
    assert oks_iou(kpts, kpts[None], 1.0, [1.0], sigmas=MPII)[0] == pytest.approx(1.0)


def _coco_case(rng, num_gt, num_dt, num_joints=17):
    """Tiny COCO gt + results for one image; dts are noisy copies of gts (plus one random)."""
    w_img, h_img = 640, 480
    gts, dts = [], []
    for g in range(num_gt):
        x0, y0 = rng.uniform(0, 400), rng.uniform(0, 250)
        bw, bh = rng.uniform(40, 200), rng.uniform(60, 220)
        xy = np.stack([x0 + rng.uniform(0, bw, num_joints), y0 + rng.uniform(0, bh, num_joints)], 1)
        vis = rng.choice([0, 1, 2], size=num_joints, p=[0.25, 0.25, 0.5])
        vis[0] = 2                                        # at least one labelled joint
        xy[vis == 0] = 0
        kp = np.concatenate([xy, vis[:, None]], 1)
        gts.append(dict(id=g + 1, image_id=1, category_id=1, iscrowd=0, area=float(bw * bh),
                        bbox=[x0, y0, bw, bh], keypoints=kp.ravel().tolist(),
                        num_keypoints=int((vis > 0).sum())))
    for d in range(num_dt):
        src = np.array(gts[d % num_gt]["keypoints"]).reshape(-1, 3)
        xy = src[:, :2] + rng.normal(0, rng.uniform(1, 15), (num_joints, 2))
        if d == num_dt - 1:
            xy = rng.uniform(0, 480, (num_joints, 2))
        kp = np.concatenate([xy, rng.uniform(0, 1, (num_joints, 1))], 1)
        dts.append(dict(image_id=1, category_id=1, keypoints=kp.ravel().tolist(),
                        score=float(rng.uniform(0.1, 1.0))))
    cat = dict(id=1, name="person", keypoints=["k%d" % i for i in range(num_joints)],
               skeleton=[])
    data = dict(images=[dict(id=1, width=w_img, height=h_img, file_name="1.jpg")],
                annotations=gts, categories=[cat])
    return data, dts


@pytest.mark.parametrize("seed", range(4))
def test_oks_equals_pycocotools_compute_oks(seed):
    rng = np.random.RandomState(seed)
    data, dts = _coco_case(rng, num_gt=3, num_dt=5)
    with contextlib.redirect_stdout(io.StringIO()):
        gt = pycoco.COCO()
        gt.dataset = data
        gt.createIndex()
        dt = gt.loadRes(dts)
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.kpt_oks_sigmas = COCO_PERSON.sigmas
        ev.evaluate()
    ious = ev.ious[(1, 1)]                                # (D sorted by score desc, G)
    order = np.argsort([-d["score"] for d in dts], kind="mergesort")
    dt_kpts = np.array([dts[i]["keypoints"] for i in order]).reshape(len(dts), 17, 3)
    for g, ann in enumerate(data["annotations"]):
        ours = oks_iou(np.array(ann["keypoints"]).reshape(17, 3), dt_kpts, ann["area"],
                       np.zeros(len(dts)), sigmas=COCO_PERSON, vis_thresh=0, area_mode="a")
        np.testing.assert_allclose(ours, ious[:, g], rtol=1e-12, atol=1e-15)
    assert ious.max() > 0.3 and ious.min() < 0.1           # the case is not trivial


def _three_poses(rng):
    base = np.concatenate([rng.uniform(100, 300, (17, 2)), rng.uniform(0.5, 1, (17, 1))], 1)
    near = base.copy()
    near[:, :2] += rng.uniform(-0.5, 0.5, (17, 2))
    far = base.copy()
    far[:, :2] += 500
    return np.stack([base, near, far]), np.full(3, 200.0 * 150.0)


def test_oks_nms_hand_case():
    kpts, areas = _three_poses(np.random.RandomState(0))
    assert oks_iou(kpts[0], kpts[1:], areas[0], areas[1:])[0] > 0.99
    assert oks_iou(kpts[0], kpts[2], areas[0], areas[2]) < 1e-6
    np.testing.assert_array_equal(oks_nms(kpts, [0.9, 0.8, 0.7], areas, 0.9), [0, 2])
    # the near-duplicate wins when it scores higher; the distant pose always stays
    np.testing.assert_array_equal(oks_nms(kpts, [0.6, 0.8, 0.7], areas, 0.9), [1, 2])
    # a threshold above every overlap keeps all, in score order
    np.testing.assert_array_equal(oks_nms(kpts, [0.6, 0.8, 0.7], areas, 1.0), [1, 2, 0])
    assert oks_nms(np.zeros((0, 17, 3)), [], [], 0.9).size == 0


def test_oks_nms_matches_bruteforce():
    rng = np.random.RandomState(1)
    centres = rng.uniform(0, 200, (4, 1, 2))
    kpts = np.concatenate([(centres + rng.uniform(-30, 30, (4, 17, 2)))[rng.randint(0, 4, 30)]
                           + rng.normal(0, 3, (30, 17, 2)), rng.uniform(0, 1, (30, 17, 1))], 2)
    scores, areas = rng.uniform(0, 1, 30), rng.uniform(2000, 6000, 30)
    keep = oks_nms(kpts, scores, areas, 0.5)
    # reference: plain double loop over the score order
    alive, ref = list(np.argsort(-scores)), []
    while alive:
        i = alive.pop(0)
        ref.append(i)
        alive = [k for k in alive if oks_iou(kpts[i], kpts[k], areas[i], areas[k]) <= 0.5]
    np.testing.assert_array_equal(keep, ref)
    assert 1 < len(keep) < 30


def test_soft_oks_nms():
    kpts, areas = _three_poses(np.random.RandomState(0))
    scores = np.array([0.9, 0.8, 0.7])
    ovr = oks_iou(kpts[0], kpts[1:], areas[0], areas[1:])
    keep, new = soft_oks_nms(kpts, scores, areas, sigma=0.5)
    # Gaussian decay of the duplicate: 0.8 * exp(-oks^2 / 0.5) ~ 0.8 * 0.14 < 0.7
    assert new[1] == pytest.approx(0.8 * math.exp(-ovr[0] ** 2 / 0.5))
    assert new[0] == 0.9 and new[2] == pytest.approx(0.7)
    np.testing.assert_array_equal(keep, [0, 2, 1])
    keep, new = soft_oks_nms(kpts, scores, areas, sigma=0.5, score_thresh=0.2)
    np.testing.assert_array_equal(keep, [0, 2])
    keep, new = soft_oks_nms(kpts, scores, areas, thresh=0.3, method="linear")
    assert new[1] == pytest.approx(0.8 * (1 - ovr[0]))
    np.testing.assert_array_equal(keep, [0, 2, 1])
    keep, _ = soft_oks_nms(kpts, scores, areas, max_dets=1)
    np.testing.assert_array_equal(keep, [0])
    with pytest.raises(ValueError):
        soft_oks_nms(kpts, scores, areas, method="hard")
