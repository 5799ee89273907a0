"""The Associative Embedding (AE) codec: bottom-up targets and the tag-grouping parser.

Associative Embedding (Newell, Huang and Deng, NIPS 2017) predicts, for the
whole image at stride 4,

* ``K`` detection heatmaps (one Gaussian per person and joint type), and
* ``K`` tag maps: an embedding per joint type and cell; the joints of one
  person carry similar tags, different people dissimilar ones.

:class:`AECodec` builds the training targets of one input image
(:meth:`~AECodec.encode`: heatmaps, the tag reference cells the
pull/push loss reads, the crowd mask) and turns merged network output back
into people (:meth:`~AECodec.decode`: NMS, top-k candidates, joint type by
joint type matching of candidates to people by tag distance with a
minimum-cost assignment, quarter-cell adjustment, refinement).
:func:`merge_outputs` merges the flip and multi-scale passes of the test
protocol and :func:`ae_test_inputs` builds those inputs.

Coordinate convention (the project's, *not* the reference's): a coordinate is
a pixel index, integer values at pixel centres; map cell ``k`` stands for
input pixel ``k * stride``. The reference writes joints at the cell
``int(x / stride)`` (truncation) and adds half a cell to decoded cells
(``+0.5``) before scaling back up; neither happens here: Gaussians are
centred on the joint's exact map position ``x / stride`` and decoded cells
are scaled back as they are.

Sizes are ``(H, W)``, maps are channel-first ``(K, h, w)``; tag maps given to
the parser are ``(K, h, w, D)``.
"""

import cv2
import numpy as np

from .base import to_numpy
from .flip import flip_heatmaps

__all__ = ["AECodec", "AE_JOINT_ORDER", "merge_outputs", "ae_test_inputs", "ae_input_geometry",
           "flip_back_ae", "resample_maps"]

#: Order in which the parser visits the COCO-17 joint types: head, shoulders,
#: hips, then elbows, wrists, knees, ankles (the torso first, so the people
#: exist before the limbs attach to them).
AE_JOINT_ORDER = (0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16)

# cost of the padding columns of the assignment (no person there)
_PAD_COST = 1e10


