"""Iteration-based learning-rate schedules, composable for warmup.

Drop-in for ``gluoncv.utils.LRScheduler`` / ``LRSequential``: same
constructor, same values for every update count. Both are
:class:`mxnet.lr_scheduler.LRScheduler` subclasses and go into an optimizer
or a :class:`gluon.Trainer` as ``{'lr_scheduler': sched}``.

Update counting
---------------
MXNet calls the scheduler with the optimizer's update count, which is **1**
on the first ``trainer.step`` (the count is incremented before the learning
rate is looked up). A scheduler built with ``iters_per_epoch=nb`` therefore
applies its epoch-``e`` boundary from update ``e * nb``, i.e. on the last
iteration of epoch ``e - 1``. This is GluonCV's behaviour and is kept.

Why ``base_lr`` cannot be overwritten
-------------------------------------
MXNet 1.9's ``Optimizer.__init__`` writes its own ``learning_rate`` into
``lr_scheduler.base_lr`` whenever the two differ, and ``Adam`` (like
``Adamax``, ``Nadam``, ...) passes a default ``learning_rate=0.001`` even when
the user gave none. A bare GluonCV scheduler handed to ``'adam'`` therefore
silently trains from 0.001 whatever ``base_lr`` it was built with. The
schedules here keep their base learning rate in a private attribute and
expose ``base_lr`` as a property whose setter ignores writes made after
construction (with a warning when the value would change), so the schedule
is always the one that was constructed. Use :meth:`LRScheduler.set_base_lr`
to change it on purpose.
"""
import math
import warnings

from mxnet import lr_scheduler as _mx_lr

__all__ = ["LRScheduler", "LRSequential"]

_MODES = ("constant", "step", "linear", "poly", "cosine")


class _ProtectedBaseLR(_mx_lr.LRScheduler):
    """Base class whose ``base_lr`` is fixed after construction."""

    _base_lr = 0.0
    _frozen = False

    @property
    def base_lr(self):
        """The base learning rate the schedule was built with (read-only for optimizers)."""
        return self._base_lr

    @base_lr.setter
    def base_lr(self, value):
        if not self._frozen:
            self._base_lr = value
            return
        # Only MXNet's optimizer does this (see the module docstring); honouring it
        # would replace the schedule by the optimizer's default learning rate.
        if value != self._base_lr:
            warnings.warn("%s: ignoring an external write base_lr=%r (keeps %r). MXNet's "
                          "optimizer overwrites the scheduler's base_lr with its own "
                          "learning_rate (Adam: 0.001 by default); call set_base_lr() to "
                          "change the schedule on purpose."
                          % (type(self).__name__, value, self._base_lr), stacklevel=2)

    def set_base_lr(self, lr):
        """Change the base learning rate deliberately.

        Parameters
        ----------
        lr : float
            New base learning rate.
        """
        self._base_lr = lr


