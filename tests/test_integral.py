"""Integral regression: codec, soft-argmax loss and coordinate accuracy.

* Encode: ``(x / W - 0.5, y / H - 0.5)``, weight = visibility, 0 outside the
  crop, :data:`INVALID_TARGET` where the weight is 0; batched == per sample.
* Decode: a map symmetric about a point decodes to that point (1e-5 cells);
  round trip image -> crop -> encode -> :meth:`render_logits` -> decode ->
  image within 1e-2 image px (float32 inverse affine; measured ~1e-4).
* Loss: the MXNet soft-argmax equals the numpy decoder to 1e-5 (normalised
  units); a 1-joint 3x3 value checked by hand; plain gradient == finite
  differences, symmetric gradient == its closed form; masked joints add
  nothing and get no gradient; hybridized == imperative.
* Metric: same decisions as HeatmapAccuracy for the same cell offsets.
"""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

from gluonpose.codecs import HeatmapCodec, IntegralRegression, MSRAHeatmap, get_codec
from gluonpose.codecs.base import affine_transform_points, get_affine_transform_batch
from gluonpose.codecs.integral import INVALID_TARGET, soft_argmax, soft_argmax_normalized
from gluonpose.loss import IntegralL1Loss, OHKMLoss, WeightedL2Loss, get_loss
from gluonpose.loss import soft_argmax as mx_soft_argmax
from gluonpose.utils.metrics import (CoordinateAccuracy, HeatmapAccuracy,
                                     get_training_metric)

SIZES = [((256, 192), (64, 48)), ((128, 96), (32, 24)), ((64, 64), (16, 16))]


def _crop_joints(rs, n, size, j=17, margin=0.0):
    h, w = size
    pts = rs.uniform(-margin, 1 + margin, (n, j, 2)) * [w, h]
    return pts.astype(np.float32)


# ------------------------------------------------------------------------------------------
# codec

def test_registry_and_attributes():
    codec = get_codec("integral", image_size=(256, 192), heatmap_size=(64, 48), sigma=2)
    assert isinstance(codec, IntegralRegression) and isinstance(codec, HeatmapCodec)
    assert codec.target_type == "coordinate" and codec.default_loss == "integral_l1"
    assert codec.describe() == "integral(norm=sigmoid)"
    assert "IntegralRegression" in repr(codec)
    # the heatmap codecs inherit the base defaults
    assert MSRAHeatmap.target_type == HeatmapCodec.target_type == "heatmap"
    assert get_codec("msra").default_loss == "weighted_l2"
    assert IntegralRegression().heatmap_size == (64, 48)
    with pytest.raises(ValueError):
        IntegralRegression(norm="softmax")


@pytest.mark.parametrize("size,hm", SIZES)
def test_encode_convention(size, hm):
    rs = np.random.RandomState(0)
    codec = IntegralRegression(size, hm)
    h, w = size
    joints = _crop_joints(rs, 6, size, margin=0.2)
    joints[:, 0] = [0, 0]                   # first pixel: inside, target -0.5
    joints[:, 1] = [w - 0.01, h - 0.01]     # inside
    joints[:, 2] = [w, h / 2]               # x == W: outside
    joints[:, 3] = [-0.01, h / 2]           # outside
    vis = (rs.rand(6, 17) > 0.3).astype(np.float32)
    vis[:, :4] = 1
    target, weight = codec.encode(joints, vis)
    assert target.shape == weight.shape == (6, 17, 2)
    assert target.dtype == weight.dtype == np.float32
    inside = ((joints >= 0) & (joints < [w, h])).all(axis=2)
    expect_w = vis * inside
    np.testing.assert_array_equal(weight, np.repeat(expect_w[..., None], 2, axis=2))
    ok = expect_w > 0
    expect = joints.astype(np.float64) / [w, h] - 0.5
    np.testing.assert_allclose(target[ok], expect[ok], rtol=0, atol=1e-7)
    assert (target[~ok] == INVALID_TARGET).all()
    assert (target[ok] >= -0.5).all() and (target[ok] < 0.5).all()
    np.testing.assert_array_equal(target[:, 0], -0.5)
    assert (weight[:, 2:4] == 0).all()
    # per sample == batched; GluonCV-style (J, 2) and (J, 1) flags
    for n in range(6):
        t, wt = codec.encode(joints[n], vis[n])
        np.testing.assert_array_equal(t, target[n])
        np.testing.assert_array_equal(wt, weight[n])
        t2, wt2 = codec.encode(joints[n], np.repeat(vis[n][:, None], 2, axis=1))
        np.testing.assert_array_equal(wt2, weight[n])
        np.testing.assert_array_equal(t2, target[n])


