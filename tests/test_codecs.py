"""Heatmap codecs and flip test, checked against GluonCV.

* MSRA encode == ``SimplePoseGaussianTargetGenerator`` exactly (targets and weights).
* MSRA decode == ``get_final_preds``: maxvals exactly, coordinates to 1 float32
  ulp (GluonCV solves each inverse affine with OpenCV, we solve them batched in
  float64; the matrices agree to ~1e-14 and the float32 results to the last bit
  in > 99 % of cases).
* ``flip_heatmaps(shift=True)`` == ``flip_heatmap(shift=True)`` exactly.
* Round trip (encode GT, decode): unbiased < 0.1 heatmap px (measured ~1e-3);
  MSRA is bounded by its grid rounding, <= sqrt(2)/2 px, mean ~0.38 px.
"""
import mxnet as mx
import numpy as np
import pytest

from gluoncv.data.transforms import pose as gpose
from gluoncv.model_zoo.simple_pose.pose_target import SimplePoseGaussianTargetGenerator

from gluonpose.codecs import MSRAHeatmap, UnbiasedHeatmap, flip_heatmaps, flip_merge, get_codec
from gluonpose.data import COCO_PERSON, MPII

SIZES = [((256, 192), (64, 48), 2), ((128, 96), (32, 24), 1), ((384, 288), (96, 72), 3),
         ((256, 256), (64, 64), 2)]


def _joints(rs, n, size, margin=0.3):
    """Random joints over (and beyond) the input frame, plus edge cases."""
    h, w = size
    j = rs.uniform(-margin, 1 + margin, (n, 17, 2)) * [w, h]
    j[:, 0] = [0, 0]                       # corner
    j[:, 1] = [w - 1, h - 1]               # opposite corner
    j[:, 2] = [-1.99, h / 2]               # rounds to 0 toward zero (int() truncation)
    j[:, 3] = [w + 48, h / 2]              # 3-sigma window just outside (sigma <= 3)
    j[:, 4] = [-60, -60]                   # far outside
    j[:, 5] = [6.0, 10.0]                  # exact .5 rounding (6 / 4 + 0.5 = 2.0)
    j[:, 6] = [w / 2 + 2, h / 2 + 2]       # x / stride + 0.5 exactly integer + 0.5? (2/4=0.5)
    v = (rs.rand(n, 17) > 0.2).astype(np.float32)
    v[:, :7] = 1
    return j.astype(np.float32), v


@pytest.mark.parametrize("size,hm,sigma", SIZES)
def test_msra_encode_matches_gluoncv(size, hm, sigma):
    rs = np.random.RandomState(sigma)
    codec = MSRAHeatmap(size, hm, sigma)
    ref_gen = SimplePoseGaussianTargetGenerator(17, size[::-1], hm[::-1], sigma)
    joints, vis = _joints(rs, 40, size)
    batch_t, batch_w = codec.encode(joints, vis)
    assert batch_t.shape == (40, 17) + hm and batch_w.shape == (40, 17, 1, 1)
    for n in range(40):
        j3d = np.zeros((17, 3, 2), np.float32)
        j3d[:, :2, 0] = joints[n]
        j3d[:, :2, 1] = vis[n][:, None]
        ref_t, ref_w = ref_gen(j3d)
        t, w = codec.encode(joints[n], vis[n])
        assert t.dtype == np.float32 and w.dtype == np.float32
        np.testing.assert_array_equal(t, ref_t)
        np.testing.assert_array_equal(w, ref_w)
        np.testing.assert_array_equal(batch_t[n], ref_t)
        np.testing.assert_array_equal(batch_w[n], ref_w)
    assert batch_w[:, 3].sum() == 0 and batch_w[:, 4].sum() == 0      # windows fully outside
    assert batch_t.max() == 1.0


def _realistic(rs, n, size=(256, 192), hm=(64, 48)):
    """Network-like heatmaps: Gaussians of random height, noise, some empty maps."""
    joints, vis = _joints(rs, n, size, margin=0.1)
    target, _ = MSRAHeatmap(size, hm, 2).encode(joints, vis)
    out = target * rs.uniform(0.2, 1.0, (n, 17, 1, 1)) + rs.randn(n, 17, *hm) * 0.01
    out[:, 16] = 0                                         # an all-zero map (maxval 0)
    out[:, 15] = -np.abs(out[:, 15])                        # negative maxval
    return out.astype(np.float32)


