"""What every heatmap codec shares: sizes, array conversion, argmax, mapping back.

A codec owns both directions of the keypoint <-> heatmap representation so
training targets and inference decoding cannot drift apart:

* ``encode(joints, visibility) -> (target, target_weight)`` takes joints in the
  network *input* frame (the warped crop, ``W x H`` pixels);
* ``decode(heatmaps, center, scale) -> (coords, maxvals)`` returns *image*
  coordinates, undoing the crop affine of each box.

Size convention: every size in this package is ``(H, W)``, like the presets'
``image_size``/``heatmap_size`` (GluonCV's target generator takes ``(W, H)``;
don't pass its arguments straight through).

Coordinate convention (GluonCV / Simple Baselines): heatmap pixel index ``k``
stands for input coordinate ``k * stride``; there is no half-pixel offset.
"""
import numpy as np

from .geometry import _ndarray_view, affine_transform_points, get_affine_transform_batch

__all__ = ["HeatmapCodec", "to_numpy", "argmax_2d"]


def to_numpy(arr, dtype=np.float32):
    """A numpy array of ``arr`` (numpy, ``mx.nd.NDArray`` or a sequence).

    CPU NDArrays are read through a zero-copy view (``asnumpy`` goes through
    the engine and costs more than the whole decode); the result never aliases
    the caller's memory in a way that is returned or written to.
    """
    if isinstance(arr, np.ndarray):
        return arr.astype(dtype, copy=False)
    view = _ndarray_view(arr)
    if view is not None:
        return view.astype(dtype, copy=False)
    if hasattr(arr, "asnumpy"):
        return arr.asnumpy().astype(dtype, copy=False)
    return np.asarray(arr, dtype=dtype)


def argmax_2d(heatmaps):
    """Batched per-map argmax, GluonCV's ``get_max_pred`` semantics.

    Parameters
    ----------
    heatmaps : numpy.ndarray
        ``(N, J, h, w)`` float32.

    Returns
    -------
    coords : numpy.ndarray
        float32 ``(N, J, 2)`` integer-valued ``(x, y)`` of the first maximum in
        row-major order; ``(0, 0)`` where the maximum is <= 0.
    maxvals : numpy.ndarray
        float32 ``(N, J, 1)``.
    flat_idx : numpy.ndarray
        int64 ``(N, J)`` flat index of the maximum within each map.
    """
    n, j, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, j, h * w)
    idx = flat.argmax(axis=2)
    maxvals = np.take_along_axis(flat, idx[..., None], axis=2).astype(np.float32)
    coords = np.empty((n, j, 2), dtype=np.float32)
    coords[..., 0] = idx % w
    coords[..., 1] = idx // w
    coords *= (maxvals > 0)
    return coords, maxvals, idx


class HeatmapCodec:
    """Base class of the Gaussian heatmap codecs.

    Parameters
    ----------
    image_size : tuple of int
        ``(H, W)`` of the network input (the crop).
    heatmap_size : tuple of int, optional
        ``(h, w)`` of the heatmaps; default a quarter of ``image_size`` (the
        stride of every Simple Baselines / MobilePose head).
    sigma : float
        Gaussian standard deviation in heatmap pixels.
    """

    #: short codec name used in protocol records
    name = "heatmap"
    #: what ``encode`` produces (``'heatmap'`` maps or ``'coordinate'`` pairs);
    #: the engine picks the training metric from it
    target_type = "heatmap"
    #: name of the loss (:func:`gluonpose.loss.get_loss`) the engine trains
    #: this codec's targets with unless a spec names another
    default_loss = "weighted_l2"

    def __init__(self, image_size=(256, 192), heatmap_size=None, sigma=2):
        self.image_size = (int(image_size[0]), int(image_size[1]))
        if heatmap_size is None:
            heatmap_size = (self.image_size[0] // 4, self.image_size[1] // 4)
        self.heatmap_size = (int(heatmap_size[0]), int(heatmap_size[1]))
        self.sigma = sigma
        # (x, y) stride in float64, the same value GluonCV's target generator uses
        self.stride = (np.array(self.image_size[::-1], dtype=np.int64)
                       / np.array(self.heatmap_size[::-1], dtype=np.int64))

    # -- API ---------------------------------------------------------------------------
    def encode(self, joints, visibility):
        """Joints (input frame) -> ``(target, target_weight)``; see subclasses."""
        raise NotImplementedError

    def decode_heatmap(self, heatmaps):
        """Heatmaps -> ``(coords, maxvals)`` in the *heatmap* frame."""
        raise NotImplementedError

    def decode(self, heatmaps, center, scale):
        """Heatmaps -> image coordinates.

        Parameters
        ----------
        heatmaps : numpy.ndarray or mxnet.nd.NDArray
            ``(N, J, h, w)`` network output (any ``h, w``; the codec's
            ``heatmap_size`` is not required to match).
        center, scale : array-like
            ``(N, 2)`` crop centre and scale of each box (what the val transform
            returns).

        Returns
        -------
        coords : numpy.ndarray
            float32 ``(N, J, 2)`` image coordinates.
        maxvals : numpy.ndarray
            float32 ``(N, J, 1)`` peak values (the keypoint scores).
        """
        hm = self._prepare(heatmaps)
        coords, maxvals = self.decode_heatmap(hm)
        h, w = hm.shape[2:]
        trans = get_affine_transform_batch(to_numpy(center, np.float64),
                                           to_numpy(scale, np.float64), 0.0, (w, h), inv=True)
        preds = affine_transform_points(coords, trans).astype(np.float32)
        return preds, maxvals

    # -- helpers -----------------------------------------------------------------------
    @staticmethod
    def _prepare(heatmaps):
        hm = to_numpy(heatmaps, np.float32)
        if hm.ndim == 3:
            hm = hm[None]
        if hm.ndim != 4:
            raise ValueError("heatmaps must be (N, J, h, w), got shape %s" % (hm.shape,))
        return hm

    def _as_batch(self, joints, visibility):
        """``(N*J, 2)`` float64 joints and float32 flags, plus the leading shape."""
        joints = np.asarray(joints)
        visibility = np.asarray(visibility)
        if joints.shape[-1] != 2:
            raise ValueError("joints must be (..., J, 2), got shape %s" % (joints.shape,))
        if visibility.shape != joints.shape[:-1]:
            # accept GluonCV-style (J, 2) flags or (J, 1)
            visibility = visibility.reshape(visibility.shape[:joints.ndim - 1] + (-1,))[..., 0]
        lead = joints.shape[:-1]
        return (joints.reshape(-1, 2).astype(np.float64),
                visibility.reshape(-1).astype(np.float32), lead)

    def describe(self):
        """Short text for protocol records, e.g. ``'msra(sigma=2)'``."""
        return "%s(sigma=%g)" % (self.name, self.sigma)

    def __repr__(self):
        return "%s(image_size=%s, heatmap_size=%s, sigma=%g)" % (
            type(self).__name__, self.image_size, self.heatmap_size, self.sigma)