def test_decode_symmetric_map_gives_centre():
    # a map symmetric about (cx, cy) with symmetric support decodes to (cx, cy):
    # odd sizes centred on a cell, even sizes on a half cell
    for h, w in ((9, 7), (8, 6), (65, 49)):
        y, x = np.mgrid[:h, :w]
        cx, cy = (w - 1) / 2, (h - 1) / 2
        for sigma, gain in ((1.0, 20.0), (2.0, 5.0), (3.0, 1.0)):
            g = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma ** 2))
            logits = (gain * g - gain / 2)[None, None].astype(np.float32)
            coords, maxvals = IntegralRegression().decode_heatmap(logits)
            np.testing.assert_allclose(coords[0, 0], [cx, cy], atol=1e-5)
            assert maxvals[0, 0, 0] == pytest.approx(1 / (1 + np.exp(-logits.max())), rel=1e-6)
    # a sharp Gaussian (sigma 1.5, background logit -30) >= 4.5 sigma inside the map:
    # centre to 1e-4 cells (closer to the edge the map truncates the Gaussian and the
    # expectation is pulled inward, e.g. 0.08 cells at 1.5 cells from the edge)
    h, w = 64, 48
    y, x = np.mgrid[:h, :w]
    for cx, cy in ((10, 20), (7.25, 56.5), (40.75, 7.5)):
        g = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 1.5 ** 2))
        logits = np.maximum(np.log(np.maximum(0.9 * g, 1e-300)) - np.log1p(-0.9 * g), -30)
        coords, _ = soft_argmax(logits[None, None].astype(np.float32))
        np.testing.assert_allclose(coords[0, 0], [cx, cy], atol=1e-4)


def test_soft_argmax_hand_example_and_underflow():
    # 3x3, logit ln 3 at (x=2, y=0) (sigmoid 3/4), 0 elsewhere (sigmoid 1/2): sum 4.75;
    # x marginal (1.5, 1.5, 1.75) -> E[x] = (1.5 + 3.5) / 4.75 = 20/19;
    # y marginal (1.75, 1.5, 1.5) -> E[y] = (1.5 + 3.0) / 4.75 = 18/19
    logits = np.zeros((1, 1, 3, 3), np.float32)
    logits[0, 0, 0, 2] = np.log(3)
    coords, maxvals = soft_argmax(logits)
    np.testing.assert_allclose(coords[0, 0], [20 / 19, 18 / 19], rtol=1e-6)
    assert maxvals[0, 0, 0] == pytest.approx(0.75, rel=1e-6)
    norm, _ = soft_argmax_normalized(logits)
    np.testing.assert_allclose(norm[0, 0], [20 / 57 - 0.5, 6 / 19 - 0.5], rtol=1e-6)
    # far below the logit floor (-80) everywhere: a uniform map, so the map centre,
    # a score ~1.8e-35, no NaN, no warning; the MXNet soft-argmax agrees
    logits = np.full((1, 2, 4, 5), -1e4, np.float32)
    logits[0, 1, 0, 0] = -1e30
    with np.errstate(all="raise"):
        coords, maxvals = soft_argmax(logits)
    np.testing.assert_allclose(coords, np.full((1, 2, 2), [2.0, 1.5]), rtol=1e-6)
    assert (maxvals > 0).all() and (maxvals < 1e-34).all()
    out = mx_soft_argmax(mx.nd, mx.nd.array(logits)).asnumpy()
    np.testing.assert_allclose(out, soft_argmax_normalized(logits)[0], atol=1e-6)


