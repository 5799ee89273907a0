"""Train and validation transforms for bottom-up (whole-image, multi-person) models.

They take the items of :class:`~gluonpose.data.mscoco.bottom_up.COCOBottomUp`
(``(img, label)`` with ``label['joints']`` ``(P, K, 3)``, ``'boxes'``,
``'areas'`` and ``'mask'``) and are family neutral: OpenPose's PAF targets and
Associative Embedding's heatmaps and tags both come from the ``encoder`` the
training transform is given.

Geometry conventions (the same as the top-down presets): pixel coordinates
with integer values at pixel centres, no half-pixel offset in the affine, a
horizontal flip maps ``x -> S - 1 - x`` and swaps the schema's left/right
joints.
"""
import cv2
import numpy as np

from ...schema import get_schema
from ..pose import as_numpy_image
from .simple_pose import _make_rng, _Normalizer

__all__ = ["BottomUpTrainTransform", "BottomUpValTransform"]


def _as_int_size(input_size, stride):
    size = int(input_size)
    stride = int(stride)
    if size <= 0 or stride <= 0:
        raise ValueError("input_size and stride must be positive, got %r and %r"
                         % (input_size, stride))
    return size, stride


def _label_arrays(label, num_joints):
    """joints (P, K, 3) float64, boxes (P, 4) float64, areas (P,), mask or None."""
    joints = np.asarray(label["joints"], dtype=np.float64)
    if joints.ndim == 2 and joints.size == 0:
        joints = joints.reshape(0, num_joints, 3)
    if joints.ndim != 3 or joints.shape[1:] != (num_joints, 3):
        raise ValueError("label['joints'] must be (P, %d, 3), got shape %s"
                         % (num_joints, joints.shape))
    num = len(joints)
    boxes = np.asarray(label.get("boxes", np.zeros((0, 4))), np.float64).reshape(-1, 4)
    if len(boxes) != num:
        raise ValueError("label['boxes'] has %d boxes for %d people" % (len(boxes), num))
    areas = label.get("areas")
    if areas is None:
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    areas = np.asarray(areas, np.float64).reshape(-1)
    if len(areas) != num:
        raise ValueError("label['areas'] has %d values for %d people" % (len(areas), num))
    mask = label.get("mask")
    return joints, boxes, areas, mask


