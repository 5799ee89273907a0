"""The OpenPose part-affinity-field (PAF) codec: bottom-up targets and grouping.

OpenPose (Cao et al., CVPR 2017, "Realtime Multi-Person 2D Pose Estimation
using Part Affinity Fields") predicts, for the whole image at stride 8,

* 19 confidence maps: 18 body parts in the OpenPose-18 order
  (:data:`PARTS`) plus a background channel, and
* 38 PAF channels: for each of 19 limbs (:data:`PAF_LIMBS`) the x and y
  components of the unit vector pointing from the limb's first part to its
  second, written on the cells covered by the limb.

:class:`PAFCodec` builds those targets from COCO keypoints (``encode``) and
turns the maps of one image back into people (``decode``): peaks of every part
become candidates, every candidate pair of a limb is scored by the line
integral of the PAF between them, a greedy bipartite matching keeps the best
pairs and the connections are assembled into people. Both directions are
vectorised with numpy: encoding over people, limbs and cells, limb scoring
over every candidate pair and every sample point of all 19 limbs at once.
Only the assembly walks the accepted connections one by one, which the
algorithm requires (each step depends on the people built so far).

Coordinate conventions (they follow the reference implementations, and they
are *not* the top-down codecs' "cell ``k`` is input pixel ``k * stride``"):

* coordinates are in *pixel-index* units: pixel ``i`` covers ``[i - 0.5,
  i + 0.5]``; a joint is encoded where it is given and decoded peaks are
  integer pixels, so no half-pixel offset is added on output (the CMU/Keras
  pipeline does the same; the PyTorch port adds 0.5 when it writes COCO
  results);
* confidence-map cell ``g`` stands for input coordinate
  ``stride / 2 - 0.5 + g * stride`` (3.5, 11.5, ... at stride 8). That is
  exactly where OpenCV's resize by ``stride`` puts the cell's sample, so the
  cubic up-sampling used in decoding brings every Gaussian back to its joint;
* PAF cell ``g`` stands for input coordinate ``g * stride + paf_offset`` with
  ``paf_offset = 0`` in the reference (joints are divided by the stride with
  no half-cell shift), i.e. the PAF band sits ``stride / 2 - 0.5`` input
  pixels up-left of the joints. With a limb width of one cell the band still
  covers the segment after up-sampling. Set ``paf_offset = stride / 2 - 0.5``
  to put both maps on the same grid (then a mirrored input gives exactly
  mirrored maps, see :meth:`PAFCodec.flip_back`).

Sizes are ``(H, W)``, maps are channel-first ``(C, H, W)``.
"""
import math

import cv2
import numpy as np

from .base import to_numpy

__all__ = [
    "PARTS", "NUM_PARTS", "NECK", "OPENPOSE_FROM_COCO", "COCO_FROM_OPENPOSE", "PAF_LIMBS",
    "DECODE_LIMBS", "HEATMAP_FLIP", "PAF_FLIP", "PAFCodec", "Peaks", "coco_to_openpose",
    "openpose_to_coco", "flip_back", "flip_merge_paf", "merge_scales",
]

#: OpenPose-18 part names; index 18 of the confidence maps is the background.
PARTS = ("nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
         "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
         "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear")
NUM_PARTS = 18
#: Index of the neck, the one part COCO does not annotate.
NECK = 1

#: Source COCO-17 index of each OpenPose part; -1 marks the neck (midpoint of
#: the shoulders, :func:`coco_to_openpose`).
OPENPOSE_FROM_COCO = np.array([0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3],
                              dtype=np.int64)
#: OpenPose part of each COCO-17 keypoint (the inverse for the 17 shared parts).
COCO_FROM_OPENPOSE = np.array([0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10],
                              dtype=np.int64)

#: The 19 limbs ``(from, to)`` in PAF channel order: plane ``p`` is channels
#: ``2p`` (x) and ``2p + 1`` (y). Planes 9 and 13 join the shoulders to the
#: ears (the CMU model; one re-implementation uses the eyes there).
PAF_LIMBS = ((1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13), (1, 2), (2, 3), (3, 4),
             (2, 16), (1, 5), (5, 6), (6, 7), (5, 17), (1, 0), (0, 14), (0, 15), (14, 16),
             (15, 17))

#: The order in which decoding visits the limbs, as ``(from, to, plane)``: the
#: tree from the neck outwards, then the two redundant shoulder-ear limbs
#: (which may attach parts but never start a person).
DECODE_LIMBS = ((1, 2, 6), (1, 5, 10), (2, 3, 7), (3, 4, 8), (5, 6, 11), (6, 7, 12),
                (1, 8, 0), (8, 9, 1), (9, 10, 2), (1, 11, 3), (11, 12, 4), (12, 13, 5),
                (1, 0, 14), (0, 14, 15), (14, 16, 17), (0, 15, 16), (15, 17, 18),
                (2, 16, 9), (5, 17, 13))

#: Channel permutation of the 19 confidence maps under a horizontal flip.
HEATMAP_FLIP = np.array([0, 1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16, 18],
                        dtype=np.int64)
#: Plane permutation of the 19 PAF planes under a horizontal flip (the x
#: component is negated as well).
PAF_FLIP = np.array([3, 4, 5, 0, 1, 2, 10, 11, 12, 13, 6, 7, 8, 9, 14, 16, 15, 18, 17],
                    dtype=np.int64)

# decoding limbs that may start a new person (all but the two shoulder-ear limbs)
_NEW_PERSON_LIMBS = 17
# exp(-x) >= 0.01  <=>  x <= ln(100): the reference writes a Gaussian only there
_EXP_CUTOFF = 4.6052