@pytest.mark.parametrize("size,hm", SIZES)
def test_render_decode_round_trip(size, hm):
    rs = np.random.RandomState(1)
    codec = IntegralRegression(size, hm)
    h, w = hm
    target, weight = codec.encode(_crop_joints(rs, 8, size), np.ones((8, 17)))
    # reachable range: [-0.5, 0.5 - 1/w]; keep the targets there for an exact round trip
    target = np.minimum(target, 0.5 - 1.0 / np.array([w, h]) - 1e-6).astype(np.float32)
    logits = codec.render_logits(target)
    assert logits.shape == (8, 17) + hm and logits.dtype == np.float32
    norm, maxvals = soft_argmax_normalized(logits)
    np.testing.assert_allclose(norm, target, atol=1e-6)
    assert (maxvals > 0.2).all()
    # per-sample decode == batched decode
    batched, bmax = codec.decode_heatmap(logits)
    for n in range(8):
        c, m = codec.decode_heatmap(logits[n])
        np.testing.assert_array_equal(c[0], batched[n])
        np.testing.assert_array_equal(m[0], bmax[n])


def test_image_round_trip_through_affine():
    """Image joints -> crop -> encode -> render -> decode(center, scale) -> image."""
    rs = np.random.RandomState(2)
    size, hm = (256, 192), (64, 48)
    codec = IntegralRegression(size, hm)
    n = 10
    center = rs.uniform(100, 500, (n, 2))
    scale = np.stack([rs.uniform(100, 300, n)] * 2, axis=1) * [1.0, 256 / 192]
    crop = _crop_joints(rs, n, size) * 0.98                       # inside the reachable range
    inv = get_affine_transform_batch(center, scale, 0.0, size[::-1], inv=True)
    image = affine_transform_points(crop.astype(np.float64), inv)
    fwd = get_affine_transform_batch(center, scale, 0.0, size[::-1])
    crop_again = affine_transform_points(image, fwd)
    target, weight = codec.encode(crop_again, np.ones((n, 17)))
    assert (weight == 1).all()
    coords, maxvals = codec.decode(mx.nd.array(codec.render_logits(target)), center, scale)
    assert coords.shape == (n, 17, 2) and maxvals.shape == (n, 17, 1)
    np.testing.assert_allclose(coords, image, atol=1e-2)


# ------------------------------------------------------------------------------------------
# loss

