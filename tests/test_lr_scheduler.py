"""LRScheduler / LRSequential: values equal GluonCV's, Trainer integration, Adam pitfall."""
import math
import warnings

import mxnet as mx
import numpy as np
import pytest
from mxnet import autograd, gluon

from gluonpose.utils import LRScheduler, LRSequential

try:  # GluonCV is the reference oracle; our own behaviour is tested without it
    import gluoncv.utils.lr_scheduler as gcv_lr
except ImportError:  # pragma: no cover
    gcv_lr = None
needs_gluoncv = pytest.mark.skipif(gcv_lr is None, reason="gluoncv not installed")


def _values(sched, counts):
    return np.array([sched(t) for t in counts], dtype=np.float64)


CASES = [
    dict(mode="constant", base_lr=0.05, niters=20),
    dict(mode="linear", base_lr=0.1, target_lr=0.001, niters=37),
    dict(mode="linear", base_lr=0.0, target_lr=0.2, nepochs=3, iters_per_epoch=11),
    dict(mode="poly", base_lr=0.1, target_lr=0.0, niters=50, power=0.9),
    dict(mode="poly", base_lr=0.01, target_lr=1e-4, nepochs=4, iters_per_epoch=9, power=2),
    dict(mode="cosine", base_lr=0.1, target_lr=0.0, niters=64),
    dict(mode="cosine", base_lr=1e-3, target_lr=1e-5, nepochs=5, iters_per_epoch=13, offset=7),
    dict(mode="step", base_lr=1e-3, niters=100, step_iter=[30, 60, 60, 90], step_factor=0.1),
    dict(mode="step", base_lr=0.1, target_lr=0.5, nepochs=10, iters_per_epoch=7,
         step_epoch=[3, 8], step_factor=0.3),
    # step_epoch given without epochs: GluonCV then keeps step_iter
    dict(mode="step", base_lr=0.1, niters=40, step_iter=[10], step_epoch=[2], step_factor=0.5),
    dict(mode="linear", base_lr=0.3, target_lr=0.1, niters=25, offset=12),
    # nepochs * iters_per_epoch == 0: niters is kept
    dict(mode="linear", base_lr=0.3, niters=15, nepochs=4, iters_per_epoch=0),
]


@needs_gluoncv
@pytest.mark.parametrize("kwargs", CASES, ids=lambda k: "%s-%d" % (k["mode"], len(k)))
def test_bare_scheduler_matches_gluoncv(kwargs):
    ours, ref = LRScheduler(**kwargs), gcv_lr.LRScheduler(**kwargs)
    total = ours.niters + ours.offset
    counts = list(range(-3, total + 10))
    np.testing.assert_allclose(_values(ours, counts), _values(ref, counts), rtol=0, atol=1e-15)
    assert ours.niters == ref.niters and ours.step == ref.step


def _warmup_then(mode, lr, nb, warmup, epochs, pkg, **kw):
    return pkg.LRSequential([
        pkg.LRScheduler("linear", base_lr=0, target_lr=lr, nepochs=warmup, iters_per_epoch=nb),
        pkg.LRScheduler(mode, base_lr=lr, target_lr=0, nepochs=epochs - warmup,
                        iters_per_epoch=nb, power=2, **kw),
    ])


class _Ours:
    LRScheduler, LRSequential = LRScheduler, LRSequential


@needs_gluoncv
@pytest.mark.parametrize("mode,warmup", [("step", 2), ("step", 0), ("cosine", 3),
                                         ("poly", 1), ("linear", 0)])
def test_warmup_composition_matches_gluoncv(mode, warmup):
    # the training scripts' recipe: linear warmup, then decay; boundaries at
    # epochs 8 and 11 of 14 shifted by the warmup
    nb, epochs = 7, 14
    kw = {}
    if mode == "step":
        kw = dict(step_epoch=[e - warmup for e in (8, 11)], step_factor=0.1)
    ours = _warmup_then(mode, 0.01, nb, warmup, epochs, _Ours, **kw)
    ref = _warmup_then(mode, 0.01, nb, warmup, epochs, gcv_lr, **kw)
    counts = list(range(-2, nb * epochs + 20))
    np.testing.assert_allclose(_values(ours, counts), _values(ref, counts), rtol=0, atol=1e-15)
    assert ours.update_sep == ref.update_sep
    assert [s.offset for s in ours.schedulers] == [s.offset for s in ref.schedulers]


@needs_gluoncv
def test_three_stage_sequential_and_offsets():
    parts = lambda pkg: [pkg.LRScheduler("constant", base_lr=0.5, niters=5),  # noqa: E731
                         pkg.LRScheduler("linear", base_lr=0.5, target_lr=0.1, niters=10),
                         pkg.LRScheduler("cosine", base_lr=0.1, target_lr=0.0, niters=8)]
    ours, ref = LRSequential(parts(_Ours)), gcv_lr.LRSequential(parts(gcv_lr))
    assert [s.offset for s in ours.schedulers] == [0, 5, 15]
    counts = list(range(0, 40))
    np.testing.assert_allclose(_values(ours, counts), _values(ref, counts), rtol=0, atol=1e-15)