@pytest.mark.parametrize("kind", ["random", "realistic", "clean"])
def test_msra_decode_matches_gluoncv(kind):
    rs = np.random.RandomState(7)
    n = 12
    if kind == "random":
        hm = rs.randn(n, 17, 64, 48).astype(np.float32)
    elif kind == "realistic":
        hm = _realistic(rs, n)
    else:
        joints, vis = _joints(rs, n, (256, 192), margin=0)
        hm = MSRAHeatmap((256, 192), (64, 48), 2).encode(joints, vis)[0]
    center = (rs.rand(n, 2) * 500).astype(np.float32)
    scale = (rs.rand(n, 2) * 300 + 20).astype(np.float32)
    ref_c, ref_m = gpose.get_final_preds(mx.nd.array(hm), center, scale)
    ref_c, ref_m = ref_c.asnumpy(), ref_m.asnumpy()
    codec = MSRAHeatmap((256, 192), (64, 48), 2)
    for inp in (hm, mx.nd.array(hm)):
        c, m = codec.decode(inp, center, scale)
        assert c.dtype == np.float32 and c.shape == (n, 17, 2) and m.shape == (n, 17, 1)
        np.testing.assert_array_equal(m, ref_m)
        np.testing.assert_allclose(c, ref_c, rtol=3e-7, atol=1e-5)
        assert np.mean(c == ref_c) > 0.99


def test_msra_decode_matches_gluoncv_on_mini_coco_heatmaps():
    """Heatmaps of the bundled set's real poses (val crops, sub-pixel GT, noise)."""
    from gluonpose.data import mini_coco
    from gluonpose.data.transforms.pose import (affine_transform_points, boxes_to_center_scale,
                                                get_affine_transform_batch)
    recs = mini_coco().records
    boxes = np.array([r["bbox"] for r in recs])
    joints = np.stack([r["joints_3d"][:, :2, 0] for r in recs])
    vis = np.stack([r["joints_3d"][:, 0, 1] for r in recs])
    center, scale = boxes_to_center_scale(boxes, 0.75)
    crop = affine_transform_points(joints, get_affine_transform_batch(center, scale, 0,
                                                                      (192, 256)))
    rs = np.random.RandomState(13)
    hm, _ = UnbiasedHeatmap((256, 192), (64, 48), 2).encode(crop, vis)
    hm = (hm * rs.uniform(0.3, 1, (len(recs), 17, 1, 1))
          + rs.randn(*hm.shape) * 0.01).astype(np.float32)
    ref_c, ref_m = gpose.get_final_preds(mx.nd.array(hm), center, scale)
    c, m = MSRAHeatmap((256, 192), (64, 48), 2).decode(mx.nd.array(hm), center, scale)
    np.testing.assert_array_equal(m, ref_m.asnumpy())
    np.testing.assert_allclose(c, ref_c.asnumpy(), rtol=3e-7, atol=1e-5)


def test_msra_decode_quarter_offset_rules():
    """Strict bounds: no offset at x <= 1 or x >= w - 1 (GluonCV's 1 < x < w - 1)."""
    hm = np.zeros((1, 4, 8, 8), np.float32)
    for j, (x, y) in enumerate([(1, 4), (4, 4), (6, 4), (4, 6)]):
        hm[0, j, y, x] = 1.0
        hm[0, j, y, x + 1] = 0.5                  # higher right neighbour
        hm[0, j, y - 1, x] = 0.5                  # higher upper neighbour
    c, _ = MSRAHeatmap((32, 32), (8, 8)).decode_heatmap(hm)
    np.testing.assert_array_equal(c[0], [[1, 4], [4.25, 3.75], [6.25, 3.75], [4.25, 5.75]])
    ref, _ = gpose.get_final_preds(mx.nd.array(hm), np.float32([[4, 4]]), np.float32([[8, 8]]))
    np.testing.assert_allclose(MSRAHeatmap((32, 32), (8, 8)).decode(
        hm, np.float32([[4, 4]]), np.float32([[8, 8]]))[0], ref.asnumpy(), atol=1e-6)


@pytest.mark.parametrize("shift", [True, False])
def test_flip_heatmaps_matches_gluoncv(shift):
    rs = np.random.RandomState(8)
    hm = rs.randn(3, 17, 64, 48).astype(np.float32)
    keep = hm.copy()
    ref = gpose.flip_heatmap(hm.copy(), COCO_PERSON.joint_pairs, shift=shift)
    for idx in (COCO_PERSON.flip_index, COCO_PERSON, COCO_PERSON.joint_pairs):
        np.testing.assert_array_equal(flip_heatmaps(hm, idx, shift=shift), ref)
    np.testing.assert_array_equal(hm, keep)                 # input untouched
    out_nd = flip_heatmaps(mx.nd.array(hm), COCO_PERSON.flip_index, shift=shift)
    assert isinstance(out_nd, mx.nd.NDArray)
    np.testing.assert_array_equal(out_nd.asnumpy(), ref)
    ref_nd = gpose.flip_heatmap(mx.nd.array(hm), COCO_PERSON.joint_pairs, shift=shift)
    np.testing.assert_array_equal(ref_nd.asnumpy(), ref)
    if shift:   # GluonCV's shift duplicates column 0 into column 1
        np.testing.assert_array_equal(ref[..., 0], ref[..., 1])