def _random_logits(rs, n=3, j=5, h=16, w=12):
    logits = rs.randn(n, j, h, w) * 3
    # a few sharp peaks on a low background, like a trained integral head
    logits[:, :2] -= 10
    logits[:, :2, h // 3, w // 4] = 8
    return logits.astype(np.float32)


@pytest.mark.parametrize("shape", [(3, 5, 16, 12), (2, 17, 64, 48), (1, 1, 3, 3), (2, 2, 7, 5)])
@pytest.mark.parametrize("symmetric", [False, True])
def test_mx_soft_argmax_matches_numpy(shape, symmetric):
    rs = np.random.RandomState(3)
    logits = _random_logits(rs, *shape) if shape[2] > 3 else rs.randn(*shape).astype(np.float32)
    ref, _ = soft_argmax_normalized(logits)
    np.testing.assert_allclose(ref, _soft_argmax64(logits), rtol=0, atol=1e-6)
    out = mx_soft_argmax(mx.nd, mx.nd.array(logits), symmetric=symmetric)
    assert out.shape == shape[:2] + (2,)
    np.testing.assert_allclose(out.asnumpy(), ref, rtol=0, atol=1e-5)


def _soft_argmax64(logits):
    """Independent float64 reference: sigmoid, normalise, expectation of k / size - 0.5."""
    z = np.asarray(logits, np.float64)
    h, w = z.shape[2:]
    p = 1 / (1 + np.exp(-z))
    p /= p.sum(axis=(2, 3), keepdims=True)
    u = (p.sum(axis=2) * (np.arange(w) / w - 0.5)).sum(axis=2)
    v = (p.sum(axis=3) * (np.arange(h) / h - 0.5)).sum(axis=2)
    return np.stack([u, v], axis=-1)


def _np_loss(logits, target, weight):
    return (np.abs(_soft_argmax64(logits) - target) * weight).sum(axis=(1, 2))


def test_loss_hand_value_3x3():
    # the 3x3 map of test_soft_argmax_hand_example: u = 20/57 - 1/2 = -17/114,
    # v = 6/19 - 1/2 = -7/38; target (0, 0), weights (1, 0.5):
    # L = 17/114 + 0.5 * 7/38 = 34/228 + 21/228 = 55/228
    logits = np.zeros((1, 1, 3, 3), np.float32)
    logits[0, 0, 0, 2] = np.log(3)
    loss = IntegralL1Loss()(mx.nd.array(logits), mx.nd.zeros((1, 1, 2)),
                            mx.nd.array([[[1.0, 0.5]]]))
    assert loss.shape == (1,)
    assert loss.asscalar() == pytest.approx(55 / 228, rel=1e-6)
    # global weight scales; no target_weight weighs both coordinates 1
    loss = IntegralL1Loss(weight=3.0)(mx.nd.array(logits), mx.nd.zeros((1, 1, 2)))
    assert loss.asscalar() == pytest.approx(3 * (17 / 114 + 7 / 38), rel=1e-6)


def test_loss_matches_numpy_reference():
    rs = np.random.RandomState(4)
    logits = _random_logits(rs, 4, 17, 16, 12)
    target = rs.uniform(-0.5, 0.5, (4, 17, 2)).astype(np.float32)
    weight = np.repeat((rs.rand(4, 17, 1) > 0.3), 2, axis=2).astype(np.float32)
    for symmetric in (False, True):
        out = IntegralL1Loss(symmetric=symmetric)(
            mx.nd.array(logits), mx.nd.array(target), mx.nd.array(weight))
        np.testing.assert_allclose(out.asnumpy(), _np_loss(logits, target, weight),
                                   rtol=1e-5, atol=1e-6)


def _grad(loss_fn, logits, target, weight):
    x = mx.nd.array(logits)
    x.attach_grad()
    with autograd.record():
        loss = loss_fn(x, mx.nd.array(target), mx.nd.array(weight))
    loss.backward()
    return loss.asnumpy(), x.grad.asnumpy()


def test_plain_gradient_matches_finite_differences():
    rs = np.random.RandomState(5)
    logits = rs.randn(2, 3, 5, 4).astype(np.float32)
    target = rs.uniform(-0.5, 0.5, (2, 3, 2)).astype(np.float32)
    weight = rs.uniform(0.5, 1, (2, 3, 2)).astype(np.float32)
    _, grad = _grad(IntegralL1Loss(symmetric=False), logits, target, weight)
    assert np.isfinite(grad).all() and np.abs(grad).max() > 1e-4
    # central differences of the float64 reference (d sum_n L_n / d logit)
    eps = 1e-4
    base = logits.astype(np.float64)
    num = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
        hi, lo = base.copy(), base.copy()
        hi[idx] += eps
        lo[idx] -= eps
        num[idx] = (_np_loss(hi, target, weight).sum() - _np_loss(lo, target, weight).sum()) \
            / (2 * eps)
    np.testing.assert_allclose(grad, num, rtol=1e-3, atol=2e-5)


def _symmetric_grad_reference(logits, target, weight, amplitude=2.0):
    """Closed form of the symmetric-integral gradient, float64 numpy."""
    z = logits.astype(np.float64)
    n, j, h, w = z.shape
    q = 1 / (1 + np.exp(-z))
    total = q.sum(axis=(2, 3), keepdims=True)
    p = q / total
    coords, _ = soft_argmax_normalized(logits)
    dldu = np.sign(coords - target) * weight                       # (n, j, 2)
    gx = np.arange(w) / w - 0.5
    gy = np.arange(h) / h - 0.5
    sx = np.where(gx[None, None] >= coords[..., :1], 1.0, -1.0) * amplitude / w    # (n, j, w)
    sy = np.where(gy[None, None] >= coords[..., 1:], 1.0, -1.0) * amplitude / h    # (n, j, h)
    # d L / d p[y, x] = dL/du * sx[x] + dL/dv * sy[y]
    dp = dldu[..., 0, None, None] * sx[:, :, None, :] + dldu[..., 1, None, None] * sy[..., None]
    dq = (dp - (dp * p).sum(axis=(2, 3), keepdims=True)) / total
    return dq * q * (1 - q)


def test_symmetric_gradient_closed_form():
    rs = np.random.RandomState(6)
    logits = _random_logits(rs, 3, 4, 9, 7)
    target = rs.uniform(-0.5, 0.5, (3, 4, 2)).astype(np.float32)
    weight = np.ones((3, 4, 2), np.float32)
    loss, grad = _grad(IntegralL1Loss(symmetric=True), logits, target, weight)
    assert np.isfinite(grad).all() and np.abs(grad).max() > 1e-4
    np.testing.assert_allclose(grad, _symmetric_grad_reference(logits, target, weight),
                               rtol=1e-4, atol=1e-7)
    # same value as the plain loss; a different gradient
    loss_plain, grad_plain = _grad(IntegralL1Loss(symmetric=False), logits, target, weight)
    np.testing.assert_allclose(loss, loss_plain, rtol=1e-6)
    assert not np.allclose(grad, grad_plain)


@pytest.mark.parametrize("symmetric", [False, True])
def test_masked_joints_contribute_nothing(symmetric):
    rs = np.random.RandomState(7)
    logits = _random_logits(rs, 2, 6, 8, 6)
    target = rs.uniform(-0.5, 0.5, (2, 6, 2)).astype(np.float32)
    weight = np.ones((2, 6, 2), np.float32)
    weight[:, [1, 4]] = 0
    loss_fn = IntegralL1Loss(symmetric=symmetric)
    loss, grad = _grad(loss_fn, logits, target, weight)
    assert (grad[:, [1, 4]] == 0).all()
    # anything in the masked joints' maps and targets leaves the loss unchanged
    logits2, target2 = logits.copy(), target.copy()
    logits2[:, [1, 4]] = rs.randn(2, 2, 8, 6) * 5
    target2[:, [1, 4]] = INVALID_TARGET
    loss2, _ = _grad(loss_fn, logits2, target2, weight)
    np.testing.assert_array_equal(loss, loss2)
    # all masked: zero loss, zero gradient
    loss0, grad0 = _grad(loss_fn, logits, target, np.zeros_like(weight))
    assert (loss0 == 0).all() and (grad0 == 0).all()


@pytest.mark.parametrize("symmetric", [False, True])
def test_hybridized_equals_imperative(symmetric):
    rs = np.random.RandomState(8)
    logits = _random_logits(rs, 3, 5, 16, 12)
    target = rs.uniform(-0.5, 0.5, (3, 5, 2)).astype(np.float32)
    weight = np.repeat((rs.rand(3, 5, 1) > 0.2), 2, axis=2).astype(np.float32)
    imp = IntegralL1Loss(symmetric=symmetric)
    hyb = IntegralL1Loss(symmetric=symmetric)
    hyb.hybridize()
    loss_i, grad_i = _grad(imp, logits, target, weight)
    loss_h, grad_h = _grad(hyb, logits, target, weight)
    np.testing.assert_allclose(loss_h, loss_i, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grad_h, grad_i, rtol=1e-5, atol=1e-8)
    # a second map size through the same hybridized block (no shape constants)
    logits2 = _random_logits(rs, 2, 5, 10, 8)
    loss_h2, _ = _grad(hyb, logits2, target[:2], weight[:2])
    np.testing.assert_allclose(loss_h2, _np_loss(logits2, target[:2], weight[:2]), rtol=1e-5)
    # and as a symbol, with the target weight omitted
    sym = hyb(mx.sym.var("pred"), mx.sym.var("target"))
    exe = sym.bind(mx.cpu(), {"pred": mx.nd.array(logits), "target": mx.nd.array(target)})
    np.testing.assert_allclose(exe.forward()[0].asnumpy(),
                               _np_loss(logits, target, np.ones_like(weight)), rtol=1e-5)


@pytest.mark.parametrize("symmetric", [False, True])
def test_training_moves_soft_argmax_to_target(symmetric):
    """Adam on free logits with the integral loss: the decoded joints reach the targets."""
    rs = np.random.RandomState(9)
    codec = IntegralRegression((32, 32), (8, 8))
    target, weight = codec.encode(rs.uniform(2, 26, (4, 3, 2)), np.ones((4, 3)))
    logits = gluon.Parameter("logits", shape=(4, 3, 8, 8), init=mx.init.Normal(0.1))
    logits.initialize()
    trainer = gluon.Trainer([logits], "adam", {"learning_rate": 0.1})
    loss_fn = get_loss("integral_l1", symmetric=symmetric)
    losses = []
    for _ in range(100):
        with autograd.record():
            loss = loss_fn(logits.data(), mx.nd.array(target), mx.nd.array(weight))
        loss.backward()
        trainer.step(4)
        losses.append(loss.mean().asscalar())
    assert losses[-1] < 0.1 * losses[0]
    coords, _ = soft_argmax_normalized(logits.data().asnumpy())
    # measured: mean 0.0045 / 0.0029, max 0.043 / 0.024 (plain / symmetric); the worst
    # joint is half a cell from the map edge, where the plain gradient is weakest
    err = np.abs(coords - target)
    assert err.mean() < 0.01 and err.max() < 0.06        # max < 0.5 cell of the 8x8 map


def test_get_loss_registry():
    assert isinstance(get_loss("weighted_l2"), WeightedL2Loss)
    assert isinstance(get_loss("ohkm", topk=4), OHKMLoss)
    assert isinstance(get_loss("integral_l1", symmetric=False), IntegralL1Loss)
    assert isinstance(get_loss(IntegralRegression.default_loss), IntegralL1Loss)
    assert isinstance(get_loss(MSRAHeatmap.default_loss), WeightedL2Loss)
    inst = IntegralL1Loss()
    assert get_loss(inst) is inst
    with pytest.raises(ValueError, match="unknown loss"):
        get_loss("nope")


# ------------------------------------------------------------------------------------------
# metric

def test_metric_registry():
    assert isinstance(get_training_metric("heatmap"), HeatmapAccuracy)
    assert isinstance(get_training_metric("coordinate"), CoordinateAccuracy)
    assert isinstance(get_training_metric(IntegralRegression.target_type), CoordinateAccuracy)
    with pytest.raises(ValueError):
        get_training_metric("tags")


def test_coordinate_accuracy_agrees_with_heatmap_accuracy():
    """Offsets of 0..4 cells on a 64x48 map: the same hits as HeatmapAccuracy."""
    size, hm = (256, 192), (64, 48)
    integ, msra = IntegralRegression(size, hm), MSRAHeatmap(size, hm, 2)
    rs = np.random.RandomState(10)
    n = 5
    # joints on the heatmap grid, away from the border, so both codecs are exact
    cells = np.stack([rs.randint(8, 40, (n, 17)), rs.randint(8, 56, (n, 17))], axis=-1)
    joints = cells * 4.0
    vis = np.ones((n, 17))
    vis[:, 16] = 0
    offsets = np.zeros((n, 17, 2))
    offsets[:, :, 0] = np.arange(17) % 5                   # 0..4 cells in x
    offsets[:, :, 1] = (np.arange(17) // 5) % 3            # 0..2 cells in y
    pred_joints = joints + offsets * 4
    hm_label, _ = msra.encode(joints, vis)
    hm_pred, _ = msra.encode(pred_joints, np.ones((n, 17)))
    ref = HeatmapAccuracy()
    ref.update([mx.nd.array(hm_label)], [mx.nd.array(hm_pred)])
    target, _ = integ.encode(joints, vis)
    pred_target, _ = integ.encode(pred_joints, np.ones((n, 17)))
    ours = CoordinateAccuracy()
    ours.update([mx.nd.array(target)], [mx.nd.array(integ.render_logits(pred_target))])
    assert ours.num_inst == ref.num_inst == 16                       # joint 16 unlabelled
    assert ours.sum_metric == pytest.approx(ref.sum_metric)
    assert 0 < ours.get()[1] < 1
    # the threshold in normalised units is 0.05
    t = np.zeros((1, 2, 2), np.float32)
    p = np.array([[[0.0499, 0.0], [0.0501, 0.0]]], np.float32)
    m = CoordinateAccuracy()
    m.update(t, p)
    assert (m.sum_metric, m.num_inst) == (1.0, 2)


def test_coordinate_accuracy_bookkeeping():
    codec = IntegralRegression((64, 64), (16, 16))
    rs = np.random.RandomState(11)
    target, _ = codec.encode(rs.uniform(0, 64, (4, 3, 2)), np.ones((4, 3)))
    target[:2, 2] = INVALID_TARGET                   # joint 2 labelled in half the samples
    target[:, 1] = INVALID_TARGET                    # joint 1 never labelled
    pred = codec.render_logits(target)
    metric = CoordinateAccuracy()
    # two devices, perfect predictions
    metric.update([target[:2], mx.nd.array(target[2:])], [pred[:2], mx.nd.array(pred[2:])])
    # device 0: joint 0 (2/2); device 1: joints 0, 2 -> 3 (element, joint) pairs, all 1
    assert (metric.sum_metric, metric.num_inst) == (3.0, 3)
    assert (metric.global_sum_metric, metric.global_num_inst) == (3.0, 3)
    assert metric.get() == ("coordinate_accuracy", 1.0)
    metric.reset_local()
    assert metric.num_inst == 0 and metric.global_num_inst == 3
    # the engine restores these attributes on resume
    metric.reset()
    metric.sum_metric = metric.global_sum_metric = 1.5
    metric.num_inst = metric.global_num_inst = 2
    assert metric.get()[1] == pytest.approx(0.75)
    with pytest.raises(ValueError):
        metric.update([target], [pred, pred])
    with pytest.raises(ValueError):
        metric.update([target], [pred[:, :2]])           # joint count mismatch


def test_engine_trains_and_evaluates_any_model_with_the_integral_codec(tmp_path):
    """--codec integral: coordinate targets, L1 loss and the coordinate metric, end to end."""
    import json
    from gluonpose.data import mini_coco_root
    from gluonpose.data.mscoco import COCOKeyPoints
    from gluonpose.engine import EVAL_DEFAULTS, TRAIN_DEFAULTS, evaluate, make_config, train
    from gluonpose.engine.data import SubsetDataset
    people = SubsetDataset(COCOKeyPoints(mini_coco_root(), "person_keypoints_train2017",
                                         image_format="numpy"), 4)
    cfg = make_config(TRAIN_DEFAULTS, {
        "model": "mobile_pose_mobilenetv3_small", "codec": "integral", "input_size": "64,32",
        "batch_size": 2, "num_epochs": 2, "lr": 1e-3, "wd": 0.0, "lr_decay_epoch": "10",
        "ctx": "cpu:0", "num_data_workers": 0, "save_dir": str(tmp_path), "log_interval": 0,
        "logging_file": "", "progress": False})
    result = train(cfg, dataset=people, echo=lambda *a: None, console=False)
    epochs = [json.loads(line) for line in open(result.log_file)]
    epochs = [r for r in epochs if r["type"] == "epoch"]
    # an L1 sum over joint coordinates (not a heatmap MSE ~1e-3) and a real accuracy
    assert all(0.05 < r["loss"] < 40 for r in epochs)
    assert all(0.0 <= r["heatmap_accuracy"] <= 1.0 for r in epochs)
    ecfg = make_config(EVAL_DEFAULTS, {
        "model": "mobile_pose_mobilenetv3_small", "codec": "integral", "input_size": "64,32",
        "data_dir": "mini", "ctx": "cpu:0", "num_data_workers": 0, "max_samples": 4,
        "progress": False, "output_dir": str(tmp_path)})
    res = evaluate(ecfg, net=result.net, echo=lambda *a: None)
    assert res.protocol["codec"].startswith("integral")
    assert 0.0 <= res.ap <= 1.0