def test_hand_values():
    s = LRScheduler("cosine", base_lr=1.0, target_lr=0.0, niters=5)
    assert s(0) == 1.0 and s(4) == pytest.approx(0.0, abs=1e-15)
    assert s(2) == pytest.approx(0.5)
    st = LRScheduler("step", base_lr=1.0, nepochs=4, iters_per_epoch=10, step_epoch=[2, 3])
    assert st.step == [20, 30]
    assert [st(19), st(20), st(29), st(30)] == pytest.approx([1.0, 0.1, 0.1, 0.01])


def test_degenerate_lengths():
    one = LRScheduler("linear", base_lr=0.2, target_lr=0.0, niters=1)
    assert one(0) == 0.2 and one(5) == 0.2          # GluonCV raises ZeroDivisionError here
    empty = LRScheduler("linear", base_lr=0.2, target_lr=0.05, niters=0)
    assert empty(3) == 0.05                          # GluonCV's value: the end of the schedule


def test_invalid_arguments():
    with pytest.raises(ValueError):
        LRScheduler("exp")
    with pytest.raises(ValueError):
        LRScheduler("step", niters=10)
    with pytest.raises(ValueError):
        LRSequential([])
    with pytest.raises(TypeError):
        LRSequential([mx.lr_scheduler.FactorScheduler(step=10)])


def _one_param_net():
    w = gluon.Parameter("w", shape=(1,), init=mx.init.Zero())
    w.initialize(ctx=mx.cpu())
    return w


def _step(trainer, w, grad=1.0):
    with autograd.record():
        loss = (w.data() * grad).sum()
    loss.backward()
    trainer.step(1)


def test_trainer_first_update_count_is_one():
    # plain SGD, no momentum/wd: w_t = w_{t-1} - lr(t) * grad, so the applied lr is visible
    sched = LRScheduler("linear", base_lr=1.0, target_lr=0.0, niters=10)
    w = _one_param_net()
    trainer = gluon.Trainer([w], "sgd", {"lr_scheduler": sched})
    applied = []
    for _ in range(3):
        before = w.data().asscalar()
        _step(trainer, w)
        applied.append(before - w.data().asscalar())
    expected = [1.0 - t / 9.0 for t in (1, 2, 3)]
    np.testing.assert_allclose(applied, expected, rtol=1e-6)
    assert applied[0] != pytest.approx(sched(0))   # update count 0 is never used


def test_adam_without_learning_rate_keeps_base_lr():
    # not 'constant': that mode fixes target_lr = base_lr at construction and so
    # hides the overwrite; 'step' uses base_lr directly
    sched = LRScheduler("step", base_lr=0.1, niters=100, step_iter=[50])
    w = _one_param_net()
    with pytest.warns(UserWarning, match="ignoring an external write"):
        trainer = gluon.Trainer([w], "adam", {"lr_scheduler": sched})
    assert sched.base_lr == 0.1
    assert trainer.learning_rate == pytest.approx(0.1)
    # Adam's first step is lr * g / |g| (up to epsilon): the applied lr is the scheduler's
    _step(trainer, w, grad=2.0)
    assert -w.data().asscalar() == pytest.approx(0.1, rel=1e-5)


@needs_gluoncv
def test_adam_pitfall_in_gluoncv_is_real():
    # Documents why our base_lr is protected: MXNet's optimizer overwrites the
    # base_lr of a bare GluonCV scheduler with Adam's default 0.001.
    ref = gcv_lr.LRScheduler("step", base_lr=0.1, niters=100, step_iter=[50])
    w = _one_param_net()
    trainer = gluon.Trainer([w], "adam", {"lr_scheduler": ref})
    assert ref.base_lr == 0.001
    _step(trainer, w)
    assert trainer.learning_rate == pytest.approx(0.001)
    # ... while a GluonCV LRSequential is immune (its children keep their values)
    seq = gcv_lr.LRSequential([gcv_lr.LRScheduler("step", base_lr=0.1, niters=100,
                                                  step_iter=[50])])
    w2 = _one_param_net()
    trainer2 = gluon.Trainer([w2], "adam", {"lr_scheduler": seq})
    _step(trainer2, w2)
    assert trainer2.learning_rate == pytest.approx(0.1)


def test_sequential_in_adam_and_deliberate_base_lr_change():
    seq = LRSequential([LRScheduler("linear", base_lr=0, target_lr=0.2, niters=4),
                        LRScheduler("constant", base_lr=0.2, niters=10)])
    w = _one_param_net()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer = gluon.Trainer([w], "adam", {"lr_scheduler": seq})
    assert seq.base_lr == 0 and seq.schedulers[1].base_lr == 0.2
    for _ in range(5):
        _step(trainer, w)
    assert trainer.learning_rate == pytest.approx(0.2)
    s = LRScheduler("linear", base_lr=0.1, target_lr=0.0, niters=3)
    s.set_base_lr(0.4)
    assert s.base_lr == 0.4 and s(0) == 0.4 and math.isclose(s(1), 0.2)
