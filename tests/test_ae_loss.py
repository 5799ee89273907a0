"""AssociativeEmbeddingLoss: hand-computed pull/push, numpy detection term, hybrid, gradients."""
import math

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

from gluonpose.loss import AssociativeEmbeddingLoss, get_loss


def _pred(det, tag_maps):
    """Stack ``(N, K, h, w)`` heatmaps and ``(N, K, D, h, w)`` tags into the joint-major layout."""
    n, k, d, h, w = tag_maps.shape
    return np.concatenate([det, tag_maps.reshape(n, k * d, h, w)], axis=1)


def _refs(people, n, m, k, dtype):
    """``(N, M, K, 2)`` tag_refs from ``{(sample, person): [(index, flag) per joint]}``."""
    refs = np.zeros((n, m, k, 2), dtype)
    for (s, p), joints in people.items():
        refs[s, p] = joints
    return refs


def _run(loss, pred, heat, mask, refs, dtype):
    args = [mx.nd.array(a, dtype=dtype) for a in (pred, heat, mask)]
    args.append(mx.nd.array(refs, dtype=refs.dtype))
    return [t.asnumpy() for t in loss.terms(*args)], loss(*args).asnumpy()


# ---------------------------------------------------------------- hand numbers, D = 1
# K = 3 joints on a 2 x 3 map (h*w = 6): the flat index of joint k at pixel p is 6k + p.
# The same tag maps in every sample; the four samples differ in who is labelled where.
_TAGS_D1 = np.array([[[0.0, 0.5, 1.0], [1.5, 2.0, 2.5]],       # joint 0: pixel p -> 0.5 p
                     [[3.0, -1.0, 0.25], [0.75, 4.0, 1.0]],    # joint 1
                     [[-2.0, 1.0, 0.5], [0.0, -0.5, 2.0]]])    # joint 2
_PEOPLE_D1 = {
    # sample 0, one person: tags 0.0, 1.0, 2.0 -> mean 1, pull (1 + 0 + 1) / 3
    (0, 0): [(0, 1), (6 + 5, 1), (12 + 5, 1)],
    # sample 1, two people.
    #   A: 1.5, 3.0 (joint 2 unlabelled) -> mean 2.25, pull (0.75^2 * 2) / 2 = 0.5625
    #   B: 0.5, 0.25, 0.0 -> mean 0.25, pull (0.0625 + 0 + 0.0625) / 3
    (1, 0): [(3, 1), (6 + 0, 1), (0, 0)],
    (1, 1): [(1, 1), (6 + 2, 1), (12 + 3, 1)],
    # sample 2, a joint outside the map (index out of range, flag 0) must not count,
    # and person slot 1 is empty (absent people need not be packed at the front).
    #   A: 1.0, [joint 1 invalid], 2.0 -> mean 1.5, pull (0.25 + 0.25) / 2 = 0.25
    #   C: [joint 0 invalid, negative index], 1.0, -0.5 -> mean 0.25, pull 0.5625
    (2, 0): [(2, 1), (999, 0), (12 + 5, 1)],
    (2, 2): [(-7, 0), (6 + 5, 1), (12 + 4, 1)],
    # sample 3: nobody
}
_PULL_D1 = [2.0 / 3.0, (0.5625 + 0.125 / 3.0) / 2.0, (0.25 + 0.5625) / 2.0, 0.0]
# push = 0.5 * exp(-(difference of the means)^2) / 1 pair
_PUSH_D1 = [0.0, 0.5 * math.exp(-(2.25 - 0.25) ** 2), 0.5 * math.exp(-(1.5 - 0.25) ** 2), 0.0]


# ---------------------------------------------------------------- hand numbers, D = 2
# K = 2 joints on a 1 x 3 map (h*w = 3), 2-d tags (dimension 0, dimension 1) per pixel.
_TAGS_D2 = np.array([[[[0.0, 1.0, 2.0]], [[0.0, 2.0, 4.0]]],       # joint 0: (0,0) (1,2) (2,4)
                     [[[1.0, 3.0, 0.0]], [[-1.0, 0.0, 2.0]]]])     # joint 1: (1,-1) (3,0) (0,2)
