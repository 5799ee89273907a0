"""Pose transforms and the Simple Baselines presets, checked against GluonCV.

Tolerances: crop affines, centres/scales, targets and weights are compared for
exact equality. Normalised images are asserted to 1e-6; they are in fact
bit-identical here (measured max difference 0.0): our per-channel lookup
tables are built with the float32 arithmetic of MXNet's ``to_tensor`` +
``normalize``, and the slack only covers an MXNet build that rounds
differently (e.g. compiled with fast-math).
"""
import copy
import random

import mxnet as mx
import numpy as np
import pytest

from gluoncv.data.transforms import pose as gpose
from gluoncv.data.transforms.presets import simple_pose as gpre

from gluonpose.codecs import UnbiasedHeatmap
from gluonpose.data import COCO_PERSON, MPII, mini_coco
from gluonpose.data.transforms import pose
from gluonpose.data.transforms.presets.simple_pose import (
    SimplePoseDefaultTrainTransform, SimplePoseDefaultValTransform)

IMG_TOL = 1e-6


@pytest.fixture(scope="module")
def samples():
    """Every record of the bundled mini set, image decoded once (mx.nd, as GluonCV)."""
    ds = mini_coco()
    return [ds[i] for i in range(len(ds))]


def _run(transform, sample):
    img, label, img_id = sample
    return transform(img, copy.deepcopy(label), img_id)


# ----------------------------------------------------------------------------- helpers

def test_center_scale_matches_gluoncv():
    c, s = pose.bbox_to_center_scale((190, 90, 300, 360), 0.75)
    np.testing.assert_array_equal(c, [245, 225])
    np.testing.assert_array_equal(s, np.float32([253.125, 337.5]))
    rs = np.random.RandomState(0)
    xy = rs.rand(200, 2) * 500
    boxes = np.concatenate([xy, xy + rs.rand(200, 2) * 300 + 1], axis=1)
    boxes[0] = (-1, -1, -1, -1)            # GluonCV's "no 1.25" marker (centre x == -1)
    for ar in (0.75, 1.0, 1.5):
        cb, sb = pose.boxes_to_center_scale(boxes, ar)
        for k, b in enumerate(boxes):
            rc, rsc = gpre._box_to_center_scale(b[0], b[1], b[2] - b[0], b[3] - b[1], ar)
            c, s = pose.bbox_to_center_scale(b, ar)
            for ours in ((c, s), (cb[k], sb[k])):
                np.testing.assert_array_equal(ours[0], rc)
                np.testing.assert_array_equal(ours[1], rsc)
                assert ours[1].dtype == np.float32


def test_affine_matches_gluoncv():
    rs = np.random.RandomState(1)
    cs, ss, rots, outs = [], [], [], []
    for k in range(600):
        c = (rs.rand(2) * 600).astype(np.float32)
        s = (rs.rand(2) * 400 + 10).astype(np.float32)
        r = [0, float(np.clip(rs.randn() * 40, -80, 80))][k % 2]
        out = [(192, 256), (48, 64), (96, 128)][k % 3]
        shift = np.array([0, 0], np.float32) if k % 5 else np.float32([0.1, -0.2])
        for inv in (0, 1):
            ref = gpose.get_affine_transform(c, s, r, out, shift=shift, inv=inv)
            np.testing.assert_array_equal(pose.get_affine_transform(c, s, r, out, shift, inv), ref)
            bat = pose.get_affine_transform_batch(c, s, r, out, shift, inv)[0]
            np.testing.assert_allclose(bat, ref, rtol=1e-10, atol=1e-10)
        cs.append(c), ss.append(s), rots.append(r), outs.append(out)
    # one batched call over many boxes
    bat = pose.get_affine_transform_batch(np.array(cs), np.array(ss), np.array(rots), (48, 64))
    for k in range(0, 600, 37):
        ref = gpose.get_affine_transform(cs[k], ss[k], rots[k], (48, 64))
        np.testing.assert_allclose(bat[k], ref, rtol=1e-10, atol=1e-10)


