"""Pairwise similarity matrices between tracked poses and new poses.

Every function here takes the ``M`` poses of the tracks (rows) and the ``N``
poses of the new frame (columns) and returns an ``(M, N)`` float64 matrix,
computed with NumPy broadcasting rather than a loop over pairs. These are the
terms of the PoseFlow grade (see :class:`~gluonpose.tracking.PoseTracker`):

* :func:`box_iou` of the keypoint-extent boxes (:func:`pose_boxes`),
* :func:`keypoint_box_iou`: mean of the ``num`` largest IoUs of the
  ``2 mag`` squares centred on corresponding joints,
* :func:`correspondence_iou`: how many ORB matches between the two frames
  fall in both regions over how many fall in either (:func:`orb_matches`,
  needs the frames),
* :func:`oks_matrix`: object keypoint similarity with the schema's sigmas
  (pycocotools' formula, as :func:`gluonpose.utils.pose_nms.oks_iou`), over
  the joints confident in both poses.

Boxes are ``(xmin, ymin, xmax, ymax)`` in continuous pixel coordinates
(area ``(xmax - xmin) * (ymax - ymin)``, no ``+ 1``).
"""
import numpy as np

from ..utils.pose_nms import oks_iou, resolve_sigmas

# pycocotools adds this to the area (as gluonpose.utils.pose_nms does)
_EPS = np.spacing(1)

__all__ = ["pose_boxes", "box_areas", "box_iou", "keypoint_box_iou", "keypoint_regions_mask",
           "boxes_mask", "correspondence_iou", "orb_features", "orb_matches", "oks_matrix"]


def _kpts(kpts, name="kpts"):
    arr = np.asarray(kpts, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[2] < 2:
        raise ValueError("%s must be (N, J, 2|3), got shape %s" % (name, np.shape(kpts)))
    return arr


def _boxes(boxes):
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4)


def pose_boxes(kpts, thresh=None, expand=0.1, size=None):
    """Boxes around the visible joints of each pose.

    Parameters
    ----------
    kpts : array-like
        ``(N, J, 2|3)`` poses ``(x, y[, score])``.
    thresh : float, optional
        Joints whose score is ``> thresh`` span the box. A pose with no such
        joint (or ``thresh=None``, or no score column) uses all its joints, so
        every pose gets a box.
    expand : float
        Fraction of the extent's width / height added on *each* side (0.1 =
        10 %, PoseFlow's margin).
    size : (int, int), optional
        ``(width, height)`` of the image; the boxes are clipped to it.

    Returns
    -------
    numpy.ndarray
        ``(N, 4)`` float64 boxes.
    """
    kp = _kpts(kpts)
    if kp.shape[0] == 0:
        return np.zeros((0, 4))
    xy = kp[:, :, :2]
    if thresh is not None and kp.shape[2] > 2:
        vis = kp[:, :, 2] > thresh
        # a pose with no confident joint falls back to all of them
        vis[~vis.any(axis=1)] = True
    else:
        vis = np.ones(kp.shape[:2], dtype=bool)
    lo = np.where(vis[..., None], xy, np.inf).min(axis=1)       # (N, 2)
    hi = np.where(vis[..., None], xy, -np.inf).max(axis=1)
    margin = (hi - lo) * float(expand)
    boxes = np.concatenate([lo - margin, hi + margin], axis=1)
    if size is not None:
        width, height = size
        boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0.0, float(width))
        boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0.0, float(height))
    return boxes


def box_areas(boxes):
    """``(N,)`` areas of ``(N, 4)`` boxes (0 for degenerate ones)."""
    b = _boxes(boxes)
    return np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)


