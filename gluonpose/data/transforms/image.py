"""Image arrays to the pixel format the pose transforms and the Predictor take.

:func:`to_rgb_uint8` turns whatever an image array is -- grayscale, RGBA,
16-bit, bool or float, numpy or ``mx.nd`` -- into a contiguous ``H x W x 3``
uint8 RGB array. The frame sources of :mod:`gluonpose.inference` and the GluonCV
demo helper :func:`~gluonpose.data.transforms.pose.detector_to_simple_pose`
both use it (:mod:`gluonpose.inference.sources` re-exports it).
"""
import numpy as np

__all__ = ["to_rgb_uint8"]


def to_rgb_uint8(img, name="<array>", bgr=False):
    """Normalise an image array to ``H x W x 3`` uint8 RGB.

    Parameters
    ----------
    img : numpy.ndarray or mxnet.nd.NDArray
        ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)``; uint8,
        uint16 (scaled by ``1 / 257``), other integer types (clipped to
        ``[0, 255]``), bool, or float (``[0, 1]`` when the maximum is at most 1,
        else ``[0, 255]``, clipped).
    name : str
        Named in error messages.
    bgr : bool
        The channels are in OpenCV's BGR(A) order (swap to RGB).

    Returns
    -------
    numpy.ndarray
        Contiguous ``H x W x 3`` uint8 RGB (the input itself when it already
        is one).

    Raises
    ------
    ValueError
        Wrong number of dimensions or channels, an empty image, or an
        unsupported dtype.
    """
    if hasattr(img, "asnumpy"):
        img = img.asnumpy()
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError("%s: expected an H x W, H x W x 1, H x W x 3 or H x W x 4 image, got "
                         "shape %s" % (name, img.shape))
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError("%s: the image is empty (shape %s)" % (name, img.shape))
    img = _to_uint8(img, name)
    channels = img.shape[2]
    if channels == 1:
        return np.ascontiguousarray(np.repeat(img, 3, axis=2))
    if channels == 4:
        img = img[:, :, :3]             # alpha is not part of the scene
    if bgr:
        img = img[:, :, ::-1]
    return np.ascontiguousarray(img)


def _to_uint8(img, name):
    kind = img.dtype.kind
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        # 65535 / 255 = 257 exactly: an 8-bit image widened with v * 257 comes back unchanged
        return np.round(img.astype(np.float32) / np.float32(257)).astype(np.uint8)
    if kind == "b":
        return img.astype(np.uint8) * 255
    if kind in "iu":
        return np.clip(img, 0, 255).astype(np.uint8)
    if kind == "f":
        finite = img[np.isfinite(img)]
        peak = float(finite.max()) if finite.size else 0.0
        scaled = img.astype(np.float32) * (255.0 if peak <= 1.0 else 1.0)
        return np.clip(np.nan_to_num(np.round(scaled)), 0, 255).astype(np.uint8)
    raise ValueError("%s: unsupported pixel type %s" % (name, img.dtype))
