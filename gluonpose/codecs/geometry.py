"""Crop geometry shared by the heatmap codecs and the data transforms.

The lowest layer of gluonpose's pose maths: box -> centre/scale, the crop
affine (scalar and batched), mapping points through it, the flip permutation
of a keypoint set, and a zero-copy view of CPU NDArrays. It imports nothing
from gluonpose, so :mod:`gluonpose.codecs` can use it without depending on
:mod:`gluonpose.data`; :mod:`gluonpose.data.transforms.pose` re-exports the
public names (GluonCV users import them from there).

Everything follows GluonCV's conventions so that crops, targets and decoded
coordinates agree with GluonCV's pose stack to the bit (or to float rounding
where a vectorised form replaces a per-point one):

* a box ``(xmin, ymin, xmax, ymax)`` has width ``xmax - xmin`` (one pixel less
  than COCO's ``w``) and its centre at ``xmin + w / 2``; the scale is in pixels
  (``pixel_std = 1``), enlarged to the input aspect ratio and then by 1.25;
* the affine maps the box centre to ``(W / 2, H / 2)`` of the output with a
  uniform factor ``W / scale_w`` (only the scale *width* is used) and no
  half-pixel offset;
* a horizontal flip swaps left/right joints (``flip_index``).

``output_size`` of the affine helpers is ``(w, h)`` (OpenCV order).
"""
import ctypes
import functools

import cv2
import numpy as np

try:
    import mxnet as _MX
    # mxnet's dtype-id table (private; fall back to the dtype property without it)
    _MX_DTYPES = getattr(_MX.ndarray.ndarray, "_DTYPE_MX_TO_NP", None)
except ImportError:   # pragma: no cover - mxnet is a dependency
    _MX, _MX_DTYPES = None, None

# cpu, cpu_pinned, cpu_shared (mxnet.context.Context.devtype2str)
_CPU_DEVICE_TYPES = (1, 3, 5)

__all__ = [
    "box_to_center_scale", "bbox_to_center_scale", "boxes_to_center_scale",
    "get_affine_transform", "get_affine_transform_batch", "affine_transform",
    "affine_transform_points", "transform_preds_batch", "flip_index_from_pairs",
]


# ----------------------------------------------------------------------------- centre / scale

def box_to_center_scale(x, y, w, h, aspect_ratio=1.0, scale_mult=1.25):
    """Centre and scale of a box, GluonCV's ``_box_to_center_scale``.

    Parameters
    ----------
    x, y, w, h : float
        Top-left corner and size of the box (for a GluonCV record,
        ``w = xmax - xmin`` and ``h = ymax - ymin``).
    aspect_ratio : float
        Target ``width / height`` of the crop; whichever of ``w`` or ``h`` is too
        small is enlarged (never shrunk) to reach it.
    scale_mult : float
        Context factor. Skipped when the centre x is exactly ``-1`` (GluonCV's
        marker for a dummy box).

    Returns
    -------
    center, scale : numpy.ndarray
        float32 ``(2,)`` arrays, in pixels.
    """
    # float64 maths stored as float32, in GluonCV's order (the rounding must agree)
    center = np.array([x + w * 0.5, y + h * 0.5], dtype=np.float32)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    scale = np.array([w, h], dtype=np.float32)
    if center[0] != -1:
        scale = scale * scale_mult
    return center, scale


def bbox_to_center_scale(bbox, aspect_ratio=1.0, scale_mult=1.25):
    """:func:`box_to_center_scale` of an ``(xmin, ymin, xmax, ymax)`` box."""
    xmin, ymin, xmax, ymax = bbox
    return box_to_center_scale(xmin, ymin, xmax - xmin, ymax - ymin, aspect_ratio, scale_mult)


