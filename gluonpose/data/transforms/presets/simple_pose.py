"""Train and validation transforms for top-down heatmap models (Simple Baselines).

Drop-in replacements for GluonCV's ``SimplePoseDefaultTrainTransform`` and
``SimplePoseDefaultValTransform``: same constructor arguments, same call
signature ``(src, label, img_id)``, same outputs, and, with GluonCV's global
RNGs, the same random draws in the same order, so a seeded run reproduces
GluonCV's samples (bit for bit: images, targets and weights). They are about
3x (256x192) to 4x (128x96) faster, see BENCHMARKS.md: vectorised joints and
targets, a zero-copy read of the source NDArray, mirroring only the part of
the image the crop samples, and ``to_tensor`` + ``normalize`` fused into one
float32 lookup table per channel written straight into the output NDArray.
The warp itself (``cv2.warpAffine``, shared with GluonCV) is now about half of
the time.

Extras (keyword-only, off by default): half-body augmentation, a pluggable
heatmap codec, a keypoint schema instead of ``joint_pairs``, and an explicit
RNG for reproducible, fork-safe data-loader workers.
"""
import ctypes
import multiprocessing
import os
import random as _pyrandom

import cv2
import mxnet as mx
import numpy as np

from ...schema import get_schema
from ..pose import as_numpy_image, bbox_to_center_scale, flip_index_from_pairs, \
    get_affine_transform, half_body_center_scale

__all__ = ["SimplePoseDefaultTrainTransform", "SimplePoseDefaultValTransform", "GlobalRNG"]


# ----------------------------------------------------------------------------- RNG

class GlobalRNG:
    """GluonCV's randomness: ``numpy.random`` for normals, ``random`` for gates.

    Keeping GluonCV's split (and its draw order) is what lets a run seeded with
    ``random.seed(s); np.random.seed(s)`` reproduce GluonCV's samples.
    """

    @staticmethod
    def normal():
        """One standard normal from ``np.random.randn()``."""
        return np.random.randn()

    @staticmethod
    def uniform():
        """One U[0, 1) draw from ``random.random()``."""
        return _pyrandom.random()

    def random(self):
        """Alias of :meth:`uniform` (the half-body helper calls ``rng.random()``)."""
        return _pyrandom.random()


class _GeneratorRNG:
    """A ``numpy.random.Generator`` behind the same two calls, fork-aware.

    A forked data-loader worker inherits the parent's generator state, so every
    worker would replay the same augmentations. On the first draw in a new
    process the stream is re-derived from (a draw of the inherited state, the
    worker's pool identity), so workers differ from each other while a given
    seed and worker number still give the same stream.
    """

    def __init__(self, rng):
        if isinstance(rng, np.random.Generator):
            self._gen = rng
        else:
            self._gen = np.random.default_rng(rng)
        self._pid = os.getpid()

    def _check_fork(self):
        pid = os.getpid()
        if pid != self._pid:
            ident = multiprocessing.current_process()._identity or (pid,)
            base = int(self._gen.integers(0, 2 ** 63))
            self._gen = np.random.default_rng([base] + [int(i) for i in ident])
            self._pid = pid

    def normal(self):
        self._check_fork()
        return self._gen.standard_normal()

    def uniform(self):
        self._check_fork()
        return self._gen.random()

    def random(self):
        return self.uniform()


def _make_rng(rng):
    if rng is None:
        return GlobalRNG()
    if hasattr(rng, "normal") and hasattr(rng, "uniform") and not isinstance(
            rng, (np.random.Generator, np.random.RandomState)):
        return rng
    if isinstance(rng, np.random.RandomState):
        rng = np.random.default_rng(rng.randint(0, 2 ** 31))
    return _GeneratorRNG(rng)


# ----------------------------------------------------------------------------- image

