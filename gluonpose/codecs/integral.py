"""Integral (soft-argmax) coordinate regression codec.

"Integral Human Pose Regression" (Sun et al., ECCV 2018) as AlphaPose uses it
for Halpe-136 ("symmetric integral", ``L1JointRegression`` with
``norm_type='sigmoid'``): the network still outputs one map per joint, but the
map is read as a distribution and the keypoint is its expectation, so the
training target is a coordinate (trained with an L1 loss, see
:class:`gluonpose.loss.IntegralL1Loss`) instead of a Gaussian heatmap.

Conventions
-----------
* **Normalised coordinates**: ``u = x / W_in - 0.5`` and ``v = y / H_in - 0.5``
  for a joint at input pixel ``(x, y)`` of a ``W_in x H_in`` crop. With the
  package's heatmap convention (cell ``k`` stands for input pixel
  ``k * stride``, no half-pixel offset) this is ``u = k / w - 0.5``: cell 0 is
  ``-0.5``, the last cell ``0.5 - 1 / w``. The same normalisation is used by the
  encoder, by :func:`soft_argmax_normalized`, by the loss and by the training
  metric.
* **Soft-argmax**: ``p = sigmoid(logits)``, ``p /= p.sum()`` over the map,
  ``x = sum_k k * p_x[k]`` with ``p_x`` the marginal over rows (and likewise
  ``y``). Logits below :data:`LOGIT_FLOOR` (-80) count as -80: every cell
  keeps a probability of at least ~1.8e-35, a normal float32 (no flush to
  zero on GPUs), so no map sums to 0 and an all-background map decodes to its
  centre. The loss applies the same floor, so both sides agree everywhere.
* **Score**: the maximum sigmoid value of the map (AlphaPose's
  ``norm_type='sigmoid'`` confidence); in ``(0, 1)``, so it feeds OKS
  rescoring and pose NMS like a heatmap peak.
"""
import numpy as np

from .base import HeatmapCodec

__all__ = ["IntegralRegression", "soft_argmax", "soft_argmax_normalized", "INVALID_TARGET",
           "LOGIT_FLOOR"]

#: target value written for joints with weight 0 (unlabelled or outside the
#: crop): outside the valid range ``[-0.5, 0.5)``, so a consumer that only sees
#: targets (the training metric) can tell them apart, like the all-zero map of
#: an unlabelled joint in the heatmap codecs. Their weight is 0, so the loss
#: never reads the value.
INVALID_TARGET = -1.0

#: logits are clipped from below at this value before the sigmoid (see the
#: module notes); the MXNet loss uses the same constant
LOGIT_FLOOR = -80.0

_NORMS = ("sigmoid",)


def _sigmoid(x):
    """Logistic function in float32, without overflow.

    Logits are clipped at :data:`LOGIT_FLOOR`, which also keeps ``exp(-x)``
    finite in float32. One ``exp`` and no ``where`` (a two-branch form costs
    ~5x more on a batch of maps).
    """
    p = np.maximum(x, np.float32(LOGIT_FLOOR), dtype=np.float32)
    np.negative(p, out=p)
    np.exp(p, out=p)
    p += 1
    return np.reciprocal(p, out=p)


