"""The OpenPose PAF codec: hand-checked targets, agreement with the loop reference, oracle AP.

The oracle on the bundled mini set is far below 0.95 and that is not the
codec: OpenPose groups along its limb tree and the neck exists only when both
shoulders are labelled, so 22 of the 86 annotated people cannot be grouped
from their own labels (see ``tools/paf_oracle_ap.py``), and the set's images
(longer side 384 px) hold small people in crowds whose sigma-7 Gaussians merge.
The >= 0.95 check is made on a synthetic COCO set of fully labelled people,
with the same encode -> decode -> COCOeval path.
"""
import contextlib
import importlib.util
import io
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import _paf_reference as ref  # noqa: E402

from gluonpose.codecs.paf import (COCO_FROM_OPENPOSE, DECODE_LIMBS, HEATMAP_FLIP,  # noqa: E402
                                  OPENPOSE_FROM_COCO, PAF_FLIP, PAF_LIMBS, PAFCodec,
                                  coco_to_openpose, flip_back, flip_merge_paf,
                                  merge_scales,
                                  openpose_to_coco)

COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


def _tool():
    spec = importlib.util.spec_from_file_location(
        "paf_oracle_ap", os.path.join(REPO, "tools", "paf_oracle_ap.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _op_person(**parts):
    """One OpenPose-18 person with only the given parts labelled: name=(x, y)."""
    from gluonpose.codecs.paf import PARTS
    p = np.zeros((1, 18, 3))
    for name, xy in parts.items():
        p[0, PARTS.index(name)] = [xy[0], xy[1], 2]
    return p


def _match(a, b):
    """Pair the people of ``a`` with the closest of ``b``: max joint distance per pair."""
    out = []
    for k in a:
        best = 1e9
        for q in b:
            d = np.abs(k[:, :2] - q[:, :2])[(k[:, 2] > 0) & (q[:, 2] > 0)]
            if d.size:
                best = min(best, d.max())
        out.append(best)
    return np.array(out)


def _assert_same_people(codec_out, ref_out):
    kp, sc = codec_out
    kr, sr = ref_out
    assert kp.shape == kr.shape
    np.testing.assert_array_equal(kp, kr)
    np.testing.assert_allclose(sc, sr, rtol=1e-6)


# ----------------------------------------------------------------------------- constants

def test_constants_consistent_and_match_reference():
    assert [tuple(x) for x in PAF_LIMBS] == ref.LIMBS
    assert [(a, b, 2 * p, 2 * p + 1) for a, b, p in DECODE_LIMBS] == ref.ORDER
    assert OPENPOSE_FROM_COCO.tolist() == ref.OP_FROM_COCO
    assert COCO_FROM_OPENPOSE.tolist() == ref.COCO_FROM_OP
    for a, b, p in DECODE_LIMBS:              # decode planes are the PAF planes of the limb
        assert PAF_LIMBS[p] == (a, b)
    assert sorted(p for _, _, p in DECODE_LIMBS) == list(range(19))
    for k in range(17):                       # the two mappings are inverse
        assert OPENPOSE_FROM_COCO[COCO_FROM_OPENPOSE[k]] == k
    # the flip permutations agree with each other: a mirrored limb is the mirror limb
    for p, (a, b) in enumerate(PAF_LIMBS):
        assert PAF_LIMBS[PAF_FLIP[p]] == (HEATMAP_FLIP[a], HEATMAP_FLIP[b])
    # and with COCO's flip pairs
    for k in range(17):
        assert HEATMAP_FLIP[COCO_FROM_OPENPOSE[k]] == COCO_FROM_OPENPOSE[COCO_FLIP[k]]
    assert (HEATMAP_FLIP[HEATMAP_FLIP] == np.arange(19)).all()
    assert (PAF_FLIP[PAF_FLIP] == np.arange(19)).all()


def test_neck_rule():
    j = np.zeros((3, 17, 3))
    j[:, 5] = [10, 20, 2]
    j[:, 6] = [30, 24, 1]
    j[1, 6, 2] = 0                            # one shoulder unlabelled: no neck
    j[2, 0] = [7, 8, 2]
    op = coco_to_openpose(j)
    np.testing.assert_allclose(op[0, 1], [20, 22, 1])
    np.testing.assert_allclose(op[1, 1], [0, 0, 0])
    np.testing.assert_allclose(op[2, 0], [7, 8, 2])
    np.testing.assert_allclose(op[:, 5], j[:, 5])         # OpenPose LShoulder = COCO 5
    np.testing.assert_allclose(op[:, 2], j[:, 6])         # OpenPose RShoulder = COCO 6
    np.testing.assert_allclose(op, ref.coco_to_openpose_ref(j))
    np.testing.assert_allclose(openpose_to_coco(op), j)


# ----------------------------------------------------------------------------- encoding

def test_paf_of_one_limb_by_hand():
    codec = PAFCodec()                         # stride 8, width 1 cell, PAF cell g = input 8g
    # right shoulder (2, 2) -> right elbow (6, 2) in cells: plane 7 points +x
    heat, paf, mask = codec.encode(_op_person(right_shoulder=(16, 16), right_elbow=(48, 16)),
                                   (64, 64))
    assert heat.shape == (19, 8, 8) and paf.shape == (38, 8, 8) and mask.shape == (8, 8)
    assert (mask == 1).all()
    expect = np.zeros((8, 8), np.float32)
    expect[1:4, 1:8] = 1                      # |gy - 2| <= 1, box x in [2 - 1, 6 + 1]
    np.testing.assert_array_equal(paf[14], expect)
    assert not paf[15].any()
    assert np.count_nonzero(paf) == expect.sum()          # no other plane written

    # diagonal limb: (2, 2) -> (5, 6) cells, u = (0.6, 0.8)
    _, paf, _ = codec.encode(_op_person(right_shoulder=(16, 16), right_elbow=(40, 48)), (64, 64))
    on = paf[14] != 0
    np.testing.assert_allclose(paf[14][on], 0.6, rtol=1e-6)
    np.testing.assert_allclose(paf[15][on], 0.8, rtol=1e-6)
    gy, gx = np.nonzero(on)
    dist = np.abs((gx - 2) * 0.8 - (gy - 2) * 0.6)
    assert (dist <= 1 + 1e-9).all() and on[2, 2] and on[6, 5] and not on[2, 5]
    # every cell of the box within distance 1 is written
    yy, xx = np.mgrid[0:8, 0:8]
    want = (np.abs((xx - 2) * 0.8 - (yy - 2) * 0.6) <= 1) & (xx >= 1) & (xx <= 6) \
        & (yy >= 1) & (yy <= 7)
    np.testing.assert_array_equal(on, want)


def test_paf_overlap_is_the_mean_of_the_people():
    codec = PAFCodec()
    one = _op_person(right_shoulder=(16, 16), right_elbow=(48, 16))      # u = (1, 0)
    two = _op_person(right_shoulder=(16, 16), right_elbow=(40, 48))      # u = (0.6, 0.8)
    _, paf, _ = codec.encode(np.concatenate([one, two]), (64, 64))
    np.testing.assert_allclose(paf[14:16, 2, 2], [0.8, 0.4], rtol=1e-6)   # both cover (2, 2)
    np.testing.assert_allclose(paf[14:16, 2, 7], [1.0, 0.0])              # only the first
    np.testing.assert_allclose(paf[14:16, 6, 5], [0.6, 0.8], rtol=1e-6)   # only the second
    # the same limb twice in the same direction: still a unit vector
    _, paf2, _ = codec.encode(np.concatenate([one, one]), (64, 64))
    np.testing.assert_allclose(paf2[14, 2, 2], 1.0)


def test_confidence_map_values_by_hand():
    codec = PAFCodec()                         # sigma 7 input px; cell g centre 3.5 + 8g
    person = _op_person(nose=(20.0, 13.0))
    heat, _, _ = codec.encode(person, (64, 64))
    # cell (gx=2, gy=1) sits at (19.5, 11.5): d^2 = 0.25 + 2.25
    assert heat[0, 1, 2] == pytest.approx(np.exp(-2.5 / (2 * 49)), rel=1e-6)
    # cell (gx=5, gy=1) at (43.5, 11.5): d^2 = 552.5, exponent 5.64 > 4.6052: not written
    assert heat[0, 1, 5] == 0
    # cell (gx=4, gy=1) at (35.5, 11.5): d^2 = 242.5, exponent 2.47: written
    assert heat[0, 1, 4] == pytest.approx(np.exp(-242.5 / 98), rel=1e-6)
    assert heat[18, 1, 2] == pytest.approx(1 - heat[0, 1, 2], rel=1e-6)
    assert heat[18, 7, 7] == 1 and not heat[1:18].any()
    # two people on the same spot: the sum, clipped at 1
    heat2, _, _ = codec.encode(np.concatenate([person, person]), (64, 64))
    assert heat2[0, 1, 4] == pytest.approx(2 * np.exp(-242.5 / 98), rel=1e-6)
    assert heat2[0].max() == 1.0
    assert heat2[18].min() == 0.0


def test_mask_is_area_downsampled():
    codec = PAFCodec()
    mask = np.ones((60, 60))
    mask[0:8, 0:16] = 0                       # two whole cells
    mask[8:12, 0:8] = 0                       # half a cell
    _, _, m = codec.encode(np.zeros((0, 17, 3)), (60, 60), mask=mask)
    assert m.shape == (8, 8)
    assert m[0, 0] == 0 and m[0, 1] == 0 and m[1, 0] == 0.5
    assert m[0, 2] == 1
    # the last row/column of cells is half padding, which counts as kept
    mask2 = np.zeros((60, 60))
    _, _, m2 = codec.encode(np.zeros((0, 17, 3)), (60, 60), mask=mask2)
    assert m2[0, 0] == 0 and m2[7, 0] == pytest.approx(1 - 4 / 8) and m2[7, 7] == \
        pytest.approx(1 - 16 / 64)


@pytest.mark.parametrize("paf_offset", [0.0, 3.5])
def test_vectorised_encode_equals_loop_reference(paf_offset):
    size = (92, 112)                           # not a multiple of 8: maps 12 x 14
    people = ref.synthetic_people(6, size, seed=3, scale=(0.3, 0.6))
    people[0, 3, :2] = [-20, 40]               # a joint outside the input
    people[1, :, :2] = people[2, :, :2] + 2    # two people nearly on top of each other
    codec = PAFCodec(paf_offset=paf_offset)
    heat, paf, _ = codec.encode(people, size)
    rh, rp = ref.encode_ref(people, size, paf_offset=paf_offset)
    assert heat.shape == rh.shape == (19, 12, 14)
    np.testing.assert_allclose(heat, rh, atol=1e-6)
    np.testing.assert_allclose(paf, rp, atol=1e-6)
    assert np.count_nonzero(paf) > 100        # the test exercised something


def test_encode_accepts_openpose_order_and_no_people():
    codec = PAFCodec()
    people = ref.synthetic_people(2, (64, 64), seed=1, scale=(0.2, 0.3))
    a = codec.encode(people, (64, 64))
    b = codec.encode(coco_to_openpose(people), (64, 64))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    heat, paf, mask = codec.encode(np.zeros((0, 17, 3)), (64, 48))
    assert heat.shape == (19, 8, 6) and not heat[:18].any() and (heat[18] == 1).all()
    assert not paf.any()
    kp, sc = codec.decode(heat, paf)
    assert kp.shape == (0, 17, 3) and sc.shape == (0,)


# ------------------------------------------------------------------------- decoding vs reference

@pytest.fixture(scope="module")
def crowd():
    """A synthetic crowd of 20 people: GT maps at input resolution, 368 x 368."""
    size = (368, 368)
    people = ref.synthetic_people(20, size, seed=0)
    codec = PAFCodec()
    heat, paf, _ = codec.encode(people, size)
    return people, heat, paf


@pytest.mark.parametrize("smoothing", ["cv2", "scipy"])
def test_decode_equals_reference_on_a_crowd(crowd, smoothing):
    people, heat, paf = crowd
    codec = PAFCodec(smoothing=smoothing)
    h, p = codec.to_image(heat, paf)
    out = codec.decode(h, p, upsample=False)
    _assert_same_people(out, ref.decode_ref(np.asarray(h), np.asarray(p), smoothing=smoothing))
    assert len(out[0]) >= 15                   # most of the 20 overlapping people come back
    assert (_match(out[0], people) <= 1.5).sum() >= 10


def test_decode_equals_reference_on_noisy_maps(crowd):
    _, heat, paf = crowd
    codec = PAFCodec()
    clean = len(codec.find_peaks(codec.to_image(heat, paf)[0]))
    rs = np.random.RandomState(7)
    # noise at map resolution, so it is smooth at image resolution like a network's
    # errors (0.1 already gives ~2500 peaks, and the quadratic reference takes seconds)
    for noise in (0.03, 0.05):
        hn = heat + rs.randn(*heat.shape).astype(np.float32) * noise
        pn = paf + rs.randn(*paf.shape).astype(np.float32) * noise
        h, p = codec.to_image(hn, pn)
        peaks = codec.find_peaks(h)
        limb, _, _, _ = codec.score_limbs(p, peaks)
        ref_peaks = ref.find_peaks_ref(np.asarray(h), smoothing="cv2")
        assert [len(x) for x in ref_peaks] == np.diff(peaks.start)[:18].tolist()
        out = codec.decode(h, p, upsample=False)
        _assert_same_people(out, ref.decode_ref(np.asarray(h), np.asarray(p), smoothing="cv2"))
        # the thresholds were exercised: the peak set moved, candidate pairs were rejected
        pairs = sum((peaks.start[a + 1] - peaks.start[a]) * (peaks.start[b + 1] - peaks.start[b])
                    for a, b, _ in DECODE_LIMBS)
        assert len(peaks) != clean and len(limb) < pairs / 4


def _bundled_maps(n_images, size, noise=0.0, seed=0):
    tool = _tool()
    coco = tool.load_coco()
    ids = sorted(coco.getImgIds(), key=lambda i: -len(tool.image_people(coco, i)))[:n_images]
    codec = PAFCodec()
    rs = np.random.RandomState(seed)
    for iid in ids:
        info = coco.imgs[iid]
        image_size = (info["height"], info["width"])
        scale = size / max(image_size)
        joints, input_size = codec.image_to_input(tool.image_people(coco, iid), image_size, scale)
        heat, paf, _ = codec.encode(joints, input_size)
        if noise:
            heat = heat + rs.randn(*heat.shape).astype(np.float32) * noise
            paf = paf + rs.randn(*paf.shape).astype(np.float32) * noise
        yield image_size, scale, heat, paf


@pytest.mark.parametrize("noise", [0.0, 0.06])
def test_decode_equals_reference_on_bundled_images(noise):
    codec = PAFCodec()
    n_people = 0
    for k, (image_size, scale, heat, paf) in enumerate(_bundled_maps(6, 184, noise)):
        # the most crowded image at the original resolution, the rest at input resolution
        kw = dict(image_size=image_size, input_scale=scale) if k == 0 else {}
        h, p = codec.to_image(heat, paf, **kw)
        out = codec.decode(h, p, upsample=False)
        _assert_same_people(out, ref.decode_ref(np.asarray(h), np.asarray(p), smoothing="cv2"))
        # decode(upsample=True) is to_image + decode
        for x, y in zip(out, codec.decode(heat, paf, **kw)):
            np.testing.assert_array_equal(x, y)
        n_people += len(out[0])
    assert n_people >= 20


def test_decode_recovers_crossing_limbs():
    size = (256, 320)
    a = np.concatenate([ref.TEMPLATE + [100, 128], np.full((17, 1), 2.0)], axis=1)
    b = np.concatenate([ref.TEMPLATE + [220, 128], np.full((17, 1), 2.0)], axis=1)
    # a's left forearm and b's right forearm cross in an X between the two people
    a[7, :2], a[9, :2] = [150, 92], [190, 82]      # left elbow, left wrist
    b[8, :2], b[10, :2] = [170, 94], [130, 84]     # right elbow, right wrist
    people = np.stack([a, b])
    codec = PAFCodec()
    heat, paf, _ = codec.encode(people, size)
    kp, _ = codec.decode(heat, paf)
    assert len(kp) == 2
    got = kp[np.argsort(kp[:, 0, 0])]
    assert (got[:, :, 2] > 0).all()
    np.testing.assert_allclose(got[:, :, :2], people[:, :, :2], atol=1.0)
    _assert_same_people(codec.decode(heat, paf),
                        ref.decode_ref(*(np.asarray(m) for m in codec.to_image(heat, paf)),
                                       smoothing="cv2"))


# ------------------------------------------------------------------------- geometry, flip, scales

def test_image_to_input_round_trip():
    codec = PAFCodec()
    image_size, scale = (300, 420), 0.7
    people = _row_of_people(3, image_size, seed=5)
    joints, input_size = codec.image_to_input(people, image_size, scale)
    assert input_size == (210, 294)
    heat, paf, _ = codec.encode(joints, input_size)
    assert heat.shape[1:] == (27, 37)          # padded to a multiple of 8
    kp, _ = codec.decode(heat, paf, image_size=image_size, input_scale=scale)
    assert len(kp) == 3
    assert (_match(kp, people) <= 1.5).all()
    # same with input_size instead of input_scale
    kp2, _ = codec.decode(heat, paf, image_size=image_size, input_size=input_size)
    np.testing.assert_array_equal(kp, kp2)


def _row_of_people(n, size, seed=0, height=0.6):
    """``n`` fully labelled people side by side, not overlapping, ``height`` x H tall."""
    rs = np.random.RandomState(seed)
    slot = size[1] / n
    s = height * size[0] / 145.0
    out = []
    for k in range(n):
        xy = ref.TEMPLATE * s * [rs.choice([-1, 1]), 1] + [slot * (k + 0.5), size[0] / 2] \
            + rs.randn(17, 2) * 2
        out.append(np.concatenate([xy, np.full((17, 1), 2.0)], axis=1))
    return np.array(out)


def _mirror(people, width):
    m = people[:, COCO_FLIP].copy()
    m[:, :, 0] = width - 1 - m[:, :, 0]
    return m


def test_flip_back_of_mirrored_people_is_the_encoding_of_the_people():
    size = (96, 128)
    people = ref.synthetic_people(4, size, seed=2, scale=(0.3, 0.5))
    # PAF cells on the confidence-map grid: one mirror x -> W - 1 - x maps both exactly
    codec = PAFCodec(paf_offset=3.5)
    heat, paf, _ = codec.encode(people, size)
    fh, fp, _ = codec.encode(_mirror(people, size[1]), size)
    bh, bp = flip_back(fh, fp)
    np.testing.assert_allclose(bh, heat, atol=1e-5)
    np.testing.assert_allclose(bp, paf, atol=1e-5)
    assert np.abs(paf).sum() > 50
    # batched form gives the same
    bh2, bp2 = flip_back(fh[None], fp[None])
    np.testing.assert_array_equal(bh2[0], bh)
    np.testing.assert_array_equal(bp2[0], bp)
    # reference grid (PAF cell g at 8g): the heatmaps mirror about W - 1, the PAFs
    # about 8 (w - 1), half a cell apart
    codec = PAFCodec()
    heat, paf, _ = codec.encode(people, size)
    fh, _, _ = codec.encode(_mirror(people, size[1]), size)
    _, fp, _ = codec.encode(_mirror(people, 8 * (size[1] // 8 - 1) + 1), size)
    bh, bp = flip_back(fh, fp)
    np.testing.assert_allclose(bh, heat, atol=1e-5)
    np.testing.assert_allclose(bp, paf, atol=1e-5)


def test_flip_merge_and_merge_scales_decode():
    size = (128, 160)
    people = _row_of_people(3, size, seed=4)
    codec = PAFCodec()
    heat, paf, _ = codec.encode(people, size)
    fh, fp, _ = codec.encode(_mirror(people, size[1]), size)
    mh, mp = flip_merge_paf(heat, paf, fh, fp)
    assert mh.shape == heat.shape and mp.shape == paf.shape
    kp, _ = codec.decode(mh, mp)
    assert len(kp) == 3 and (_match(kp, people) <= 1.5).all()
    # two scales brought to the same image resolution and averaged
    image_size = size
    maps = []
    for scale in (1.0, 0.75):
        joints, input_size = codec.image_to_input(people, image_size, scale)
        h, p, _ = codec.encode(joints, input_size)
        maps.append(codec.to_image(h, p, image_size=image_size, input_scale=scale))
    h, p = merge_scales(maps)
    assert h.shape == (19,) + image_size and p.shape == (38,) + image_size
    np.testing.assert_allclose(h, (maps[0][0] + maps[1][0]) / 2, atol=1e-6)
    kp, _ = codec.decode(h, p, upsample=False)
    assert len(kp) == 3 and (_match(kp, people) <= 1.5).all()


# ----------------------------------------------------------------------------- oracle AP

def test_oracle_ap_on_the_bundled_set():
    """184 px (longer side). Measured: 0.426 all people, 0.552 groupable only."""
    stats, stats_g, lines = _tool().oracle_ap(184)
    assert "input 184 (longer side), coco_mini train2017" in lines[0]
    assert stats[0] >= 0.40
    assert stats_g[0] >= 0.52


def _synthetic_coco(n_images=8, image_size=(288, 384), seed=0):
    """A COCO keypoint set of fully labelled, non-overlapping people (3 per image)."""
    from pycocotools.coco import COCO
    rs = np.random.RandomState(seed)
    images, anns = [], []
    for i in range(n_images):
        images.append({"id": i + 1, "height": image_size[0], "width": image_size[1],
                       "file_name": "%d.jpg" % i})
        for slot in range(3):
            s = rs.uniform(0.8, 1.2)
            xy = ref.TEMPLATE * s * [rs.choice([-1, 1]), 1] \
                + [64 + 128 * slot + rs.uniform(-15, 15), 144 + rs.uniform(-20, 20)] \
                + rs.randn(17, 2) * 2
            kps = np.concatenate([xy, np.full((17, 1), 2.0)], axis=1)
            x0, y0 = xy.min(0) - 8
            w, h = xy.max(0) - xy.min(0) + 16
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1,
                         "iscrowd": 0, "num_keypoints": 17, "area": float(w * h * 0.6),
                         "bbox": [float(x0), float(y0), float(w), float(h)],
                         "keypoints": [round(float(v), 2) for v in kps.reshape(-1)]})
    coco = COCO()
    coco.dataset = {"images": images, "annotations": anns,
                    "categories": [{"id": 1, "name": "person"}]}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def test_oracle_ap_on_fully_labelled_people_is_high():
    tool = _tool()
    coco = _synthetic_coco()
    stats, _, _ = tool.oracle_ap(184, coco=coco, name="synthetic")
    assert stats[0] >= 0.95


def test_decode_equals_reference_on_random_maps_every_assembly_branch():
    """Smooth random maps: hundreds of peaks and spurious limbs, so people are merged,
    overlapping people get a part attached, and parts already set get replaced."""
    import cv2
    codec = PAFCodec(min_parts=2, min_mean_score=0.0, smooth_sigma=1.0)
    branches = {}
    for seed, order in ((0, "openpose"), (1, "coco")):
        rs = np.random.RandomState(seed)
        size = (40, 48)
        heat = cv2.GaussianBlur(rs.rand(*size, 19).astype(np.float32), (0, 0), 2) * 3 - 1.2
        paf = cv2.GaussianBlur(rs.randn(*size, 38).astype(np.float32), (0, 0), 3) * 4
        heat = np.ascontiguousarray(heat.transpose(2, 0, 1))
        paf = np.ascontiguousarray(paf.transpose(2, 0, 1))
        out = codec.decode(heat, paf, upsample=False, order=order)
        _assert_same_people(out, ref.decode_ref(
            heat, paf, sigma=1.0, smoothing="cv2", order=order, min_parts=2,
            min_mean_score=0.0, stats=branches))
    assert set(branches) == {"new", "attach", "merge", "overlap", "replace"}


def test_limb_scores_do_not_depend_on_the_memory_layout():
    from gluonpose.codecs.paf import _flat_view
    rs = np.random.RandomState(0)
    big = rs.randn(40, 30, 50).astype(np.float32)
    for view in (big[:38], big[1:39, ::2, 1::3], np.ascontiguousarray(big[:38]),
                 np.ascontiguousarray(big.transpose(1, 2, 0))[:, :, :38].transpose(2, 0, 1),
                 np.ascontiguousarray(big[:38].transpose(1, 2, 0)).transpose(2, 0, 1)):
        flat, (sc, sy, sx) = _flat_view(view)
        c, y, x = rs.randint(0, 38, 50), rs.randint(0, view.shape[1], 50), \
            rs.randint(0, view.shape[2], 50)
        np.testing.assert_array_equal(flat[c * sc + y * sy + x * sx], view[c, y, x])
    # the same people from channel-first and channel-last maps
    codec = PAFCodec()
    heat, paf, _ = codec.encode(_row_of_people(3, (96, 128)), (96, 128))
    h, p = codec.to_image(heat, paf)              # channel-last underneath
    assert not p.flags.c_contiguous
    a = codec.decode(h, p, upsample=False)
    b = codec.decode(np.ascontiguousarray(h), np.ascontiguousarray(p), upsample=False)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert len(a[0]) == 3