class _Normalizer:
    """GluonCV's ``to_tensor`` + ``normalize`` as one lookup per pixel.

    For uint8 images each channel has a float32 table
    ``lut[u8] = (u8 / 255 - mean) / std`` built with MXNet's float32
    arithmetic, so the output equals GluonCV's bit for bit; ``cv2.split``
    de-interleaves the channels and ``cv2.LUT`` maps each plane straight into
    the output NDArray's memory (two cheap passes, the transpose for free).
    Other dtypes take GluonCV's arithmetic path.
    """

    def __init__(self, mean, std):
        self.mean = np.broadcast_to(np.asarray(mean, np.float32).reshape(-1), (3,)).copy()
        self.std = np.broadcast_to(np.asarray(std, np.float32).reshape(-1), (3,)).copy()
        levels = np.arange(256, dtype=np.float32) / np.float32(255)
        self.luts = [np.ascontiguousarray((levels - m) / sd, dtype=np.float32)
                     for m, sd in zip(self.mean, self.std)]

    def __call__(self, img):
        """HWC image -> normalised CHW float32 ``mx.nd.NDArray``."""
        h, w = img.shape[:2]
        if img.dtype != np.uint8:
            chw = img.reshape(h, w, -1).transpose(2, 0, 1).astype(np.float32) / np.float32(255)
            return mx.nd.array((chw - self.mean[:, None, None]) / self.std[:, None, None])
        planes = cv2.split(img) if img.ndim == 3 else [img]
        out, view = _empty_nd((len(planes), h, w))
        for plane, lut, dst in zip(planes, self.luts, view):
            res = cv2.LUT(plane, lut, dst=dst)
            # OpenCV hands dst back when it wrote in place; copy if it allocated instead
            if res is not dst and res.ctypes.data != dst.ctypes.data:
                dst[...] = res
        return out


def _empty_nd(shape):
    """A fresh CPU float32 NDArray and a writable numpy view of its memory.

    Writing the normalised image straight into the NDArray saves the extra copy
    (and engine round trip) of ``mx.nd.array(numpy_image)``. The NDArray is new
    and has no pending operations, so writing behind the engine is safe.
    """
    from mxnet.base import _LIB, check_call
    out = mx.nd.empty(shape, ctx=mx.cpu(), dtype=np.float32)
    ptr = ctypes.c_void_p()
    check_call(_LIB.MXNDArrayGetData(out.handle, ctypes.byref(ptr)))
    size = int(np.prod(shape))
    view = np.frombuffer((ctypes.c_float * size).from_address(ptr.value),
                         dtype=np.float32).reshape(shape)
    return out, view


def _flipped_roi(img, trans, out_w, out_h, pad=3):
    """GluonCV's mirrored image ``img[:, ::-1]``, filled only where the warp reads.

    The warp by ``trans`` only samples the source inside the bounding box of
    the output rectangle mapped back (plus the bilinear neighbour); mirroring
    just that region (``cv2.flip``, into a same-size buffer whose other pixels
    are never read) gives bit-identical warped pixels while moving a fraction
    of the memory a full-image flip moves -- on a small crop of a big image,
    most of the flip's cost.
    """
    ih, iw = img.shape[:2]
    inv = cv2.invertAffineTransform(trans)
    corners = np.array([[0, 0, 1], [out_w - 1, 0, 1], [0, out_h - 1, 1],
                        [out_w - 1, out_h - 1, 1]], np.float64) @ inv.T
    lo = np.floor(corners.min(axis=0)) - pad
    hi = np.ceil(corners.max(axis=0)) + pad + 1
    x0, y0 = int(min(max(lo[0], 0), iw)), int(min(max(lo[1], 0), ih))
    x1, y1 = int(min(max(hi[0], 0), iw)), int(min(max(hi[1], 0), ih))
    if x1 <= x0 or y1 <= y0:
        # no source pixel is sampled: the warp only sees its black border either way
        return img
    if (x1 - x0) * (y1 - y0) * 2 > iw * ih:
        return cv2.flip(img, 1)       # most of the image is needed: flip it whole
    out = np.empty_like(img)
    # mirrored column x of the output is column iw - 1 - x of the source
    dst = out[y0:y1, x0:x1]
    res = cv2.flip(img[y0:y1, iw - x1:iw - x0], 1, dst=dst)
    if res is not dst and res.ctypes.data != dst.ctypes.data:   # allocated, not in place
        dst[...] = res
    return out