def soft_argmax(heatmaps, norm="sigmoid"):
    """Sigmoid-normalised soft-argmax of each map, in heatmap pixels.

    Parameters
    ----------
    heatmaps : numpy.ndarray
        ``(N, J, h, w)`` logits (the raw network output).
    norm : str
        ``'sigmoid'`` (the only normalisation implemented).

    Returns
    -------
    coords : numpy.ndarray
        float32 ``(N, J, 2)`` expected ``(x, y)`` in heatmap cells (cell ``k``
        is coordinate ``k``), in ``[0, w - 1] x [0, h - 1]``.
    maxvals : numpy.ndarray
        float32 ``(N, J, 1)`` maximum sigmoid value of each map.
    """
    if norm not in _NORMS:
        raise ValueError("norm must be one of %s, got %r" % (_NORMS, norm))
    hm = np.asarray(heatmaps)
    if hm.ndim != 4:
        raise ValueError("heatmaps must be (N, J, h, w), got shape %s" % (hm.shape,))
    n, j, h, w = hm.shape
    prob = _sigmoid(hm)
    maxvals = prob.reshape(n, j, h * w).max(axis=2)
    # marginals in float32 (sums of <= a few hundred terms), everything after
    # them in float64; within 4e-6 cells of an all-float64 evaluation
    col = prob.sum(axis=2).astype(np.float64)              # (N, J, w)
    row = prob.sum(axis=3).astype(np.float64)              # (N, J, h)
    total = row.sum(axis=2)                                # > 0: see LOGIT_FLOOR
    ex = col @ np.arange(w, dtype=np.float64)
    ey = row @ np.arange(h, dtype=np.float64)
    coords = np.stack([ex / total, ey / total], axis=-1).astype(np.float32)
    return coords, maxvals[..., None]


def soft_argmax_normalized(heatmaps, norm="sigmoid"):
    """:func:`soft_argmax` in normalised units ``k / size - 0.5``.

    Returns
    -------
    coords : numpy.ndarray
        float32 ``(N, J, 2)`` in ``[-0.5, 0.5 - 1 / w] x [-0.5, 0.5 - 1 / h]``.
    maxvals : numpy.ndarray
        float32 ``(N, J, 1)``.
    """
    coords, maxvals = soft_argmax(heatmaps, norm)
    h, w = np.shape(heatmaps)[2:]
    size = np.array([w, h], dtype=np.float64)
    return (coords / size - 0.5).astype(np.float32), maxvals