class BottomUpTrainTransform:
    """Training transform for bottom-up models: one affine warp of the whole image.

    Parameters
    ----------
    input_size : int
        Side ``S`` of the square network input (368 for OpenPose).
    stride : int
        Network output stride; ``input_size`` must be a multiple of it (the
        encoder reads it from :attr:`stride`).
    schema : KeypointSchema or str
        Keypoint set: its ``flip_index`` relabels left/right joints on a flip.
    scale_range : (float, float)
        The main person is scaled to ``target_height * S * U(scale_range)``
        input pixels tall.
    target_height : float
        Main person's height as a fraction of ``S`` before the jitter (0.6).
    max_rotation : float
        Rotation ``U(-max_rotation, max_rotation)`` degrees (counter-clockwise
        on screen for positive angles, OpenCV's convention).
    center_perturb : float
        The main person's centre lands at ``S / 2 + U(-p, p)`` input pixels on
        each axis.
    flip_prob : float
        Probability of a horizontal flip.
    pad_value : int
        Image value outside the source image (128, grey).
    mean, std : sequence of float
        Normalisation of ``x / 255`` per RGB channel.
    encoder : object, optional
        Anything with ``encode(joints, input_size, mask)`` returning a tuple of
        arrays (targets, weights, ...); it is called with the transformed
        ``(P, K, 3)`` joints, ``(S, S)`` and the ``(S, S)`` float32 mask.
    main_person : {'largest', 'random'}
        Which person the crop is framed on: the largest by annotation area
        (OpenPose's training data makes one sample per qualifying person, the
        largest first; one sample per image here) or a uniformly drawn one.
    frame : {'person', 'image'}
        ``'person'`` (OpenPose) frames the crop on the main person;
        ``'image'`` (Associative Embedding) on the whole image: its centre
        lands at the input's centre and its longer side spans ``S`` before
        the scale jitter, whoever is in it.
    rng : None, int, SeedSequence or numpy.random.Generator
        As for the top-down presets: ``None`` draws from the global ``random``
        module; anything else builds a private, fork-aware generator (an int
        seeds it); an object with ``normal()`` and ``uniform()`` is used as is.

    Notes
    -----
    Per call: pick the main person; draw, in this order, one uniform for the
    main person (only with ``main_person='random'`` and more than one person),
    then scale, rotation, centre ``dx``, centre ``dy`` and flip (always five
    draws). The affine is ``M = T(S/2 + d) R(rot) s T(-c)`` with ``c`` the
    main person's box centre and ``s = target_height * S * U / box_height``,
    followed, on a flip, by ``x -> S - 1 - x``. One ``cv2.warpAffine`` per
    array:

    * the image, bilinear, border ``pad_value``;
    * the mask (``label['mask']``, all ones when absent), as float32 with
      **bilinear** interpolation and border value 1 (outside the image is
      supervised, as OpenPose's ``mask_miss``): values in ``[0, 1]``, soft
      only along region edges; threshold or downsample it in the encoder;
    * the joints, with the same matrix; on a flip they are also relabelled
      with the schema's ``flip_index``. Joints whose new position is outside
      ``[0, S) x [0, S)`` get ``v = 0``; unlabelled joints keep ``v = 0``
      (their coordinates are meaningless).

    Without any person, or with ``frame='image'``, the crop is centred on the
    image with ``s = S / max(H, W) * U(scale_range)``.

    Returns ``(img, joints, mask)``: ``img`` float32 ``mx.nd.NDArray``
    ``(3, S, S)``, ``joints`` float32 ``(P, K, 3)`` in input pixels, ``mask``
    float32 ``(S, S)``; with an ``encoder``, ``(img, *encoder.encode(joints,
    (S, S), mask))``. :attr:`last_params` records the draws and the matrix.
    """

    def __init__(self, input_size=368, stride=8, schema="coco", scale_range=(0.5, 1.1),
                 target_height=0.6, max_rotation=40, center_perturb=40, flip_prob=0.5,
                 pad_value=128, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                 encoder=None, main_person="largest", frame="person", rng=None):
        self._size, self._stride = _as_int_size(input_size, stride)
        if self._size % self._stride:
            raise ValueError("input_size %d is not a multiple of stride %d"
                             % (self._size, self._stride))
        self._schema = get_schema(schema)
        self._flip_index = np.asarray(self._schema.flip_index, np.int64)
        lo, hi = (float(v) for v in scale_range)
        if not 0 < lo <= hi:
            raise ValueError("scale_range must be (lo, hi) with 0 < lo <= hi, got %r"
                             % (scale_range,))
        self._scale_range = (lo, hi)
        self._target_height = float(target_height)
        self._max_rotation = float(max_rotation)
        self._center_perturb = float(center_perturb)
        self._flip_prob = float(flip_prob)
        self._pad_value = pad_value
        self._norm = _Normalizer(mean, std)
        self._encoder = encoder
        if main_person not in ("largest", "random"):
            raise ValueError("main_person must be 'largest' or 'random', got %r" % (main_person,))
        self._main_person = main_person
        if frame not in ("person", "image"):
            raise ValueError("frame must be 'person' or 'image', got %r" % (frame,))
        self._frame = frame
        self._rng = _make_rng(rng)
        #: what the last call drew: main person index, scale, rotation, offset, flip, matrix
        self.last_params = None

    @property
    def input_size(self):
        """Side of the square network input."""
        return self._size

    @property
    def stride(self):
        """Network output stride."""
        return self._stride

    @property
    def schema(self):
        """The keypoint schema (flip pairs)."""
        return self._schema

    @property
    def encoder(self):
        """The target encoder (or None)."""
        return self._encoder

    def affine(self, center, scale, rotation, offset=(0.0, 0.0), flip=False):
        """The ``2 x 3`` float64 matrix from source pixels to input pixels.

        ``center`` lands at ``S / 2 + offset``; ``scale`` and ``rotation``
        (degrees) act around it; ``flip`` then mirrors ``x -> S - 1 - x``.
        """
        size = self._size
        cx, cy = float(center[0]), float(center[1])
        mat = cv2.getRotationMatrix2D((cx, cy), float(rotation), float(scale))
        mat[0, 2] += size / 2.0 + float(offset[0]) - cx
        mat[1, 2] += size / 2.0 + float(offset[1]) - cy
        if flip:
            mat[0] = -mat[0]
            mat[0, 2] += size - 1
        return mat

    def __call__(self, src, label):
        rng = self._rng
        img = as_numpy_image(src)
        ih, iw = img.shape[:2]
        joints, boxes, areas, mask = _label_arrays(label, self._schema.num_joints)
        num = len(joints)
        size = self._size

        if num and self._frame == "person":
            if self._main_person == "random" and num > 1:
                main = min(int(rng.uniform() * num), num - 1)
            else:
                main = int(np.argmax(areas))
            box = boxes[main]
            center = ((box[0] + box[2]) / 2.0, (box[1] + box[3]) / 2.0)
            base = self._target_height * size / max(box[3] - box[1], 1.0)
        else:
            main = -1
            center = ((iw - 1) / 2.0, (ih - 1) / 2.0)
            base = size / float(max(ih, iw))
        lo, hi = self._scale_range
        scale = base * (lo + (hi - lo) * rng.uniform())
        rotation = (2 * rng.uniform() - 1) * self._max_rotation
        offset = ((2 * rng.uniform() - 1) * self._center_perturb,
                  (2 * rng.uniform() - 1) * self._center_perturb)
        flip = bool(rng.uniform() < self._flip_prob)
        mat = self.affine(center, scale, rotation, offset, flip)

        pad = self._pad_value
        border = (pad,) * 3 if np.isscalar(pad) else tuple(pad)
        warped = cv2.warpAffine(img, mat, (size, size), flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=border)
        out = self._norm(warped)
        if mask is None:
            out_mask = np.ones((size, size), np.float32)
        else:
            mask = np.asarray(mask, np.float32)
            if mask.shape != (ih, iw):
                raise ValueError("label['mask'] is %s, the image %dx%d (h x w)"
                                 % (mask.shape, ih, iw))
            out_mask = cv2.warpAffine(mask, mat, (size, size), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_CONSTANT, borderValue=1.0)

        xy = joints[:, :, :2] @ mat[:, :2].T + mat[:, 2]
        vis = joints[:, :, 2].copy()
        if flip:
            xy = xy[:, self._flip_index]
            vis = vis[:, self._flip_index]
        inside = (xy[..., 0] >= 0) & (xy[..., 0] < size) & (xy[..., 1] >= 0) & \
            (xy[..., 1] < size)
        vis[~inside] = 0
        out_joints = np.concatenate([xy, vis[..., None]], axis=-1).astype(np.float32)

        self.last_params = {"main": main, "center": center, "scale": float(scale),
                            "rotation": float(rotation), "offset": offset, "flip": flip,
                            "matrix": mat}
        if self._encoder is None:
            return out, out_joints, out_mask
        targets = self._encoder.encode(out_joints, (size, size), out_mask)
        if not isinstance(targets, tuple):
            targets = (targets,)
        return (out,) + targets


