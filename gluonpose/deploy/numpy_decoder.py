"""Top-down pose pre- and post-processing in numpy alone (no MXNet, no OpenCV).

This module is what an exported model ships with: ``gluonpose export`` copies
it next to ``model.onnx`` as ``pose_decoder.py``, so a deployment needs only
``numpy`` and a runtime for the network (``onnxruntime``). It imports nothing
but numpy and the standard library; keep it that way (a test runs it with
``mxnet``, ``cv2`` and ``gluonpose`` blocked).

What it does, each step equal to the library's (``gluonpose.codecs``,
``gluonpose.data.transforms``):

* :func:`boxes_to_center_scale` -- person box ``(xmin, ymin, xmax, ymax)`` to
  the crop centre and scale (aspect fixed to the input, enlarged by 1.25);
* :func:`crop_boxes` -- the crop itself, a bilinear affine warp written in
  numpy (zero outside the image), then ``(x / 255 - mean) / std`` in NCHW
  float32. OpenCV's ``warpAffine`` rounds the sampling positions to 1/32 pixel
  and the weights to 1/1024; this warp does not, so pixel values differ from
  the library's crop by at most a few grey levels (typically < 0.5 on
  average). A caller that already has crops can skip this and pass its own
  tensor to the network;
* :func:`flip_merge` -- flip test (GluonCV's one-column shift);
* :func:`decode_msra` / :func:`decode_unbiased` -- argmax with GluonCV's
  quarter-pixel step, or DARK (blurred log-heatmap Newton step, with the
  library's raw-map parabola near the border), in the heatmap frame;
* :func:`heatmap_to_image` -- back to image coordinates through the inverse
  crop affine;
* :class:`PoseDecoder` -- all of it driven by the exported ``deploy.json``.

All sizes are ``(H, W)``; coordinates are ``(x, y)``.

Example (a deployment folder made by ``gluonpose export --format onnx``)::

    import numpy as np, onnxruntime as ort
    import pose_decoder
    dec = pose_decoder.PoseDecoder.from_folder('deploy_dir')
    sess = ort.InferenceSession('deploy_dir/model.onnx')
    coords, scores = dec.run(sess, image_rgb_uint8, boxes_xyxy, flip=False)
"""
import json
import os

import numpy as np

__all__ = ["gaussian_kernel", "boxes_to_center_scale", "crop_affine", "crop_boxes",
           "flip_back", "flip_merge", "argmax_2d", "decode_msra", "decode_unbiased",
           "heatmap_to_image", "decode", "PoseDecoder"]


# ----------------------------------------------------------------------------- kernels

# OpenCV's getGaussianKernel uses fixed binomial tables for sigma <= 0 and small sizes
_SMALL_KERNELS = {
    1: (1.0,),
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
    9: tuple(v / 256.0 for v in (4, 13, 30, 51, 60, 51, 30, 13, 4)),
}


def gaussian_kernel(size):
    """OpenCV's ``getGaussianKernel(size, 0)`` (float64) without OpenCV.

    Parameters
    ----------
    size : int
        Odd kernel size.

    Returns
    -------
    numpy.ndarray
        ``(size,)`` weights summing to 1. Sizes 1 to 9 are OpenCV (4.x)'s fixed
        tables; larger sizes use sigma ``0.3 * ((size - 1) / 2 - 1) + 0.8``.
    """
    size = int(size)
    if size in _SMALL_KERNELS:
        return np.array(_SMALL_KERNELS[size], dtype=np.float64)
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = np.arange(size, dtype=np.float64) - (size - 1) * 0.5
    k = np.exp(-x * x / (2.0 * sigma * sigma))
    return k / k.sum()


def default_blur_size(sigma):
    """The unbiased codec's default blur size: ``6 * sigma - 1`` made odd, at least 3."""
    size = max(3, int(round(6 * sigma - 1)))
    return size + 1 - size % 2


# ----------------------------------------------------------------------------- crop geometry

