"""Geometric helpers for top-down pose transforms.

The crop geometry itself (centre/scale, the affine, the flip permutation) is
:mod:`gluonpose.codecs.geometry`, shared with the codecs; its public names are
re-exported here, where GluonCV keeps them. Everything follows GluonCV's
conventions so that crops, targets and decoded coordinates agree with GluonCV's
pose stack to the bit (or to float rounding where a vectorised form replaces a
per-point one):

* a box ``(xmin, ymin, xmax, ymax)`` has width ``xmax - xmin`` (one pixel less
  than COCO's ``w``) and its centre at ``xmin + w / 2``; the scale is in pixels
  (``pixel_std = 1``), enlarged to the input aspect ratio and then by 1.25;
* the affine maps the box centre to ``(W / 2, H / 2)`` of the output with a
  uniform factor ``W / scale_w`` (only the scale *width* is used) and no
  half-pixel offset;
* a horizontal flip maps ``x -> W_img - x - 1`` and swaps left/right joints.

Sizes are given the way GluonCV's helpers take them: ``output_size`` of the
affine helpers is ``(w, h)`` (OpenCV order) while the presets take ``(H, W)``.
"""
import numpy as np

# the crop geometry lives with the codecs (the lowest layer); its public names stay importable
# from here, where GluonCV keeps them
from ...codecs.geometry import _flip_perm, _ndarray_view, affine_transform, \
    affine_transform_points, bbox_to_center_scale, box_to_center_scale, boxes_to_center_scale, \
    flip_index_from_pairs, get_affine_transform, get_affine_transform_batch, transform_preds_batch

__all__ = [
    "box_to_center_scale", "bbox_to_center_scale", "boxes_to_center_scale",
    "get_affine_transform", "get_affine_transform_batch", "affine_transform",
    "affine_transform_points", "transform_preds_batch",
    "flip_joints_3d", "flip_joints", "flip_index_from_pairs",
    "half_body_center_scale", "as_numpy_image",
]


# ----------------------------------------------------------------------------- flipping

def flip_joints(joints, visibility, width, flip_index):
    """Mirror joints horizontally, vectorised.

    Parameters
    ----------
    joints : numpy.ndarray
        ``(J, 2)`` or ``(N, J, 2)`` pixel coordinates.
    visibility : numpy.ndarray
        ``(J,)`` or ``(N, J)`` visibility flags.
    width : int
        Width of the image the joints live in.
    flip_index : array-like, KeypointSchema or pairs
        The schema's ``flip_index`` permutation (a schema or a list of pairs is
        accepted too).

    Returns
    -------
    joints, visibility : numpy.ndarray
        ``x -> width - x - 1``, channels permuted, and (as GluonCV) coordinates
        multiplied by the visibility so invisible joints become ``(0, 0)``.
    """
    joints = np.asarray(joints)
    visibility = np.asarray(visibility)
    perm = _flip_perm(joints.shape[-2], flip_index)
    out = joints[..., perm, :].copy()
    vis = visibility[..., perm].copy()
    out[..., 0] = width - out[..., 0] - 1
    out *= vis[..., None].astype(out.dtype)
    return out, vis


def flip_joints_3d(joints_3d, width, joint_pairs):
    """GluonCV's ``flip_joints_3d`` on a ``(J, 3, 2)`` record, vectorised.

    ``joint_pairs`` may be a list of pairs, a ``flip_index`` permutation or a
    :class:`~gluonpose.data.KeypointSchema`. Returns a new array.
    """
    perm = _flip_perm(joints_3d.shape[0], joint_pairs)
    joints = joints_3d[perm].copy()
    joints[:, 0, 0] = width - joints[:, 0, 0] - 1
    joints[:, :, 0] *= joints[:, :, 1]
    return joints


# ----------------------------------------------------------------------------- half body

def half_body_center_scale(joints, visibility, upper_body, aspect_ratio, rng,
                           num_half_body_joints=8, scale_mult=1.5, min_joints=2):
    """Pick the upper or the lower body and frame a crop around it.

    Used by half-body augmentation (not in GluonCV; the idea is from HRNet):
    when more than ``num_half_body_joints`` joints are visible, frame only the
    visible joints of one half, which teaches the network close-up views.

    Parameters
    ----------
    joints : numpy.ndarray
        ``(J, 2)`` source-image coordinates.
    visibility : numpy.ndarray
        ``(J,)`` flags; joints with a flag > 0 are candidates.
    upper_body : array-like
        Indices of upper-body joints (the schema's ``upper_body``); every other
        joint is lower body.
    aspect_ratio : float
        ``width / height`` of the crop.
    rng : object
        Anything with a ``random()`` method returning U[0, 1) (``random``
        module, ``np.random``, a ``Generator``).
    num_half_body_joints : int
        Only samples with more visible joints than this are eligible.
    scale_mult : float
        Context factor around the selected joints (1.5: joints of one half sit
        closer to the box edge than a full person does).
    min_joints : int
        A half needs at least this many visible joints to be chosen.

    Returns
    -------
    center, scale, selected : numpy.ndarray or None
        float32 ``(2,)`` centre and scale (the aspect-fixed box of the selected
        joints, its centre at the box midpoint) and the boolean ``(J,)`` mask of
        the joints used; ``(None, None, None)`` when the sample is not eligible.
    """
    joints = np.asarray(joints, dtype=np.float64)
    vis = np.asarray(visibility) > 0
    if vis.sum() <= num_half_body_joints:
        return None, None, None
    upper = np.zeros(len(vis), dtype=bool)
    upper[np.asarray(upper_body, dtype=np.int64)] = True
    up, low = vis & upper, vis & ~upper
    # one draw picks the half; fall back to the other half when it is too sparse
    if rng.random() < 0.5:
        selected = up if up.sum() >= min_joints else low
    else:
        selected = low if low.sum() >= min_joints else up
    if selected.sum() < min_joints:
        return None, None, None
    pts = joints[selected]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    w, h = hi - lo
    center = ((lo + hi) * 0.5).astype(np.float32)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    else:
        w = h * aspect_ratio
    scale = (np.array([w, h], dtype=np.float32) * np.float32(scale_mult)).astype(np.float32)
    return center, scale, selected