class BottomUpValTransform:
    """Test-time resize for bottom-up models (OpenPose's multi-scale input).

    For each scale ``s`` the image is resized by the multiplier
    ``m = s * input_size / H`` (``H`` the image height; bicubic,
    ``cv2.resize(img, None, fx=m, fy=m)``, so the resized image is
    ``round(H m) x round(W m)``) and padded on the right and bottom with
    ``pad_value`` up to a multiple of ``stride``.

    Parameters
    ----------
    input_size : int
        Height the image is resized to at scale 1 (368 for OpenPose).
    stride : int
        Network output stride; padded sizes are multiples of it.
    scales : sequence of float
        Test scales (OpenPose: (0.5, 1.0, 1.5, 2.0)).
    pad_value : int
        Value of the padding (128, grey).
    mean, std : sequence of float
        Normalisation of ``x / 255`` per RGB channel.

    Notes
    -----
    A call ``(src, label=None)`` returns ``(images, meta)``: ``images`` a list
    (one per scale) of float32 ``mx.nd.NDArray`` ``(3, Hp, Wp)`` (the sizes
    differ between scales, so they are not stacked) and ``meta`` a dict with

    * ``'multipliers'``: float64 ``(n,)`` the ``m`` of each scale;
    * ``'sizes'``: int ``(n, 2)`` resized, unpadded ``(h, w)``;
    * ``'padded_sizes'``: int ``(n, 2)`` ``(Hp, Wp)``;
    * ``'image_size'``: ``(H, W)`` of the source image;
    * ``'image_id'``: ``label['image_id']`` (None without a label).

    Mapping outputs back: a point ``p`` in input pixels of scale ``i`` is
    ``(p + 0.5) / m_i - 0.5`` in the source image (:meth:`to_image`, exact for
    ``cv2.resize``'s pixel-centre alignment); a stack of output maps goes back
    with :meth:`maps_to_image` (upsample by ``stride``, crop the padding,
    resize to ``(H, W)``, as OpenPose does).
    """

    def __init__(self, input_size=368, stride=8, scales=(1.0,), pad_value=128,
                 mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)):
        self._size, self._stride = _as_int_size(input_size, stride)
        self._scales = tuple(float(s) for s in np.atleast_1d(scales))
        if not self._scales or min(self._scales) <= 0:
            raise ValueError("scales must be positive, got %r" % (scales,))
        self._pad_value = pad_value
        self._norm = _Normalizer(mean, std)

    @property
    def stride(self):
        """Network output stride (padding multiple)."""
        return self._stride

    @property
    def scales(self):
        """The test scales."""
        return self._scales

    def __call__(self, src, label=None):
        img = as_numpy_image(src)
        ih, iw = img.shape[:2]
        stride = self._stride
        pad = self._pad_value
        border = (pad,) * 3 if np.isscalar(pad) else tuple(pad)
        images, mults, sizes, padded = [], [], [], []
        for s in self._scales:
            m = s * self._size / float(ih)
            if round(ih * m) < 1 or round(iw * m) < 1:
                raise ValueError("scale %g resizes the %dx%d image to nothing" % (s, iw, ih))
            resized = cv2.resize(img, None, fx=m, fy=m, interpolation=cv2.INTER_CUBIC)
            h, w = resized.shape[:2]
            ph, pw = -(-h // stride) * stride, -(-w // stride) * stride
            if (ph, pw) != (h, w):
                resized = cv2.copyMakeBorder(resized, 0, ph - h, 0, pw - w,
                                             cv2.BORDER_CONSTANT, value=border)
            images.append(self._norm(resized))
            mults.append(m)
            sizes.append((h, w))
            padded.append((ph, pw))
        meta = {"multipliers": np.asarray(mults, np.float64),
                "sizes": np.asarray(sizes, np.int64).reshape(-1, 2),
                "padded_sizes": np.asarray(padded, np.int64).reshape(-1, 2),
                "image_size": (ih, iw),
                "image_id": None if label is None else label.get("image_id")}
        return images, meta

    @staticmethod
    def to_image(points, meta, index=0):
        """Input-pixel coordinates ``(..., 2)`` of scale ``index`` -> source-image pixels."""
        m = float(meta["multipliers"][index])
        return (np.asarray(points, np.float64) + 0.5) / m - 0.5

    def maps_to_image(self, maps, meta, index=0):
        """Output maps ``(C, Hp / stride, Wp / stride)`` of scale ``index`` -> ``(C, H, W)``.

        Bicubic upsampling by ``stride``, the padding cropped off, bicubic
        resize to the source size: OpenPose's route back, float32.
        """
        maps = np.asarray(maps, np.float32)
        h, w = (int(v) for v in meta["sizes"][index])
        ih, iw = meta["image_size"]
        hwc = np.ascontiguousarray(maps.transpose(1, 2, 0))
        up = cv2.resize(hwc, None, fx=self._stride, fy=self._stride,
                        interpolation=cv2.INTER_CUBIC)
        up = up.reshape(up.shape[0], up.shape[1], -1)[:h, :w]
        back = cv2.resize(np.ascontiguousarray(up), (int(iw), int(ih)),
                          interpolation=cv2.INTER_CUBIC)
        return back.reshape(int(ih), int(iw), -1).transpose(2, 0, 1)
