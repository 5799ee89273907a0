"""Heatmap, masked-map, integral-regression and Associative Embedding losses for pose estimation.

All losses are Gluon :class:`~mxnet.gluon.loss.Loss` blocks: they return one
value per sample (shape ``(N,)``), work imperatively and hybridized, and are
meant to be used like GluonCV's training loop does it::

    with autograd.record():
        loss = L(model(x), target, target_weight)   # (N,)
    loss.backward()
    trainer.step(batch_size)                         # averages over samples

:func:`get_loss` builds one by name (the engine reads the name from the
codec's ``default_loss`` or from a model spec).
"""
from mxnet.gluon.loss import Loss

__all__ = ["WeightedL2Loss", "MaskedL2Loss", "OHKMLoss", "IntegralL1Loss", "soft_argmax",
           "AssociativeEmbeddingLoss", "get_loss"]


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


class MaskedL2Loss(Loss):
    r"""Masked L2 loss of OpenPose's part confidence maps and PAFs.

    Prediction and target are both multiplied by a per-pixel mask (1 =
    supervise, 0 = ignore: crowds and unlabelled people), then the squared
    error is averaged over channels and pixels, with the ½ of
    :class:`WeightedL2Loss`:

    .. math::
        L_n = \frac{\text{weight}}{2 C h w} \sum_{c, y, x}
              \left(m_{n y x} \hat{Y}_{n c y x} - m_{n y x} Y_{n c y x}\right)^2

    Scale: for an all-ones mask this is exactly :class:`WeightedL2Loss` with
    unit joint weights, so heatmap models and OpenPose report losses on the
    same footing. Caffe's ``EuclideanLoss`` used by the Keras/Caffe OpenPose
    references, ``sum (x - y)^2 / (2 batch)``, is ``C h w`` times the batch mean
    of this value (a constant factor the learning rate absorbs). For a 0/1
    mask it is the paper's ``sum_p W(p) |S(p) - S*(p)|^2`` up to that constant;
    a soft mask value ``m`` (area-downsampled region edges) weighs the squared
    error by ``m^2``.

    Parameters
    ----------
    weight : float, default 1.0
        Global scale; the squared error is multiplied by ``weight / 2``.
    batch_axis : int, default 0
        Must be 0 (samples on axis 0, channels on axis 1).

    Inputs
    ------
    pred : NDArray or Symbol
        ``(N, C, h, w)`` predicted maps.
    target : NDArray or Symbol
        Targets with the same number of elements as ``pred``.
    mask : NDArray or Symbol, optional
        ``(N, h, w)`` or ``(N, 1, h, w)``, broadcast over the channels;
        ``None`` supervises every pixel.

    Outputs
    -------
    loss : NDArray or Symbol
        ``(N,)`` per-sample loss.
    """

    def __init__(self, weight=1.0, batch_axis=0, **kwargs):
        if batch_axis != 0:
            raise ValueError("MaskedL2Loss expects samples on axis 0 and channels on axis 1")
        super().__init__(weight, batch_axis, **kwargs)

    def hybrid_forward(self, F, pred, target, mask=None):
        target = F.reshape_like(target, pred)
        # (N, C, h*w) against (N, 1, h*w): the same reshape serves both mask layouts
        pred = F.reshape(pred, shape=(0, 0, -1))
        target = F.reshape(target, shape=(0, 0, -1))
        if mask is not None:
            mask = F.reshape(mask, shape=(0, 1, -1))
            pred = F.broadcast_mul(pred, mask)
            target = F.broadcast_mul(target, mask)
        loss = F.square(pred - target) * (self._weight / 2.0)
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


# logits are clipped from below before the sigmoid, the same constant as the
# numpy decoder's (gluonpose.codecs.integral.LOGIT_FLOOR; repeated here because
# this module imports only mxnet): sigmoid(-80) ~ 1.8e-35 is a normal float32,
# so no map sums to 0 (no NaN) and an all-background map reads as uniform
_LOGIT_FLOOR = -80.0


