"""Heatmap losses for top-down pose estimation.

Both losses are Gluon :class:`~mxnet.gluon.loss.Loss` blocks: they return one
value per sample (shape ``(N,)``), work imperatively and hybridized, and are
meant to be used like GluonCV's training loop does it::

    with autograd.record():
        loss = L(model(x), target, target_weight)   # (N,)
    loss.backward()
    trainer.step(batch_size)                         # averages over samples
"""
from mxnet.gluon.loss import Loss

__all__ = ["WeightedL2Loss", "OHKMLoss"]


def _weighted_square(F, pred, target, target_weight, scale):
    """``scale * target_weight * (pred - target)**2``, element-wise.

    The operation order (square, then per-joint weight, then the constant)
    is the one of ``gluon.loss.L2Loss`` so the two agree to the last bit.
    """
    target = F.reshape_like(target, pred)
    loss = F.square(target - pred)
    if target_weight is not None:
        # broadcast_mul, not '*': the weight is typically (N, J, 1, 1) against
        # (N, J, h, w) maps and symbols do not broadcast implicitly.
        loss = F.broadcast_mul(loss, target_weight)
    return loss * scale


class WeightedL2Loss(Loss):
    r"""Per-joint weighted L2 heatmap loss (GluonCV / Simple Baselines loss).

    .. math::
        L_n = \frac{1}{J h w} \sum_{j, y, x} \frac{\text{weight}}{2}
              \, w_{n j} \, (\hat{H}_{n j y x} - H_{n j y x})^2

    Called as ``L(pred, target, target_weight)`` it equals
    ``gluon.loss.L2Loss(weight)(pred, target, target_weight)``, which is how
    GluonCV's ``train_simple_pose.py`` uses it. For 0/1 joint weights this is
    the Microsoft ``JointsMSELoss``; ``weight=2`` drops the ½ (AlphaPose's
    ``L2Loss(weight=2.0)``).

    Parameters
    ----------
    weight : float, default 1.0
        Global scale; the squared error is multiplied by ``weight / 2``.
    batch_axis : int, default 0
        The axis that indexes samples; the loss is averaged over all others.

    Inputs
    ------
    pred : NDArray or Symbol
        ``(N, J, h, w)`` predicted heatmaps.
    target : NDArray or Symbol
        Target heatmaps, same number of elements as ``pred``.
    target_weight : NDArray or Symbol, optional
        Per-joint weights with the same number of dimensions as ``pred`` and
        broadcastable to it, e.g. ``(N, J, 1, 1)`` (GluonCV) or a per-pixel
        ``(N, J, h, w)`` mask. ``None`` weighs every joint 1.

    Outputs
    -------
    loss : NDArray or Symbol
        ``(N,)`` per-sample loss.
    """

    def __init__(self, weight=1.0, batch_axis=0, **kwargs):
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, target, target_weight=None):
        loss = _weighted_square(F, pred, target, target_weight, self._weight / 2.0)
        return F.mean(loss, axis=self._batch_axis, exclude=True)


class OHKMLoss(Loss):
    r"""Online hard keypoint mining loss (CPN's RefineNet loss).

    For every sample the weighted L2 loss of each joint is averaged over its
    heatmap; only the ``topk`` largest joint losses are kept and averaged:

    .. math::
        \ell_{n j} = \frac{1}{h w} \sum_{y, x} \frac{\text{weight}}{2}
                     \, w_{n j} (\hat{H}_{n j y x} - H_{n j y x})^2,
        \qquad
        L_n = \frac{1}{k} \sum_{j \in \text{top-}k(\ell_{n \cdot})} \ell_{n j}

    Joints with weight 0 have loss 0 and are therefore only picked when fewer
    than ``k`` joints have a positive loss; they add 0 but still count in the
    ``1/k`` (as in CPN and HRNet).

    Parameters
    ----------
    topk : int, default 8
        Number of hardest joints kept per sample. Must be ``<= J``.
    weight : float, default 1.0
        Global scale; the squared error is multiplied by ``weight / 2``
        (HRNet's ``JointsOHKMMSELoss`` convention). Use ``weight=2`` for CPN's
        plain mean squared error.
    batch_axis : int, default 0
        Must be 0; the joints are on axis 1.

    Inputs
    ------
    pred, target : NDArray or Symbol
        ``(N, J, h, w)`` heatmaps.
    target_weight : NDArray or Symbol, optional
        Per-joint weights, 4-d and broadcastable to ``pred`` (e.g.
        ``(N, J, 1, 1)``). The weight multiplies the squared error (CPN's
        visibility mask), it is not applied to pred and target before
        squaring; for 0/1 weights the two are the same.

    Outputs
    -------
    loss : NDArray or Symbol
        ``(N,)`` per-sample loss.
    """

    def __init__(self, topk=8, weight=1.0, batch_axis=0, **kwargs):
        if batch_axis != 0:
            raise ValueError("OHKMLoss expects samples on axis 0 and joints on axis 1")
        if int(topk) < 1:
            raise ValueError("topk must be >= 1, got %r" % (topk,))
        super().__init__(weight, batch_axis, **kwargs)
        self._topk = int(topk)

    def hybrid_forward(self, F, pred, target, target_weight=None):
        loss = _weighted_square(F, pred, target, target_weight, self._weight / 2.0)
        # (N, J, h, w) -> (N, J): mean over each joint's map
        per_joint = F.mean(F.reshape(loss, shape=(0, 0, -1)), axis=2)
        if F.__name__.endswith("ndarray") and self._topk > per_joint.shape[1]:
            raise ValueError("OHKMLoss: topk=%d but only %d joints"
                             % (self._topk, per_joint.shape[1]))
        # A 0/1 mask of the k largest entries instead of topk(ret_typ='value'):
        # the product keeps a plain gradient path to every selected joint, and
        # the mask itself is a constant for autograd.
        mask = F.BlockGrad(F.topk(per_joint, axis=1, k=self._topk, ret_typ="mask"))
        return F.sum(per_joint * mask, axis=1) / self._topk