def coco_to_openpose(joints):
    """COCO-17 keypoints to the OpenPose-18 order, adding the neck.

    Parameters
    ----------
    joints : array-like
        ``(..., 17, 3)`` ``[x, y, visibility]`` (visibility > 0: labelled).

    Returns
    -------
    numpy.ndarray
        float64 ``(..., 18, 3)``. The neck is the midpoint of the shoulders
        when both are labelled (visibility = the smaller of the two flags),
        otherwise ``(0, 0, 0)``.
    """
    joints = np.asarray(joints, dtype=np.float64)
    if joints.shape[-2:] != (17, 3):
        raise ValueError("joints must be (..., 17, 3), got shape %s" % (joints.shape,))
    out = joints[..., np.maximum(OPENPOSE_FROM_COCO, 0), :].copy()
    ls, rs = joints[..., 5, :], joints[..., 6, :]
    both = (ls[..., 2] > 0) & (rs[..., 2] > 0)
    neck = np.zeros(joints.shape[:-2] + (3,))
    neck[..., :2] = (ls[..., :2] + rs[..., :2]) / 2
    neck[..., 2] = np.minimum(ls[..., 2], rs[..., 2])
    out[..., NECK, :] = neck * both[..., None]
    return out


def openpose_to_coco(keypoints):
    """OpenPose-18 keypoints ``(..., 18, C)`` to COCO-17 ``(..., 17, C)`` (neck dropped)."""
    keypoints = np.asarray(keypoints)
    if keypoints.shape[-2] != NUM_PARTS:
        raise ValueError("keypoints must be (..., 18, C), got shape %s" % (keypoints.shape,))
    return keypoints[..., COCO_FROM_OPENPOSE, :]


# ----------------------------------------------------------------------------- flip / scales

def flip_back(heatmaps, pafs):
    """Maps predicted for a horizontally mirrored input, in the unflipped frame.

    Mirrors along W, swaps left/right parts (:data:`HEATMAP_FLIP`) and limbs
    (:data:`PAF_FLIP`) and negates the PAF x components (a vector pointing
    right in the mirror points left in the original).

    Parameters
    ----------
    heatmaps : numpy.ndarray
        ``(19, H, W)`` or ``(18, H, W)``, or batched ``(N, C, H, W)``.
    pafs : numpy.ndarray
        ``(38, H, W)`` or ``(N, 38, H, W)``.

    Returns
    -------
    heatmaps, pafs : numpy.ndarray
        New float32 arrays of the same shapes.
    """
    heat = to_numpy(heatmaps)
    paf = to_numpy(pafs)
    nh = heat.shape[-3]
    if nh not in (NUM_PARTS, NUM_PARTS + 1) or paf.shape[-3] != 2 * len(PAF_LIMBS):
        raise ValueError("expected (19|18, H, W) heatmaps and (38, H, W) pafs, got %s and %s"
                         % (heat.shape, paf.shape))
    heat = np.ascontiguousarray(heat[..., HEATMAP_FLIP[:nh], :, ::-1])
    planes = paf.reshape(paf.shape[:-3] + (len(PAF_LIMBS), 2) + paf.shape[-2:])
    planes = planes[..., PAF_FLIP, :, :, ::-1] * np.array([-1, 1], np.float32)[:, None, None]
    return heat, np.ascontiguousarray(planes.reshape(paf.shape), dtype=np.float32)


def flip_merge_paf(heatmaps, pafs, flipped_heatmaps, flipped_pafs):
    """Average the maps of an image with the flipped-back maps of its mirror.

    ``flipped_*`` are the outputs for the mirrored input as the network gave
    them; see :func:`flip_back`. Returns ``(heatmaps, pafs)`` float32.
    """
    back_h, back_p = flip_back(flipped_heatmaps, flipped_pafs)
    return (to_numpy(heatmaps) + back_h) / 2, (to_numpy(pafs) + back_p) / 2


def merge_scales(maps):
    """Average ``(heatmaps, pafs)`` pairs of several input scales.

    Parameters
    ----------
    maps : sequence of (numpy.ndarray, numpy.ndarray)
        Each pair already at image resolution (:meth:`PAFCodec.to_image`), so
        all have the same shape.

    Returns
    -------
    heatmaps, pafs : numpy.ndarray
        float32 means, to decode with ``upsample=False``.
    """
    maps = list(maps)
    if not maps:
        raise ValueError("merge_scales needs at least one (heatmaps, pafs) pair")
    heat = np.mean([to_numpy(h) for h, _ in maps], axis=0, dtype=np.float64)
    paf = np.mean([to_numpy(p) for _, p in maps], axis=0, dtype=np.float64)
    return heat.astype(np.float32), paf.astype(np.float32)