def test_point_mapping_matches_gluoncv():
    rs = np.random.RandomState(2)
    c = rs.rand(8, 2).astype(np.float32) * 300
    s = rs.rand(8, 2).astype(np.float32) * 200 + 20
    pts = (rs.rand(8, 17, 2) * 64).astype(np.float32)
    ours = pose.transform_preds_batch(pts, c, s, (48, 64))
    for n in range(8):
        ref = gpose.transform_predictions(pts[n], c[n], s[n], (48, 64))
        np.testing.assert_allclose(ours[n], ref, rtol=1e-12, atol=1e-9)
        t = gpose.get_affine_transform(c[n], s[n], 17.0, (192, 256))
        one = pose.affine_transform_points(pts[n], t)
        ref = np.array([gpose.affine_transform(pts[n, j], t) for j in range(17)])
        # GluonCV's np.dot may round the last float64 bit differently (BLAS)
        np.testing.assert_allclose(one, ref, rtol=1e-14, atol=1e-12)
        np.testing.assert_array_equal(one.astype(np.float32), ref.astype(np.float32))


@pytest.mark.parametrize("pairs", [COCO_PERSON.joint_pairs, COCO_PERSON.flip_index, COCO_PERSON],
                         ids=["pairs", "flip_index", "schema"])
def test_flip_joints_matches_gluoncv(pairs):
    rs = np.random.RandomState(3)
    j3d = np.zeros((17, 3, 2), np.float32)
    j3d[:, :2, 0] = rs.rand(17, 2) * 300
    j3d[:, :2, 1] = (rs.rand(17) > 0.3)[:, None]
    ref = gpose.flip_joints_3d(j3d, 320, COCO_PERSON.joint_pairs)
    np.testing.assert_array_equal(pose.flip_joints_3d(j3d, 320, pairs), ref)
    jf, vf = pose.flip_joints(j3d[:, :2, 0], j3d[:, 0, 1], 320, pairs)
    np.testing.assert_array_equal(jf, ref[:, :2, 0])
    np.testing.assert_array_equal(vf, ref[:, 0, 1])


# ----------------------------------------------------------------------------- presets vs GluonCV

@pytest.mark.parametrize("size,hm,sigma", [((256, 192), (64, 48), 2), ((128, 96), (32, 24), 1)])
def test_train_transform_no_augmentation_matches_gluoncv(samples, size, hm, sigma):
    kw = dict(image_size=size, heatmap_size=hm, sigma=sigma, scale_factor=0, rotation_factor=0,
              random_flip=False)
    ref_t = gpre.SimplePoseDefaultTrainTransform(17, COCO_PERSON.joint_pairs, **kw)
    ours_t = SimplePoseDefaultTrainTransform(17, COCO_PERSON.joint_pairs, **kw)
    for k, sample in enumerate(samples):
        ref = _run(ref_t, sample)
        out = _run(ours_t, sample)
        assert isinstance(out[0], mx.nd.NDArray) and out[0].dtype == np.float32
        assert out[0].shape == (3,) + size
        np.testing.assert_allclose(out[0].asnumpy(), ref[0].asnumpy(), rtol=0, atol=IMG_TOL)
        assert out[1].dtype == np.float32 and out[1].shape == (17,) + hm
        assert out[2].dtype == np.float32 and out[2].shape == (17, 1, 1)
        np.testing.assert_array_equal(out[1], ref[1])
        np.testing.assert_array_equal(out[2], ref[2])
        assert out[3] == ref[3]
        if k < 3:   # numpy (H, W, 3) uint8 input gives the same sample
            img, label, img_id = sample
            out_np = ours_t(img.asnumpy(), copy.deepcopy(label), img_id)
            np.testing.assert_array_equal(out_np[0].asnumpy(), out[0].asnumpy())
            np.testing.assert_array_equal(out_np[1], out[1])