def _expectation(F, marginal, symmetric, amplitude):
    """Expected normalised coordinate ``sum_k m_k (k / n - 0.5)`` of ``(N, J, n)`` marginals.

    The cell grid is built from the marginal itself (``arange_like``), so the
    block has no shape-dependent constants and hybridizes for any map size.
    With ``symmetric`` the value is unchanged but the gradient with respect to
    ``m_k`` is ``amplitude / n * (+1 if k >= x else -1)`` instead of
    ``k / n - 0.5`` (AlphaPose's symmetric integral): every cell pulls with
    the same strength toward the target, so far-away mass is not favoured.
    """
    cells = F.BlockGrad(F.contrib.arange_like(marginal, axis=2))      # (n,) 0 .. n-1
    count = F.sum(F.ones_like(cells))                                 # (1,) = n
    grid = F.reshape(F.broadcast_div(cells, count) - 0.5, shape=(1, 1, -1))
    coord = F.sum(F.broadcast_mul(marginal, grid), axis=2)            # (N, J)
    if not symmetric:
        return coord
    # +-1 per cell from the current estimate, a constant for autograd; the
    # surrogate sum(m * sign) carries the gradient and adds 0 to the value
    side = F.broadcast_greater_equal(grid, F.expand_dims(F.BlockGrad(coord), axis=2))
    slope = F.BlockGrad(F.broadcast_div(side * 2.0 - 1.0, F.reshape(count, shape=(1, 1, 1)))
                        * amplitude)
    surrogate = F.sum(marginal * slope, axis=2)
    return F.BlockGrad(coord) + surrogate - F.BlockGrad(surrogate)


def soft_argmax(F, pred, symmetric=False, amplitude=2.0):
    """Sigmoid-normalised soft-argmax in MXNet ops, in normalised coordinates.

    The MXNet twin of :func:`gluonpose.codecs.integral.soft_argmax_normalized`:
    ``p = sigmoid(max(pred, -80))``, ``p /= sum(p)`` per map, ``u = sum_x p_x(x) (x / w -
    0.5)`` and likewise ``v`` (cell ``k`` of a ``w``-wide map is ``k / w - 0.5``).

    Parameters
    ----------
    F : module
        ``mx.nd`` or ``mx.sym``.
    pred : NDArray or Symbol
        ``(N, J, h, w)`` logits.
    symmetric : bool
        Use the symmetric-integral gradient (see :class:`IntegralL1Loss`).
    amplitude : float
        Gradient magnitude of the symmetric integral, in coordinate units per
        unit of probability, times the map size.

    Returns
    -------
    NDArray or Symbol
        ``(N, J, 2)`` normalised ``(u, v)``.
    """
    prob = F.sigmoid(F.maximum(pred, _LOGIT_FLOOR))
    prob = F.broadcast_div(prob, F.sum(prob, axis=(2, 3), keepdims=True))
    u = _expectation(F, F.sum(prob, axis=2), symmetric, amplitude)    # x marginal (N, J, w)
    v = _expectation(F, F.sum(prob, axis=3), symmetric, amplitude)    # y marginal (N, J, h)
    return F.stack(u, v, axis=2)