def _round_up(v, multiple):
    return -(-int(v) // int(multiple)) * int(multiple)


def _float_maps(arr):
    """float32/float64 numpy arrays as they are; anything else as float32."""
    if isinstance(arr, np.ndarray) and arr.dtype in (np.float32, np.float64):
        return arr
    return to_numpy(arr, np.float32)


# ----------------------------------------------------------------------------- flip / scales

def flip_back_ae(maps, flip_index, stride=4):
    """Maps predicted for a horizontally mirrored input, in the plain input's frame.

    Mirrors along W, permutes the joint channels with ``flip_index`` and moves
    the map ``(stride - 1) / stride`` of a cell to the right (linear
    interpolation): the input flip sends pixel ``x`` to ``W - 1 - x`` while
    the map flip sends cell ``k`` to ``w - 1 - k``, i.e. pixel ``W - stride -
    s k``, so without the shift the flipped-back map would sit ``(stride - 1)
    / stride`` of a cell to the left. The reference flips back with no shift
    (its cells are centred at ``(k + 0.5) * stride - 0.5``, where the flip is
    exact). Tag values are copied unchanged (a tag is a label, not a
    direction).

    Parameters
    ----------
    maps : numpy.ndarray
        ``(K, h, w)`` detection or tag maps (or ``(K, h, w, D)``; each of the
        ``D`` slices is flipped back).
    flip_index : array-like or KeypointSchema
        The schema's ``flip_index`` permutation.
    stride : int
        Input pixels per map cell.

    Returns
    -------
    numpy.ndarray
        float32, same shape.
    """
    arr = to_numpy(maps)
    shift = (stride - 1) / float(stride) if stride > 1 else False
    if arr.ndim == 4:
        # channel-last tag vectors: flip every tag dimension as a map
        planes = np.moveaxis(arr, 3, 0)                       # (D, K, h, w)
        out = flip_heatmaps(np.ascontiguousarray(planes), flip_index, shift)
        return np.ascontiguousarray(np.moveaxis(out, 0, 3), dtype=np.float32)
    if arr.ndim != 3:
        raise ValueError("maps must be (K, h, w) or (K, h, w, D), got shape %s" % (arr.shape,))
    return flip_heatmaps(arr[None], flip_index, shift)[0].astype(np.float32, copy=False)


def _interp_matrix(n_out, n_in, ratio):
    """``(n_out, n_in)`` linear-interpolation weights sampling input cell ``o * ratio``.

    Samples outside ``[0, n_in - 1]`` read zeros past the edge (the maps of
    every scale cover their padded input, so that is padding anyway).
    """
    pos = np.arange(n_out, dtype=np.float64) * ratio
    i0 = np.floor(pos).astype(np.int64)
    frac = pos - i0
    mat = np.zeros((n_out, n_in + 2), np.float64)          # two spare columns past the edge
    rows = np.arange(n_out)
    ok = (i0 >= 0) & (i0 <= n_in)
    mat[rows[ok], i0[ok]] += 1.0 - frac[ok]
    mat[rows[ok], i0[ok] + 1] += frac[ok]
    return mat[:, :n_in]


def resample_maps(maps, ratio, out_size):
    """Resample ``(C, h, w)`` maps so output cell ``k`` reads input cell ``k * ratio``.

    Bilinear, separable (two small matrix products), zero past the edges. With
    the project convention (cell ``k`` is input pixel ``k * stride``) a map of
    test scale ``s`` brought to the grid of scale ``s1`` uses
    ``ratio = s / s1``: cell ``k`` of scale ``s1`` is image pixel
    ``k * stride / m1`` = cell ``k * m_s / m1`` of scale ``s``.

    Parameters
    ----------
    maps : numpy.ndarray
        ``(C, h, w)``.
    ratio : float
        Input cells per output cell.
    out_size : tuple of int
        ``(h_out, w_out)``.

    Returns
    -------
    numpy.ndarray
        float32 ``(C, h_out, w_out)``.
    """
    maps = to_numpy(maps, np.float64)
    c, h, w = maps.shape
    ay = _interp_matrix(int(out_size[0]), h, ratio)
    ax = _interp_matrix(int(out_size[1]), w, ratio)
    out = np.matmul(np.matmul(ay, maps), ax.T)             # (C, h_out, w_out)
    return out.astype(np.float32)


def merge_outputs(per_scale, flip_index=None, stride=4, scales=None, scale_one=None,
                  discard_above=10.0):
    """Merge the flip and multi-scale network outputs of one image (test protocol).

    Parameters
    ----------
    per_scale : sequence of tuple
        One ``(det, tag, det_mirrored, tag_mirrored)`` per test scale, as the
        network gave them for the plain input and its mirror (``None`` for the
        mirrored pair without flip test): ``det`` ``(K, h_s, w_s)``, ``tag``
        ``(K, h_s, w_s)`` (or ``(K, h_s, w_s, 1)``).
    flip_index : array-like or KeypointSchema, optional
        The flip permutation (``get_schema('coco').flip_index``); required
        when a mirrored pass is given.
    stride : int
        Input pixels per map cell; sets the flip-back shift
        (:func:`flip_back_ae`).
    scales : sequence of float, optional
        The test scale of each entry (needed with several scales): maps of
        scale ``s`` are resampled onto the grid of the tag scale with ratio
        ``s / scales[scale_one]``, which is exact for inputs made by
        :func:`ae_test_inputs` (padding right/bottom only).
    scale_one : int, optional
        Index of the scale whose tags are used and whose map grid the
        detections are brought to; default the entry with scale 1.0 (the
        first entry if there is none).
    discard_above : float or None
        A scale whose summed detection maximum exceeds this is left out (the
        reference's guard against diverged outputs); None keeps everything.

    Returns
    -------
    det : numpy.ndarray
        float32 ``(K, h, w)``: the kept passes summed, divided by their number,
        clipped at 1.
    tags : numpy.ndarray
        float32 ``(K, h, w, D)``: scale one's tags, ``D = 1``, or ``D = 2``
        (plain, flipped back) with flip test.

    Notes
    -----
    The reference resizes the detections of every scale to the map size of
    the *first* scale in its list (2 in ``[2, 1, 0.5]``) and takes tags at
    scale 1, resized to that size. Here detections go to scale one's grid,
    where the tags are, so the tags are never interpolated. The reference
    divides by ``2 * #scales`` even when it discarded a scale; here the
    divisor counts the passes kept.
    """
    per_scale = list(per_scale)
    if not per_scale:
        raise ValueError("merge_outputs needs at least one scale")
    if scales is None:
        if len(per_scale) > 1:
            raise ValueError("several scales need their `scales` values")
        scales = [1.0]
    scales = [float(s) for s in scales]
    if len(scales) != len(per_scale):
        raise ValueError("got %d scales for %d outputs" % (len(scales), len(per_scale)))
    if scale_one is None:
        scale_one = scales.index(1.0) if 1.0 in scales else 0
    det1 = to_numpy(per_scale[scale_one][0])
    out_size = det1.shape[1:]
    total = np.zeros(det1.shape, np.float64)
    passes = 0
    for i, (det, _, det_m, _) in enumerate(per_scale):
        det = to_numpy(det, np.float64)
        n = 1
        if det_m is not None:
            if flip_index is None:
                raise ValueError("a mirrored pass needs flip_index")
            det = det + flip_back_ae(det_m, flip_index, stride)
            n = 2
        if discard_above is not None and det.max() > discard_above and i != scale_one:
            continue
        if i != scale_one:
            det = resample_maps(det, scales[i] / scales[scale_one], out_size)
        total += det
        passes += n
    det = np.minimum(total / passes, 1.0).astype(np.float32)
    _, tag, _, tag_m = per_scale[scale_one]
    tag = to_numpy(tag)
    if tag.ndim == 4:
        tag = tag[..., 0]
    tags = [tag]
    if tag_m is not None:
        tag_m = to_numpy(tag_m)
        tags.append(flip_back_ae(tag_m[..., 0] if tag_m.ndim == 4 else tag_m, flip_index,
                                 stride))
    return det, np.stack(tags, axis=-1).astype(np.float32)


def ae_input_geometry(image_size, input_size=512, scale=1.0, size_multiple=64):
    """Multiplier and padded input size of one test scale (see :func:`ae_test_inputs`).

    Parameters
    ----------
    image_size : tuple of int
        ``(H, W)`` of the image.
    input_size : int
        Longer side at scale 1.
    scale : float
        Test scale.
    size_multiple : int
        Padding multiple.

    Returns
    -------
    multiplier : float
        ``scale * input_size / max(H, W)``: input pixel = image pixel x it.
    padded_size : tuple of int
        ``(Hp, Wp)``: ``round(H m)``, ``round(W m)`` rounded up to the multiple.
    """
    ih, iw = int(image_size[0]), int(image_size[1])
    m = float(scale) * input_size / float(max(ih, iw))
    hp = _round_up(max(int(round(ih * m)), 1), size_multiple)
    wp = _round_up(max(int(round(iw * m)), 1), size_multiple)
    return m, (hp, wp)


def ae_test_inputs(image_rgb_uint8, input_size=512, scales=(1.0,), size_multiple=64):
    """Network inputs of the AE test protocol: the image letter-boxed at each scale.

    For scale ``s`` the image is scaled by ``m = s * input_size / max(H, W)``
    (its longer side becomes ``s * input_size``) with a pure scaling warp
    (bilinear; input pixel ``p`` samples image pixel ``p / m``, integer
    values at pixel centres on both sides) and padded right and bottom with
    zeros to a multiple of ``size_multiple`` (the hourglass needs 64). The
    reference centres the image in a square instead; padding right/bottom
    keeps the way back a plain scale.

    Parameters
    ----------
    image_rgb_uint8 : numpy.ndarray
        ``(H, W, 3)`` RGB uint8.
    input_size : int
        Longer side at scale 1 (512).
    scales : sequence of float
        Test scales (the reference's multi-scale test: ``(2, 1, 0.5)``).
    size_multiple : int
        Both padded sides are multiples of it.

    Returns
    -------
    images : list of numpy.ndarray
        float32 ``(Hp, Wp, 3)`` RGB in ``[0, 1]`` (not normalised; AE feeds
        ``x / 255``), one per scale.
    multipliers : numpy.ndarray
        float64 ``(n,)``: image pixel = input pixel / ``multipliers[i]``.
    """
    img = np.asarray(image_rgb_uint8)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError("image must be (H, W, 3), got shape %s" % (img.shape,))
    src = img.astype(np.float32) / 255.0
    images, mults = [], []
    for s in scales:
        m, (hp, wp) = ae_input_geometry(img.shape[:2], input_size, s, size_multiple)
        mat = np.array([[m, 0.0, 0.0], [0.0, m, 0.0]], np.float64)
        out = cv2.warpAffine(src, mat, (wp, hp), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))
        images.append(out)
        mults.append(m)
    return images, np.asarray(mults, np.float64)