def _flat_view(maps):
    """A 1-D view over the memory of a ``(C, H, W)`` array, and its element strides.

    Works for any layout with positive strides (channel-first, a channel-last
    array seen through a transpose, a channel slice of a bigger array): the
    view spans from the first to the last element, so ``flat[c * s_c + y * s_y
    + x * s_x]`` is ``maps[c, y, x]`` without copying the map.
    """
    item = maps.itemsize
    if maps.flags.c_contiguous:                       # channel-first
        return maps.reshape(-1), tuple(st // item for st in maps.strides)
    hwc = maps.transpose(1, 2, 0)
    if hwc.flags.c_contiguous:                        # channel-last seen through a transpose
        return hwc.reshape(-1), tuple(st // item for st in maps.strides)
    strides = maps.strides
    if min(strides) <= 0 or any(st % item for st in strides):
        maps = np.ascontiguousarray(maps)
        strides = maps.strides
    span = sum((n - 1) * st for n, st in zip(maps.shape, strides)) // item + 1
    flat = np.lib.stride_tricks.as_strided(maps, shape=(span,), strides=(item,), writeable=False)
    return flat, tuple(st // item for st in strides)


# ----------------------------------------------------------------------------- peaks

class Peaks:
    """Part candidates of one image, in global id order.

    Ids run part by part, and within a part in row-major (y, then x) order of
    the map, which is the order the grouping breaks ties in.

    Attributes
    ----------
    part : numpy.ndarray
        int64 ``(n,)`` part index (OpenPose-18) of each candidate.
    x : numpy.ndarray
        int64 ``(n,)`` column of the peak.
    y : numpy.ndarray
        int64 ``(n,)`` row of the peak.
    score : numpy.ndarray
        float64 ``(n,)`` value of the (unsmoothed) confidence map at the peak.
    start : numpy.ndarray
        int64 ``(19,)``: the ids of part ``j`` are ``start[j]:start[j + 1]``.
    """

    __slots__ = ("part", "x", "y", "score", "start")

    def __init__(self, part, x, y, score):
        self.part = np.asarray(part, np.int64)
        self.x = np.asarray(x, np.int64)
        self.y = np.asarray(y, np.int64)
        self.score = np.asarray(score, np.float64)
        self.start = np.searchsorted(self.part, np.arange(NUM_PARTS + 1)).astype(np.int64)

    def __len__(self):
        return len(self.part)

    def __repr__(self):
        return "Peaks(%d candidates)" % len(self)


# ----------------------------------------------------------------------------- codec

class PAFCodec:
    """OpenPose confidence maps + part affinity fields: targets and grouping.

    Parameters
    ----------
    stride : int
        Input pixels per map cell (8 for the CMU network).
    sigma : float
        Gaussian standard deviation of the confidence maps, in *input* pixels.
    limb_width : float
        Half-width of a limb's PAF band, in map cells (cells whose distance to
        the limb's line is ``<= limb_width`` are written).
    peak_threshold : float
        A peak must exceed this on the smoothed confidence map (``thre1``).
    paf_threshold : float
        A sample along a candidate limb counts as supporting it when its PAF
        projection exceeds this (``thre2``).
    num_samples : int
        Sample points from one candidate part to the other (``mid_num``).
    min_paf_fraction : float
        A limb is accepted only if more than this fraction of its samples
        support it.
    min_parts : int
        People with fewer parts (the neck counts) are dropped.
    min_mean_score : float
        People whose total score divided by their part count is below this
        are dropped.
    smooth_sigma : float
        Gaussian blur (image pixels) applied before looking for peaks.
    smoothing : {'cv2', 'scipy'}
        Implementation of that blur: OpenCV (fast) or
        ``scipy.ndimage.gaussian_filter`` (what the reference uses). Both use
        a 25-tap kernel and mirrored borders and agree to ~1e-6; they can
        differ on which of two practically equal neighbours is the peak.
    paf_offset : float
        Input coordinate of PAF cell 0 (0 in the reference; see the module
        notes).

    Notes
    -----
    **Targets** (``encode``): confidence map of part ``j`` at cell ``(gx, gy)``
    is ``sum_p exp(-d_p^2 / (2 sigma^2))`` clipped at 1, each term written only
    where ``d^2 / (2 sigma^2) <= 4.6052`` (value >= 0.01); the background is
    ``max(0, 1 - max_j S_j)``. The PAF of a limb ``a -> b`` (both labelled,
    ``|b - a| > 0``) holds the unit vector ``u = (b - a) / |b - a|`` on the
    cells of the limb's bounding box (in cells, widened by ``limb_width`` on
    every side, clipped to the map) whose distance to the line through ``a``
    and ``b`` is ``<= limb_width``; where the same limb of several people
    covers a cell, the cell holds the mean of their unit vectors.

    **Decoding** (``decode``), after the reference: maps brought to image
    resolution (cubic), peaks on the blurred maps (>= the 4 neighbours, >
    ``peak_threshold``; score from the unblurred map), every candidate pair
    ``(A, B)`` of a limb scored by ``num_samples`` PAF samples at rounded
    points from ``A`` to ``B``: ``mean(PAF . u) + min(0.5 H / |B - A| - 1, 0)``
    (``H`` = map height, a prior against long limbs), accepted if more than
    ``min_paf_fraction`` of the samples exceed ``paf_threshold`` and the
    score is positive; greedy matching by score (ties keep the pair order:
    peaks of a part are numbered row-major); assembly into people; the
    ``min_parts`` / ``min_mean_score`` filters.

    **Assembly**, limb by limb in :data:`DECODE_LIMBS` order, connection by
    connection (best first): the people holding the connection's ``A`` or
    ``B`` peak are looked up (in creation order). One person: ``B`` is set
    (replacing a different ``B`` if there was one), its count grows by one and
    its total by ``score(B) + connection``. Two people with no part in
    common: merged into the first (totals and counts add, plus the
    connection). Two that overlap: treated as the one-person case with the
    first. Nobody: a new person ``{A, B}`` with total ``score(A) + score(B) +
    connection``, except for the last two limbs (shoulder-ear), which never
    start a person. Should three or more people match, the first two are
    used. A person's score is that total.
    """

    name = "paf"

    def __init__(self, stride=8, sigma=7.0, limb_width=1.0, peak_threshold=0.1,
                 paf_threshold=0.05, num_samples=10, min_paf_fraction=0.8, min_parts=4,
                 min_mean_score=0.4, smooth_sigma=3.0, smoothing="cv2", paf_offset=0.0):
        if smoothing not in ("cv2", "scipy"):
            raise ValueError("smoothing must be 'cv2' or 'scipy', got %r" % (smoothing,))
        if int(num_samples) < 2:
            raise ValueError("num_samples must be >= 2, got %r" % (num_samples,))
        self.stride = int(stride)
        self.sigma = float(sigma)
        self.limb_width = float(limb_width)
        self.peak_threshold = float(peak_threshold)
        self.paf_threshold = float(paf_threshold)
        self.num_samples = int(num_samples)
        self.min_paf_fraction = float(min_paf_fraction)
        self.min_parts = int(min_parts)
        self.min_mean_score = float(min_mean_score)
        self.smooth_sigma = float(smooth_sigma)
        self.smoothing = smoothing
        self.paf_offset = float(paf_offset)
        self._limb_from = np.array([a for a, _ in PAF_LIMBS], np.int64)
        self._limb_to = np.array([b for _, b in PAF_LIMBS], np.int64)
        dec = np.array(DECODE_LIMBS, np.int64)
        self._dec_a, self._dec_b, self._dec_plane = dec[:, 0], dec[:, 1], dec[:, 2]

    # -- geometry ---------------------------------------------------------------------
    def heatmap_size(self, input_size):
        """``(h, w)`` of the maps for an input of ``(H, W)`` pixels.

        The network input is padded right/bottom to a multiple of the stride,
        so this is ``ceil(H / stride), ceil(W / stride)``.
        """
        s = self.stride
        return (-(-int(input_size[0]) // s), -(-int(input_size[1]) // s))

    @staticmethod
    def input_size(image_size, input_scale):
        """``(H_in, W_in)`` of an image of ``image_size`` resized by ``input_scale``.

        Rounded to the nearest integer as OpenCV's ``resize(fx=, fy=)`` does.
        """
        return (int(round(image_size[0] * input_scale)), int(round(image_size[1] * input_scale)))

    def image_to_input(self, joints, image_size, input_scale):
        """Map image coordinates into the resized network input.

        The exact inverse of what :meth:`to_image` does to the maps (an
        OpenCV resize from the input size back to the image size), so a joint
        encoded at the returned position decodes at the original one.

        Parameters
        ----------
        joints : array-like
            ``(..., 2+)`` with ``x, y`` first (extra columns are kept).
        image_size : tuple of int
            ``(H, W)`` of the original image.
        input_scale : float
            Resize factor from the image to the network input.

        Returns
        -------
        joints : numpy.ndarray
            float64, same shape.
        input_size : tuple of int
            ``(H_in, W_in)`` of the resized input (before padding).
        """
        joints = np.array(joints, dtype=np.float64)
        h_in, w_in = self.input_size(image_size, input_scale)
        # OpenCV resize: destination pixel x samples source (x + 0.5) * src / dst - 0.5
        fx = w_in / float(image_size[1])
        fy = h_in / float(image_size[0])
        joints[..., 0] = (joints[..., 0] + 0.5) * fx - 0.5
        joints[..., 1] = (joints[..., 1] + 0.5) * fy - 0.5
        return joints, (h_in, w_in)

    # -- encoding ---------------------------------------------------------------------
    def encode(self, joints, input_size, mask=None):
        """Training targets for the people of one input image.

        Parameters
        ----------
        joints : array-like
            ``(P, 17, 3)`` COCO-order ``[x, y, visibility]`` in input pixels
            (visibility > 0: labelled), or ``(P, 18, 3)`` already in the
            OpenPose order (neck included). ``P`` may be 0.
        input_size : tuple of int
            ``(H, W)`` of the network input.
        mask : array-like, optional
            ``(H, W)`` (or already padded) input-resolution weights, 1 = keep,
            0 = ignore (crowds, unlabelled people).

        Returns
        -------
        heatmaps : numpy.ndarray
            float32 ``(19, h, w)``, background last.
        pafs : numpy.ndarray
            float32 ``(38, h, w)``.
        mask : numpy.ndarray
            float32 ``(h, w)``: the mask averaged over each cell's
            ``stride x stride`` input pixels (area down-sampling; the padding
            counts as 1), so a cell's weight is the kept fraction of its area;
            all ones without a mask. (The Keras reference uses a cubic resize
            instead, which overshoots and aliases at mask edges.)
        """
        joints = np.asarray(joints, dtype=np.float64)
        if joints.ndim == 2:
            joints = joints[None]
        if joints.size == 0:
            joints = np.zeros((0, NUM_PARTS, 3))
        elif joints.shape[1:] == (17, 3):
            joints = coco_to_openpose(joints)
        elif joints.shape[1:] != (NUM_PARTS, 3):
            raise ValueError("joints must be (P, 17, 3) or (P, 18, 3), got shape %s"
                             % (joints.shape,))
        h, w = self.heatmap_size(input_size)
        heat = self._confidence_maps(joints, h, w)
        paf = self._pafs(joints, h, w)
        return heat, paf, self._downsample_mask(mask, h, w)

    def _confidence_maps(self, joints, h, w):
        """``(19, h, w)`` float32; Gaussians evaluated only in a window per joint."""
        s = self.stride
        off = s / 2.0 - 0.5
        two_var = 2.0 * self.sigma * self.sigma
        heat = np.zeros((NUM_PARTS, h, w), np.float64)
        # person-major order, so each cell sums its people in order 0..P-1
        p_idx, j_idx = np.nonzero(joints[:, :, 2] > 0)
        if p_idx.size:
            cx = joints[p_idx, j_idx, 0]
            cy = joints[p_idx, j_idx, 1]
            # the Gaussian is cut at d <= sqrt(2 ln 100) sigma: a fixed window of cells
            radius = math.sqrt(_EXP_CUTOFF * two_var)
            n = int(math.ceil(2 * radius / s)) + 2
            gx = np.floor((cx - radius - off) / s).astype(np.int64)[:, None] + np.arange(n)
            gy = np.floor((cy - radius - off) / s).astype(np.int64)[:, None] + np.arange(n)
            dx2 = (off + gx * s - cx[:, None]) ** 2                      # (K, n)
            dy2 = (off + gy * s - cy[:, None]) ** 2
            e = (dx2[:, None, :] + dy2[:, :, None]) / two_var           # (K, n, n)
            ok = (e <= _EXP_CUTOFF) & ((gx >= 0) & (gx < w))[:, None, :] \
                & ((gy >= 0) & (gy < h))[:, :, None]
            flat = (j_idx[:, None, None] * h + gy[:, :, None]) * w + gx[:, None, :]
            # bincount adds the weights in input order (person-major), in float64
            heat = np.bincount(flat[ok], weights=np.exp(-e[ok]),
                               minlength=NUM_PARTS * h * w).reshape(NUM_PARTS, h, w)
            np.minimum(heat, 1.0, out=heat)
        out = np.empty((NUM_PARTS + 1, h, w), np.float32)
        out[:NUM_PARTS] = heat
        out[NUM_PARTS] = np.maximum(1.0 - heat.max(axis=0), 0.0)
        return out

    def _pafs(self, joints, h, w):
        """``(38, h, w)`` float32: every (limb, person) band at once over ragged boxes."""
        s = self.stride
        nl = len(PAF_LIMBS)
        a = joints[:, self._limb_from]                    # (P, 19, 3)
        b = joints[:, self._limb_to]
        pa = (a[..., :2] - self.paf_offset) / s
        pb = (b[..., :2] - self.paf_offset) / s
        v = pb - pa
        norm = np.sqrt(v[..., 0] ** 2 + v[..., 1] ** 2)
        ok = (a[..., 2] > 0) & (b[..., 2] > 0) & (norm > 1e-8)
        sums = np.zeros((3, nl * h * w), np.float64)      # count, sum ux, sum uy
        p_idx, l_idx = np.nonzero(ok)
        if p_idx.size:
            pa, pb, v, norm = (t[p_idx, l_idx] for t in (pa, pb, v, norm))
            u = v / norm[:, None]
            lw = self.limb_width
            lo = np.maximum(np.ceil(np.minimum(pa, pb) - lw), 0).astype(np.int64)    # (E, 2)
            hi = np.minimum(np.floor(np.maximum(pa, pb) + lw), [w - 1, h - 1]).astype(np.int64)
            size = np.maximum(hi - lo + 1, 0)
            area = size[:, 0] * size[:, 1]
            # enumerate the cells of every box: entry e owns cells offs[e]:offs[e]+area[e]
            ent = np.repeat(np.arange(len(area)), area)
            k = np.arange(ent.size) - np.repeat(np.cumsum(area) - area, area)
            gx = lo[ent, 0] + k % size[ent, 0]
            gy = lo[ent, 1] + k // size[ent, 0]
            # distance to the limb's line: |(g - a) x u|
            dist = np.abs((gx - pa[ent, 0]) * u[ent, 1] - (gy - pa[ent, 1]) * u[ent, 0])
            inside = dist <= lw
            ent, gx, gy = ent[inside], gx[inside], gy[inside]
            flat = (l_idx[ent] * h + gy) * w + gx
            sums[0] = np.bincount(flat, minlength=nl * h * w)
            sums[1] = np.bincount(flat, weights=u[ent, 0], minlength=nl * h * w)
            sums[2] = np.bincount(flat, weights=u[ent, 1], minlength=nl * h * w)
        # running average of the overlapping people = sum / count
        count = np.maximum(sums[0], 1.0)
        paf = np.empty((nl, 2, h * w), np.float32)
        paf[:, 0] = (sums[1] / count).reshape(nl, h * w)
        paf[:, 1] = (sums[2] / count).reshape(nl, h * w)
        return paf.reshape(2 * nl, h, w)

    def _downsample_mask(self, mask, h, w):
        if mask is None:
            return np.ones((h, w), np.float32)
        mask = to_numpy(mask, np.float64)
        s = self.stride
        if mask.ndim != 2 or mask.shape[0] > h * s or mask.shape[1] > w * s:
            raise ValueError("mask must be (H, W) at input resolution (at most %dx%d), got %s"
                             % (h * s, w * s, mask.shape))
        full = np.ones((h * s, w * s), np.float64)        # the padding is not masked
        full[:mask.shape[0], :mask.shape[1]] = mask
        return full.reshape(h, s, w, s).mean(axis=(1, 3)).astype(np.float32)

    # -- back to the image ------------------------------------------------------------
    def to_image(self, heatmaps, pafs, image_size=None, input_scale=None, input_size=None):
        """Bring network maps to the resolution decoding works at.

        Up-samples by the stride (cubic), crops the padding of the input and,
        if ``image_size`` is given, resizes to the original image (cubic).

        Parameters
        ----------
        heatmaps, pafs : array-like
            ``(19, h, w)`` (or ``(18, h, w)``) and ``(38, h, w)`` network
            output for one image.
        image_size : tuple of int, optional
            ``(H, W)`` of the original image; default: stay at input
            resolution.
        input_scale : float, optional
            Factor the image was resized by to make the input; gives
            ``input_size`` as ``round(image_size * input_scale)``.
        input_size : tuple of int, optional
            ``(H_in, W_in)`` of the input before padding; default the whole
            up-sampled map (or what ``input_scale`` gives).

        Returns
        -------
        heatmaps, pafs : numpy.ndarray
            float32 ``(C, H, W)`` (channel-first views of channel-last
            arrays).
        """
        heat_hwc, paf_hwc = self._to_image_hwc(heatmaps, pafs, image_size, input_scale,
                                               input_size)
        return heat_hwc.transpose(2, 0, 1), paf_hwc.transpose(2, 0, 1)

    def _to_image_hwc(self, heatmaps, pafs, image_size, input_scale, input_size, parts_only=False):
        heat = to_numpy(heatmaps)
        paf = to_numpy(pafs)
        self._check_maps(heat, paf)
        nh = NUM_PARTS if parts_only else heat.shape[0]
        if input_size is None and input_scale is not None:
            if image_size is None:
                raise ValueError("input_scale needs image_size")
            input_size = self.input_size(image_size, input_scale)
        # heatmaps and PAFs resized separately so each comes back contiguous
        # (OpenCV handles up to 512 channels in one call)
        return (self._resize_maps(heat[:nh], image_size, input_size),
                self._resize_maps(paf, image_size, input_size))

    def _resize_maps(self, maps, image_size, input_size):
        """``(C, h, w)`` -> channel-last ``(H, W, C)``: x stride, crop, to the image."""
        h, w = maps.shape[1:]
        s = self.stride
        hwc = np.ascontiguousarray(maps.transpose(1, 2, 0))
        hwc = cv2.resize(hwc, (w * s, h * s), interpolation=cv2.INTER_CUBIC)
        if input_size is not None:
            hwc = hwc[:int(input_size[0]), :int(input_size[1])]
        if image_size is not None and tuple(hwc.shape[:2]) != tuple(image_size):
            hwc = cv2.resize(np.ascontiguousarray(hwc), (int(image_size[1]), int(image_size[0])),
                             interpolation=cv2.INTER_CUBIC)
        return np.ascontiguousarray(hwc).reshape(hwc.shape[:2] + (maps.shape[0],))

    @staticmethod
    def _check_maps(heat, paf):
        if heat.ndim != 3 or heat.shape[0] not in (NUM_PARTS, NUM_PARTS + 1):
            raise ValueError("heatmaps must be (19, h, w) or (18, h, w) for one image, got %s"
                             % (heat.shape,))
        if paf.shape != (2 * len(PAF_LIMBS),) + heat.shape[1:]:
            raise ValueError("pafs must be (38, h, w) matching the heatmaps, got %s"
                             % (paf.shape,))

    # -- decoding ---------------------------------------------------------------------
    def find_peaks(self, heatmaps):
        """Part candidates: local maxima of the blurred confidence maps.

        Parameters
        ----------
        heatmaps : numpy.ndarray
            ``(18 or 19, H, W)`` at decoding resolution (background ignored).

        Returns
        -------
        Peaks
            A pixel is a peak when its blurred value is >= each of its 4
            neighbours (outside the map counts as 0) and > ``peak_threshold``.
        """
        heat = to_numpy(heatmaps)
        if heat.ndim != 3 or heat.shape[0] not in (NUM_PARTS, NUM_PARTS + 1):
            raise ValueError("heatmaps must be (19, H, W) or (18, H, W), got %s" % (heat.shape,))
        # the blur wants channel-last; a channel-first view of a channel-last
        # array (what to_image returns) comes back without a copy
        sm = self._smooth(np.ascontiguousarray(heat[:NUM_PARTS].transpose(1, 2, 0)))
        # dense comparisons with the 4 neighbours (outside the map counts as 0,
        # which never beats a value above the threshold), then one sparse pass
        peak = sm > self.peak_threshold
        peak[:, 1:] &= sm[:, 1:] >= sm[:, :-1]
        peak[:, :-1] &= sm[:, :-1] >= sm[:, 1:]
        peak[1:] &= sm[1:] >= sm[:-1]
        peak[:-1] &= sm[:-1] >= sm[1:]
        y, x, j = np.nonzero(peak)
        order = np.lexsort((x, y, j))                       # part, then row-major
        j, y, x = j[order], y[order], x[order]
        return Peaks(j, x, y, heat[j, y, x].astype(np.float64))

    def _smooth(self, hwc):
        sig = self.smooth_sigma
        if sig <= 0:
            return hwc
        if self.smoothing == "scipy":
            from scipy.ndimage import gaussian_filter
            return gaussian_filter(hwc, sigma=(sig, sig, 0))
        # scipy's default kernel: radius int(4 sigma + 0.5), mirrored border
        k = 2 * int(4 * sig + 0.5) + 1
        out = cv2.GaussianBlur(hwc, (k, k), sig, borderType=cv2.BORDER_REFLECT)
        return out.reshape(hwc.shape)                        # one channel comes back 2-D

    def _sampler(self, paf):
        """``dot(ax, ay, dx, dy, ux, uy, limb, s) -> (M, len(s))`` PAF . u at samples ``s``.

        Sample ``s`` of a pair is the pixel nearest to ``A + (B - A) s / (n - 1)``
        (half to even, like Python's ``round``), the same float expression as
        the reference loop.
        """
        n = self.num_samples
        flat, (s_c, s_y, s_x) = _flat_view(paf)
        # channel-last: x and y are neighbours in memory, one gather of pairs
        pairs = (s_c == 1 and s_x % 2 == 0 and s_y % 2 == 0 and flat.size % 2 == 0
                 and flat.dtype == np.float32 and flat.ctypes.data % 8 == 0)
        cflat = flat.view(np.complex64) if pairs else None
        planes = 2 * s_c * self._dec_plane

        def dot(ax, ay, dx, dy, ux, uy, limb, s):
            s = s.astype(np.float64)
            px = np.rint(ax[:, None] + dx[:, None] * s / (n - 1)).astype(np.int64)
            py = np.rint(ay[:, None] + dy[:, None] * s / (n - 1)).astype(np.int64)
            # flat indices into the map's own memory: much cheaper than 3-array
            # fancy indexing on a strided view (and, on numpy 1.23, than take)
            base = py * s_y + px * s_x + planes[limb][:, None]
            if pairs:
                v = cflat[base >> 1]
                vx, vy = v.real.astype(np.float64), v.imag.astype(np.float64)
            else:
                vx, vy = flat[base].astype(np.float64), flat[base + s_c].astype(np.float64)
            return vx * ux[:, None] + vy * uy[:, None]
        return dot

    def score_limbs(self, pafs, peaks, height=None):
        """Score every candidate pair of every limb at once.

        Parameters
        ----------
        pafs : numpy.ndarray
            ``(38, H, W)`` at decoding resolution.
        peaks : Peaks
        height : float, optional
            ``H`` of the distance prior; default the map height.

        Returns
        -------
        limb, id_a, id_b : numpy.ndarray
            int64 ``(M,)`` accepted pairs (decoding-limb index and peak ids),
            sorted by limb, then score descending (ties: pair order).
        score : numpy.ndarray
            float64 ``(M,)`` connection scores (with the distance prior).
        """
        paf = to_numpy(pafs)
        if height is None:
            height = paf.shape[1]
        st = peaks.start
        na = st[self._dec_a + 1] - st[self._dec_a]           # (19,)
        nb = st[self._dec_b + 1] - st[self._dec_b]
        npair = na * nb
        empty = np.zeros(0, np.int64)
        if npair.sum() == 0:
            return empty, empty, empty, np.zeros(0)
        # ragged enumeration of the pairs of all limbs, A-major as the reference loops
        limb = np.repeat(np.arange(len(DECODE_LIMBS)), npair)
        k = np.arange(limb.size) - np.repeat(np.cumsum(npair) - npair, npair)
        nbl = nb[limb]
        id_a = st[self._dec_a][limb] + k // nbl
        id_b = st[self._dec_b][limb] + k % nbl
        ax, ay = peaks.x[id_a], peaks.y[id_a]
        dx = (peaks.x[id_b] - ax).astype(np.float64)
        dy = (peaks.y[id_b] - ay).astype(np.float64)
        norm = np.sqrt(dx * dx + dy * dy)
        valid = norm > 0
        if not valid.all():                     # two parts on one pixel: no direction
            limb, id_a, id_b, ax, ay, dx, dy, norm = (
                t[valid] for t in (limb, id_a, id_b, ax, ay, dx, dy, norm))
        ux, uy = dx / norm, dy / norm
        n = self.num_samples
        dot = self._sampler(paf)
        # A pair needs more than min_paf_fraction * n supporting samples, so it
        # may miss at most n_miss of them. Checking n_miss + 1 samples first and
        # dropping the pairs that miss all of them cannot drop an acceptable pair
        # (each sample is computed exactly as below), and removes most wrong
        # pairs of a crowd before the full n-sample pass.
        n_miss = n - (int(math.floor(self.min_paf_fraction * n)) + 1)
        if 0 <= n_miss < n // 2 and len(limb) > 64:
            # interior samples spread along the limb (thirds for n = 10)
            probe = np.unique(np.linspace(0, n - 1, n_miss + 3)[1:-1].round().astype(np.int64))
            if len(probe) == n_miss + 1:
                hit = (dot(ax, ay, dx, dy, ux, uy, limb, probe) > self.paf_threshold).any(axis=1)
                limb, id_a, id_b, ax, ay, dx, dy, ux, uy, norm = (
                    t[hit] for t in (limb, id_a, id_b, ax, ay, dx, dy, ux, uy, norm))
        dots = dot(ax, ay, dx, dy, ux, uy, limb, np.arange(n))      # (M, n)
        # cumsum adds left to right: the same float sum as a plain loop
        mean = np.cumsum(dots, axis=1)[:, -1] / n
        score = mean + np.minimum(0.5 * height / norm - 1, 0)
        support = (dots > self.paf_threshold).sum(axis=1)
        acc = (support > self.min_paf_fraction * n) & (score > 0)
        limb, id_a, id_b, score = limb[acc], id_a[acc], id_b[acc], score[acc]
        order = np.lexsort((-score, limb))                  # stable: ties keep pair order
        return limb[order], id_a[order], id_b[order], score[order]

    def group(self, pafs, peaks, height=None):
        """Peaks + PAFs -> people, in the OpenPose-18 order.

        Parameters
        ----------
        pafs : numpy.ndarray
            ``(38, H, W)`` at decoding resolution.
        peaks : Peaks
        height : float, optional
            ``H`` of the distance prior; default the map height.

        Returns
        -------
        parts : numpy.ndarray
            int64 ``(N, 18)`` peak id of each part, -1 where missing.
        totals : numpy.ndarray
            float64 ``(N,)`` summed peak and connection scores.
        counts : numpy.ndarray
            int64 ``(N,)`` number of parts counted (the reference's count).
        """
        limb, id_a, id_b, score = self.score_limbs(pafs, peaks, height)
        if not len(limb):
            return np.zeros((0, NUM_PARTS), np.int64), np.zeros(0), np.zeros(0, np.int64)
        peak_score = peaks.score.tolist()
        st = peaks.start.tolist()
        dec_a, dec_b = self._dec_a.tolist(), self._dec_b.tolist()
        rows, totals, counts, present, alive = [], [], [], [], []
        owners = {}                      # peak id -> people whose slot holds it, in order
        bounds = np.searchsorted(limb, np.arange(len(DECODE_LIMBS) + 1)).tolist()
        ia_all, ib_all, sc_all = id_a.tolist(), id_b.tolist(), score.tolist()
        for k in range(len(DECODE_LIMBS)):
            lo, hi = bounds[k], bounds[k + 1]
            if lo == hi:
                continue
            a, b = dec_a[k], dec_b[k]
            # greedy bipartite matching: best score first, each candidate used once
            limit = min(st[a + 1] - st[a], st[b + 1] - st[b])
            used_a, used_b, conns = set(), set(), []
            for i in range(lo, hi):
                ia, ib = ia_all[i], ib_all[i]
                if ia in used_a or ib in used_b:
                    continue
                used_a.add(ia)
                used_b.add(ib)
                conns.append((ia, ib, sc_all[i]))
                if len(conns) >= limit:
                    break
            bit_b = 1 << b
            for ia, ib, sc in conns:
                found = owners.get(ia, []) + owners.get(ib, [])
                if len(found) > 1:
                    found = sorted(set(found))
                if len(found) >= 2 and not (present[found[0]] & present[found[1]]):
                    # two partial people joined by this limb: merge the second into the first
                    j1, j2 = found[0], found[1]
                    row1, row2 = rows[j1], rows[j2]
                    for p in range(NUM_PARTS):
                        pid = row2[p]
                        if pid >= 0:
                            row1[p] = pid
                            lst = owners[pid]
                            lst[lst.index(j2)] = j1
                            lst.sort()
                    present[j1] |= present[j2]
                    totals[j1] += totals[j2]
                    counts[j1] += counts[j2]
                    totals[j1] += sc
                    alive[j2] = False
                    present[j2] = 0
                    rows[j2] = [-1] * NUM_PARTS
                elif found:
                    # one person (or two that overlap): attach B to the first
                    j = found[0]
                    row = rows[j]
                    old = row[b]
                    if old != ib:
                        if old >= 0:
                            owners[old].remove(j)
                        row[b] = ib
                        owners.setdefault(ib, []).append(j)
                        owners[ib].sort()
                        present[j] |= bit_b
                        counts[j] += 1
                        totals[j] += peak_score[ib] + sc
                elif k < _NEW_PERSON_LIMBS:
                    j = len(rows)
                    row = [-1] * NUM_PARTS
                    row[a], row[b] = ia, ib
                    rows.append(row)
                    totals.append(peak_score[ia] + peak_score[ib] + sc)
                    counts.append(2)
                    present.append((1 << a) | bit_b)
                    alive.append(True)
                    owners.setdefault(ia, []).append(j)
                    owners.setdefault(ib, []).append(j)
        keep = [j for j in range(len(rows)) if alive[j] and counts[j] >= self.min_parts
                and totals[j] / counts[j] >= self.min_mean_score]
        parts = np.array([rows[j] for j in keep], np.int64).reshape(-1, NUM_PARTS)
        return (parts, np.array([totals[j] for j in keep], np.float64),
                np.array([counts[j] for j in keep], np.int64))

    def decode(self, heatmaps, pafs, image_size=None, input_scale=None, input_size=None,
               upsample=True, order="coco"):
        """People from the (already flip/scale-merged) maps of one image.

        Parameters
        ----------
        heatmaps, pafs : array-like
            ``(19, h, w)`` (or 18) and ``(38, h, w)``: network output at map
            resolution (``upsample=True``), or maps already at the resolution
            to decode at (``upsample=False``, e.g. from :func:`merge_scales`).
        image_size, input_scale, input_size
            Where the maps go before decoding; see :meth:`to_image`. With
            ``image_size`` the keypoints are in original-image pixels,
            otherwise in input pixels. Ignored when ``upsample=False``.
        upsample : bool
            Bring the maps to image resolution first (the reference pipeline).
        order : {'coco', 'openpose'}
            Keypoint order of the result: COCO-17, or OpenPose-18 (with neck).

        Returns
        -------
        keypoints : numpy.ndarray
            float32 ``(N, 17, 3)`` (or ``(N, 18, 3)``): ``x, y, score`` per
            part (the peak's confidence-map value), zeros where missing.
        scores : numpy.ndarray
            float32 ``(N,)`` person scores: the sum of the peak scores and
            connection scores gathered while assembling the person.
        """
        if order not in ("coco", "openpose"):
            raise ValueError("order must be 'coco' or 'openpose', got %r" % (order,))
        if upsample:
            heat, paf = self._to_image_hwc(heatmaps, pafs, image_size, input_scale, input_size,
                                           parts_only=True)
            heat, paf = heat.transpose(2, 0, 1), paf.transpose(2, 0, 1)
        else:
            heat, paf = to_numpy(heatmaps), to_numpy(pafs)
            self._check_maps(heat, paf)
        peaks = self.find_peaks(heat)
        parts, totals, _ = self.group(paf, peaks, heat.shape[1])
        return self.keypoints(parts, peaks, totals, order)

    @staticmethod
    def keypoints(parts, peaks, totals, order="coco"):
        """``(N, 18)`` peak ids -> ``(keypoints, scores)`` as :meth:`decode` returns them."""
        kp = np.zeros(parts.shape + (3,), np.float32)
        have = parts >= 0
        ids = parts[have]
        kp[have] = np.stack([peaks.x[ids], peaks.y[ids], peaks.score[ids]], axis=1)
        if order == "coco":
            kp = kp[:, COCO_FROM_OPENPOSE]
        return kp, np.asarray(totals, np.float32)

    def describe(self):
        """Short text for protocol records."""
        return "paf(stride=%d, sigma=%g, limb_width=%g)" % (self.stride, self.sigma,
                                                           self.limb_width)

    def __repr__(self):
        return ("PAFCodec(stride=%d, sigma=%g, limb_width=%g, peak_threshold=%g, "
                "paf_threshold=%g, num_samples=%d, min_parts=%d, min_mean_score=%g)"
                % (self.stride, self.sigma, self.limb_width, self.peak_threshold,
                   self.paf_threshold, self.num_samples, self.min_parts, self.min_mean_score))