class IntegralRegression(HeatmapCodec):
    """Soft-argmax coordinate targets and decoding (AlphaPose's integral regression).

    Parameters
    ----------
    image_size : tuple of int
        ``(H, W)`` of the network input.
    heatmap_size : tuple of int, optional
        ``(h, w)`` of the network output; default ``image_size // 4``. Only
        :meth:`render_logits` uses it: the targets are resolution-free and
        decoding reads the size of the maps it is given.
    sigma : float, optional
        Ignored (accepted so the engine can build every codec with the same
        arguments); there is no Gaussian.
    norm : str
        Map normalisation before the expectation; ``'sigmoid'``.

    Notes
    -----
    Encoding: ``target = (x / W_in - 0.5, y / H_in - 0.5)`` per joint
    (float32 ``(J, 2)``), ``target_weight`` = the visibility flag repeated for
    x and y, set to 0 for joints outside the crop (``x`` not in ``[0, W_in)`` or
    ``y`` not in ``[0, H_in)``); the target of a weight-0 joint is
    :data:`INVALID_TARGET`.

    Decoding: :func:`soft_argmax` (sigmoid, divide by the map's sum,
    expectation of the cell index), scores = the maximum sigmoid value; the base
    class then applies the inverse crop affine with cell ``k`` at input pixel
    ``k * stride``, the same mapping the encoder inverts. A crop joint in
    ``((w - 1) * stride, W_in)`` is a valid target that the expectation can
    only approach (the soft-argmax cannot leave ``[0, w - 1]``).
    """

    name = "integral"
    #: the engine picks the training loss and metric from these
    target_type = "coordinate"
    default_loss = "integral_l1"

    def __init__(self, image_size=(256, 192), heatmap_size=None, sigma=None, norm="sigmoid"):
        if norm not in _NORMS:
            raise ValueError("norm must be one of %s, got %r" % (_NORMS, norm))
        super().__init__(image_size, heatmap_size, sigma)
        self.norm = norm

    def describe(self):
        return "integral(norm=%s)" % self.norm

    def __repr__(self):
        return "%s(image_size=%s, heatmap_size=%s, norm=%r)" % (
            type(self).__name__, self.image_size, self.heatmap_size, self.norm)

    def encode(self, joints, visibility):
        """Normalised coordinate targets for joints given in the input frame.

        Parameters
        ----------
        joints : array-like
            ``(J, 2)`` or ``(N, J, 2)`` ``(x, y)`` in input-image pixels.
        visibility : array-like
            ``(J,)`` or ``(N, J)`` flags (0 = not labelled); ``(J, 2)`` /
            ``(J, 1)`` GluonCV-style flags are accepted too.

        Returns
        -------
        target : numpy.ndarray
            float32 ``(J, 2)`` or ``(N, J, 2)``: ``x / W_in - 0.5``,
            ``y / H_in - 0.5``; :data:`INVALID_TARGET` where the weight is 0.
        target_weight : numpy.ndarray
            float32, same shape: visibility, 0 outside the crop.
        """
        pts, weight, lead = self._as_batch(joints, visibility)
        size = np.array(self.image_size[::-1], dtype=np.float64)     # (W, H)
        inside = ((pts >= 0) & (pts < size)).all(axis=1)
        weight = weight * inside
        target = pts / size - 0.5
        target[weight <= 0] = INVALID_TARGET
        weight2 = np.repeat(weight[:, None], 2, axis=1).astype(np.float32)
        return (target.astype(np.float32).reshape(lead + (2,)),
                weight2.reshape(lead + (2,)))

    def decode_heatmap(self, heatmaps):
        """Soft-argmax in the heatmap frame.

        Parameters
        ----------
        heatmaps : numpy.ndarray
            float32 ``(N, J, h, w)`` logits.

        Returns
        -------
        coords, maxvals : numpy.ndarray
            float32 ``(N, J, 2)`` (heatmap cells) and ``(N, J, 1)`` (maximum
            sigmoid value).
        """
        return soft_argmax(self._prepare(heatmaps), self.norm)

    def render_logits(self, target, background=-30.0):
        """Logit maps whose soft-argmax is ``target`` (synthetic network output).

        Each joint's probability mass is split over the four cells around its
        sub-cell position with bilinear weights, which preserves the mean
        exactly; the other cells get ``sigmoid(background)`` (about 1e-13 for
        the default, a bias below 1e-8 cells). Targets beyond the reachable
        range ``[-0.5, 0.5 - 1 / w]`` are clipped to it; rows of
        :data:`INVALID_TARGET` render like any other point.

        Parameters
        ----------
        target : array-like
            ``(J, 2)`` or ``(N, J, 2)`` normalised coordinates (what
            :meth:`encode` returns).
        background : float
            Logit of the cells that carry no mass.

        Returns
        -------
        numpy.ndarray
            float32 ``(N, J, h, w)`` logits at ``heatmap_size`` (``N = 1`` for
            a ``(J, 2)`` target).
        """
        t = np.asarray(target, dtype=np.float64)
        if t.ndim == 2:
            t = t[None]
        n, j = t.shape[:2]
        h, w = self.heatmap_size
        size = np.array([w, h], dtype=np.float64)
        cell = np.clip((t + 0.5) * size, 0, size - 1).reshape(-1, 2)   # (m, 2) in cells
        lo = np.minimum(np.floor(cell), size - 2).astype(np.int64)     # w, h >= 2
        frac = cell - lo
        m = len(cell)
        prob = np.zeros((m, h, w), dtype=np.float64)
        rows = np.arange(m)
        for dy in (0, 1):
            wy = frac[:, 1] if dy else 1 - frac[:, 1]
            for dx in (0, 1):
                wx = frac[:, 0] if dx else 1 - frac[:, 0]
                prob[rows, lo[:, 1] + dy, lo[:, 0] + dx] += wx * wy
        # logit of a cell with probability p (kept below 1 so it stays finite);
        # sigmoid(logit(p)) == p, and the map sum is ~1 so p survives the division
        p = np.clip(prob * 0.999, 0, None)
        logits = np.where(p > 0, np.log(np.maximum(p, 1e-300)) - np.log1p(-p), background)
        return logits.astype(np.float32).reshape(n, j, h, w)