def test_train_transform_seeded_augmentation_matches_gluoncv(samples):
    """With GluonCV's global RNGs seeded alike, every augmented sample is identical."""
    kw = dict(image_size=(256, 192), heatmap_size=(64, 48), sigma=2, scale_factor=0.3,
              rotation_factor=40)
    ref_t = gpre.SimplePoseDefaultTrainTransform(17, COCO_PERSON.joint_pairs, **kw)
    ours_t = SimplePoseDefaultTrainTransform(17, COCO_PERSON.joint_pairs, **kw)
    flips = rots = 0
    for k, sample in enumerate(samples * 2):
        random.seed(k), np.random.seed(k)
        ref = _run(ref_t, sample)
        random.seed(k), np.random.seed(k)
        out = _run(ours_t, sample)
        flips += ours_t.last_params["flip"]
        rots += ours_t.last_params["rotation"] != 0
        np.testing.assert_allclose(out[0].asnumpy(), ref[0].asnumpy(), rtol=0, atol=IMG_TOL)
        np.testing.assert_array_equal(out[1], ref[1])
        np.testing.assert_array_equal(out[2], ref[2])
    assert flips > 20 and rots > 20        # both augmentations really exercised


def test_val_transform_matches_gluoncv(samples):
    ref_t = gpre.SimplePoseDefaultValTransform(17, COCO_PERSON.joint_pairs, image_size=(256, 192))
    ours_t = SimplePoseDefaultValTransform(17, COCO_PERSON.joint_pairs, image_size=(256, 192))
    for sample in samples:
        ref = _run(ref_t, sample)
        out = _run(ours_t, sample)
        assert out[0].shape == (3, 256, 192) and out[0].dtype == np.float32
        np.testing.assert_allclose(out[0].asnumpy(), ref[0].asnumpy(), rtol=0, atol=IMG_TOL)
        for a, b in zip(out[1:3], ref[1:3]):          # scale, center
            assert a.dtype == b.dtype == np.float32
            np.testing.assert_array_equal(a, b)
        assert out[3] == ref[3] and out[4] == ref[4]


# ----------------------------------------------------------------------------- augmentation laws

class _Forced:
    """An RNG stub: fixed normals and uniforms (to force flip/rotation choices)."""

    def __init__(self, normal=0.0, uniform=0.9):
        self._n, self._u = normal, uniform

    def normal(self):
        return self._n

    def uniform(self):
        return self._u

    def random(self):
        return self._u


def test_augmentation_distributions():
    """Scale, rotation and flip laws over 3000 seeded draws."""
    sf, rf, n = 0.25, 30.0, 3000
    t = SimplePoseDefaultTrainTransform(17, COCO_PERSON.joint_pairs, image_size=(32, 24),
                                        heatmap_size=(8, 6), scale_factor=sf, rotation_factor=rf,
                                        rng=np.random.default_rng(1234))
    img = np.zeros((40, 30, 3), np.uint8)
    label = {"bbox": (5.0, 5.0, 25.0, 35.0), "joints_3d": np.zeros((17, 3, 2), np.float32)}
    scales, rots, flips = [], [], []
    for _ in range(n):
        t(img, label, 0)
        p = t.last_params
        scales.append(p["scale"]), rots.append(p["rotation"]), flips.append(p["flip"])
    scales, rots, flips = np.array(scales), np.array(rots), np.array(flips)
    tol = 4 * np.sqrt(0.25 / n)                       # 4 binomial standard deviations
    # scale = clip(N(0,1) * sf + 1, 1 - sf, 1 + sf): a normal clipped at +-1 sd
    assert scales.min() >= 1 - sf and scales.max() <= 1 + sf
    assert abs(np.mean(scales == 1 + sf) - 0.1587) < tol
    assert abs(np.mean(scales == 1 - sf) - 0.1587) < tol
    assert abs(scales.std() / sf - 0.7184) < 0.04    # sd of N(0,1) clipped at +-1
    # rotation: nonzero with p = 0.6, N(0, rf) clipped at +-2 rf
    nz = rots != 0
    assert abs(nz.mean() - 0.6) < tol
    assert np.abs(rots).max() <= 2 * rf
    assert abs(np.mean(np.abs(rots) == 2 * rf) - 0.6 * 0.0455) < 0.015
    assert abs(rots[nz].std() / rf - 0.9466) < 0.06   # sd of N(0,1) clipped at +-2
    assert abs(flips.mean() - 0.5) < tol
    # independence of flip and rotation gate (draws in separate calls)
    assert abs(np.mean(flips & nz) - 0.3) < tol