def box_iou(boxes_a, boxes_b):
    """Pairwise IoU of two sets of boxes.

    Parameters
    ----------
    boxes_a : array-like
        ``(M, 4)`` ``(xmin, ymin, xmax, ymax)``.
    boxes_b : array-like
        ``(N, 4)``.

    Returns
    -------
    numpy.ndarray
        ``(M, N)`` IoU; 0 where the union is empty.
    """
    a, b = _boxes(boxes_a), _boxes(boxes_b)
    wh = np.clip(np.minimum(a[:, None, 2:], b[None, :, 2:])
                 - np.maximum(a[:, None, :2], b[None, :, :2]), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_areas(a)[:, None] + box_areas(b)[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def keypoint_box_iou(kpts_a, kpts_b, num=7, mag=30.0, thresh=None, shown_only=False):
    """PoseFlow's pose IoU: mean of the ``num`` best joint-square IoUs.

    Each joint is a square of side ``2 mag`` centred on it; for each pair of
    poses the IoUs of the ``J`` corresponding squares are computed and the
    ``num`` largest averaged (all ``J`` when ``J < num``). Taking the best few
    rather than all joints makes the score robust to a few badly placed
    (occluded) joints.

    Parameters
    ----------
    kpts_a, kpts_b : array-like
        ``(M, J, 2|3)`` and ``(N, J, 2|3)`` poses.
    num : int
        How many of the best joint IoUs are averaged.
    mag : float
        Half side of the squares, in pixels.
    thresh : float, optional
        When given, a joint scoring ``<= thresh`` in either pose counts as
        IoU 0 (needs a score column).
    shown_only : bool
        With ``thresh``: average the best ``min(num, S)`` IoUs, ``S`` the
        joints above ``thresh`` in both poses, instead of ``num`` (a pair with
        no such joint gets 0). A person showing two joints is then judged by
        how well those two agree, not marked down for the joints nobody can
        see.

    Returns
    -------
    numpy.ndarray
        ``(M, N)`` values in ``[0, 1]``.
    """
    a, b = _kpts(kpts_a, "kpts_a"), _kpts(kpts_b, "kpts_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError("poses have %d and %d joints" % (a.shape[1], b.shape[1]))
    m, n, j = a.shape[0], b.shape[0], a.shape[1]
    if m == 0 or n == 0:
        return np.zeros((m, n))
    side = 2.0 * float(mag)
    # squares of equal side: the overlap depends only on the offset of the centres
    d = np.abs(a[:, None, :, :2] - b[None, :, :, :2])                   # (M, N, J, 2)
    ov = np.clip(side - d, 0, None)
    inter = ov[..., 0] * ov[..., 1]
    iou = inter / (2.0 * side * side - inter)
    k = max(1, min(int(num), j))
    if thresh is None:
        return np.partition(iou, j - k, axis=2)[..., j - k:].mean(axis=2)
    vis = (a[:, None, :, 2] > thresh) & (b[None, :, :, 2] > thresh)
    iou = np.where(vis, iou, 0.0)
    # the hidden joints are 0, so the top k hold the best min(k, shown) shown ones
    top = np.partition(iou, j - k, axis=2)[..., j - k:].sum(axis=2)
    if not shown_only:
        return top / k
    count = np.minimum(vis.sum(axis=2), k)
    return np.divide(top, count, out=np.zeros_like(top), where=count > 0)


def boxes_mask(points, boxes):
    """``(P, N)`` bool: point ``p`` lies inside box ``n`` (edges included)."""
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    b = _boxes(boxes)
    return ((p[:, None, 0] >= b[None, :, 0]) & (p[:, None, 0] <= b[None, :, 2])
            & (p[:, None, 1] >= b[None, :, 1]) & (p[:, None, 1] <= b[None, :, 3]))


def keypoint_regions_mask(points, kpts, mag=30.0):
    """``(P, N)`` bool: point ``p`` lies in the union of pose ``n``'s joint squares.

    The squares are those of :func:`keypoint_box_iou` (half side ``mag``).
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    k = _kpts(kpts)
    d = np.abs(p[:, None, None, :] - k[None, :, :, :2])                 # (P, N, J, 2)
    return (d <= float(mag)).all(axis=3).any(axis=2)


def correspondence_iou(inside_a, inside_b):
    """IoU of two region sets measured by point correspondences.

    Parameters
    ----------
    inside_a : array-like
        ``(P, M)`` bool: matched point ``p`` of the first frame lies in region
        ``m`` of that frame (e.g. :func:`boxes_mask`).
    inside_b : array-like
        ``(P, N)`` bool: its correspondent in the second frame lies in region
        ``n`` of that frame.

    Returns
    -------
    numpy.ndarray
        ``(M, N)``: matches inside both regions over matches inside either;
        0 where no match touches either region.
    """
    ia = np.asarray(inside_a, dtype=np.float64)
    ib = np.asarray(inside_b, dtype=np.float64)
    # one matrix product counts, for every pair, the matches landing in both regions
    both = ia.T @ ib
    either = ia.sum(axis=0)[:, None] + ib.sum(axis=0)[None, :] - both
    return np.divide(both, either, out=np.zeros_like(both), where=either > 0)


def _gray(frame):
    import cv2
    img = np.asarray(frame)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    elif img.ndim == 3:
        # BGR or RGB gives (almost) the same grey image; ORB only needs texture
        img = cv2.cvtColor(np.ascontiguousarray(img[:, :, :3]), cv2.COLOR_BGR2GRAY)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(img)


def orb_features(frame, n_features=1000, mask=None):
    """ORB keypoints of a frame: ``(points (P, 2) float64, descriptors or None)``.

    ``mask`` (``(H, W)`` uint8, optional): search only where it is non-zero.
    """
    import cv2
    orb = cv2.ORB_create(nfeatures=int(n_features))
    if mask is not None:
        mask = np.ascontiguousarray(mask, dtype=np.uint8)
    keypoints, desc = orb.detectAndCompute(_gray(frame), mask)
    pts = np.array([kp.pt for kp in keypoints], dtype=np.float64).reshape(-1, 2)
    return pts, desc


def orb_matches(frame_a, frame_b, n_features=1000, features_a=None, features_b=None):
    """Point correspondences between two frames from ORB + brute-force matching.

    Parameters
    ----------
    frame_a, frame_b : numpy.ndarray
        ``(H, W[, C])`` uint8 frames (ignored where ``features_*`` is given).
    n_features : int
        ORB features per frame.
    features_a, features_b : tuple, optional
        Precomputed :func:`orb_features` output, so a tracker computes each
        frame's features once.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``(P, 2)`` points in ``frame_a`` and their ``(P, 2)`` matches in
        ``frame_b`` (``P`` may be 0).
    """
    import cv2
    pa, da = features_a if features_a is not None else orb_features(frame_a, n_features)
    pb, db = features_b if features_b is not None else orb_features(frame_b, n_features)
    if da is None or db is None or len(pa) == 0 or len(pb) == 0:
        return np.zeros((0, 2)), np.zeros((0, 2))
    # cross-checked Hamming matching keeps only mutual nearest neighbours
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
    matches = matcher.match(da, db)
    ia = np.array([m.queryIdx for m in matches], dtype=np.int64)
    ib = np.array([m.trainIdx for m in matches], dtype=np.int64)
    return pa[ia].reshape(-1, 2), pb[ib].reshape(-1, 2)


def oks_matrix(kpts_a, kpts_b, areas_a, areas_b, sigmas=None, vis_thresh=None, symmetric=True):
    """Pairwise OKS with the symmetric (mean) object area.

    The formula is pycocotools' (see :mod:`gluonpose.utils.pose_nms`):
    ``mean_j exp(-d_j^2 / (2 sigma_j)^2 / (s + eps) / 2)`` with ``s`` the
    mean of the two areas, over the joints that count.

    Parameters
    ----------
    kpts_a, kpts_b : array-like
        ``(M, J, 2|3)`` and ``(N, J, 2|3)`` poses.
    areas_a, areas_b : array-like
        ``(M,)`` and ``(N,)`` object areas (e.g. :func:`box_areas` of
        :func:`pose_boxes`).
    sigmas : None, KeypointSchema or array-like
        Per-joint OKS sigmas; ``None`` = COCO-17.
    vis_thresh : float, optional
        Only joints scoring ``> vis_thresh`` count; ``None`` counts all.
    symmetric : bool
        ``True``: a joint counts when it scores above ``vis_thresh`` in *both*
        poses, and a pair with no such joint has OKS 0. This is the tracking
        case: a joint occluded in either frame has an unreliable location, and
        counting it would make a person who turns or gets partly covered look
        like someone else. ``False``: only the row pose's scores decide, as
        pycocotools does with a ground truth (a row with no such joint then
        counts all its joints); this is
        :func:`gluonpose.utils.pose_nms.oks_iou` row by row.

    Returns
    -------
    numpy.ndarray
        ``(M, N)`` OKS in ``[0, 1]``.
    """
    a, b = _kpts(kpts_a, "kpts_a"), _kpts(kpts_b, "kpts_b")
    m, n = a.shape[0], b.shape[0]
    areas_a = np.broadcast_to(np.asarray(areas_a, dtype=np.float64), (m,))
    areas_b = np.broadcast_to(np.asarray(areas_b, dtype=np.float64), (n,))
    out = np.zeros((m, n))
    if m == 0 or n == 0:
        return out
    var = (2.0 * resolve_sigmas(sigmas, a.shape[1])) ** 2
    if not symmetric:
        for i in range(m):  # one call per row, vectorised over the columns
            thr = vis_thresh
            if thr is not None and (a.shape[2] < 3 or not (a[i, :, 2] > thr).any()):
                thr = None
            out[i] = oks_iou(a[i], b, areas_a[i], areas_b, sigmas=sigmas, vis_thresh=thr)
        return out
    if a.shape[1] != b.shape[1]:
        raise ValueError("poses have %d and %d joints" % (a.shape[1], b.shape[1]))
    # the one-sided visibility of oks_iou cannot express "visible in both", so the
    # same formula is broadcast here over (M, N, J)
    sq = ((a[:, None, :, :2] - b[None, :, :, :2]) ** 2).sum(axis=3)
    scale = (areas_a[:, None] + areas_b[None, :]) / 2.0
    sim = np.exp(-sq / var / (scale[..., None] + _EPS) / 2.0)
    if vis_thresh is None:
        return sim.mean(axis=2)
    if a.shape[2] < 3 or b.shape[2] < 3:
        raise ValueError("vis_thresh needs a score column in both poses")
    both = (a[:, None, :, 2] > vis_thresh) & (b[None, :, :, 2] > vis_thresh)
    count = both.sum(axis=2)
    total = np.where(both, sim, 0.0).sum(axis=2)
    return np.divide(total, count, out=out, where=count > 0)