def boxes_to_center_scale(boxes, aspect_ratio=1.0, scale_mult=1.25):
    """Vectorised :func:`bbox_to_center_scale` over ``(N, 4)`` xyxy boxes.

    Same arithmetic and precision as the scalar form (float64 box maths,
    float32 results, ``scale_mult`` applied in float32), so each row equals the
    scalar result exactly.

    Returns
    -------
    center, scale : numpy.ndarray
        float32 ``(N, 2)`` arrays.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    center = np.stack([boxes[:, 0] + w * 0.5, boxes[:, 1] + h * 0.5], axis=1).astype(np.float32)
    wide = w > aspect_ratio * h
    tall = w < aspect_ratio * h
    new_w = np.where(tall, h * aspect_ratio, w)
    new_h = np.where(wide, w / aspect_ratio, h)
    scale = np.stack([new_w, new_h], axis=1).astype(np.float32)
    mult = np.where(center[:, :1] != -1, np.float32(scale_mult), np.float32(1.0))
    return center, (scale * mult).astype(np.float32)


# ----------------------------------------------------------------------------- affine

def _triangles(center, scale, rot, output_size, shift):
    """The three point pairs GluonCV's affine is solved from, float32, batched.

    Point 0 is the centre, point 1 is half the scale width "up" (rotated by
    ``rot`` degrees in the source), point 2 the perpendicular construction; the
    destination points are the same construction around the output centre.
    Rounding the points to float32 (as GluonCV does) matters for bit parity.
    """
    center = np.asarray(center, dtype=np.float64).reshape(-1, 2)
    scale = np.asarray(scale, dtype=np.float64)
    if scale.ndim == 0 or scale.shape[-1] != 2:
        scale = np.repeat(scale.reshape(-1, 1), 2, axis=1)
    scale = scale.reshape(-1, 2)
    n = max(len(center), len(scale), np.size(rot))
    center = np.broadcast_to(center, (n, 2))
    scale = np.broadcast_to(scale, (n, 2))
    # same expression order as GluonCV (pi * rot / 180) so the float64 rounding agrees
    rot_rad = np.pi * np.broadcast_to(np.asarray(rot, dtype=np.float64).reshape(-1), (n,)) / 180
    shift = np.asarray(shift, dtype=np.float64).reshape(-1, 2)
    dst_w, dst_h = float(output_size[0]), float(output_size[1])

    sn, cs = np.sin(rot_rad), np.cos(rot_rad)
    half = scale[:, 0] * -0.5
    src_dir = np.stack([-half * sn, half * cs], axis=1)      # (0, -w/2) rotated by rot
    # scale * shift is a float32 product in GluonCV (both float32 arrays there)
    off = (scale * shift).astype(np.float32).astype(np.float64)
    src = np.empty((n, 3, 2), dtype=np.float32)
    src[:, 0] = center + off
    src[:, 1] = center + src_dir + off
    d01 = src[:, 0] - src[:, 1]
    src[:, 2] = src[:, 1] + np.stack([-d01[:, 1], d01[:, 0]], axis=1)
    dst = np.empty((3, 2), dtype=np.float32)
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = np.array([dst_w * 0.5, dst_h * 0.5]) + np.array([0, dst_w * -0.5], np.float32)
    d01 = dst[0] - dst[1]
    dst[2] = dst[1] + np.array([-d01[1], d01[0]], dtype=np.float32)
    return src, np.broadcast_to(dst, (n, 3, 2))


def get_affine_transform(center, scale, rot, output_size,
                         shift=np.array([0, 0], dtype=np.float32), inv=0):
    """GluonCV's ``get_affine_transform``: the crop affine of one box.

    Parameters
    ----------
    center : array-like
        ``(2,)`` box centre in source pixels.
    scale : array-like or float
        ``(2,)`` box size in source pixels; only ``scale[0]`` (the width) sets
        the zoom. A scalar is used for both.
    rot : float
        Rotation in degrees; positive turns the content counter-clockwise on
        screen.
    output_size : sequence of int
        ``(w, h)`` of the output (OpenCV order).
    shift : array-like
        Centre shift as a fraction of ``scale``.
    inv : bool
        Return the output -> source matrix instead.

    Returns
    -------
    numpy.ndarray
        float64 ``(2, 3)`` matrix, solved with ``cv2.getAffineTransform`` from
        float32 points exactly like GluonCV, so ``cv2.warpAffine`` produces the
        same pixels.
    """
    src, dst = _triangle(center, scale, rot, output_size, shift)
    if inv:
        return cv2.getAffineTransform(dst, src)
    return cv2.getAffineTransform(src, dst)


_PERP = np.array([-1, 1], dtype=np.float32)


@functools.lru_cache(maxsize=64)
def _dst_triangle(w, h):
    """Destination points of the crop affine; they depend on the output size only."""
    dst = np.empty((3, 2), dtype=np.float32)
    dst[0] = (w * 0.5, h * 0.5)
    dst[1] = (w * 0.5, h * 0.5 + float(np.float32(w * -0.5)))
    dst[2] = dst[1] + (dst[0] - dst[1])[::-1] * _PERP
    dst.flags.writeable = False
    return dst


def _triangle(center, scale, rot, output_size, shift):
    """Scalar :func:`_triangles`: the same float32 points with a fraction of the overhead.

    Works on Python floats where GluonCV works in float64 and rounds to float32
    exactly where GluonCV stores into float32 arrays, so the points (and hence
    the ``cv2.getAffineTransform`` result) are bit-identical.
    """
    if not isinstance(scale, (np.ndarray, list, tuple)):
        scale = (scale, scale)
    cx, cy = float(center[0]), float(center[1])
    sw, sh = float(scale[0]), float(scale[1])
    if shift[0] or shift[1]:
        # scale * shift is a float32 product in GluonCV (both float32 arrays)
        ox = float(np.float32(sw * float(shift[0])))
        oy = float(np.float32(sh * float(shift[1])))
    else:
        ox = oy = 0.0
    rot_rad = np.pi * rot / 180
    sn, cs = float(np.sin(rot_rad)), float(np.cos(rot_rad))
    half = sw * -0.5
    src = np.empty((3, 2), dtype=np.float32)
    src[:2] = ((cx + ox, cy + oy), ((cx + -half * sn) + ox, (cy + half * cs) + oy))
    # GluonCV's get_3rd_point in float32: b + (-(a - b)[1], (a - b)[0])
    src[2] = src[1] + (src[0] - src[1])[::-1] * _PERP
    return src, _dst_triangle(float(output_size[0]), float(output_size[1]))


def get_affine_transform_batch(center, scale, rot, output_size, shift=(0, 0), inv=False):
    """Vectorised :func:`get_affine_transform` for ``N`` boxes.

    Parameters
    ----------
    center : array-like
        ``(N, 2)`` centres (or ``(2,)``).
    scale : array-like
        ``(N, 2)`` scales (or ``(2,)``).
    rot : float or array-like
        Scalar or ``(N,)`` rotations in degrees.
    output_size : sequence of int
        ``(w, h)`` of the output.
    shift : array-like
        ``(2,)`` or ``(N, 2)`` centre shift as a fraction of ``scale``.
    inv : bool
        Return output -> source matrices.

    Returns
    -------
    numpy.ndarray
        float64 ``(N, 2, 3)``. Built from the same float32 points as the scalar
        form and solved in float64 with one batched linear solve; entries agree
        with ``cv2.getAffineTransform`` to ~1e-12 relative (not bit-exact, so use
        the scalar form where a warp must match GluonCV pixel for pixel).
    """
    src, dst = _triangles(center, scale, rot, output_size, shift)
    if inv:
        src, dst = dst, src
    n = src.shape[0]
    a = np.concatenate([src.astype(np.float64), np.ones((n, 3, 1))], axis=2)   # (N, 3, 3)
    b = dst.astype(np.float64)                                                 # (N, 3, 2)
    # rows of a @ M.T = b  ->  M.T = solve(a, b)
    return np.swapaxes(np.linalg.solve(a, b), 1, 2)


def affine_transform(pt, t):
    """Map one point ``(x, y)`` through a ``(2, 3)`` affine (GluonCV's helper)."""
    return np.dot(t, np.array([pt[0], pt[1], 1.0]))[:2]


def affine_transform_points(points, t):
    """Map points through one or a batch of affines, vectorised.

    Parameters
    ----------
    points : array-like
        ``(..., 2)`` points. With a batch of ``N`` matrices, the leading axis of
        ``points`` must be ``N`` (e.g. ``(N, J, 2)``).
    t : numpy.ndarray
        ``(2, 3)`` or ``(N, 2, 3)``.

    Returns
    -------
    numpy.ndarray
        float64 points, same shape as ``points``, computed element-wise as
        ``(t00 * x + t01 * y) + t02``. GluonCV's per-point ``np.dot`` goes through
        BLAS and may round the last float64 bit differently (~1e-16 relative);
        after the float32 storage both use, the results agree except in
        vanishingly rare ties.
    """
    pts = np.asarray(points, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if t.ndim == 3:
        # broadcast each matrix over all but the leading axis of the points
        t = t.reshape((t.shape[0],) + (1,) * (pts.ndim - 2) + (2, 3))
    x, y = pts[..., 0], pts[..., 1]
    out = np.empty(np.broadcast(x, t[..., 0, 0]).shape + (2,), dtype=np.float64)
    out[..., 0] = t[..., 0, 0] * x + t[..., 0, 1] * y + t[..., 0, 2]
    out[..., 1] = t[..., 1, 0] * x + t[..., 1, 1] * y + t[..., 1, 2]
    return out


def transform_preds_batch(coords, center, scale, output_size):
    """Map heatmap coordinates back to the image, for a batch of boxes.

    Parameters
    ----------
    coords : array-like
        ``(N, J, 2)`` coordinates in the heatmap (or input) frame.
    center, scale : array-like
        ``(N, 2)`` crop centre and scale.
    output_size : sequence of int
        ``(w, h)`` of the frame ``coords`` live in.

    Returns
    -------
    numpy.ndarray
        float64 ``(N, J, 2)`` image coordinates (the inverse of the rotation-free
        crop affine, as GluonCV's ``transform_preds``).
    """
    coords = np.asarray(coords)
    trans = get_affine_transform_batch(center, scale, 0.0, output_size, inv=True)
    return affine_transform_points(coords, trans)


# ----------------------------------------------------------------------------- flipping

def flip_index_from_pairs(num_joints, joint_pairs):
    """Channel permutation of a horizontal flip from a list of left/right pairs."""
    perm = np.arange(num_joints)
    pairs = np.asarray(joint_pairs, dtype=np.int64).reshape(-1, 2)
    perm[pairs[:, 0]] = pairs[:, 1]
    perm[pairs[:, 1]] = pairs[:, 0]
    return perm


def _flip_perm(num_joints, pairs_or_schema):
    """Permutation from a schema, a flip_index array or a list of pairs."""
    if hasattr(pairs_or_schema, "flip_index"):
        return np.asarray(pairs_or_schema.flip_index)
    arr = np.asarray(pairs_or_schema)
    if arr.ndim == 1 and arr.size == num_joints and arr.dtype.kind in "iu":
        return arr
    return flip_index_from_pairs(num_joints, arr)


# ----------------------------------------------------------------------------- arrays

def _ndarray_view(arr):
    """Zero-copy numpy view of a CPU ``mx.nd.NDArray`` (None when not possible).

    ``asnumpy()`` costs ~0.5 ms for a COCO image because it goes through the
    engine; the transform only reads the pixels, so after ``wait_to_read`` a
    read-only view of the same memory is enough. The caller must keep ``arr``
    alive while the view is used. Talks to the C API directly: the NDArray
    properties (context, dtype, ...) each cost a few microseconds.
    """
    if _MX is None or type(arr) is not _MX.nd.NDArray:    # sparse types are subclasses
        return None
    lib = _MX.base._LIB
    handle = arr.handle
    dev_type, dev_id, dtype_id, ptr = ctypes.c_int(), ctypes.c_int(), ctypes.c_int(), \
        ctypes.c_void_p()
    lib.MXNDArrayGetContext(handle, ctypes.byref(dev_type), ctypes.byref(dev_id))
    if dev_type.value not in _CPU_DEVICE_TYPES:
        return None
    if _MX_DTYPES is not None:
        lib.MXNDArrayGetDType(handle, ctypes.byref(dtype_id))
        dtype = _MX_DTYPES.get(dtype_id.value)
    else:
        dtype = arr.dtype
    if dtype is None:
        return None
    arr.wait_to_read()
    if lib.MXNDArrayGetData(handle, ctypes.byref(ptr)) != 0 or not ptr.value:
        return None
    shape = arr.shape
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape)) * dtype.itemsize
    view = np.frombuffer((ctypes.c_char * nbytes).from_address(ptr.value), dtype=dtype)
    view = view.reshape(shape)
    view.flags.writeable = False
    return view