_PEOPLE_D2 = {
    # (1,2) and (1,-1): mean (1, 0.5), squared distances 2.25 each -> pull 2.25 / D = 1.125
    (0, 0): [(1, 1), (3 + 0, 1)],
    # A: (0,0), (3,0) -> mean (1.5, 0), pull 2.25 / 2 = 1.125
    # B: (1,2), (0,2) -> mean (0.5, 2), pull 0.25 / 2 = 0.125
    # push: |(1.5, 0) - (0.5, 2)|^2 = 1 + 4 = 5 (not divided by D)
    (1, 0): [(0, 1), (3 + 1, 1)],
    (1, 1): [(1, 1), (3 + 2, 1)],
    # A: (2,4) only, C: (0,2) only -> pull 0 each, push distance 4 + 4 = 8
    (2, 0): [(2, 1), (99, 0)],
    (2, 1): [(-1, 0), (3 + 2, 1)],
}
_PULL_D2 = [1.125, (1.125 + 0.125) / 2.0, 0.0, 0.0]
_PUSH_D2 = [0.0, 0.5 * math.exp(-5.0), 0.5 * math.exp(-8.0), 0.0]


def _hand_case(tags, people, dtype):
    k, d = tags.shape[0], tags.shape[1] if tags.ndim == 4 else 1
    h, w = tags.shape[-2:]
    n, m = 4, 3
    tag_maps = np.broadcast_to(tags.reshape(1, k, d, h, w), (n, k, d, h, w))
    heat = np.zeros((n, k, h, w))
    pred = _pred(heat, tag_maps)
    mask = np.ones((n, h, w))
    return k, d, pred, heat, mask, _refs(people, n, m, k, dtype)


@pytest.mark.parametrize("ref_dtype", [np.int32, np.int64, np.float32])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", ["d1", "d2"])
def test_pull_push_hand_computation(case, dtype, ref_dtype):
    tags, people, pull, push = {"d1": (_TAGS_D1, _PEOPLE_D1, _PULL_D1, _PUSH_D1),
                                "d2": (_TAGS_D2, _PEOPLE_D2, _PULL_D2, _PUSH_D2)}[case]
    k, d, pred, heat, mask, refs = _hand_case(tags, people, ref_dtype)
    loss = AssociativeEmbeddingLoss(num_joints=k, tag_dim=d, detection_weight=1.0,
                                    pull_weight=2.0, push_weight=3.0)
    (det, got_pull, got_push), total = _run(loss, pred, heat, mask, refs, dtype)
    tol = 1e-12 if dtype == "float64" else 1e-6
    np.testing.assert_allclose(det, 0.0)                 # heatmaps equal their targets
    np.testing.assert_allclose(got_pull, pull, rtol=tol, atol=tol)
    np.testing.assert_allclose(got_push, push, rtol=tol, atol=tol)
    np.testing.assert_allclose(total, 2.0 * np.array(pull) + 3.0 * np.array(push),
                               rtol=tol, atol=tol)
    assert total.dtype == np.dtype(dtype)


def test_extra_channels_are_ignored():
    """The reference network has 68 outputs of which 34 are used: trailing channels don't count."""
    k, d, pred, heat, mask, refs = _hand_case(_TAGS_D1, _PEOPLE_D1, np.int64)
    extra = np.concatenate([pred, np.random.RandomState(0).randn(4, 5, 2, 3)], axis=1)
    loss = AssociativeEmbeddingLoss(num_joints=k, tag_dim=d)
    np.testing.assert_allclose(_run(loss, extra, heat, mask, refs, "float64")[1],
                               _run(loss, pred, heat, mask, refs, "float64")[1], rtol=1e-14)
    with pytest.raises(ValueError):
        loss(*(mx.nd.array(a) for a in (pred[:, :5], heat, mask, refs)))


# ---------------------------------------------------------------- numpy reference on random data
def _np_terms(pred, heat, mask, refs, k, d):
    """Loop-by-loop float64 reference of (det, pull, push)."""
    n, _, h, w = pred.shape
    det = (mask[:, None] * (pred[:, :k] - heat) ** 2).reshape(n, -1).mean(axis=1)
    tags = pred[:, k:k * (1 + d)].reshape(n, k, d, h * w)
    pull, push = np.zeros(n), np.zeros(n)
    for s in range(n):
        means, spreads = [], []
        for person in refs[s]:
            vecs = [tags[s, j, :, int(idx) - j * h * w]
                    for j, (idx, flag) in enumerate(person) if flag]
            if not vecs:
                continue
            vecs = np.array(vecs)
            mean = vecs.mean(axis=0)
            means.append(mean)
            spreads.append(((vecs - mean) ** 2).sum(axis=1).mean() / d)
        if means:
            pull[s] = np.mean(spreads)
        if len(means) > 1:
            pairs = [math.exp(-((a - b) ** 2).sum())
                     for i, a in enumerate(means) for b in means[i + 1:]]
            push[s] = 0.5 * np.mean(pairs)
    return det, pull, push