def boxes_to_center_scale(boxes, aspect_ratio, scale_mult=1.25):
    """Crop centre and scale of ``(N, 4)`` ``(xmin, ymin, xmax, ymax)`` boxes.

    The box width is ``xmax - xmin`` (GluonCV's convention); the shorter side
    is enlarged to ``aspect_ratio = W / H`` of the network input, then both by
    ``scale_mult``.

    Returns
    -------
    center, scale : numpy.ndarray
        float32 ``(N, 2)``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    center = np.stack([boxes[:, 0] + w * 0.5, boxes[:, 1] + h * 0.5], axis=1).astype(np.float32)
    new_w = np.where(w < aspect_ratio * h, h * aspect_ratio, w)
    new_h = np.where(w > aspect_ratio * h, w / aspect_ratio, h)
    scale = np.stack([new_w, new_h], axis=1).astype(np.float32)
    # a centre x of exactly -1 marks a dummy box in GluonCV: no context factor there
    mult = np.where(center[:, :1] != -1, np.float32(scale_mult), np.float32(1.0))
    return center, (scale * mult).astype(np.float32)


def crop_affine(center, scale, output_size, inv=False):
    """The rotation-free crop affine of each box, as the library builds it.

    The box centre goes to ``(w / 2, h / 2)`` of the output and the zoom is
    ``w / scale_w`` in both axes (only the scale width counts). Like GluonCV the
    matrix is solved from three float32 points, so it agrees with the library
    to float64 rounding.

    Parameters
    ----------
    center, scale : array-like
        ``(N, 2)``.
    output_size : tuple of int
        ``(h, w)`` of the output frame (the crop or the heatmap).
    inv : bool
        Return output -> source matrices.

    Returns
    -------
    numpy.ndarray
        float64 ``(N, 2, 3)``.
    """
    center = np.asarray(center, dtype=np.float64).reshape(-1, 2)
    scale = np.asarray(scale, dtype=np.float64).reshape(-1, 2)
    n = len(center)
    out_h, out_w = float(output_size[0]), float(output_size[1])
    src = np.empty((n, 3, 2), dtype=np.float32)
    src[:, 0] = center
    src[:, 1, 0] = center[:, 0]
    src[:, 1, 1] = center[:, 1] + scale[:, 0] * -0.5
    d = src[:, 0] - src[:, 1]
    src[:, 2, 0] = src[:, 1, 0] - d[:, 1]
    src[:, 2, 1] = src[:, 1, 1] + d[:, 0]
    dst = np.empty((3, 2), dtype=np.float32)
    dst[0] = (out_w * 0.5, out_h * 0.5)
    dst[1] = (out_w * 0.5, out_h * 0.5 + float(np.float32(out_w * -0.5)))
    d = dst[0] - dst[1]
    dst[2] = (dst[1, 0] - d[1], dst[1, 1] + d[0])
    dst = np.broadcast_to(dst, (n, 3, 2))
    if inv:
        src, dst = dst, src
    a = np.concatenate([src.astype(np.float64), np.ones((n, 3, 1))], axis=2)
    m = np.linalg.solve(a, dst.astype(np.float64))            # rows of a @ M.T = dst
    return np.swapaxes(m, 1, 2)


def _apply_affine(points, mats):
    """``(N, ..., 2)`` points through ``(N, 2, 3)`` matrices."""
    pts = np.asarray(points, dtype=np.float64)
    t = mats.reshape((mats.shape[0],) + (1,) * (pts.ndim - 2) + (2, 3))
    x, y = pts[..., 0], pts[..., 1]
    return np.stack([t[..., 0, 0] * x + t[..., 0, 1] * y + t[..., 0, 2],
                     t[..., 1, 0] * x + t[..., 1, 1] * y + t[..., 1, 2]], axis=-1)


def crop_boxes(image, center, scale, input_size, mean, std):
    """Warp each box to the network input and normalise it (numpy bilinear).

    Parameters
    ----------
    image : numpy.ndarray
        ``(H_img, W_img, 3)`` uint8 (or float) RGB image.
    center, scale : array-like
        ``(N, 2)`` from :func:`boxes_to_center_scale`.
    input_size : tuple of int
        ``(H, W)`` of the network input.
    mean, std : sequence of float
        Per-channel normalisation of ``x / 255``.

    Returns
    -------
    numpy.ndarray
        float32 ``(N, 3, H, W)``. Samples outside the image read 0 (black),
        like ``cv2.warpAffine``'s constant border; every output pixel samples
        ``src = M^-1 (x, y)`` with bilinear weights.
    """
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError("image must be (H, W, 3) RGB, got shape %s" % (img.shape,))
    h_img, w_img = img.shape[:2]
    out_h, out_w = int(input_size[0]), int(input_size[1])
    inv = crop_affine(center, scale, (out_h, out_w), inv=True)           # (N, 2, 3)
    # source position of every output pixel: x_src = a * x + b * y + c (separable terms)
    xs = np.arange(out_w, dtype=np.float64)
    ys = np.arange(out_h, dtype=np.float64)
    src_x = (inv[:, 0, 0, None, None] * xs[None, None, :] + inv[:, 0, 1, None, None]
             * ys[None, :, None] + inv[:, 0, 2, None, None])
    src_y = (inv[:, 1, 0, None, None] * xs[None, None, :] + inv[:, 1, 1, None, None]
             * ys[None, :, None] + inv[:, 1, 2, None, None])
    x0 = np.floor(src_x)
    y0 = np.floor(src_y)
    fx = (src_x - x0).astype(np.float32)[..., None]
    fy = (src_y - y0).astype(np.float32)[..., None]
    x0 = x0.astype(np.int64)
    y0 = y0.astype(np.int64)
    flat = img.reshape(-1, 3)
    out = np.zeros(src_x.shape + (3,), dtype=np.float32)
    # the four neighbours; one outside the image contributes the border value 0
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        yy, xx = y0 + dy, x0 + dx
        ok = (yy >= 0) & (yy < h_img) & (xx >= 0) & (xx < w_img)
        wgt = (fy if dy else 1 - fy) * (fx if dx else 1 - fx) * ok[..., None]
        out += flat[np.where(ok, yy * w_img + xx, 0)] * wgt
    mean = np.asarray(mean, dtype=np.float32)
    std = np.asarray(std, dtype=np.float32)
    norm = (out / np.float32(255.0) - mean) / std
    return np.ascontiguousarray(norm.transpose(0, 3, 1, 2), dtype=np.float32)


# ----------------------------------------------------------------------------- flip test

def flip_back(heatmaps, flip_index, shift=True):
    """Heatmaps of a mirrored input, flipped back along W with left/right swapped.

    ``shift=True`` moves the result one column right as GluonCV does (column 0
    is kept, so columns 0 and 1 end up equal); ``False`` does not shift; a
    float ``f`` in (0, 1) moves it ``f`` of a column right by linear
    interpolation (``(s - 1) / s`` at stride ``s`` is exact).
    """
    out = np.ascontiguousarray(np.asarray(heatmaps)[:, np.asarray(flip_index), :, ::-1])
    if isinstance(shift, float) and 0.0 < shift < 1.0:
        left = np.concatenate([out[..., :1], out[..., :-1]], axis=-1)
        return (1 - shift) * out + shift * left
    if shift:
        out[..., 1:] = out[..., :-1].copy()
    return out


def flip_merge(heatmaps, flipped_heatmaps, flip_index, shift=True):
    """Average the plain output with the flipped-back output of the mirrored input."""
    return (np.asarray(heatmaps) + flip_back(flipped_heatmaps, flip_index, shift)) / 2


# ----------------------------------------------------------------------------- decoding

def argmax_2d(heatmaps):
    """Per-map argmax ``(x, y)`` (float32, zeroed where the max is <= 0) and max values."""
    n, j, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, j, h * w)
    idx = flat.argmax(axis=2)
    maxvals = np.take_along_axis(flat, idx[..., None], axis=2).astype(np.float32)
    coords = np.stack([idx % w, idx // w], axis=-1).astype(np.float32)
    coords *= maxvals > 0
    return coords, maxvals


def _as_maps(heatmaps):
    hm = np.asarray(heatmaps, dtype=np.float32)
    if hm.ndim == 3:
        hm = hm[None]
    if hm.ndim != 4:
        raise ValueError("heatmaps must be (N, J, h, w), got shape %s" % (hm.shape,))
    return hm


def decode_msra(heatmaps):
    """GluonCV's decoding in the heatmap frame: argmax + quarter-pixel step.

    The step goes toward the higher neighbour in x and in y, only where
    ``1 < x < w - 1`` and ``1 < y < h - 1`` (GluonCV's strict bounds).

    Returns
    -------
    coords, maxvals : numpy.ndarray
        float32 ``(N, J, 2)`` and ``(N, J, 1)``.
    """
    hm = _as_maps(heatmaps)
    n, j, h, w = hm.shape
    coords, maxvals = argmax_2d(hm)
    px = coords[..., 0].astype(np.int64)
    py = coords[..., 1].astype(np.int64)
    inner = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
    flat = hm.reshape(-1)
    base = (np.arange(n * j).reshape(n, j) * (h * w) + py * w + px)[inner]
    dx = flat[base + 1] - flat[base - 1]
    dy = flat[base + w] - flat[base - w]
    coords[inner] += np.stack([np.sign(dx), np.sign(dy)], axis=1).astype(np.float32) * 0.25
    return coords, maxvals


def _border_margin(sigma, blur_size):
    blur_sigma = 0.3 * ((blur_size - 1) * 0.5 - 1) + 0.8 if blur_size > 1 else 0.0
    return int(np.ceil(1.5 * np.hypot(sigma, blur_sigma)))


def _parabola_steps(maps, px, py, sigma, max_step):
    """Per-axis 3-point log-parabola vertex on the raw maps, relative to (px, py).

    The stencil slides inward at the edge so a peak just outside the map is
    extrapolated (up to ``3 * sigma``); interior steps are clipped to
    ``max_step``.
    """
    m, h, w = maps.shape
    rows = np.arange(m)
    out = np.zeros((m, 2))
    for axis, (p, size) in enumerate(((px, w), (py, h))):
        if size < 3:
            continue
        base = np.clip(p - 1, 0, size - 3)
        k = base[:, None] + np.arange(3)
        vals = maps[rows[:, None], py[:, None], k] if axis == 0 else \
            maps[rows[:, None], k, px[:, None]]
        logv = np.log(np.maximum(vals.astype(np.float64), 1e-10))
        curv = logv[:, 0] - 2 * logv[:, 1] + logv[:, 2]
        ok = curv < -1e-12
        vertex = 1.0 + 0.5 * (logv[:, 0] - logv[:, 2]) / np.where(ok, curv, -1.0)
        lo = np.where(p == 0, -3.0 * sigma, -max_step)
        hi = np.where(p == size - 1, 3.0 * sigma, max_step)
        out[:, axis] = np.clip(base + vertex - p, lo, hi) * ok
    return out


def decode_unbiased(heatmaps, sigma=2, blur_size=None, max_step=1.0):
    """DARK decoding in the heatmap frame (the library's unbiased codec).

    Parameters
    ----------
    heatmaps : numpy.ndarray
        ``(N, J, h, w)``.
    sigma : float
        Gaussian sigma of the training targets (heatmap pixels).
    blur_size : int, optional
        Odd blur size; default :func:`default_blur_size` of ``sigma``. 0 or 1:
        no blur.
    max_step : float
        Largest Newton step per axis.

    Returns
    -------
    coords, maxvals : numpy.ndarray
        float32 ``(N, J, 2)`` and ``(N, J, 1)``.

    Notes
    -----
    Argmax on the raw map; the zero-padded map is blurred only on the 5x5
    patch the finite differences read; the patch is rescaled so its peak is the
    raw maximum, clipped at 1e-10 and logged; one Newton step ``-H^-1 g`` from
    central differences (Hessian from spacing-2 differences), applied where the
    maximum is > 0 and the Hessian is negative definite, clipped to
    ``max_step``. Closer to the border than the blur's reach, a per-axis
    parabola fitted to the log of the raw map replaces it.
    """
    hm = _as_maps(heatmaps)
    n, j, h, w = hm.shape
    if blur_size is None:
        blur_size = default_blur_size(sigma)
    kern = gaussian_kernel(blur_size) if blur_size > 1 else np.ones(1)
    coords, maxvals = argmax_2d(hm)
    m = n * j
    rad = 2 + len(kern) // 2
    k = np.arange(-rad, rad + 1)
    px = coords[..., 0].reshape(m).astype(np.int64)
    py = coords[..., 1].reshape(m).astype(np.int64)
    xs = px[:, None] + k
    ys = py[:, None] + k
    inside = ((ys >= 0) & (ys < h))[:, :, None] & ((xs >= 0) & (xs < w))[:, None, :]
    flat = (np.arange(m)[:, None, None] * (h * w) + np.clip(ys, 0, h - 1)[:, :, None] * w
            + np.clip(xs, 0, w - 1)[:, None, :])
    win = hm.reshape(-1)[flat].astype(np.float64) * inside
    if len(kern) > 1:
        view = np.lib.stride_tricks.sliding_window_view
        win = view(win, len(kern), axis=2) @ kern
        win = view(win, len(kern), axis=1) @ kern
    peak = win.max(axis=(1, 2))
    raw_max = maxvals.reshape(m).astype(np.float64)
    gain = np.where(peak > 0, raw_max / np.where(peak > 0, peak, 1.0), 1.0)
    L = np.log(np.maximum(win * gain[:, None, None], 1e-10))
    c = L[:, 2, 2]
    gx = 0.5 * (L[:, 2, 3] - L[:, 2, 1])
    gy = 0.5 * (L[:, 3, 2] - L[:, 1, 2])
    hxx = 0.25 * (L[:, 2, 4] - 2 * c + L[:, 2, 0])
    hyy = 0.25 * (L[:, 4, 2] - 2 * c + L[:, 0, 2])
    hxy = 0.25 * (L[:, 3, 3] - L[:, 1, 3] - L[:, 3, 1] + L[:, 1, 1])
    det = hxx * hyy - hxy * hxy
    ok = (raw_max > 0) & (hxx < 0) & (det > 1e-12)
    safe = np.where(ok, det, 1.0)
    step = np.stack([-(hyy * gx - hxy * gy) / safe, -(hxx * gy - hxy * gx) / safe], axis=1)
    step = np.clip(step, -max_step, max_step) * ok[:, None]
    margin = _border_margin(sigma, blur_size)
    near = (px < margin) | (px > w - 1 - margin) | (py < margin) | (py > h - 1 - margin)
    sel = np.nonzero(near & (raw_max > 0))[0]
    if sel.size:
        step[sel] = _parabola_steps(hm.reshape(m, h, w)[sel], px[sel], py[sel], sigma, max_step)
    coords = (coords.reshape(m, 2) + step).astype(np.float32).reshape(n, j, 2)
    return coords, maxvals


def decode_integral(heatmaps, floor=-80.0):
    """Soft-argmax of sigmoid-normalised maps (the library's integral codec).

    ``p = sigmoid(max(logit, floor))`` normalised to sum 1 per map; the joint is
    the expected cell ``(sum_x x p_x, sum_y y p_y)`` of the marginals and its
    score the largest sigmoid value of the map.
    """
    logits = np.maximum(heatmaps.astype(np.float32), np.float32(floor))
    p = 1.0 / (1.0 + np.exp(-logits))
    maxvals = p.reshape(p.shape[0], p.shape[1], -1).max(axis=2)[..., None]
    total = p.sum(axis=(2, 3), dtype=np.float64)
    px = p.sum(axis=2, dtype=np.float64) / total[..., None]        # (N, J, w)
    py = p.sum(axis=3, dtype=np.float64) / total[..., None]        # (N, J, h)
    coords = np.stack([px @ np.arange(p.shape[3], dtype=np.float64),
                       py @ np.arange(p.shape[2], dtype=np.float64)], axis=2)
    return coords.astype(np.float32), maxvals.astype(np.float32)


def heatmap_to_image(coords, center, scale, heatmap_size):
    """Map heatmap-frame ``(N, J, 2)`` coordinates to the image (float32)."""
    inv = crop_affine(center, scale, heatmap_size, inv=True)
    return _apply_affine(coords, inv).astype(np.float32)


def decode(heatmaps, center, scale, codec="msra", sigma=2, blur_size=None):
    """Heatmaps -> image coordinates and scores.

    Parameters
    ----------
    heatmaps : numpy.ndarray
        ``(N, J, h, w)`` network output.
    center, scale : array-like
        ``(N, 2)`` crop centre and scale of each box.
    codec : {'msra', 'unbiased', 'dark', 'integral'}
    sigma : float
        Target sigma (used by the unbiased codec).
    blur_size : int, optional
        Unbiased codec blur size (default from ``sigma``).

    Returns
    -------
    coords : numpy.ndarray
        float32 ``(N, J, 2)`` image coordinates.
    maxvals : numpy.ndarray
        float32 ``(N, J, 1)`` scores.
    """
    hm = _as_maps(heatmaps)
    name = str(codec).lower()
    if name == "msra":
        coords, maxvals = decode_msra(hm)
    elif name in ("unbiased", "dark"):
        coords, maxvals = decode_unbiased(hm, sigma, blur_size)
    elif name == "integral":
        coords, maxvals = decode_integral(hm)
    else:
        raise ValueError("unknown codec %r (msra, unbiased, integral)" % (codec,))
    return heatmap_to_image(coords, center, scale, hm.shape[2:]), maxvals


# ----------------------------------------------------------------------------- pipeline

class PoseDecoder:
    """Pre- and post-processing of an exported model, configured by ``deploy.json``.

    Parameters
    ----------
    config : dict
        The ``deploy.json`` content: ``input_size`` (H, W), ``mean``, ``std``,
        ``codec``, ``sigma``, ``flip_index``, optionally ``blur_size``,
        ``flip_shift`` (default true), ``keypoints``, ``skeleton`` and
        ``input_name``.
    """

    def __init__(self, config):
        self.config = dict(config)
        self.input_size = tuple(int(v) for v in config["input_size"])
        self.mean = [float(v) for v in config["mean"]]
        self.std = [float(v) for v in config["std"]]
        self.codec = str(config["codec"])
        self.sigma = float(config["sigma"])
        self.blur_size = config.get("blur_size")
        self.flip_index = np.asarray(config["flip_index"], dtype=np.int64)
        shift = config.get("flip_shift", True)
        self.flip_shift = float(shift) if isinstance(shift, float) else bool(shift)
        self.keypoints = list(config.get("keypoints", ()))
        self.skeleton = [tuple(p) for p in config.get("skeleton", ())]
        self.input_name = config.get("input_name", "data")

    @classmethod
    def from_folder(cls, folder):
        """Read ``folder/deploy.json``."""
        with open(os.path.join(folder, "deploy.json"), encoding="utf-8") as f:
            return cls(json.load(f))

    def preprocess(self, image, boxes):
        """``(N, 3, H, W)`` float32 network input plus the ``(N, 2)`` centre and scale."""
        aspect = self.input_size[1] / float(self.input_size[0])
        center, scale = boxes_to_center_scale(boxes, aspect)
        return crop_boxes(image, center, scale, self.input_size, self.mean, self.std), \
            center, scale

    def postprocess(self, heatmaps, center, scale, flipped_heatmaps=None):
        """Image coordinates ``(N, J, 2)`` and scores ``(N, J, 1)`` of the heatmaps.

        With ``flipped_heatmaps`` (the output for the mirrored input) the two
        are merged first (flip test, GluonCV's shift).
        """
        hm = np.asarray(heatmaps, dtype=np.float32)
        if flipped_heatmaps is not None:
            hm = flip_merge(hm, np.asarray(flipped_heatmaps, dtype=np.float32), self.flip_index,
                            shift=self.flip_shift)
        return decode(hm, center, scale, self.codec, self.sigma, self.blur_size)

    def run(self, session, image, boxes, flip=False):
        """Crop, run ``session`` (an ``onnxruntime.InferenceSession``), decode.

        Parameters
        ----------
        session : object
            Anything with ``run(None, {input_name: batch}) -> [heatmaps]``.
        image : numpy.ndarray
            ``(H, W, 3)`` RGB image.
        boxes : array-like
            ``(N, 4)`` person boxes ``(xmin, ymin, xmax, ymax)``.
        flip : bool
            Flip test.

        Returns
        -------
        coords, scores : numpy.ndarray
            ``(N, J, 2)`` image coordinates and ``(N, J, 1)`` scores.
        """
        batch, center, scale = self.preprocess(image, boxes)
        hm = session.run(None, {self.input_name: batch})[0]
        flipped = session.run(None, {self.input_name: np.ascontiguousarray(batch[..., ::-1])})[0] \
            if flip else None
        return self.postprocess(hm, center, scale, flipped)