# ----------------------------------------------------------------------------- presets

def _resolve_pairs(num_joints, joint_pairs, schema):
    if schema is not None:
        schema = get_schema(schema)
        if schema.num_joints != num_joints:
            raise ValueError("schema %r has %d joints, num_joints is %d"
                             % (schema.name, schema.num_joints, num_joints))
        return schema, np.asarray(schema.flip_index)
    if joint_pairs is None:
        raise ValueError("give joint_pairs (GluonCV style) or schema=")
    return None, flip_index_from_pairs(num_joints, joint_pairs)


def _label_arrays(label, num_joints):
    """bbox and (J, 2) joints / (J,) visibility from a GluonCV record."""
    bbox = label["bbox"]
    if len(bbox) != 4:
        raise ValueError("label['bbox'] must have 4 values, got %d" % len(bbox))
    joints_3d = np.asarray(label["joints_3d"])
    if joints_3d.shape[0] != num_joints:
        raise ValueError("label['joints_3d'] has %d joints, the transform expects %d"
                         % (joints_3d.shape[0], num_joints))
    return bbox, joints_3d[:, :2, 0].astype(np.float32), joints_3d[:, 0, 1].astype(np.float32)


class SimplePoseDefaultTrainTransform:
    """Training transform for top-down heatmap models (GluonCV-compatible).

    Parameters
    ----------
    num_joints : int
        Number of joints of the dataset.
    joint_pairs : list of (int, int)
        Left/right pairs swapped by a horizontal flip (``dataset.joint_pairs``);
        may be ``None`` when ``schema`` is given.
    image_size : tuple of int
        Network input ``(H, W)``.
    heatmap_size : tuple of int
        Target heatmap ``(h, w)``.
    sigma : float
        Gaussian sigma of the default MSRA targets, in heatmap pixels.
    mean, std : sequence of float
        Per-channel normalisation of ``x / 255``.
    random_flip : bool
        Flip with probability 0.5.
    scale_factor : float
        Scale jitter ``clip(N(0, 1) * sf + 1, 1 - sf, 1 + sf)``.
    rotation_factor : float
        Rotation ``clip(N(0, 1) * rf, -2 rf, 2 rf)`` degrees with probability 0.6.
    half_body_prob : float, keyword-only
        Probability of half-body augmentation (default 0: off, as GluonCV).
    num_half_body_joints : int, keyword-only
        Half-body needs more than this many visible joints.
    half_body_scale : float, keyword-only
        Context factor around the selected half (1.5).
    upper_body : sequence of int, keyword-only
        Upper-body joint indices; default the schema's ``upper_body`` (half-body
        needs one of the two).
    codec : object, keyword-only
        Encoder with ``encode(joints (J, 2), visibility (J,)) -> (target,
        weight)`` in the input frame. Default
        ``MSRAHeatmap(image_size, heatmap_size, sigma)``, bit-compatible with
        GluonCV's targets; when given, ``heatmap_size``/``sigma`` are unused.
    schema : KeypointSchema or str, keyword-only
        Keypoint schema: flip permutation and upper body come from it.
    rng : None, int, SeedSequence or numpy.random.Generator, keyword-only
        ``None`` (default) uses GluonCV's global RNGs (``np.random`` normals,
        ``random`` gates) in GluonCV's draw order, for parity. Caveat inherited
        from GluonCV: forked DataLoader workers all start from the same
        ``np.random`` state (Python's ``random`` is reseeded at fork, numpy's is
        not), so scale and rotation draws repeat across workers. Anything else
        builds a private ``numpy.random.Generator`` (an int or SeedSequence seeds
        it) that is re-derived per data-loader worker after a fork (see
        :class:`_GeneratorRNG`): reproducible for a given seed and worker
        number, different between workers. An object with ``normal()`` and
        ``uniform()`` methods is used as is.

    Notes
    -----
    Order of operations (GluonCV's): centre/scale from the box (aspect W/H,
    x1.25); [half body]; scale jitter; rotation gate and draw; flip gate (image
    mirrored, ``x -> W_img - x - 1``, pairs swapped, invisible coordinates
    zeroed, centre mirrored); crop affine; bilinear warp with black border;
    visible joints mapped through the affine; targets; normalisation.

    Random draws per call, in order: one normal (scale, always drawn), one
    uniform (rotation gate), one normal if the gate passes (``u <= 0.6``), one
    uniform (flip gate, only when ``random_flip``; flip when ``u > 0.5``). The
    optional half-body step draws before the scale normal, and only when
    ``half_body_prob > 0``: one uniform (gate, ``u < half_body_prob``) and, for an
    eligible sample, one more (upper or lower half).

    Returns ``(img, target, target_weight, img_id)``: ``img`` float32
    ``mx.nd.NDArray`` ``(3, H, W)``, ``target`` float32 ``(J, h, w)``,
    ``target_weight`` float32 ``(J, 1, 1)``. ``last_params`` holds what the
    last call drew (scale factor, rotation, flip, half-body mask).
    """

    def __init__(self, num_joints, joint_pairs=None, image_size=(256, 256),
                 heatmap_size=(64, 64), sigma=2, mean=(0.485, 0.456, 0.406),
                 std=(0.229, 0.224, 0.225), random_flip=True, scale_factor=0.25,
                 rotation_factor=30, *, half_body_prob=0.0, num_half_body_joints=8,
                 half_body_scale=1.5, upper_body=None, codec=None, schema=None, rng=None,
                 **kwargs):
        self._num_joints = int(num_joints)
        self._schema, self._flip_index = _resolve_pairs(self._num_joints, joint_pairs, schema)
        self._joint_pairs = joint_pairs if joint_pairs is not None else \
            self._schema.joint_pairs
        self._image_size = tuple(image_size)
        self._height, self._width = int(image_size[0]), int(image_size[1])
        self._heatmap_size = tuple(heatmap_size)
        self._sigma = sigma
        self._mean, self._std = mean, std
        self._norm = _Normalizer(mean, std)
        self._random_flip = random_flip
        self._scale_factor = scale_factor
        self._rotation_factor = rotation_factor
        self._aspect_ratio = float(self._width) / self._height
        self._half_body_prob = float(half_body_prob)
        self._num_half_body_joints = int(num_half_body_joints)
        self._half_body_scale = float(half_body_scale)
        if upper_body is None and self._schema is not None:
            upper_body = self._schema.upper_body
        if self._half_body_prob > 0 and upper_body is None:
            raise ValueError("half_body_prob > 0 needs the upper-body joints: pass schema= "
                             "(with upper_body) or upper_body=")
        self._upper_body = None if upper_body is None else np.asarray(upper_body, np.int64)
        if codec is None:
            from ....codecs.msra import MSRAHeatmap
            codec = MSRAHeatmap(self._image_size, self._heatmap_size, sigma)
        self._codec = codec
        self._rng = _make_rng(rng)
        #: what the last call drew (for tests and debugging): scale factor,
        #: rotation, flip, half-body selection mask
        self.last_params = None

    @property
    def codec(self):
        """The target encoder."""
        return self._codec

    def __call__(self, src, label, img_id):
        rng = self._rng
        img = as_numpy_image(src)
        bbox, joints, vis = _label_arrays(label, self._num_joints)
        center, scale = bbox_to_center_scale(bbox, self._aspect_ratio)

        selected = None
        if self._half_body_prob > 0 and rng.uniform() < self._half_body_prob:
            hc, hs, selected = half_body_center_scale(
                joints, vis, self._upper_body, self._aspect_ratio, rng,
                self._num_half_body_joints, self._half_body_scale)
            if hc is not None:
                center, scale = hc, hs

        # min/max on Python floats: the values np.clip gives, without its overhead
        sf = self._scale_factor
        s = min(max(float(rng.normal()) * sf + 1, 1 - sf), 1 + sf)
        scale = scale * s
        rf = self._rotation_factor
        r = min(max(float(rng.normal()) * rf, -rf * 2), rf * 2) if rng.uniform() <= 0.6 else 0
        flip = bool(self._random_flip and rng.uniform() > 0.5)

        if flip:
            width = img.shape[1]
            jf = joints[self._flip_index]
            vis = vis[self._flip_index]
            jf[:, 0] = width - jf[:, 0] - 1
            joints = jf * vis[:, None]
            center[0] = width - center[0] - 1

        h, w = self._height, self._width
        trans = get_affine_transform(center, scale, r, [w, h])
        if flip:
            img = _flipped_roi(img, trans, w, h)
        warped = cv2.warpAffine(img, trans, (w, h), flags=cv2.INTER_LINEAR)
        out = self._norm(warped)          # while the warped crop is still in cache

        # map the joints: float64 maths then float32 storage, like GluonCV's record.
        # GluonCV maps only visible joints; invisible ones get weight 0 and an empty
        # map whatever their coordinates, so mapping all of them changes nothing.
        joints = (joints.astype(np.float64) @ trans[:, :2].T + trans[:, 2]).astype(np.float32)
        target, target_weight = self._codec.encode(joints, vis)
        self.last_params = {"scale": float(s), "rotation": float(r), "flip": flip,
                            "half_body": selected, "center": center, "scale_px": scale}
        return out, target, target_weight, img_id