def _random_case(n=3, k=4, d=2, h=5, w=6, m=5, seed=0):
    rng = np.random.RandomState(seed)
    pred = rng.randn(n, k * (1 + d), h, w)
    heat = rng.rand(n, k, h, w)
    mask = (rng.rand(n, h, w) > 0.3).astype(np.float64)
    refs = np.zeros((n, m, k, 2), np.int64)
    for s in range(n):
        for p in range(rng.randint(0, m + 1)):
            flags = rng.rand(k) > 0.3
            refs[s, p, :, 0] = np.arange(k) * h * w + rng.randint(0, h * w, size=k)
            refs[s, p, :, 1] = flags
            refs[s, p, ~flags, 0] = rng.randint(-50, 500, size=(~flags).sum())  # junk, never read
    return pred, heat, mask, refs


@pytest.mark.parametrize("d", [1, 2, 3])
def test_matches_numpy_reference(d):
    pred, heat, mask, refs = _random_case(n=4, k=4, d=d, seed=d)
    loss = AssociativeEmbeddingLoss(num_joints=4, tag_dim=d)
    terms, total = _run(loss, pred, heat, mask, refs, "float64")
    expected = _np_terms(pred, heat, mask, refs, 4, d)
    for got, exp in zip(terms, expected):
        np.testing.assert_allclose(got, exp, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(total, expected[0] + 1e-3 * expected[1] + 1e-3 * expected[2],
                               rtol=1e-10)


def test_batch_equals_samples_alone():
    """Each sample reads its own tag maps: the batched loss is the per-sample loss stacked."""
    pred, heat, mask, refs = _random_case(n=4, seed=5)
    loss = AssociativeEmbeddingLoss(num_joints=4, tag_dim=2, pull_weight=1.0, push_weight=1.0)
    batched = _run(loss, pred, heat, mask, refs, "float64")[1]
    alone = [_run(loss, pred[i:i + 1], heat[i:i + 1], mask[i:i + 1], refs[i:i + 1], "float64")[1]
             for i in range(4)]
    np.testing.assert_allclose(batched, np.concatenate(alone), rtol=1e-12)


# ---------------------------------------------------------------- detection term
def test_detection_term_against_numpy_and_crowd_mask():
    rng = np.random.RandomState(3)
    n, k, h, w = 2, 3, 4, 5
    pred = rng.randn(n, 2 * k, h, w)
    heat = rng.rand(n, k, h, w)
    mask = np.ones((n, h, w))
    mask[0, 1:3, 2:4] = 0                                  # a crowd region in sample 0
    refs = np.zeros((n, 2, k, 2), np.int64)
    loss = AssociativeEmbeddingLoss(num_joints=k, tag_dim=1)
    (det, pull, push), total = _run(loss, pred, heat, mask, refs, "float64")
    expected = (mask[:, None] * (pred[:, :k] - heat) ** 2).reshape(n, -1).mean(axis=1)
    np.testing.assert_allclose(det, expected, rtol=1e-12)
    np.testing.assert_allclose(total, expected, rtol=1e-12)     # nobody: no tag terms
    np.testing.assert_array_equal(pull, 0)
    np.testing.assert_array_equal(push, 0)
    # the crowd pixels do not matter, whatever is predicted there; the mean still
    # divides by all K h w pixels (the reference's normalisation)
    changed = pred.copy()
    changed[0, :k, 1:3, 2:4] += 100.0
    np.testing.assert_allclose(_run(loss, changed, heat, mask, refs, "float64")[0][0], det,
                               rtol=1e-12)
    # ... while outside the crowd they do
    changed[0, :k, 0, 0] = heat[0, :, 0, 0] + 10.0
    moved = det[0] + (100.0 - (pred[0, :k, 0, 0] - heat[0, :, 0, 0]) ** 2).sum() / (k * h * w)
    np.testing.assert_allclose(_run(loss, changed, heat, mask, refs, "float64")[0][0][0], moved,
                               rtol=1e-12)
    # a (N, 1, h, w) mask is accepted as well
    np.testing.assert_allclose(_run(loss, pred, heat, mask[:, None], refs, "float64")[0][0],
                               det, rtol=1e-12)


# ---------------------------------------------------------------- hybrid, gradient, registry
class _Wrapper(gluon.HybridBlock):
    def __init__(self, loss, **kwargs):
        super().__init__(**kwargs)
        self.loss = loss

    def hybrid_forward(self, F, pred, heat, mask, refs):
        return self.loss(pred, heat, mask, refs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_hybridized_equals_imperative(dtype):
    pred, heat, mask, refs = _random_case(n=3, k=4, d=2, seed=7)
    args = [mx.nd.array(a, dtype=dtype) for a in (pred, heat, mask)] + [mx.nd.array(refs,
                                                                                  dtype="int64")]
    kw = dict(num_joints=4, tag_dim=2, pull_weight=0.5, push_weight=0.25)
    imperative = AssociativeEmbeddingLoss(**kw)(*args).asnumpy()
    wrapped = _Wrapper(AssociativeEmbeddingLoss(**kw))
    wrapped.hybridize()
    hybrid = wrapped(*args).asnumpy()
    direct = AssociativeEmbeddingLoss(**kw)
    direct.hybridize()
    np.testing.assert_allclose(hybrid, imperative, rtol=1e-6 if dtype == "float32" else 1e-13)
    np.testing.assert_allclose(direct(*args).asnumpy(), imperative,
                               rtol=1e-6 if dtype == "float32" else 1e-13)
    # the graph has no batch-size constant: a hybridized block takes another batch size
    small = [a[:1] for a in args]
    np.testing.assert_allclose(wrapped(*small).asnumpy(), imperative[:1],
                               rtol=1e-6 if dtype == "float32" else 1e-13)


def test_gradient_matches_finite_differences():
    """Central differences in float64 on every element of ``pred`` (heatmaps and tags)."""
    pred, heat, mask, refs = _random_case(n=2, k=3, d=2, h=3, w=4, m=3, seed=11)
    pred *= 0.7                                            # keep push far from 0 so it counts
    loss = AssociativeEmbeddingLoss(num_joints=3, tag_dim=2, pull_weight=1.0, push_weight=1.0)
    loss.hybridize()
    heat_nd, mask_nd = mx.nd.array(heat, dtype="float64"), mx.nd.array(mask, dtype="float64")
    refs_nd = mx.nd.array(refs, dtype="int64")
    x = mx.nd.array(pred, dtype="float64")
    x.attach_grad()
    with autograd.record():
        out = loss(x, heat_nd, mask_nd, refs_nd).sum()
    out.backward()
    analytic = x.grad.asnumpy()

    def f(p):
        return loss(mx.nd.array(p, dtype="float64"), heat_nd, mask_nd, refs_nd).sum().asscalar()

    eps = 1e-6
    numeric = np.zeros_like(pred)
    for i in np.ndindex(pred.shape):
        step = np.zeros_like(pred)
        step[i] = eps
        numeric[i] = (f(pred + step) - f(pred - step)) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
    # the tags got a gradient at all (the test is not only about the detection term)
    assert np.abs(analytic[:, 3:]).max() > 1e-3


def test_get_loss_and_validation():
    loss = get_loss("ae", num_joints=5, tag_dim=2, push_weight=0.5)
    assert isinstance(loss, AssociativeEmbeddingLoss)
    assert get_loss("AE").__class__ is AssociativeEmbeddingLoss
    assert get_loss(loss) is loss
    with pytest.raises(ValueError):
        AssociativeEmbeddingLoss(batch_axis=1)
    with pytest.raises(ValueError):
        AssociativeEmbeddingLoss(tag_dim=0)


def test_training_step_reduces_loss():
    """One SGD step on a tiny conv head lowers the loss (autograd flows through everything)."""
    pred, heat, mask, refs = _random_case(n=2, k=2, d=1, h=4, w=4, m=2, seed=13)
    # two fully labelled people per sample, at random pixels of each joint's map
    rng = np.random.RandomState(14)
    refs[..., 0] = np.arange(2) * 16 + rng.randint(0, 16, size=(2, 2, 2))
    refs[..., 1] = 1
    net = gluon.nn.Conv2D(6, 1, in_channels=3, prefix="ae_")
    net.initialize(mx.init.Normal(0.5))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05})
    loss = AssociativeEmbeddingLoss(num_joints=2, tag_dim=1, pull_weight=1.0, push_weight=1.0)
    x = mx.nd.array(np.random.RandomState(0).randn(2, 3, 4, 4))
    args = [mx.nd.array(a) for a in (heat, mask)] + [mx.nd.array(refs)]
    values = []
    for _ in range(2):
        with autograd.record():
            out = loss(net(x), *args)
        out.backward()
        trainer.step(2)
        values.append(out.mean().asscalar())
    assert values[1] < values[0]