# ----------------------------------------------------------------------------- images

def as_numpy_image(src):
    """An ``H x W x C`` numpy view/copy of ``src`` (numpy or ``mx.nd``)."""
    if isinstance(src, np.ndarray):
        return src
    view = _ndarray_view(src)
    if view is not None:
        return view
    if hasattr(src, "asnumpy"):
        return src.asnumpy()
    return np.asarray(src)


# ----------------------------------------------------------------------------- GluonCV demo helpers

def detector_to_simple_pose(img, class_ids, scores, bounding_boxs, output_shape=(256, 192),
                            scale=1.25, ctx=None, thr=0.5, mean=(0.485, 0.456, 0.406),
                            std=(0.229, 0.224, 0.225)):
    """GluonCV's demo helper: crop the detected persons into a pose-network batch.

    Same arguments and return values as ``gluoncv.data.transforms.pose.
    detector_to_simple_pose``, so GluonCV demo code runs unchanged, but the
    crop is the validation transform's (the one :class:`gluonpose.Predictor`
    and ``gluonpose eval`` use): the box is widened to the input aspect ratio
    before the ``scale`` context is added, so people are not stretched, and
    :func:`heatmap_to_coord` inverts it exactly. GluonCV's version stretches
    the box to the input shape (its demo accuracy is lower than validation's
    for that reason, gluon-cv#1051).

    Parameters
    ----------
    img : numpy.ndarray or mxnet.nd.NDArray
        ``H x W x 3`` RGB image the detector boxes refer to.
    class_ids, scores, bounding_boxs : NDArray or numpy.ndarray
        Detector output ``(1, M, 1)``, ``(1, M, 1)``, ``(1, M, 4)`` (batch
        element 0 is used); persons are class 0 with ``score >= thr``.
    output_shape : tuple of int
        Pose input ``(H, W)``.
    scale : float
        Context factor around each box.
    ctx : mxnet.Context, optional
    thr : float
    mean, std : sequence of float

    Returns
    -------
    pose_input : mxnet.nd.NDArray or None
        float32 ``(K, 3, H, W)`` (``None`` when nobody is detected).
    upscale_bbox : list of list of float
        The ``K`` crop rectangles ``[x0, y0, x1, y1]`` in image pixels; pass
        them to :func:`heatmap_to_coord`.
    """
    from .boxes import _person_boxes
    from .crop import BatchCropper
    boxes, _ = _person_boxes(class_ids, bounding_boxs, scores, thr)
    if not len(boxes):
        return None, []
    image = as_numpy_image(img)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        from .image import to_rgb_uint8
        image = to_rgb_uint8(image, "img")
    cropper = BatchCropper(output_shape, mean, std, scale_mult=scale)
    batch, center, size = cropper(image, boxes, ctx)
    half = size.astype(np.float64) / 2
    rects = np.concatenate([center - half, center + half], axis=1)
    return batch, rects.tolist()


def heatmap_to_coord(heatmaps, bbox_list, codec="msra"):
    """GluonCV's demo decoder: heatmaps + crop rectangles -> image coordinates.

    Parameters
    ----------
    heatmaps : NDArray or numpy.ndarray
        ``(K, J, h, w)`` network output.
    bbox_list : sequence
        The ``K`` crop rectangles ``[x0, y0, x1, y1]`` that
        :func:`detector_to_simple_pose` returned.
    codec : str or HeatmapCodec
        ``'msra'`` (argmax + quarter offset, as validation; GluonCV's demo
        version has no quarter offset) or ``'unbiased'``.

    Returns
    -------
    coords : mxnet.nd.NDArray
        float32 ``(K, J, 2)`` image coordinates.
    maxvals : mxnet.nd.NDArray
        float32 ``(K, J, 1)`` joint confidences.
    """
    import mxnet as mx
    from ...codecs import get_codec
    h, w = heatmaps.shape[2], heatmaps.shape[3]
    rects = np.asarray(bbox_list, np.float64).reshape(-1, 4)
    center = (rects[:, :2] + rects[:, 2:]) / 2
    size = rects[:, 2:] - rects[:, :2]
    coder = get_codec(codec, image_size=(4 * h, 4 * w), heatmap_size=(h, w))
    coords, maxvals = coder.decode(heatmaps, center, size)
    return mx.nd.array(coords, dtype=np.float32), mx.nd.array(maxvals, dtype=np.float32)


__all__ += ["detector_to_simple_pose", "heatmap_to_coord"]
