"""Pose NMS: OKS and OKS-NMS (hand-checked, equal to pycocotools' computeOks) and parametric NMS."""
import contextlib
import io
import math

import numpy as np
import pytest

from gluonpose.data.schema import COCO_PERSON, MPII, KeypointSchema
from gluonpose.utils.pose_nms import (apply_pose_nms, oks_iou, oks_nms, parametric_pose_nms,
                                      parametric_similarity, resolve_pose_nms, soft_oks_nms)

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


# ----------------------------------------------------------------------------- parametric NMS

def _reference_parametric_nms(kpts, scores, boxes, delta1=1.0, mu=1.7, delta2=2.65,
                              gamma=22.48, score_thresh=0.3, match_thresh=5, alpha=0.1):
    """AlphaPose's parametric pose NMS written loop for loop from the RMPE description."""
    n, j = len(kpts), len(kpts[0])
    s = [[1e-5 if scores[i][k] == 0 else float(scores[i][k]) for k in range(j)] for i in range(n)]
    ref = [alpha * max(b[2] - b[0], b[3] - b[1]) for b in boxes]
    human = [sum(s[i]) / j for i in range(n)]

    def dist(a, b, k):
        return math.hypot(kpts[a][k][0] - kpts[b][k][0], kpts[a][k][1] - kpts[b][k][1])

    alive, picks, clusters = list(range(n)), [], []
    while alive:
        p = alive[0]
        for i in alive:
            if human[i] > human[p]:
                p = i
        cluster = []
        for q in alive:
            k_sim = h_sim = 0.0
            matched = 0
            for k in range(j):
                d = dist(p, q, k)
                if d <= 1:
                    k_sim += math.tanh(s[p][k] / delta1) * math.tanh(s[q][k] / delta1)
                h_sim += math.exp(-d / delta2)
                if d <= min(ref[p], 7):
                    matched += 1
            if q == p or k_sim + mu * h_sim > gamma or matched >= match_thresh:
                cluster.append(q)
        alive = [q for q in alive if q not in cluster]
        picks.append(p)
        clusters.append(cluster)
    keep, out_xy, out_s = [], [], []
    for p, cluster in zip(picks, clusters):
        if max(s[p]) < score_thresh:
            continue
        xy, sc = [], []
        for k in range(j):
            members = [q for q in cluster if dist(p, q, k) <= min(ref[p], 15)]
            total = sum(s[q][k] for q in members)
            xy.append([sum(kpts[q][k][c] * s[q][k] / total for q in members) for c in (0, 1)])
            sc.append(sum(s[q][k] * s[q][k] / total for q in members))
        if max(sc) < score_thresh:
            continue
        keep.append(p)
        out_xy.append(xy)
        out_s.append(sc)
    return keep, out_xy, out_s


def _pose(rng, j=17, centre=(200.0, 200.0), spread=60.0):
    return np.asarray(centre) + rng.uniform(-spread, spread, (j, 2))


def test_parametric_identical_poses_merge_into_the_original():
    rng = np.random.RandomState(0)
    a = _pose(rng)
    kpts = np.stack([a, a])
    scores = np.full((2, 17), 0.8)
    boxes = np.array([[100, 100, 300, 300]] * 2, float)
    # d = 0 everywhere: K_sim = 17 tanh(0.8)^2 = 7.51, H_sim = 17 -> 7.51 + 1.7 * 17 = 36.4 > 22.48;
    # the merge weights are 0.8 / 1.6 = 0.5 each: same place, score 2 * 0.8 * 0.5 = 0.8
    keep, merged, merged_s = parametric_pose_nms(kpts, scores, boxes)
    np.testing.assert_array_equal(keep, [0])
    np.testing.assert_allclose(merged[0], a, rtol=0, atol=1e-12)
    np.testing.assert_allclose(merged_s[0], 0.8, rtol=1e-12)