class LRScheduler(_ProtectedBaseLR):
    r"""Learning-rate schedule over a fixed number of iterations.

    Parameters
    ----------
    mode : str
        ``'constant'``, ``'step'``, ``'linear'``, ``'poly'`` or ``'cosine'``.
    base_lr : float
        Learning rate at the start of the schedule.
    target_lr : float
        Learning rate at the end (ignored by ``'constant'`` and ``'step'``).
    niters : int
        Number of iterations the schedule spans.
    nepochs : int
        Number of epochs; when ``nepochs * iters_per_epoch > 0`` it replaces
        ``niters``.
    iters_per_epoch : int
        Iterations per epoch.
    offset : int
        Update count at which this schedule starts (set by
        :class:`LRSequential`).
    power : float
        Exponent of the ``'poly'`` mode.
    step_iter : list of int, optional
        Iterations (relative to ``offset``) at which ``'step'`` mode decays.
    step_epoch : list of int, optional
        Epochs at which ``'step'`` mode decays; used instead of ``step_iter``
        when ``nepochs * iters_per_epoch > 0``.
    step_factor : float
        Multiplicative decay per step boundary.
    baselr, targetlr : float, optional
        Deprecated aliases of ``base_lr`` / ``target_lr`` (accepted because
        GluonCV accepts them; they only apply when the new names are left at
        their defaults).

    Notes
    -----
    At update count ``t`` let ``N = niters - 1`` and
    ``T = clip(t - offset, 0, N)``. The factor is ``1 - T/N`` (linear),
    ``(1 - T/N) ** power`` (poly), ``(1 + cos(pi T / N)) / 2`` (cosine),
    ``step_factor ** #{s in steps : s <= T}`` (step) and 0 (constant, whose
    target is ``base_lr``). The learning rate is
    ``target_lr + (base_lr - target_lr) * factor``, except in step mode where
    it is ``base_lr * factor``. A one-iteration schedule (``N = 0``) stays at
    its start value (GluonCV divides by zero there); an empty one
    (``niters = 0``) sits at its end value, as in GluonCV.
    """

    def __init__(self, mode, base_lr=0.1, target_lr=0, niters=0, nepochs=0,
                 iters_per_epoch=0, offset=0, power=2, step_iter=None, step_epoch=None,
                 step_factor=0.1, baselr=None, targetlr=None):
        if mode not in _MODES:
            raise ValueError("unknown lr mode %r; choose from %s" % (mode, ", ".join(_MODES)))
        if mode == "step" and step_iter is None and step_epoch is None:
            raise ValueError("step mode needs step_iter or step_epoch")
        if baselr is not None:
            warnings.warn("baselr is deprecated, use base_lr", DeprecationWarning, stacklevel=2)
            if base_lr == 0.1:
                base_lr = baselr
        if targetlr is not None:
            warnings.warn("targetlr is deprecated, use target_lr", DeprecationWarning,
                          stacklevel=2)
            if target_lr == 0:
                target_lr = targetlr
        # MXNet's base __init__ assigns base_lr (through the still-unfrozen setter) and
        # raises if its warmup_begin_lr (0) exceeds base_lr; GluonCV never runs that
        # check, so a negative base_lr must not trip it: pass max(base_lr, 0).
        super().__init__(base_lr=max(base_lr, 0))
        self._base_lr = base_lr
        self.mode = mode
        self.target_lr = base_lr if mode == "constant" else target_lr
        self.niters = int(niters)
        self.step = None if step_iter is None else list(step_iter)
        epoch_iters = int(nepochs) * int(iters_per_epoch)
        if epoch_iters > 0:
            self.niters = epoch_iters
            if step_epoch is not None:
                self.step = [int(s) * int(iters_per_epoch) for s in step_epoch]
        self.offset = int(offset)
        self.power = power
        self.step_factor = step_factor
        self.learning_rate = base_lr
        self._frozen = True

    def _factor(self, num_update):
        last = self.niters - 1
        t = min(max(0, num_update - self.offset), last)
        if self.mode == "step":
            if self.step is None:
                return 1.0
            return self.step_factor ** sum(1 for s in self.step if s <= t)
        if self.mode == "constant":
            return 0.0
        frac = t / last if last != 0 else 0.0
        if self.mode == "linear":
            return 1.0 - frac
        if self.mode == "poly":
            return (1.0 - frac) ** self.power
        return (1.0 + math.cos(math.pi * frac)) / 2.0  # cosine

    def update(self, num_update):
        """Set :attr:`learning_rate` for update count ``num_update``."""
        factor = self._factor(num_update)
        if self.mode == "step":
            self.learning_rate = self._base_lr * factor
        else:
            self.learning_rate = self.target_lr + (self._base_lr - self.target_lr) * factor

    def __call__(self, num_update):
        self.update(num_update)
        return self.learning_rate

    def __repr__(self):
        return ("LRScheduler(mode=%r, base_lr=%r, target_lr=%r, niters=%d, offset=%d)"
                % (self.mode, self._base_lr, self.target_lr, self.niters, self.offset))


class LRSequential(_ProtectedBaseLR):
    """Run several :class:`LRScheduler` one after the other (e.g. warmup, then decay).

    Each added scheduler's ``offset`` is set to the total ``niters`` of those
    before it. At update count ``t`` (clipped to ``total - 1``) the first
    scheduler whose cumulative end exceeds ``t`` produces the learning rate;
    empty schedulers (``niters = 0``, e.g. zero warmup epochs) are never
    picked.

    Parameters
    ----------
    schedulers : list of LRScheduler
        Non-empty list, in order.

    Notes
    -----
    ``base_lr`` reports the first scheduler's base learning rate and, like
    :class:`LRScheduler`, ignores writes from the optimizer; the children
    keep their own values in any case.
    """

    def __init__(self, schedulers):
        super().__init__()
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("LRSequential needs at least one scheduler")
        self.schedulers = []
        self.update_sep = []
        self.count = 0
        self.learning_rate = 0
        for sched in schedulers:
            self.add(sched)
        self._base_lr = self.schedulers[0].base_lr
        self._frozen = True

    def add(self, scheduler):
        """Append a scheduler; its ``offset`` becomes the current total length."""
        if not isinstance(scheduler, LRScheduler):
            raise TypeError("LRSequential takes gluonpose LRScheduler objects, got %s"
                            % type(scheduler).__name__)
        scheduler.offset = self.count
        self.count += scheduler.niters
        self.update_sep.append(self.count)
        self.schedulers.append(scheduler)

    def update(self, num_update):
        """Set :attr:`learning_rate` for update count ``num_update``."""
        num_update = min(num_update, self.count - 1)
        idx = len(self.schedulers) - 1
        for i, end in enumerate(self.update_sep):
            if end > num_update:
                idx = i
                break
        sched = self.schedulers[idx]
        sched.update(num_update)
        self.learning_rate = sched.learning_rate

    def __call__(self, num_update):
        self.update(num_update)
        return self.learning_rate

    def set_base_lr(self, lr):
        """Not supported: change the base learning rate of the child schedulers."""
        raise NotImplementedError("set the base_lr of the schedulers inside the LRSequential")

    def __repr__(self):
        return "LRSequential([%s])" % ", ".join(repr(s) for s in self.schedulers)