class IntegralL1Loss(Loss):
    r"""L1 loss on sigmoid soft-argmax coordinates (AlphaPose's ``L1JointRegression``).

    The maps are turned into coordinates by :func:`soft_argmax` (sigmoid,
    divide by the map sum, expectation of the cell position, normalised so
    cell ``k`` is ``k / w - 0.5``); the loss is the weighted L1 distance to the
    targets of :class:`gluonpose.codecs.IntegralRegression`, summed over the
    joints and both axes of a sample:

    .. math::
        L_n = \text{weight} \sum_{j, c} w_{n j c} \, |\hat{u}_{n j c} - u_{n j c}|

    Averaging this ``(N,)`` output over the batch (``trainer.step(batch_size)``)
    gives AlphaPose's ``size_average`` reduction, ``sum |d| w / N``: the sum is
    not divided by the number of labelled joints, so a sample with more
    labelled joints weighs more, as in AlphaPose.

    Parameters
    ----------
    symmetric : bool, default True
        AlphaPose's "symmetric integral" gradient: the forward value is the
        plain soft-argmax, but the gradient of a coordinate with respect to the
        marginal probability of cell ``k`` is ``amplitude / w`` times ``-1``
        left of the current estimate and ``+1`` from it on, instead of the
        cell position. ``False`` back-propagates the plain expectation.
    amplitude : float, default 2.0
        The symmetric-integral gradient magnitude (AlphaPose's ``AMPLITUDE``).
    weight : float, default 1.0
        Global scale of the loss.
    batch_axis : int, default 0
        Must be 0.

    Inputs
    ------
    pred : NDArray or Symbol
        ``(N, J, h, w)`` logits.
    target : NDArray or Symbol
        ``(N, J, 2)`` normalised coordinates.
    target_weight : NDArray or Symbol, optional
        ``(N, J, 2)`` (or ``(N, J, 1)``) per-coordinate weights; ``None``
        weighs every joint 1.

    Outputs
    -------
    loss : NDArray or Symbol
        ``(N,)`` per-sample loss.
    """

    def __init__(self, symmetric=True, amplitude=2.0, weight=1.0, batch_axis=0, **kwargs):
        if batch_axis != 0:
            raise ValueError("IntegralL1Loss expects samples on axis 0 and joints on axis 1")
        super().__init__(weight, batch_axis, **kwargs)
        self._symmetric = bool(symmetric)
        self._amplitude = float(amplitude)

    def hybrid_forward(self, F, pred, target, target_weight=None):
        coords = soft_argmax(F, pred, self._symmetric, self._amplitude)
        loss = F.abs(coords - F.reshape_like(target, coords))
        if target_weight is not None:
            loss = F.broadcast_mul(loss, target_weight)
        loss = F.sum(loss, axis=self._batch_axis, exclude=True)
        return loss * self._weight if self._weight != 1 else loss


def _ae_terms(F, pred, heatmaps, mask, tag_refs, num_joints, tag_dim):
    """The three Associative Embedding terms ``(det, pull, push)``, each ``(N,)``.

    Written once for ``F = mx.nd`` and ``F = mx.sym`` so that
    :class:`AssociativeEmbeddingLoss` hybridizes and :meth:`~AssociativeEmbeddingLoss.terms`
    can log the same numbers. See the class for the formulas and input layout.
    """
    K, D = num_joints, tag_dim

    # ---- detection: mean over (K, h, w) of mask * (P - G)^2 ----------------
    det_pred = F.reshape(F.slice_axis(pred, axis=1, begin=0, end=K), shape=(0, 0, -1))
    det_target = F.reshape(heatmaps, shape=(0, 0, -1))
    # (N, 1, h*w) serves both (N, h, w) and (N, 1, h, w) masks
    det_mask = F.reshape(mask, shape=(0, 1, -1))
    det = F.mean(F.broadcast_mul(F.square(det_pred - det_target), det_mask), axis=(1, 2))

    # ---- tags at the reference pixels ---------------------------------------
    # joint-major tag channels K + k*D + d -> (N, K, D, h*w) -> (N, K*h*w, D), so
    # that row k*h*w + y*w + x of a sample is exactly the flat index of tag_refs
    tags = F.reshape(F.slice_axis(pred, axis=1, begin=K, end=K * (1 + D)),
                     shape=(0, K, D, -1))
    tags = F.reshape(F.transpose(tags, axes=(0, 1, 3, 2)), shape=(0, -1, D))
    index = F.reshape(F.slice_axis(tag_refs, axis=3, begin=0, end=1), shape=(0, -1))  # (N, M*K)
    flag = F.reshape(F.slice_axis(tag_refs, axis=3, begin=1, end=2), shape=(0, -1))   # (N, M*K)
    # invalid entries may carry any index (a joint outside the map); read a
    # harmless pixel 0 for them instead and drop the value with the flag below
    index = F.where(flag, index, F.zeros_like(index))
    # the sample number of every entry, built from the data (no batch-size
    # constant in the graph); arange_like keeps tag_refs' dtype, as does index
    sample = F.broadcast_like(F.reshape(F.contrib.arange_like(index, axis=0), shape=(-1, 1)),
                              index)
    picked = F.gather_nd(tags, F.stack(sample, index, axis=0))                 # (N, M*K, D)
    # the valid flag in pred's dtype: 'where' accepts any condition dtype,
    # unlike arithmetic between an int tag_refs and a float pred
    first = F.reshape(F.slice_axis(picked, axis=2, begin=0, end=1), shape=(0, -1))
    valid = F.where(flag, F.ones_like(first), F.zeros_like(first))
    picked = F.reshape(picked, shape=(0, -1, K, D))                            # (N, M, K, D)
    valid = F.reshape(valid, shape=(0, -1, K, 1))                              # (N, M, K, 1)

    # ---- pull: spread of each person's tags around its mean -----------------
    joints = F.sum(valid, axis=2)                                              # (N, M, 1) J_n
    joints_safe = F.maximum(joints, 1)
    ref = F.broadcast_div(F.sum(F.broadcast_mul(picked, valid), axis=2), joints_safe)  # (N, M, D)
    spread = F.sum(F.square(F.broadcast_sub(picked, F.expand_dims(ref, axis=2))),
                   axis=3, keepdims=True)                                      # (N, M, K, 1)
    pull_person = F.reshape(F.sum(spread * valid, axis=2) / joints_safe, shape=(0, -1)) / D
    present = F.reshape(joints > 0, shape=(0, -1))                             # (N, M) 0/1
    people = F.sum(present, axis=1)                                            # (N,)
    # absent people contribute 0 (no valid joint), so the plain sum is the sum over people
    pull = F.sum(pull_person, axis=1) / F.maximum(people, 1)

    # ---- push: every unordered pair of present people, counted once ---------
    dist = F.sum(F.square(F.broadcast_sub(F.expand_dims(ref, axis=2),
                                          F.expand_dims(ref, axis=1))), axis=3)  # (N, M, M)
    order = F.BlockGrad(F.contrib.arange_like(present, axis=1))                # (M,) 0 .. M-1
    upper = F.broadcast_lesser(F.reshape(order, shape=(-1, 1)),
                               F.reshape(order, shape=(1, -1)))                # (M, M) n < m
    pairs = F.broadcast_mul(F.broadcast_mul(F.expand_dims(present, axis=2),
                                            F.expand_dims(present, axis=1)),
                            F.expand_dims(upper, axis=0))                      # (N, M, M)
    num_pairs = F.sum(pairs, axis=(1, 2))                                      # N(N-1)/2
    push = 0.5 * F.sum(F.exp(-dist) * pairs, axis=(1, 2)) / F.maximum(num_pairs, 1)
    return det, pull, push


