"""Crop every person box of a frame into one normalised network batch.

The crop is the validation transform's (``SimplePoseDefaultValTransform``):
box -> centre/scale (aspect fixed to the input, x1.25 context), GluonCV's
affine, bilinear ``cv2.warpAffine`` with a black border, then
``(x / 255 - mean) / std`` through a float32 lookup table built exactly like
the transform's, so each crop equals the transform's output bit for bit (and
predictions equal ``gluonpose eval``'s for the same boxes). The warps write
into one preallocated ``(N, H, W, 3)`` buffer and the tables write straight
into the memory of the ``(N, 3, H, W)`` batch NDArray.

It lives with the data transforms (the :class:`gluonpose.Predictor` and the
GluonCV demo helper :func:`~gluonpose.data.transforms.pose.detector_to_simple_pose`
both use it); :mod:`gluonpose.inference.crop` re-exports it.
"""
import cv2
import mxnet as mx
import numpy as np

from ...codecs.geometry import boxes_to_center_scale, get_affine_transform
from .presets.simple_pose import _empty_nd

__all__ = ["BatchCropper", "crop_people"]


class BatchCropper:
    """Callable ``(image, boxes) -> (batch, center, scale)``.

    Parameters
    ----------
    image_size : tuple of int
        Network input ``(H, W)``.
    mean, std : sequence of float
        Normalisation of ``x / 255`` (RGB order).
    scale_mult : float
        Context around the box (1.25, Simple Baselines).
    """

    def __init__(self, image_size=(256, 192), mean=(0.485, 0.456, 0.406),
                 std=(0.229, 0.224, 0.225), scale_mult=1.25):
        self.image_size = (int(image_size[0]), int(image_size[1]))
        self.aspect_ratio = float(self.image_size[1] / self.image_size[0])
        self.scale_mult = float(scale_mult)
        mean = np.broadcast_to(np.asarray(mean, np.float32).reshape(-1), (3,))
        std = np.broadcast_to(np.asarray(std, np.float32).reshape(-1), (3,))
        levels = np.arange(256, dtype=np.float32) / np.float32(255)
        # the same float32 expression as the val transform's tables (bit parity)
        self.lut = np.stack([(levels - m) / s for m, s in zip(mean, std)]).astype(np.float32)

    def warp(self, image, center, scale):
        """``(N, H, W, 3)`` uint8 crops of ``image`` for ``N`` centre/scale pairs."""
        h, w = self.image_size
        crops = np.empty((len(center), h, w, 3), np.uint8)
        for i in range(len(center)):
            trans = get_affine_transform(center[i], scale[i], 0, (w, h))
            res = cv2.warpAffine(image, trans, (w, h), dst=crops[i], flags=cv2.INTER_LINEAR)
            if res.ctypes.data != crops[i].ctypes.data:     # OpenCV allocated instead
                crops[i] = res
        return crops

    def normalize(self, crops, ctx=None):
        """``(N, H, W, 3)`` uint8 -> float32 ``(N, 3, H, W)`` NDArray on ``ctx``.

        On the CPU the tables write straight into the NDArray's memory
        (``cv2.split`` + ``cv2.LUT`` per crop, as the val transform does): no
        intermediate float array and no copy into MXNet.
        """
        shape = (crops.shape[0], 3) + crops.shape[1:3]
        if ctx is None or ctx.device_type == "cpu":
            out, view = _empty_nd(shape)
        else:
            out, view = None, np.empty(shape, np.float32)
        luts = [self.lut[c] for c in range(3)]
        for crop, dst in zip(crops, view):
            for plane, lut, d in zip(cv2.split(crop), luts, dst):
                res = cv2.LUT(plane, lut, dst=d)
                if res.ctypes.data != d.ctypes.data:      # OpenCV allocated instead
                    d[...] = res
        return out if out is not None else mx.nd.array(view, ctx=ctx, dtype=np.float32)

    def __call__(self, image, boxes, ctx=None):
        """Crop and normalise.

        Parameters
        ----------
        image : numpy.ndarray
            ``H x W x 3`` uint8 RGB.
        boxes : array-like
            ``(N, 4)`` ``(xmin, ymin, xmax, ymax)``.
        ctx : mxnet.Context, optional
            Where the batch goes (default cpu).

        Returns
        -------
        batch : mxnet.nd.NDArray
            float32 ``(N, 3, H, W)``.
        center, scale : numpy.ndarray
            float32 ``(N, 2)``; what the codec's ``decode`` needs.
        """
        center, scale = boxes_to_center_scale(boxes, self.aspect_ratio, self.scale_mult)
        return self.normalize(self.warp(image, center, scale), ctx), center, scale


def crop_people(image, boxes, image_size=(256, 192), mean=(0.485, 0.456, 0.406),
                std=(0.229, 0.224, 0.225), ctx=None):
    """One-off :class:`BatchCropper` call; see there."""
    return BatchCropper(image_size, mean, std)(image, boxes, ctx)