def test_flip_merge_and_non_duplicating_variant():
    rs = np.random.RandomState(9)
    plain = rs.randn(2, 16, 64, 64).astype(np.float32)
    mirrored = rs.randn(2, 16, 64, 64).astype(np.float32)
    pairs = MPII.joint_pairs
    ref = (plain + gpose.flip_heatmap(mirrored.copy(), pairs, shift=True)) / 2
    np.testing.assert_array_equal(flip_merge(plain, mirrored, MPII.flip_index), ref)
    np.testing.assert_allclose(
        flip_merge(mx.nd.array(plain), mx.nd.array(mirrored), MPII.flip_index).asnumpy(),
        ref, rtol=0, atol=1e-7)
    drop = flip_heatmaps(mirrored, MPII.flip_index, shift="drop")
    np.testing.assert_array_equal(drop[..., 0], 0)
    np.testing.assert_array_equal(drop[..., 1:], ref_back := flip_heatmaps(
        mirrored, MPII.flip_index, shift=True)[..., 1:])
    merged = flip_merge(plain, mirrored, MPII.flip_index, shift="drop")
    np.testing.assert_array_equal(merged[..., 0], plain[..., 0])
    np.testing.assert_array_equal(merged[..., 1:], (plain[..., 1:] + ref_back) / 2)
    merged_nd = flip_merge(mx.nd.array(plain), mx.nd.array(mirrored), MPII.flip_index,
                           shift="drop").asnumpy()
    np.testing.assert_allclose(merged_nd, merged, atol=1e-7)
    # the MPII permutation really swaps left and right (16 joints)
    assert flip_heatmaps(np.arange(16, dtype=np.float32).reshape(1, 16, 1, 1), MPII,
                         shift=False).ravel().tolist() == MPII.flip_index.tolist()
    with pytest.raises(ValueError):
        flip_heatmaps(plain, MPII.flip_index, shift="left")


def _round_trip(codec, joints, vis):
    target, weight = codec.encode(joints, vis)
    coords, maxvals = codec.decode_heatmap(target)
    err = np.linalg.norm(coords - joints / codec.stride, axis=-1)
    return err, weight[..., 0, 0] > 0, maxvals[..., 0]


@pytest.mark.parametrize("size,hm,sigma", SIZES[:3])
def test_round_trip_errors(size, hm, sigma):
    rs = np.random.RandomState(10)
    # centres that round onto the grid: [0, (w - 1) * stride] (MSRA rounds x / 4 + 0.5)
    inside = (rs.rand(64, 17, 2) * [(hm[1] - 1) * size[1] / hm[1],
                                    (hm[0] - 1) * size[0] / hm[0]]).astype(np.float32)
    vis = np.ones((64, 17), np.float32)
    err_u, _, m_u = _round_trip(UnbiasedHeatmap(size, hm, sigma), inside, vis)
    assert err_u.max() < 0.1 and err_u.mean() < 0.01
    err_m, _, m_m = _round_trip(MSRAHeatmap(size, hm, sigma), inside, vis)
    assert err_m.max() <= np.sqrt(2) / 2 + 1e-6          # grid rounding only
    assert 0.3 < err_m.mean() < 0.45                       # ~0.38 for uniform sub-pixel offsets
    np.testing.assert_array_equal(m_m, 1.0)
    # unbiased: peaks just outside the map but within 3 sigma are still recovered
    hh, ww = hm
    edge = np.array([[-1.5 * sigma, hh / 2], [ww - 1 + 2 * sigma, hh / 3],
                     [ww / 2, -2.5 * sigma], [ww / 3, hh - 1 + 1.0]], np.float32)
    err_e, ok, _ = _round_trip(UnbiasedHeatmap(size, hm, sigma), edge * [size[1] / ww,
                                                                     size[0] / hh],
                               np.ones(4, np.float32))
    assert ok.all() and err_e.max() < 0.1


def test_unbiased_decoding_of_noisy_maps_beats_msra():
    """On noisy Gaussians, DARK decoding is more accurate than argmax + quarter offset."""
    rs = np.random.RandomState(11)
    joints = (rs.uniform(0.1, 0.9, (64, 17, 2)) * [192, 256]).astype(np.float32)
    vis = np.ones((64, 17), np.float32)
    unb = UnbiasedHeatmap((256, 192), (64, 48), 2)
    clean, _ = unb.encode(joints, vis)
    noisy = clean + rs.randn(*clean.shape).astype(np.float32) * 0.03
    truth = joints / unb.stride
    err_u = np.linalg.norm(unb.decode_heatmap(noisy)[0] - truth, axis=-1).mean()
    err_m = np.linalg.norm(MSRAHeatmap((256, 192), (64, 48), 2).decode_heatmap(noisy)[0]
                           - truth, axis=-1).mean()
    assert err_u < 0.6 * err_m


def test_codec_shapes_and_factory():
    for name in ("msra", "unbiased", "dark"):
        codec = get_codec(name, image_size=(128, 96), sigma=1)
        assert codec.heatmap_size == (32, 24)
        t, w = codec.encode(np.zeros((17, 2)), np.ones(17))
        assert t.shape == (17, 32, 24) and w.shape == (17, 1, 1)
        c, m = codec.decode(t, np.float32([50, 60]), np.float32([96, 128]))
        assert c.shape == (1, 17, 2) and m.shape == (1, 17, 1)
        assert codec.describe().startswith(codec.name + "(sigma=1")
    with pytest.raises(ValueError):
        get_codec("nope")