def test_rng_seeds_reproduce_and_workers_diverge():
    mk = lambda seed: SimplePoseDefaultTrainTransform(   # noqa: E731
        17, COCO_PERSON.joint_pairs, image_size=(32, 24), heatmap_size=(8, 6), rng=seed)
    img = np.full((40, 30, 3), 128, np.uint8)
    label = {"bbox": (5.0, 5.0, 25.0, 35.0), "joints_3d": np.zeros((17, 3, 2), np.float32)}

    def draws(t, k=20):
        out = []
        for _ in range(k):
            t(img, label, 0)
            out.append((t.last_params["scale"], t.last_params["rotation"], t.last_params["flip"]))
        return out

    assert draws(mk(7)) == draws(mk(7))
    assert draws(mk(7)) != draws(mk(8))
    # a forked worker inherits the generator; on its first draw the stream is re-derived
    parent = mk(np.random.default_rng(7))
    child = copy.deepcopy(parent)
    child._rng._pid = -1                      # pretend this copy lives in another process
    assert draws(child) != draws(parent)


def test_flipped_sample_geometry(samples):
    """A flipped crop is the mirrored crop: joints (pairs swapped) land mirrored."""
    img, label, img_id = max(samples, key=lambda s: s[1]["joints_3d"][:, 0, 1].sum())
    size, hm = (256, 192), (64, 48)
    codec = UnbiasedHeatmap(size, hm, 2)
    mk = lambda flip: SimplePoseDefaultTrainTransform(   # noqa: E731
        17, schema=COCO_PERSON, image_size=size, heatmap_size=hm, codec=codec,
        random_flip=flip, rng=_Forced(0.0, 0.9))    # N = 0: no scale jitter; u = 0.9: no rotation
    plain = mk(False)(img, copy.deepcopy(label), img_id)
    flipped = mk(True)(img, copy.deepcopy(label), img_id)
    # joints: the flipped crop maps x to W_in - x (centre mirrored about W_img - 1)
    p, _ = codec.decode_heatmap(plain[1][None])
    f, _ = codec.decode_heatmap(flipped[1][None])
    w_ok = (plain[2][:, 0, 0] > 0) & (flipped[2][COCO_PERSON.flip_index, 0, 0] > 0)
    assert w_ok.sum() >= 8
    fp = f[0, COCO_PERSON.flip_index]                   # flipped channel of each joint
    np.testing.assert_allclose(fp[w_ok, 0], hm[1] - p[0, w_ok, 0], atol=0.01)
    np.testing.assert_allclose(fp[w_ok, 1], p[0, w_ok, 1], atol=0.01)
    np.testing.assert_array_equal(flipped[2][COCO_PERSON.flip_index], plain[2])
    # pixels: column x of the flipped crop samples column W_in - x of the plain one
    a = plain[0].asnumpy()[:, :, 1:]
    b = flipped[0].asnumpy()[:, :, :0:-1]
    assert np.abs(a - b).mean() < 0.02                 # bilinear fixed-point rounding only