class SimplePoseDefaultValTransform:
    """Validation transform for top-down heatmap models (GluonCV-compatible).

    Parameters
    ----------
    num_joints : int
        Number of joints (kept for GluonCV signature compatibility).
    joint_pairs : list of (int, int)
        Flip pairs (unused here; kept for compatibility).
    image_size : tuple of int
        Network input ``(H, W)``.
    mean, std : sequence of float
        Per-channel normalisation of ``x / 255``.

    Notes
    -----
    Returns ``(img, scale, center, score, img_id)`` from a call
    ``(src, label, img_id)``: ``img`` float32 ``mx.nd.NDArray`` ``(3, H, W)``,
    ``scale`` and ``center`` float32 ``(2,)`` (pass them to the codec's
    ``decode``), ``score = label.get('score', 1)``.
    """

    def __init__(self, num_joints, joint_pairs=None, image_size=(256, 256),
                 mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), **kwargs):
        self._num_joints = num_joints
        self._joint_pairs = joint_pairs
        self._image_size = tuple(image_size)
        self._height, self._width = int(image_size[0]), int(image_size[1])
        self._mean, self._std = mean, std
        self._norm = _Normalizer(mean, std)
        self._aspect_ratio = float(self._width / self._height)

    def __call__(self, src, label, img_id):
        img = as_numpy_image(src)
        bbox = label["bbox"]
        if len(bbox) != 4:
            raise ValueError("label['bbox'] must have 4 values, got %d" % len(bbox))
        center, scale = bbox_to_center_scale(bbox, self._aspect_ratio)
        score = label.get("score", 1)
        h, w = self._height, self._width
        trans = get_affine_transform(center, scale, 0, [w, h])
        warped = cv2.warpAffine(img, trans, (w, h), flags=cv2.INTER_LINEAR)
        return self._norm(warped), scale, center, score, img_id