def test_parametric_far_apart_poses_are_both_kept_unchanged():
    rng = np.random.RandomState(1)
    a, b = _pose(rng), _pose(rng, centre=(900.0, 900.0))
    scores = np.stack([np.full(17, 0.7), np.full(17, 0.9)])
    boxes = np.array([[100, 100, 300, 300], [800, 800, 1000, 1000]], float)
    keep, merged, merged_s = parametric_pose_nms(np.stack([a, b]), scores, boxes)
    np.testing.assert_array_equal(keep, [1, 0])                # higher mean score picked first
    np.testing.assert_allclose(merged, np.stack([b, a]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(merged_s, scores[[1, 0]])


@pytest.mark.parametrize("num_close, box_side, suppressed", [
    (5, 100.0, True),     # 5 joints at 7 px, radius min(0.1 * 100, 7) = 7: 5 matches
    (4, 100.0, False),    # 4 matches < 5
    (5, 60.0, False),     # radius min(6, 7) = 6 < 7 px: no match
])
def test_parametric_match_count_suppresses(num_close, box_side, suppressed):
    rng = np.random.RandomState(2)
    a = _pose(rng)
    b = a + 1000.0                                              # far everywhere ...
    b[:num_close] = a[:num_close] + [7.0, 0.0]                  # ... except these joints, 7 px off
    # the parametric similarity stays far below 22.48: no joint within 1 px (K_sim = 0) and
    # H_sim = num_close * exp(-7 / 2.65) = 5 * 0.0712 = 0.36
    assert parametric_similarity(a, np.ones(17), b[None], np.ones((1, 17)))[0] < 1
    scores = np.stack([np.full(17, 0.9), np.full(17, 0.8)])
    boxes = np.array([[0, 0, box_side, box_side]] * 2)
    keep, _, _ = parametric_pose_nms(np.stack([a, b]), scores, boxes)
    np.testing.assert_array_equal(keep, [0] if suppressed else [0, 1])


def test_parametric_similarity_hand_values_and_threshold_boundary():
    """12 of 17 joints 0.6 px away, 5 joints 1000 px away, every score c.

    Per close joint: tanh(c)^2 + 1.7 * exp(-0.6 / 2.65), exp(-0.22642) = 0.79739, x 1.7 = 1.35556;
    far joints add exp(-377) = 0 and lie outside the 1 px K_sim gate.

    * c = 0.90: tanh = 0.71630, squared 0.51308 -> 12 * 1.86864 = 22.4237 < 22.48: kept
    * c = 0.92: tanh = 0.72590, squared 0.52693 -> 12 * 1.88249 = 22.5898 > 22.48: suppressed

    The boxes are 5 px wide, so the match radius is min(0.5, 7) = 0.5 px < 0.6 px: no joint
    matches and the similarity alone decides; the merge radius is 0.5 px too, so the
    suppressed pose does not move the kept one.
    """
    rng = np.random.RandomState(3)
    a = _pose(rng)
    b = a.copy()
    b[:12] += [0.36, 0.48]                                      # 0.6 px
    b[12:] += 1000.0
    kpts = np.stack([a, b])
    boxes = np.array([[0, 0, 5, 5]] * 2, float)
    for c, expected_sim, suppressed in ((0.90, 22.4237, False), (0.92, 22.5898, True)):
        scores = np.full((2, 17), c)
        sim = parametric_similarity(a, scores[0], b[None], scores[1:])[0]
        assert sim == pytest.approx(expected_sim, abs=1e-4)
        keep, merged, merged_s = parametric_pose_nms(kpts, scores, boxes)
        np.testing.assert_array_equal(keep, [0] if suppressed else [0, 1])
        np.testing.assert_allclose(merged[0], a, rtol=0, atol=1e-12)
        np.testing.assert_allclose(merged_s[0], c, rtol=1e-12)
    # K_sim alone: 12 tanh(1)^2 = 12 * 0.58003 = 6.9603 (mu = 0 removes H_sim)
    assert parametric_similarity(a, np.ones(17), b[None], np.ones((1, 17)), mu=0)[0] == \
        pytest.approx(12 * 0.5800257, abs=1e-6)


def test_parametric_merge_is_the_hand_computed_weighted_mean():
    """Pick A (scores 0.9) absorbs B (0.6) and C (0.5), identical to A except joint 0.

    Joint 0: A (100, 100), B (106, 108) at 10 px, C (112, 116) at 20 px. The boxes are 200 px:
    merge radius min(0.1 * 200, 15) = 15 px, so C is left out of joint 0.
    Weights 0.9 / 1.5 = 0.6 and 0.6 / 1.5 = 0.4:
    x = 0.6 * 100 + 0.4 * 106 = 102.4, y = 0.6 * 100 + 0.4 * 108 = 103.2,
    score = 0.9 * 0.6 + 0.6 * 0.4 = 0.78.
    Other joints: all three agree; score = (0.81 + 0.36 + 0.25) / 2.0 = 0.71.
    """
    rng = np.random.RandomState(4)
    a = _pose(rng)
    a[0] = [100.0, 100.0]
    b, c = a.copy(), a.copy()
    b[0] = [106.0, 108.0]
    c[0] = [112.0, 116.0]
    scores = np.stack([np.full(17, 0.9), np.full(17, 0.6), np.full(17, 0.5)])
    boxes = np.array([[0, 0, 200, 200]] * 3, float)
    keep, merged, merged_s = parametric_pose_nms(np.stack([b, a, c]), scores[[1, 0, 2]], boxes)
    np.testing.assert_array_equal(keep, [1])                   # A, the best mean score
    np.testing.assert_allclose(merged[0, 0], [102.4, 103.2], rtol=1e-12)
    assert merged_s[0, 0] == pytest.approx(0.78, rel=1e-12)
    np.testing.assert_allclose(merged[0, 1:], a[1:], rtol=1e-12)
    np.testing.assert_allclose(merged_s[0, 1:], 0.71, rtol=1e-12)


def test_parametric_score_floor_and_inputs():
    rng = np.random.RandomState(5)
    a, b = _pose(rng), _pose(rng, centre=(900.0, 900.0))
    scores = np.stack([np.full(17, 0.29), np.full(17, 0.5)])
    scores[1, 3] = 0.0                                          # raised to 1e-5, like AlphaPose
    boxes = np.array([[100, 100, 300, 300], [800, 800, 1000, 1000]], float)
    keep, merged, merged_s = parametric_pose_nms(np.stack([a, b]), scores, boxes)
    np.testing.assert_array_equal(keep, [1])                   # max score 0.29 < 0.3: dropped
    assert merged_s[0, 3] == pytest.approx(1e-5)
    # areas instead of boxes: sqrt(area) is the size
    keep2, merged2, _ = parametric_pose_nms(np.stack([a, b]), scores, [200.0 ** 2] * 2)
    np.testing.assert_array_equal(keep2, keep)
    np.testing.assert_allclose(merged2, merged)
    # a third (score) column of kpts is ignored; (N, J, 1) scores are accepted
    k3 = np.concatenate([np.stack([a, b]), np.zeros((2, 17, 1))], 2)
    np.testing.assert_array_equal(parametric_pose_nms(k3, scores[..., None], boxes)[0], keep)
    # min_box_area: 1.5^2 * extent area of a 120 px pose is ~ 30000
    assert parametric_pose_nms(np.stack([a, b]), scores, boxes, min_box_area=1e6)[0].size == 0
    empty = parametric_pose_nms(np.zeros((0, 17, 2)), np.zeros((0, 17)), np.zeros((0, 4)))
    assert empty[0].shape == (0,) and empty[1].shape == (0, 17, 2) and empty[2].shape == (0, 17)
    with pytest.raises(ValueError, match="boxes"):
        parametric_pose_nms(np.stack([a, b]), scores, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="kpt_scores"):
        parametric_pose_nms(np.stack([a, b]), scores[:, :5], boxes)


@pytest.mark.parametrize("seed", range(5))
def test_parametric_matches_the_loop_reference(seed):
    rng = np.random.RandomState(seed)
    num_joints = (17, 26)[seed % 2]
    n = 25
    # a few people, each detected several times with small jitter (some within 1 px, some
    # several px), plus isolated poses: every branch (similarity, match count, merge radius)
    centres = rng.uniform(100, 500, (5, 2))
    base = centres[:, None] + rng.uniform(-50, 50, (5, num_joints, 2))
    who = rng.randint(0, 5, n)
    jitter = rng.choice([0.3, 3.0, 12.0], size=(n, 1, 1)) * rng.normal(0, 1, (n, num_joints, 2))
    kpts = base[who] + jitter
    scores = rng.uniform(0, 1, (n, num_joints)) * rng.uniform(0.2, 1.0, (n, 1))
    scores[rng.uniform(size=scores.shape) < 0.05] = 0.0
    lo = kpts.min(axis=1) - rng.uniform(0, 20, (n, 2))
    hi = kpts.max(axis=1) + rng.uniform(0, 20, (n, 2))
    boxes = np.concatenate([lo, hi], axis=1)
    keep, merged, merged_s = parametric_pose_nms(kpts, scores, boxes)
    ref_keep, ref_xy, ref_s = _reference_parametric_nms(kpts.tolist(), scores.tolist(),
                                                        boxes.tolist())
    np.testing.assert_array_equal(keep, ref_keep)
    np.testing.assert_allclose(merged, np.asarray(ref_xy).reshape(merged.shape), rtol=1e-10)
    np.testing.assert_allclose(merged_s, np.asarray(ref_s).reshape(merged_s.shape), rtol=1e-10)
    assert 1 < len(keep) < n


def test_apply_pose_nms_dispatch():
    kpts2, areas = _three_poses(np.random.RandomState(0))
    scores = np.array([0.9, 0.8, 0.7])
    keep, out, sc = apply_pose_nms("none", kpts2, [0.6, 0.8, 0.7], areas)
    np.testing.assert_array_equal(keep, [1, 2, 0])
    np.testing.assert_array_equal(out, kpts2[[1, 2, 0]])
    keep, out, sc = apply_pose_nms("oks", kpts2, scores, areas, oks_thresh=0.9)
    np.testing.assert_array_equal(keep, oks_nms(kpts2, scores, areas, 0.9))
    keep, _, sc = apply_pose_nms("soft-oks", kpts2, scores, areas)
    ref_keep, ref_new = soft_oks_nms(kpts2, scores, areas)
    np.testing.assert_array_equal(keep, ref_keep)
    np.testing.assert_allclose(sc, ref_new[ref_keep])
    # parametric: the near duplicate (within 0.5 px) merges into the pick; rescoring sees
    # the merged joint scores and the kept indices
    seen = []
    keep, out, sc = apply_pose_nms("parametric", kpts2, scores, areas,
                                   rescore=lambda conf, idx: seen.append(idx) or conf.mean(1))
    np.testing.assert_array_equal(keep, [0, 2])
    np.testing.assert_array_equal(seen[0], [0, 2])
    np.testing.assert_allclose(sc, out[:, :, 2].mean(axis=1))
    assert out.shape == (2, 17, 3)
    with pytest.raises(ValueError, match="--pose-nms"):
        apply_pose_nms("greedy", kpts2, scores, areas)


def test_resolve_pose_nms():
    assert resolve_pose_nms(None, None) == ("none", None)
    assert resolve_pose_nms(None, 0.8) == ("oks", 0.8)
    assert resolve_pose_nms("oks", None) == ("oks", 0.9)
    assert resolve_pose_nms("OKS", 0.7) == ("oks", 0.7)
    assert resolve_pose_nms("parametric") == ("parametric", None)
    with pytest.raises(ValueError, match="does not combine"):
        resolve_pose_nms("parametric", 0.9)
    with pytest.raises(ValueError, match="--pose-nms must be one of"):
        resolve_pose_nms("nms")