def test_half_body_selects_one_half(samples):
    upper = set(COCO_PERSON.upper_body.tolist())
    rng = np.random.default_rng(0)
    halves = set()
    for img, label, img_id in samples:
        j = label["joints_3d"][:, :2, 0]
        v = label["joints_3d"][:, 0, 1]
        for _ in range(4):
            c, s, sel = pose.half_body_center_scale(j, v, COCO_PERSON.upper_body, 0.75, rng)
            if sel is None:
                assert v.sum() <= 8 or min(((v > 0) & np.isin(range(17), list(upper))).sum(),
                                           ((v > 0) & ~np.isin(range(17), list(upper))).sum()) < 2
                continue
            idx = set(np.nonzero(sel)[0].tolist())
            assert idx <= upper or not (idx & upper)             # one half only
            assert all(v[i] > 0 for i in idx) and len(idx) >= 2
            halves.add("upper" if idx <= upper else "lower")
            assert np.all(np.abs(j[sel] - c) <= s / 2 + 1e-3)     # inside the half-body crop
    assert halves == {"upper", "lower"}
    # through the preset: only joints of the selected half are guaranteed in the crop
    t = SimplePoseDefaultTrainTransform(17, schema=COCO_PERSON, image_size=(256, 192),
                                        heatmap_size=(64, 48), half_body_prob=1.0,
                                        scale_factor=0, rotation_factor=0, random_flip=False,
                                        rng=np.random.default_rng(5))
    used = 0
    for img, label, img_id in samples:
        out = t(img, copy.deepcopy(label), img_id)
        sel = t.last_params["half_body"]
        if sel is None:
            continue
        used += 1
        assert np.all(out[2][sel, 0, 0] == 1)
    assert used > 10


def test_mpii_schema_flip():
    """16-joint MPII: the schema's pairs drive flipping, like GluonCV given MPII pairs."""
    pairs = [[0, 5], [1, 4], [2, 3], [10, 15], [11, 14], [12, 13]]
    assert sorted(map(sorted, MPII.joint_pairs)) == pairs
    rs = np.random.RandomState(4)
    j3d = np.zeros((16, 3, 2), np.float32)
    j3d[:, :2, 0] = rs.rand(16, 2) * [150, 200] + 25
    j3d[:, :2, 1] = 1
    j3d[3, :2, 1] = 0
    label = {"bbox": (20.0, 20.0, 180.0, 230.0), "joints_3d": j3d}
    img = mx.nd.array(rs.randint(0, 255, (250, 200, 3)), dtype=np.uint8)
    kw = dict(image_size=(256, 256), heatmap_size=(64, 64), scale_factor=0.3, rotation_factor=30)
    ref_t = gpre.SimplePoseDefaultTrainTransform(16, pairs, **kw)
    ours_t = SimplePoseDefaultTrainTransform(16, schema=MPII, **kw)
    seen_flip = 0
    for seed in range(12):
        random.seed(seed), np.random.seed(seed)
        ref = ref_t(img, copy.deepcopy(label), 1)
        random.seed(seed), np.random.seed(seed)
        out = ours_t(img, copy.deepcopy(label), 1)
        seen_flip += ours_t.last_params["flip"]
        np.testing.assert_allclose(out[0].asnumpy(), ref[0].asnumpy(), rtol=0, atol=IMG_TOL)
        np.testing.assert_array_equal(out[1], ref[1])
        np.testing.assert_array_equal(out[2], ref[2])
    assert seen_flip >= 3
    np.testing.assert_array_equal(pose.flip_joints_3d(j3d, 200, MPII),
                                  gpose.flip_joints_3d(j3d, 200, pairs))


def test_flipped_roi_warps_like_a_full_flip():
    """Mirroring only the sampled region gives the very pixels of a full mirror."""
    from gluonpose.data.transforms.presets.simple_pose import _flipped_roi
    import cv2
    rs = np.random.RandomState(12)
    img = rs.randint(0, 256, (300, 400, 3)).astype(np.uint8)
    used_roi = 0
    for k in range(200):
        c = rs.uniform(-50, 450, 2).astype(np.float32)
        s = (rs.uniform(10, 500) * np.float32([0.75, 1])).astype(np.float32)
        t = pose.get_affine_transform(c, s, rs.uniform(-80, 80) * (k % 2), [48 + k % 5, 64])
        part = _flipped_roi(img, t, 48 + k % 5, 64)
        ref = cv2.warpAffine(cv2.flip(img, 1), t, (48 + k % 5, 64), flags=cv2.INTER_LINEAR)
        np.testing.assert_array_equal(cv2.warpAffine(part, t, (48 + k % 5, 64),
                                                     flags=cv2.INTER_LINEAR), ref)
        used_roi += not np.array_equal(part, cv2.flip(img, 1))
    assert used_roi > 50