# ----------------------------------------------------------------------------- codec

class AECodec:
    """Associative Embedding heatmaps + tags: targets and the grouping parser.

    Parameters
    ----------
    stride : int
        Input pixels per map cell (4).
    sigma : float
        Gaussian standard deviation, in map cells (2 at 128 x 128 maps).
    num_joints : int
        ``K`` (17 for COCO).
    max_people : int
        Tag references kept per image in training; people the parser matches
        against (and, with ``ignore_too_much``, the most it builds).
    tag_dim : int
        Tag dimension the network predicts per joint type (1 in AE). The
        parser reads ``D`` from the tag maps it gets (2 after a flip merge).
    detection_threshold : float
        Candidates need a detection value above this (0.1 at test).
    tag_threshold : float
        A candidate joins a person only if their tag distance is below this.
    top_k : int
        Candidates per joint type.
    use_detection_val : bool
        Matching cost ``round(dist) * 100 - detection`` (else the raw distance).
    ignore_too_much : bool
        Once ``max_people`` people exist, further joint types are skipped.
    joint_order : sequence of int
        The order the joint types are processed in (:data:`AE_JOINT_ORDER`).
    refine : bool
        Fill the missing joints of every person from the whole map.
    adjust : bool
        Quarter-cell shift of decoded joints toward the larger neighbour.

    Notes
    -----
    **Targets** (:meth:`encode`): joint ``(x, y)`` (input pixels) sits at map
    position ``(x / stride, y / stride)``. Its Gaussian
    ``exp(-d^2 / (2 sigma^2))`` is centred on that exact (sub-cell) position
    and written on the ``(6 sigma + 3)``-cell square window (radius
    ``3 sigma + 1``) around the nearest cell ``round(x / stride)``, which is
    where the Gaussian peaks on the grid; the heatmap is the maximum over
    people. A joint counts when labelled (``v > 0``) and its nearest cell is
    on the map. The reference truncates to ``int(x)`` and centres the Gaussian
    on that cell; with its ``+0.5`` decoding offset that is unbiased, with our
    convention (no offset) the sub-cell centre is, and it makes the quarter
    adjustment point the right way.

    **Parser** (:meth:`decode`), on maps already merged (:func:`merge_outputs`):

    1. candidates: cells equal to the 3 x 3 maximum around them (outside
       the map counts as -inf), at most ``top_k`` per joint type, value >
       ``detection_threshold``; ordered by value, ties by row-major cell;
    2. joint types in ``joint_order``; while nobody exists each candidate
       starts a person; otherwise the first ``max_people`` people (creation
       order) are matched: person tag = mean of its joints' tags, distance =
       Euclidean norm of the tag difference, cost ``round(dist) * 100 -
       value`` (``use_detection_val``), padded with 1e10 columns to a square
       when there are more candidates than people,
       ``scipy.optimize.linear_sum_assignment``; an assigned pair with
       ``dist < tag_threshold`` joins, every other candidate starts a
       person (with ``ignore_too_much``, a joint type seen when
       ``max_people`` people exist is skipped);
    3. person score: the mean over the ``K`` joints of the detection values
       (0 when missing), before refinement;
    4. adjust: ``x += 0.25`` if the right neighbour is larger than the left,
       ``x -= 0.25`` if it is smaller, no shift on a tie (edges clamp), the
       same for ``y`` (no ``+0.5``). The reference shifts a tie a quarter
       cell left/up; a tie is a peak centred on its cell (common in maps
       rendered from integer annotations, all but absent in a network's
       output), so leaving it in place removes a bias of a quarter cell
       there (oracle AP at 512: 0.958 instead of 0.939);
    5. refine: for each person (mean tag ``t`` of its found joints) and each
       missing joint type ``k``: argmax over the map of ``det_k -
       round(||tag_k - t||)`` (first in row-major order); if the detection
       value there is positive the joint is filled there (quarter-adjusted
       when ``adjust`` is on; the reference always adjusts here) with
       confidence 1. Tags are read at the found joints' integer cells.

    The distance is the Euclidean norm over the tag dimensions, as the
    reference computes it (not the RMS: the two differ by sqrt(2) for the
    2-D tags of a flip test).

    The reference keeps people in a dict keyed by their first tag value, so a
    new person whose tag equals an existing person's replaces it; here people
    are a list and never collide.
    """

    name = "ae"

    def __init__(self, stride=4, sigma=2.0, num_joints=17, max_people=30, tag_dim=1,
                 detection_threshold=0.1, tag_threshold=1.0, top_k=30, use_detection_val=True,
                 ignore_too_much=True, joint_order=AE_JOINT_ORDER, refine=True, adjust=True):
        self.stride = int(stride)
        self.sigma = float(sigma)
        self.num_joints = int(num_joints)
        self.max_people = int(max_people)
        self.tag_dim = int(tag_dim)
        self.detection_threshold = float(detection_threshold)
        self.tag_threshold = float(tag_threshold)
        self.top_k = int(top_k)
        self.use_detection_val = bool(use_detection_val)
        self.ignore_too_much = bool(ignore_too_much)
        self.joint_order = tuple(int(j) for j in joint_order)
        if sorted(self.joint_order) != list(range(self.num_joints)):
            raise ValueError("joint_order must be a permutation of 0..%d, got %r"
                             % (self.num_joints - 1, joint_order))
        self.refine = bool(refine)
        self.adjust = bool(adjust)

    # -- geometry ---------------------------------------------------------------------
    def heatmap_size(self, input_size):
        """``(h, w)`` of the maps for an input of ``input_size`` (int or ``(H, W)``)."""
        if np.isscalar(input_size):
            input_size = (input_size, input_size)
        return (int(input_size[0]) // self.stride, int(input_size[1]) // self.stride)

    def to_image(self, keypoints, multiplier=1.0, fill_missing=False):
        """Map-cell keypoints -> image pixels.

        Parameters
        ----------
        keypoints : array-like
            ``(..., K, 3)`` ``(x, y, score)`` in map cells (what :meth:`decode`
            returns).
        multiplier : float
            The input's scale relative to the image (``multipliers[i]`` of
            :func:`ae_test_inputs` for the scale the map grid belongs to);
            1 leaves the result in input pixels.
        fill_missing : bool
            Put missing joints (score 0) at the mean location of the person's
            found joints, as the reference writes its results (score stays 0).

        Returns
        -------
        numpy.ndarray
            float32, same shape: ``x, y`` times ``stride / multiplier``,
            scores unchanged.
        """
        out = np.array(keypoints, dtype=np.float32, copy=True)
        out[..., :2] *= np.float32(self.stride / float(multiplier))
        if fill_missing and out.size:
            found = out[..., 2:3] > 0                                   # (..., K, 1)
            n = np.maximum(found.sum(axis=-2, keepdims=True), 1)
            mean = (out[..., :2] * found).sum(axis=-2, keepdims=True) / n
            out[..., :2] = np.where(found, out[..., :2], mean)
        return out

    # -- encoding ---------------------------------------------------------------------
    def _joint_cells(self, joints, h, w):
        """Exact map positions, nearest cells and the labelled-and-on-map flag."""
        pos = joints[..., :2] / self.stride                   # (P, K, 2)
        cell = np.floor(pos + 0.5).astype(np.int64)          # round half up
        ok = (joints[..., 2] > 0) & (cell[..., 0] >= 0) & (cell[..., 0] < w) \
            & (cell[..., 1] >= 0) & (cell[..., 1] < h)
        return pos, cell, ok

    def _render(self, joints, h, w):
        """Heatmaps ``(K, h, w)`` float32 and the owner map (person + 1, 0 = none)."""
        k_n = self.num_joints
        heat = np.zeros(k_n * h * w, np.float64)
        owner = np.zeros(k_n * h * w, np.int64)
        pos, cell, ok = self._joint_cells(joints, h, w)
        p_idx, j_idx = np.nonzero(ok)
        if p_idx.size:
            r = int(3 * self.sigma + 1)
            offs = np.arange(-r, r + 1)
            gx = cell[p_idx, j_idx, 0][:, None] + offs               # (E, n)
            gy = cell[p_idx, j_idx, 1][:, None] + offs
            ex = np.exp(-(gx - pos[p_idx, j_idx, 0][:, None]) ** 2 / (2 * self.sigma ** 2))
            ey = np.exp(-(gy - pos[p_idx, j_idx, 1][:, None]) ** 2 / (2 * self.sigma ** 2))
            val = ey[:, :, None] * ex[:, None, :]                     # (E, n, n), separable
            inside = ((gy >= 0) & (gy < h))[:, :, None] & ((gx >= 0) & (gx < w))[:, None, :]
            flat = (j_idx[:, None, None] * h + gy[:, :, None]) * w + gx[:, None, :]
            who = np.broadcast_to(p_idx[:, None, None] + 1, val.shape)
            flat, val, who = flat[inside], val[inside], who[inside]
            # max over people: sort by cell, then value (ties: the lower person
            # wins, -who sorts it last), and keep the last entry of every cell
            order = np.lexsort((-who, val, flat))
            flat, val, who = flat[order], val[order], who[order]
            last = np.ones(flat.size, bool)
            last[:-1] = flat[1:] != flat[:-1]
            heat[flat[last]] = val[last]
            owner[flat[last]] = who[last]
        return heat.reshape(k_n, h, w).astype(np.float32), owner.reshape(k_n, h, w)

    def _as_joints(self, joints):
        joints = np.asarray(joints, dtype=np.float64)
        if joints.size == 0:
            return np.zeros((0, self.num_joints, 3))
        if joints.ndim == 2:
            joints = joints[None]
        if joints.ndim != 3 or joints.shape[1:] != (self.num_joints, 3):
            raise ValueError("joints must be (P, %d, 3), got shape %s"
                             % (self.num_joints, joints.shape))
        return joints

    def encode(self, joints, input_size, mask=None):
        """Training targets for the people of one input image.

        Parameters
        ----------
        joints : array-like
            ``(P, K, 3)`` ``[x, y, v]`` in input pixels (``v > 0``: labelled).
            ``P`` may be 0.
        input_size : int or tuple of int
            ``(H, W)`` of the network input.
        mask : array-like, optional
            ``(H, W)`` input-resolution weights (1 = supervise, 0 = crowd).

        Returns
        -------
        heatmaps : numpy.ndarray
            float32 ``(K, h, w)`` (see the class notes).
        tag_refs : numpy.ndarray
            int32 ``(max_people, K, 2)``: ``(k * h * w + y * w + x, 1)`` at the
            nearest cell of every labelled on-map joint of person ``n``, zeros
            elsewhere. People without such a joint take no row; beyond
            ``max_people`` people the first ones are kept.
        mask : numpy.ndarray
            float32 ``(h, w)``: the mask averaged over each cell's ``stride x
            stride`` pixels, then ``> 0.5`` (pixels beyond the given mask
            count as 1); ones without a mask.
        """
        joints = self._as_joints(joints)
        h, w = self.heatmap_size(input_size)
        heat, _ = self._render(joints, h, w)
        _, cell, ok = self._joint_cells(joints, h, w)
        refs = np.zeros((self.max_people, self.num_joints, 2), np.int32)
        people = np.flatnonzero(ok.any(axis=1))[:self.max_people]
        if people.size:
            k = np.arange(self.num_joints)
            flat = (k * h + cell[people, :, 1]) * w + cell[people, :, 0]
            good = ok[people]
            refs[:people.size, :, 0] = np.where(good, flat, 0)
            refs[:people.size, :, 1] = good
        return heat, refs, self._downsample_mask(mask, h, w)

    def ideal_tags(self, joints, input_size):
        """Tag maps of a perfect network: ``(K, h, w)`` float32.

        The tag of joint type ``k`` at a cell is ``n + 1`` where person ``n``'s
        Gaussian is the largest of all people's there (ties: the lower ``n``),
        0 where no Gaussian reaches. People ``n`` are the rows of ``joints``.
        """
        joints = self._as_joints(joints)
        h, w = self.heatmap_size(input_size)
        return self._render(joints, h, w)[1].astype(np.float32)

    def _downsample_mask(self, mask, h, w):
        if mask is None:
            return np.ones((h, w), np.float32)
        mask = to_numpy(mask, np.float64)
        if mask.ndim != 2:
            raise ValueError("mask must be (H, W), got shape %s" % (mask.shape,))
        s = self.stride
        full = np.ones((h * s, w * s), np.float64)
        mh, mw = min(mask.shape[0], h * s), min(mask.shape[1], w * s)
        full[:mh, :mw] = mask[:mh, :mw]
        area = full.reshape(h, s, w, s).mean(axis=(1, 3))
        return (area > 0.5).astype(np.float32)

    # -- decoding ---------------------------------------------------------------------
    def candidates(self, det, detection_threshold=None, top_k=None):
        """Peak candidates of every joint type.

        Parameters
        ----------
        det : numpy.ndarray
            ``(K, h, w)`` detection maps.

        Returns
        -------
        joint, y, x : numpy.ndarray
            int64 ``(n,)``, grouped by joint type (ascending) and, within a
            type, by value descending, ties by row-major cell.
        value : numpy.ndarray
            float64 ``(n,)``.
        """
        thr = self.detection_threshold if detection_threshold is None else detection_threshold
        top_k = self.top_k if top_k is None else int(top_k)
        det = _float_maps(det)
        k_n, h, w = det.shape
        # A cell is kept when it equals the 3 x 3 max around it (outside = -inf),
        # i.e. it is >= its 8 neighbours. Only cells above the threshold can
        # survive, and they are few: test those, 8 gathers from a padded copy.
        pad = np.full((k_n, h + 2, w + 2), -np.inf, det.dtype)
        pad[:, 1:-1, 1:-1] = det
        j, y, x = np.nonzero(det > thr)
        flat = (j * (h + 2) + y + 1) * (w + 2) + x + 1
        pflat = pad.reshape(-1)
        val = pflat[flat]
        peak = np.ones(val.size, bool)
        for off in (-w - 3, -w - 2, -w - 1, -1, 1, w + 1, w + 2, w + 3):
            peak &= val >= pflat[flat + off]
        j, y, x = j[peak], y[peak], x[peak]
        val = val[peak].astype(np.float64)
        order = np.lexsort((y * w + x, -val, j))
        j, y, x, val = j[order], y[order], x[order], val[order]
        start = np.searchsorted(j, np.arange(k_n))
        rank = np.arange(j.size) - start[j]
        sel = rank < top_k
        return j[sel], y[sel], x[sel], val[sel]

    def decode(self, det, tags, **overrides):
        """People from the merged detection and tag maps of one image.

        Parameters
        ----------
        det : array-like
            ``(K, h, w)`` detection maps.
        tags : array-like
            ``(K, h, w, D)`` tag maps (``(K, h, w)`` is taken as ``D = 1``).
        **overrides
            Any of ``detection_threshold``, ``tag_threshold``, ``top_k``,
            ``max_people``, ``use_detection_val``, ``ignore_too_much``,
            ``refine``, ``adjust`` for this call.

        Returns
        -------
        keypoints : numpy.ndarray
            float32 ``(N, K, 3)`` ``(x, y, score)`` in map cells, zeros where
            missing (:meth:`to_image` maps them back).
        scores : numpy.ndarray
            float32 ``(N,)`` person scores.
        """
        known = ("detection_threshold", "tag_threshold", "top_k", "max_people",
                 "use_detection_val", "ignore_too_much", "refine", "adjust")
        bad = set(overrides) - set(known)
        if bad:
            raise TypeError("unknown decode option(s): %s" % ", ".join(sorted(bad)))
        opt = {k: overrides.get(k, getattr(self, k)) for k in known}
        # float32 maps stay float32: every value read from them is widened
        # exactly, so the results equal a float64 computation
        det = _float_maps(det)
        tags = _float_maps(tags)
        if tags.ndim == 3:
            tags = tags[..., None]
        k_n = self.num_joints
        if det.ndim != 3 or det.shape[0] != k_n or tags.shape[:3] != det.shape:
            raise ValueError("det must be (%d, h, w) and tags (%d, h, w, D), got %s and %s"
                             % (k_n, k_n, det.shape, tags.shape))
        h, w = det.shape[1:]
        cj, cy, cx, cv = self.candidates(det, opt["detection_threshold"], opt["top_k"])
        ctag = tags[cj, cy, cx].astype(np.float64)                     # (n, D)
        person_of = self._group(cj, cv, ctag, opt)                      # (n,) person or -1
        n_people = int(person_of.max()) + 1 if person_of.size else 0
        cells = np.full((n_people, k_n, 2), -1, np.int64)              # (x, y) integer cells
        kp = np.zeros((n_people, k_n, 3), np.float64)
        if n_people == 0:
            return np.zeros((0, k_n, 3), np.float32), np.zeros(0, np.float32)
        got = person_of >= 0
        pi, ji = person_of[got], cj[got]
        cells[pi, ji, 0], cells[pi, ji, 1] = cx[got], cy[got]
        kp[pi, ji, 0], kp[pi, ji, 1], kp[pi, ji, 2] = cx[got], cy[got], cv[got]
        found = np.zeros((n_people, k_n), bool)
        found[pi, ji] = True
        scores = kp[:, :, 2].mean(axis=1)
        if opt["adjust"]:
            kp[found, :2] += self._quarter(det, np.nonzero(found)[1], cells[found])
        if opt["refine"]:
            # mean tag of each person's found joints, in joint order
            jtags = np.zeros((n_people, k_n, tags.shape[3]))
            jtags[pi, ji] = ctag[got]
            mean = jtags.sum(axis=1) / found.sum(axis=1)[:, None]
            self._refine(det, tags, kp, found, mean, opt["adjust"])
        return kp.astype(np.float32), scores.astype(np.float32)

    def _group(self, cj, cv, ctag, opt):
        """Assign every candidate to a person (creation order); -1 for skipped types."""
        from scipy.optimize import linear_sum_assignment
        n = cj.size
        person_of = np.full(n, -1, np.int64)
        if n == 0:
            return person_of
        d = ctag.shape[1]
        tag_sum = np.zeros((n, d))                 # at most one new person per candidate
        count = np.zeros(n)
        n_people = 0
        max_people = int(opt["max_people"])
        start = np.searchsorted(cj, np.arange(self.num_joints + 1))
        for j in self.joint_order:
            lo, hi = start[j], start[j + 1]
            if lo == hi:
                continue
            rows = np.arange(lo, hi)
            if n_people == 0:
                new = rows
            else:
                m = min(n_people, max_people)
                if opt["ignore_too_much"] and m == max_people:
                    continue
                mean = tag_sum[:m] / count[:m, None]
                diff = ctag[lo:hi, None, :] - mean[None]
                dist = np.sqrt((diff * diff).sum(axis=2))              # (c, m)
                if opt["use_detection_val"]:
                    cost = np.rint(dist) * 100 - cv[lo:hi, None]
                else:
                    cost = dist.copy()
                c = hi - lo
                if c > m:
                    cost = np.concatenate([cost, np.full((c, c - m), _PAD_COST)], axis=1)
                r, col = linear_sum_assignment(cost)
                join = col < m
                join[join] = dist[r[join], col[join]] < opt["tag_threshold"]
                jr, jc = r[join], col[join]
                person_of[lo + jr] = jc
                tag_sum[jc] += ctag[lo + jr]
                count[jc] += 1
                new = lo + np.setdiff1d(np.arange(c), jr)            # ascending: candidate order
            k = new.size
            person_of[new] = np.arange(n_people, n_people + k)
            tag_sum[n_people:n_people + k] = ctag[new]
            count[n_people:n_people + k] = 1
            n_people += k
        return person_of

    @staticmethod
    def _quarter(det, joint, cell):
        """``(n, 2)`` quarter-cell offsets toward the larger neighbour (x, then y; 0 on a tie)."""
        _, h, w = det.shape
        x, y = cell[:, 0], cell[:, 1]
        right = det[joint, y, np.minimum(x + 1, w - 1)]
        left = det[joint, y, np.maximum(x - 1, 0)]
        down = det[joint, np.minimum(y + 1, h - 1), x]
        up = det[joint, np.maximum(y - 1, 0), x]
        return 0.25 * np.stack([np.sign(right - left), np.sign(down - up)], axis=1)

    def _refine(self, det, tags, kp, found, mean, adjust):
        """Fill missing joints in place (see the class notes, step 5)."""
        k_n, h, w = det.shape
        miss_p, miss_j = np.nonzero(~found)
        if not miss_p.size:
            return
        flat_det = det.reshape(k_n, h * w)
        flat_tag = tags.reshape(k_n, h * w, tags.shape[3])
        best = np.empty(miss_p.size, np.int64)
        # one joint type at a time bounds the memory at (people, h * w, D)
        order = np.argsort(miss_j, kind="stable")
        bounds = np.searchsorted(miss_j[order], np.arange(k_n + 1))
        for j in np.unique(miss_j):
            sel = order[bounds[j]:bounds[j + 1]]
            m = mean[miss_p[sel]]                                        # (n, D)
            # squared distance summed one tag dimension at a time: (n, hw)
            # temporaries only, and the same left-to-right sum as a loop
            sq = None
            for d in range(m.shape[1]):
                diff = flat_tag[j, :, d][None] - m[:, d, None]
                diff *= diff
                sq = diff if sq is None else np.add(sq, diff, out=sq)
            np.sqrt(sq, out=sq)
            np.rint(sq, out=sq)
            best[sel] = np.argmax(np.subtract(flat_det[j][None], sq, out=sq), axis=1)
        val = flat_det[miss_j, best]
        fill = val > 0
        if not fill.any():
            return
        p, j, b = miss_p[fill], miss_j[fill], best[fill]
        cell = np.stack([b % w, b // w], axis=1)
        xy = cell.astype(np.float64)
        if adjust:
            xy += self._quarter(det, j, cell)
        kp[p, j, :2] = xy
        kp[p, j, 2] = 1.0

    def describe(self):
        """Short text for protocol records."""
        return "ae(stride=%d, sigma=%g)" % (self.stride, self.sigma)

    def __repr__(self):
        return ("AECodec(stride=%d, sigma=%g, num_joints=%d, max_people=%d, "
                "detection_threshold=%g, tag_threshold=%g, top_k=%d, refine=%s, adjust=%s)"
                % (self.stride, self.sigma, self.num_joints, self.max_people,
                   self.detection_threshold, self.tag_threshold, self.top_k, self.refine,
                   self.adjust))