class AssociativeEmbeddingLoss(Loss):
    r"""Associative Embedding loss: masked detection L2 plus tag pull/push.

    One stack's output holds ``K`` detection heatmaps followed by ``K * D``
    tag channels. The tags are read at every labelled joint of every person
    (``tag_refs``), and per sample

    .. math::
        \text{det} &= \frac{1}{K h w} \sum_{k, y, x} m_{y x} (P_{k y x} - G_{k y x})^2 \\
        \bar{h}_n &= \frac{1}{J_n} \sum_{j} h_{n j} \\
        \text{pull} &= \frac{1}{N_p} \sum_n \frac{1}{J_n} \sum_j
                       \frac{\lVert h_{n j} - \bar{h}_n \rVert^2}{D} \\
        \text{push} &= \frac{1}{2} \, \frac{\sum_{n < m}
                       \exp(-\lVert \bar{h}_n - \bar{h}_m \rVert^2)}{N_p (N_p - 1) / 2}

    with ``N_p`` the people that have at least one valid joint; pull is 0
    without people and push is 0 with fewer than two. This is the
    normalisation of the reference AE training code, not the paper's (which
    has ``1/N^2`` over ordered pairs and a Gaussian width): the detection
    term has no ½ and the mask multiplies the squared error once; pull is
    divided by the tag dimension ``D`` but push uses the plain squared
    distance between the ``D``-dimensional mean tags (no ``/D``), as in the
    reference. Every term is differentiated fully, the mean tags included.

    The output is ``detection_weight * det + pull_weight * pull +
    push_weight * push``; :meth:`terms` returns the unweighted terms to log.
    For stacked networks call it once per stack and average, as the
    reference does.

    Parameters
    ----------
    num_joints : int, default 17
        ``K``, the number of joint types.
    tag_dim : int, default 1
        ``D``, the dimension of the tag (embedding) of one joint.
    detection_weight, pull_weight, push_weight : float
        Weights of the three terms (reference: 1, 1e-3, 1e-3).
    batch_axis : int, default 0
        Must be 0.

    Inputs
    ------
    pred : NDArray or Symbol
        ``(N, C, h, w)`` with ``C >= K * (1 + D)``: channels ``0 .. K-1``
        detection heatmaps, channel ``K + k * D + d`` dimension ``d`` of
        joint ``k``'s tag; further channels (the reference's unused ones)
        are ignored.
    heatmaps : NDArray or Symbol
        ``(N, K, h, w)`` target heatmaps.
    mask : NDArray or Symbol
        ``(N, h, w)`` or ``(N, 1, h, w)``: 1 supervise, 0 crowd.
    tag_refs : NDArray or Symbol
        ``(N, M, K, 2)``, integer or float: ``[..., 0]`` the flat index
        ``k * h * w + y * w + x`` of the joint in the sample's joint-``k`` tag
        map, ``[..., 1]`` 1 if the joint is labelled and inside the map, else
        0. The index of an invalid entry is never read (it may be anything);
        a valid index must lie inside ``[0, K h w)``. Rows of absent people
        are all 0.

    Outputs
    -------
    loss : NDArray or Symbol
        ``(N,)`` per-sample weighted total.
    """

    def __init__(self, num_joints=17, tag_dim=1, detection_weight=1.0, pull_weight=1e-3,
                 push_weight=1e-3, batch_axis=0, **kwargs):
        if batch_axis != 0:
            raise ValueError("AssociativeEmbeddingLoss expects samples on axis 0 and "
                             "channels on axis 1")
        if int(num_joints) < 1 or int(tag_dim) < 1:
            raise ValueError("num_joints and tag_dim must be >= 1, got %r and %r"
                             % (num_joints, tag_dim))
        super().__init__(None, batch_axis, **kwargs)
        self._num_joints = int(num_joints)
        self._tag_dim = int(tag_dim)
        self._detection_weight = float(detection_weight)
        self._pull_weight = float(pull_weight)
        self._push_weight = float(push_weight)

    def _check(self, pred):
        """Fail early, with a readable message, on too few channels (NDArray only)."""
        need = self._num_joints * (1 + self._tag_dim)
        shape = getattr(pred, "shape", None)
        if shape is not None and len(shape) == 4 and shape[1] < need:
            raise ValueError("AssociativeEmbeddingLoss: pred has %d channels, needs K*(1+D) = %d"
                             % (shape[1], need))

    def terms(self, pred, heatmaps, mask, tag_refs):
        """The unweighted ``(det, pull, push)`` terms, each ``(N,)``.

        Same inputs as the loss; NDArrays (usable under ``autograd.record``)
        or Symbols.
        """
        from mxnet import ndarray, symbol
        F = symbol if isinstance(pred, symbol.Symbol) else ndarray
        self._check(pred)
        return _ae_terms(F, pred, heatmaps, mask, tag_refs, self._num_joints, self._tag_dim)

    def hybrid_forward(self, F, pred, heatmaps, mask, tag_refs):
        self._check(pred)
        det, pull, push = _ae_terms(F, pred, heatmaps, mask, tag_refs,
                                    self._num_joints, self._tag_dim)
        return (det * self._detection_weight + pull * self._pull_weight
                + push * self._push_weight)


_LOSSES = {"weighted_l2": WeightedL2Loss, "l2": WeightedL2Loss, "ohkm": OHKMLoss,
           "integral_l1": IntegralL1Loss, "masked_l2": MaskedL2Loss,
           "ae": AssociativeEmbeddingLoss}


def get_loss(name, **kwargs):
    """Build a loss by name; a :class:`~mxnet.gluon.loss.Loss` instance passes through.

    Parameters
    ----------
    name : str or Loss
        ``'weighted_l2'`` (alias ``'l2'``) -> :class:`WeightedL2Loss`,
        ``'ohkm'`` -> :class:`OHKMLoss`, ``'integral_l1'`` ->
        :class:`IntegralL1Loss`, ``'masked_l2'`` -> :class:`MaskedL2Loss`,
        ``'ae'`` -> :class:`AssociativeEmbeddingLoss`.
    **kwargs
        Constructor arguments of the loss.
    """
    if isinstance(name, Loss):
        return name
    try:
        cls = _LOSSES[str(name).lower()]
    except KeyError:
        raise ValueError("unknown loss %r; known: %s" % (name, ", ".join(sorted(_LOSSES)))) \
            from None
    return cls(**kwargs)
