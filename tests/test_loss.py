"""WeightedL2Loss and OHKMLoss: gluon/GluonCV equivalence, hand references, autograd, hybrid."""
import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

from gluonpose.loss import OHKMLoss, WeightedL2Loss


def _batch(n=4, j=17, h=16, w=12, seed=0):
    rng = np.random.RandomState(seed)
    pred = rng.rand(n, j, h, w).astype(np.float32)
    target = rng.rand(n, j, h, w).astype(np.float32)
    weight = (rng.rand(n, j, 1, 1) > 0.3).astype(np.float32)
    return pred, target, weight


def _np_joint_losses(pred, target, weight, scale=0.5):
    """(N, J) per-joint mean over the map of scale * w * (pred - target)**2, in float64."""
    sq = (pred.astype(np.float64) - target) ** 2 * weight
    return scale * sq.reshape(sq.shape[0], sq.shape[1], -1).mean(axis=2)


@pytest.mark.parametrize("weight_scale", [1.0, 2.0])
def test_weighted_l2_equals_gluon_l2loss(weight_scale):
    pred, target, weight = (mx.nd.array(a) for a in _batch())
    ours = WeightedL2Loss(weight=weight_scale)(pred, target, weight)
    ref = gluon.loss.L2Loss(weight=weight_scale)(pred, target, weight)
    assert ours.shape == (4,)
    np.testing.assert_array_equal(ours.asnumpy(), ref.asnumpy())
    # without weights too
    np.testing.assert_array_equal(WeightedL2Loss()(pred, target).asnumpy(),
                                  gluon.loss.L2Loss()(pred, target).asnumpy())


def test_weighted_l2_hand_reference():
    pred, target, weight = _batch(n=3, j=5, h=4, w=3, seed=1)
    out = WeightedL2Loss()(mx.nd.array(pred), mx.nd.array(target), mx.nd.array(weight))
    expected = _np_joint_losses(pred, target, weight).mean(axis=1)
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-5)
    # a single wrong pixel: 1/2 * 1 * 2**2 / (J h w)
    p = np.zeros((1, 2, 2, 2), np.float32)
    t = p.copy()
    p[0, 1, 0, 1] = 2.0
    out = WeightedL2Loss()(mx.nd.array(p), mx.nd.array(t), mx.nd.ones((1, 2, 1, 1)))
    assert out.asscalar() == pytest.approx(0.5 * 4 / 8)


def test_training_usage_matches_gluoncv_recipe():
    """GluonCV: L2Loss()(pred, target, w) per device, backward on the list, step(total batch)."""
    pred_np, target, weight = _batch(n=6, j=4, h=8, w=6, seed=2)
    grads = []
    for loss_fn in (WeightedL2Loss(), gluon.loss.L2Loss()):
        net = gluon.nn.Conv2D(4, 1, in_channels=4, prefix="c_")
        net.initialize(mx.init.Constant(0.1))
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 1.0})
        x = mx.nd.array(pred_np)
        halves = [slice(0, 3), slice(3, 6)]                 # two "devices"
        with autograd.record():
            losses = [loss_fn(net(x[s]), mx.nd.array(target[s]), mx.nd.array(weight[s]))
                      for s in halves]
        autograd.backward(losses)
        trainer.step(6)
        grads.append(net.weight.data().asnumpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("topk", [1, 3, 8, 17])
def test_ohkm_hand_reference(topk):
    pred, target, weight = _batch(n=5, j=17, h=6, w=5, seed=3)
    out = OHKMLoss(topk=topk)(mx.nd.array(pred), mx.nd.array(target), mx.nd.array(weight))
    joint = _np_joint_losses(pred, target, weight)
    expected = np.sort(joint, axis=1)[:, ::-1][:, :topk].mean(axis=1)
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-5)
    if topk == 17:   # keeping every joint is the plain weighted L2 loss
        full = WeightedL2Loss()(mx.nd.array(pred), mx.nd.array(target), mx.nd.array(weight))
        np.testing.assert_allclose(out.asnumpy(), full.asnumpy(), rtol=1e-5)


def test_ohkm_small_case_by_hand():
    # 1 sample, 4 joints, 1x2 maps; per-joint squared-error means 4, 1, 0 (masked 9), 2.5
    pred = np.array([[[[2, 2]], [[1, 1]], [[3, 3]], [[1, 2]]]], np.float32)
    target = np.zeros_like(pred)
    weight = np.array([1, 1, 0, 1], np.float32).reshape(1, 4, 1, 1)
    out = OHKMLoss(topk=2, weight=2.0)(mx.nd.array(pred), mx.nd.array(target),
                                       mx.nd.array(weight))
    assert out.asscalar() == pytest.approx((4 + 2.5) / 2)


def test_ohkm_topk_too_large():
    with pytest.raises(ValueError):
        OHKMLoss(topk=5)(mx.nd.ones((1, 3, 2, 2)), mx.nd.zeros((1, 3, 2, 2)))
    with pytest.raises(ValueError):
        OHKMLoss(topk=0)


@pytest.mark.parametrize("cls", [WeightedL2Loss, OHKMLoss])
def test_gradients_flow(cls):
    pred_np, target, weight = _batch(n=2, j=10, h=4, w=4, seed=4)
    pred = mx.nd.array(pred_np)
    pred.attach_grad()
    with autograd.record():
        loss = cls()(pred, mx.nd.array(target), mx.nd.array(weight))
    loss.backward()
    grad = pred.grad.asnumpy()
    # d/dpred of 0.5 * w * (p - t)^2 averaged: w * (p - t) / (h w [J or k])
    diff = (pred_np - target) * weight
    if cls is WeightedL2Loss:
        expected = diff / (10 * 16)
    else:
        joint = _np_joint_losses(pred_np, target, weight)
        top = np.argsort(-joint, axis=1)[:, :8]
        mask = np.zeros_like(joint)
        np.put_along_axis(mask, top, 1.0, axis=1)
        expected = diff * mask[:, :, None, None] / (8 * 16)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-8)
    assert np.abs(grad).sum() > 0


@pytest.mark.parametrize("cls", [WeightedL2Loss, OHKMLoss])
def test_hybridized_equals_imperative(cls):
    pred, target, weight = (mx.nd.array(a) for a in _batch(seed=5))
    imperative = cls()(pred, target, weight).asnumpy()
    hyb = cls()
    hyb.hybridize()
    first = hyb(pred, target, weight).asnumpy()
    second = hyb(pred, target, weight).asnumpy()      # cached graph
    np.testing.assert_allclose(first, imperative, rtol=1e-6)
    np.testing.assert_allclose(second, imperative, rtol=1e-6)
    # gradients through the cached graph too
    pred.attach_grad()
    with autograd.record():
        out = hyb(pred, target, weight)
    out.backward()
    assert np.isfinite(pred.grad.asnumpy()).all() and np.abs(pred.grad.asnumpy()).sum() > 0


@pytest.mark.parametrize("cls", [WeightedL2Loss, OHKMLoss])
def test_hybridized_without_weight(cls):
    pred, target, _ = (mx.nd.array(a) for a in _batch(n=2, j=9, h=3, w=3, seed=6))
    ref = cls()(pred, target).asnumpy()
    hyb = cls()
    hyb.hybridize()
    np.testing.assert_allclose(hyb(pred, target).asnumpy(), ref, rtol=1e-6)
