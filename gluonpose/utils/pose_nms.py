r"""Pose NMS in NumPy: OKS and OKS-NMS, soft-OKS-NMS, AlphaPose's parametric pose NMS.

Everything is vectorised over candidates and joints; the greedy NMS loops
only over the poses it keeps. No compiled extension is needed.

OKS between two poses ``a`` and ``b`` with ``J`` joints:

.. math::
    \mathrm{OKS} = \frac{1}{|V|} \sum_{j \in V}
        \exp\Big(-\frac{d_j^2}{2\, s^2\, (2\sigma_j)^2}\Big)

with ``d_j`` the Euclidean distance of joint ``j``, ``s^2`` an object area
(pycocotools uses the ground-truth area; pose NMS uses the mean of the two
areas, as Simple Baselines/HRNet do) and ``V`` the joints taken into account
(all, or those of ``a`` whose third column exceeds ``vis_thresh``). This is
pycocotools' ``computeOks`` formula, ``e = d^2 / (2\sigma)^2 / (area + eps) / 2``.
"""
import numpy as np

from ..data.schema import COCO_PERSON, KeypointSchema

__all__ = ["resolve_sigmas", "oks_iou", "oks_nms", "soft_oks_nms", "parametric_similarity",
           "parametric_pose_nms", "POSE_NMS_METHODS", "resolve_pose_nms", "apply_pose_nms"]

_EPS = np.spacing(1)  # pycocotools adds this to the area


def resolve_sigmas(sigmas, num_joints):
    """Per-joint OKS sigmas as a float64 ``(J,)`` array.

    Parameters
    ----------
    sigmas : None, KeypointSchema or array-like
        ``None`` means the COCO-17 schema.
    num_joints : int
        Number of joints the sigmas must cover.

    Returns
    -------
    numpy.ndarray
        ``(num_joints,)`` sigmas.
    """
    if sigmas is None:
        sigmas = COCO_PERSON
    if isinstance(sigmas, KeypointSchema):
        name, sigmas = "schema %r" % sigmas.name, sigmas.sigmas
    else:
        name = "sigmas"
    sigmas = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    if sigmas.shape[0] != num_joints:
        raise ValueError("%s has %d OKS sigmas but the poses have %d joints; pass the "
                         "keypoint schema (or sigmas) of these poses"
                         % (name, sigmas.shape[0], num_joints))
    return sigmas


def oks_iou(kpts_a, kpts_b, area_a, areas_b, sigmas=None, vis_thresh=None, area_mode="mean"):
    """OKS of one pose against many.

    Parameters
    ----------
    kpts_a : array-like
        ``(J, 2)`` or ``(J, 3)`` reference pose ``(x, y[, score or visibility])``.
    kpts_b : array-like
        ``(M, J, 2|3)`` candidate poses (or a single ``(J, 2|3)`` pose).
    area_a : float
        Area of the reference object.
    areas_b : array-like
        ``(M,)`` areas of the candidates (or a scalar).
    sigmas : None, KeypointSchema or array-like
        Per-joint OKS sigmas; ``None`` = COCO-17.
    vis_thresh : float, optional
        When given, only joints with ``kpts_a[:, 2] > vis_thresh`` count
        (``vis_thresh=0`` with COCO visibility flags is pycocotools' rule for
        a ground truth ``a``). If no joint qualifies the OKS is 0.
    area_mode : {'mean', 'a'}
        Object scale ``s^2``: ``'mean'`` uses ``(area_a + areas_b) / 2``
        (symmetric, Simple Baselines' OKS-NMS); ``'a'`` uses ``area_a`` only
        (pycocotools, with ``a`` the ground truth).

    Returns
    -------
    numpy.ndarray
        ``(M,)`` OKS values in ``[0, 1]`` (a float for a single ``kpts_b``).
    """
    a = np.asarray(kpts_a, dtype=np.float64)
    b = np.asarray(kpts_b, dtype=np.float64)
    single = b.ndim == 2
    if single:
        b = b[None]
    if a.ndim != 2 or b.ndim != 3 or b.shape[1] != a.shape[0]:
        raise ValueError("oks_iou expects kpts_a (J, C) and kpts_b (M, J, C); got %s and %s"
                         % (a.shape, np.shape(kpts_b)))
    num_joints = a.shape[0]
    var = (2.0 * resolve_sigmas(sigmas, num_joints)) ** 2
    areas_b = np.broadcast_to(np.asarray(areas_b, dtype=np.float64), (b.shape[0],))
    if area_mode == "mean":
        scale = (float(area_a) + areas_b) / 2.0
    elif area_mode == "a":
        scale = np.full(b.shape[0], float(area_a))
    else:
        raise ValueError("area_mode must be 'mean' or 'a', got %r" % (area_mode,))
    sq_dist = ((b[:, :, :2] - a[None, :, :2]) ** 2).sum(axis=2)            # (M, J)
    e = sq_dist / var[None, :] / (scale[:, None] + _EPS) / 2.0
    if vis_thresh is not None:
        if a.shape[1] < 3:
            raise ValueError("vis_thresh needs a third column in kpts_a")
        keep = a[:, 2] > vis_thresh
        if not keep.any():
            out = np.zeros(b.shape[0])
            return float(out[0]) if single else out
        e = e[:, keep]
    out = np.exp(-e).mean(axis=1)
    return float(out[0]) if single else out


def _check_inputs(kpts, scores, areas):
    kpts = np.asarray(kpts, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    areas = np.asarray(areas, dtype=np.float64).reshape(-1)
    if kpts.ndim != 3 or kpts.shape[0] != scores.shape[0] or areas.shape[0] != scores.shape[0]:
        raise ValueError("expected kpts (N, J, C), scores (N,), areas (N,); got %s, %s, %s"
                         % (kpts.shape, scores.shape, areas.shape))
    return kpts, scores, areas


def oks_nms(kpts, scores, areas, thresh=0.9, sigmas=None, vis_thresh=None):
    """Greedy OKS non-maximum suppression.

    Repeatedly keeps the highest-scoring remaining pose and drops every
    remaining pose whose OKS with it exceeds ``thresh``.

    Parameters
    ----------
    kpts : array-like
        ``(N, J, 2|3)`` poses of one image.
    scores : array-like
        ``(N,)`` pose scores.
    areas : array-like
        ``(N,)`` object areas (e.g. the box area used for the crop).
    thresh : float
        OKS above which a pose is suppressed (Simple Baselines/HRNet use 0.9).
    sigmas : None, KeypointSchema or array-like
        Per-joint OKS sigmas; ``None`` = COCO-17.
    vis_thresh : float, optional
        See :func:`oks_iou`; applied to the kept pose's joint scores.

    Returns
    -------
    numpy.ndarray
        int64 indices of the kept poses, highest score first. Ties are broken
        by the lower index.
    """
    kpts, scores, areas = _check_inputs(kpts, scores, areas)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        if not rest.size:
            break
        ovr = oks_iou(kpts[i], kpts[rest], areas[i], areas[rest], sigmas, vis_thresh)
        order = rest[ovr <= thresh]
    return np.asarray(keep, dtype=np.int64)


def soft_oks_nms(kpts, scores, areas, thresh=0.3, sigmas=None, method="gaussian", sigma=0.5,
                 score_thresh=0.0, max_dets=None, vis_thresh=None):
    """Soft-NMS with OKS as the overlap (Bodla et al. 2017, applied to poses).

    Instead of dropping overlapping poses their scores decay: after picking
    the highest-scoring remaining pose ``p``, every remaining pose ``q`` is
    rescored with

    * ``'gaussian'``: ``s_q *= exp(-OKS(p, q)**2 / sigma)``;
    * ``'linear'``: ``s_q *= 1 - OKS(p, q)`` if ``OKS(p, q) >= thresh``.

    Picking continues until no remaining score reaches ``score_thresh`` or
    ``max_dets`` poses are kept.

    Parameters
    ----------
    kpts, scores, areas, sigmas, vis_thresh
        As in :func:`oks_nms`.
    thresh : float
        Overlap from which the linear decay applies (unused by ``'gaussian'``).
    method : {'gaussian', 'linear'}
        Decay function.
    sigma : float
        Width of the Gaussian decay.
    score_thresh : float
        Poses whose (decayed) score falls below this are not kept.
    max_dets : int, optional
        Keep at most this many poses.

    Returns
    -------
    keep : numpy.ndarray
        int64 indices of the kept poses in picking order (decayed score
        descending at the time of picking).
    new_scores : numpy.ndarray
        ``(N,)`` float64 rescored scores of all input poses.
    """
    if method not in ("gaussian", "linear"):
        raise ValueError("method must be 'gaussian' or 'linear', got %r" % (method,))
    kpts, scores, areas = _check_inputs(kpts, scores, areas)
    new_scores = scores.copy()
    remaining = np.arange(scores.shape[0])
    keep = []
    while remaining.size:
        # argmax picks the first maximum and ``remaining`` is ascending: ties -> lower index
        pos = int(np.argmax(new_scores[remaining]))
        i = remaining[pos]
        if new_scores[i] < score_thresh:
            break
        keep.append(i)
        remaining = np.delete(remaining, pos)
        if (max_dets is not None and len(keep) >= max_dets) or not remaining.size:
            break
        ovr = oks_iou(kpts[i], kpts[remaining], areas[i], areas[remaining], sigmas, vis_thresh)
        if method == "gaussian":
            decay = np.exp(-ovr ** 2 / sigma)
        else:
            decay = np.where(ovr >= thresh, 1.0 - ovr, 1.0)
        new_scores[remaining] *= decay
    return np.asarray(keep, dtype=np.int64), new_scores


# ----------------------------------------------------------------------------- parametric NMS

def _ref_sizes(boxes, num):
    """Per-pose reference size: ``max(w, h)`` of ``(N, 4)`` boxes, or ``sqrt`` of ``(N,)`` areas."""
    arr = np.asarray(boxes, dtype=np.float64)
    if arr.ndim == 2 and arr.shape == (num, 4):
        size = np.maximum(arr[:, 2] - arr[:, 0], arr[:, 3] - arr[:, 1])
    elif arr.ndim <= 1 and arr.size == num:
        size = np.sqrt(np.maximum(arr.reshape(num), 0.0))
    else:
        raise ValueError("boxes: expected (N, 4) boxes (x0, y0, x1, y1) or (N,) areas for %d "
                         "poses, got shape %s" % (num, arr.shape))
    return np.maximum(size, 0.0)


def parametric_similarity(ref_kpts, ref_scores, kpts, scores, delta1=1.0, mu=1.7, delta2=2.65):
    r"""RMPE's pose similarity :math:`K_{sim} + \mu H_{sim}` of one pose against many.

    :math:`K_{sim} = \sum_{n: d_n \le 1} \tanh(c_{ref}^n/\delta_1)\tanh(c^n/\delta_1)`
    (keypoints at most 1 pixel apart, as AlphaPose gates it) and
    :math:`H_{sim} = \sum_n \exp(-d_n/\delta_2)`, with ``d_n`` the Euclidean
    distance of keypoint ``n``.

    Parameters
    ----------
    ref_kpts : array-like
        ``(J, 2)`` reference keypoints.
    ref_scores : array-like
        ``(J,)`` their scores.
    kpts : array-like
        ``(M, J, 2)`` other poses.
    scores : array-like
        ``(M, J)`` their keypoint scores.
    delta1, mu, delta2 : float

    Returns
    -------
    numpy.ndarray
        ``(M,)`` similarities.
    """
    ref = np.asarray(ref_kpts, dtype=np.float64)[:, :2]
    xy = np.asarray(kpts, dtype=np.float64)[:, :, :2]
    dist = np.sqrt(((xy - ref[None]) ** 2).sum(axis=2))                     # (M, J)
    k_sim = np.where(dist <= 1.0, np.tanh(np.asarray(ref_scores, np.float64) / delta1)
                     * np.tanh(np.asarray(scores, np.float64) / delta1), 0.0).sum(axis=1)
    h_sim = np.exp(-dist / delta2).sum(axis=1)
    return k_sim + mu * h_sim


def parametric_pose_nms(kpts, kpt_scores, boxes, delta1=1.0, mu=1.7, delta2=2.65, gamma=22.48,
                        score_thresh=0.3, match_thresh=5, alpha=0.1, match_radius=7.0,
                        merge_radius=15.0, min_box_area=0.0):
    r"""AlphaPose's parametric pose NMS with pose merging (RMPE, Fang et al. ICCV 2017).

    Greedy: the remaining pose ``p`` with the highest mean keypoint score is
    picked, and every remaining pose ``q`` (``p`` itself included) that is
    close to it is removed and joins ``p``'s cluster. With ``d_n`` the
    distance of keypoint ``n`` between ``p`` and ``q`` and ``c`` the keypoint
    scores, ``q`` is close when

    * the parametric similarity exceeds ``gamma``:
      :math:`K_{sim} + \mu H_{sim} > \gamma` with
      :math:`K_{sim} = \sum_{n: d_n \le 1} \tanh(c_p^n/\delta_1)\tanh(c_q^n/\delta_1)`
      and :math:`H_{sim} = \sum_n \exp(-d_n/\delta_2)`, or
    * at least ``match_thresh`` keypoints lie within
      ``min(alpha * size_p, match_radius)`` pixels.

    Then each cluster is merged into one pose: keypoint ``n`` of the result
    is the score-weighted mean of the members' keypoints ``n`` that lie
    within ``min(alpha * size_p, merge_radius)`` of the pick's, with weights
    :math:`w = c / \sum c` and score :math:`\sum c\,w`. A pick whose maximum
    keypoint score, before or after merging, is below ``score_thresh`` is
    dropped, and so is one whose merged keypoint extent times 1.5² is
    smaller than ``min_box_area``.

    The defaults are those of AlphaPose's ``pPose_nms.py`` for body poses
    (17/26 keypoints). As there, zero keypoint scores are raised to 1e-5
    first (so every keypoint of a pick has a positive merge weight), ``size_p``
    is the larger side of the pick's box, and the 1-pixel gate of
    :math:`K_{sim}` and both radii are in pixels.

    Parameters
    ----------
    kpts : array-like
        ``(N, J, 2)`` keypoints ``(x, y)`` of one image (a third column is ignored).
    kpt_scores : array-like
        ``(N, J)`` (or ``(N, J, 1)``) keypoint scores.
    boxes : array-like
        ``(N, 4)`` person boxes ``(x0, y0, x1, y1)`` (AlphaPose's input), or
        ``(N,)`` areas, whose square root then stands in for the larger side.
    delta1, mu, delta2, gamma : float
        :math:`\sigma_1, \lambda, \sigma_2, \eta` of the paper.
    score_thresh : float
        Minimum of a kept pose's largest keypoint score.
    match_thresh : int
        Matched keypoints that make a pose a duplicate.
    alpha : float
        Reference distance as a fraction of the box size.
    match_radius, merge_radius : float
        Upper bounds in pixels of the matching and merging distances.
    min_box_area : float
        AlphaPose's ``min_box_area`` option (0 keeps all).

    Returns
    -------
    keep : numpy.ndarray
        int64 ``(K,)`` indices of the kept picks, in picking order (mean
        keypoint score descending; ties go to the lower index).
    merged_kpts : numpy.ndarray
        float64 ``(K, J, 2)`` merged keypoints.
    merged_scores : numpy.ndarray
        float64 ``(K, J)`` merged keypoint scores.
    """
    xy = np.asarray(kpts, dtype=np.float64)
    if xy.ndim != 3 or xy.shape[2] < 2:
        raise ValueError("kpts: expected (N, J, 2|3) keypoints, got shape %s" % (xy.shape,))
    num, num_joints = xy.shape[:2]
    xy = xy[:, :, :2]
    scores = np.asarray(kpt_scores, dtype=np.float64)
    if scores.size != num * num_joints:
        raise ValueError("kpt_scores: expected (%d, %d) scores, got shape %s"
                         % (num, num_joints, scores.shape))
    scores = scores.reshape(num, num_joints)
    # AlphaPose's guard: a zero score would give a keypoint no merge weight at all
    scores = np.where(scores == 0, 1e-5, scores)
    ref_dist = alpha * _ref_sizes(boxes, num)
    empty = (np.zeros(0, np.int64), np.zeros((0, num_joints, 2)), np.zeros((0, num_joints)))
    if num == 0:
        return empty

    human = scores.mean(axis=1)
    alive = np.ones(num, bool)
    picks, clusters = [], []
    while alive.any():
        cand = np.flatnonzero(alive)
        # argmax takes the first maximum and ``cand`` is ascending: ties -> lower index
        p = cand[np.argmax(human[cand])]
        sim = parametric_similarity(xy[p], scores[p], xy[cand], scores[cand], delta1, mu,
                                    delta2)
        dist = np.sqrt(((xy[cand] - xy[p]) ** 2).sum(axis=2))               # (M, J)
        matched = (dist <= min(ref_dist[p], match_radius)).sum(axis=1)
        gone = (sim > gamma) | (matched >= match_thresh) | (cand == p)
        picks.append(p)
        clusters.append(cand[gone])
        alive[cand[gone]] = False

    keep, out_xy, out_s = [], [], []
    for p, members in zip(picks, clusters):
        if scores[p].max() < score_thresh:
            continue
        dist = np.sqrt(((xy[members] - xy[p]) ** 2).sum(axis=2))            # (m, J)
        weight = np.where(dist <= min(ref_dist[p], merge_radius), scores[members], 0.0)
        # the pick is a member at distance 0, so every column sums to > 0
        norm = weight / weight.sum(axis=0, keepdims=True)
        merged_xy = (xy[members] * norm[:, :, None]).sum(axis=0)
        merged_s = (weight * norm).sum(axis=0)
        if merged_s.max() < score_thresh:
            continue
        if min_box_area > 0:
            extent = merged_xy.max(axis=0) - merged_xy.min(axis=0)
            if 1.5 ** 2 * extent[0] * extent[1] < min_box_area:
                continue
        keep.append(p)
        out_xy.append(merged_xy)
        out_s.append(merged_s)
    if not keep:
        return empty
    return np.asarray(keep, np.int64), np.stack(out_xy), np.stack(out_s)


# ----------------------------------------------------------------------------- dispatch

#: Pose NMS methods selectable in ``gluonpose eval`` / ``gluonpose predict`` (``--pose-nms``).
POSE_NMS_METHODS = ("none", "oks", "soft-oks", "parametric")


def resolve_pose_nms(method=None, oks_thresh=None):
    """The pose NMS method and OKS threshold implied by ``--pose-nms`` and ``--oks-nms``.

    ``--oks-nms T`` alone means OKS-NMS at ``T`` (what it always meant); with
    ``--pose-nms oks`` it sets the threshold (default 0.9). It does not
    combine with another method.

    Parameters
    ----------
    method : str, optional
        One of :data:`POSE_NMS_METHODS`; ``None`` = decided by ``oks_thresh``.
    oks_thresh : float, optional

    Returns
    -------
    (str, float or None)
    """
    if method is None:
        return ("oks", float(oks_thresh)) if oks_thresh is not None else ("none", None)
    method = str(method).lower()
    if method not in POSE_NMS_METHODS:
        raise ValueError("--pose-nms must be one of %s, got %r"
                         % (", ".join(POSE_NMS_METHODS), method))
    if method == "oks":
        return method, 0.9 if oks_thresh is None else float(oks_thresh)
    if oks_thresh is not None:
        raise ValueError("--oks-nms sets the OKS-NMS threshold; it does not combine with "
                         "--pose-nms %s" % method)
    return method, None


def apply_pose_nms(method, kpts, pose_scores, areas, boxes=None, sigmas=None, oks_thresh=0.9,
                   rescore=None):
    """Run one pose NMS method on the poses of one image.

    Parameters
    ----------
    method : {'none', 'oks', 'soft-oks', 'parametric'}
        ``'none'`` only sorts; ``'oks'`` is :func:`oks_nms`; ``'soft-oks'`` is
        :func:`soft_oks_nms` (Gaussian, every pose kept with its decayed
        score); ``'parametric'`` is :func:`parametric_pose_nms`, which also
        merges keypoints.
    kpts : array-like
        ``(N, J, 3)`` keypoints ``(x, y, score)``.
    pose_scores : array-like
        ``(N,)`` pose scores.
    areas : array-like
        ``(N,)`` object areas (OKS scale; parametric NMS size without ``boxes``).
    boxes : array-like, optional
        ``(N, 4)`` person boxes ``(x0, y0, x1, y1)`` for parametric NMS.
    sigmas : None, KeypointSchema or array-like
        OKS sigmas; ``None`` = COCO-17.
    oks_thresh : float
        OKS-NMS threshold (``'oks'`` only).
    rescore : callable, optional
        ``rescore(joint_scores (K, J), keep (K,)) -> (K,)`` pose scores of the
        merged poses (``'parametric'`` only); by default the picks keep theirs.

    Returns
    -------
    keep : numpy.ndarray
        int64 indices of the kept input poses, best first.
    kpts : numpy.ndarray
        ``(K, J, 3)`` their keypoints (merged for ``'parametric'``).
    scores : numpy.ndarray
        ``(K,)`` their pose scores (decayed for ``'soft-oks'``, rescored for
        ``'parametric'``).
    """
    kpts = np.asarray(kpts)
    if kpts.ndim != 3 or kpts.shape[2] != 3:
        raise ValueError("kpts: expected (N, J, 3) keypoints with scores, got shape %s"
                         % (kpts.shape,))
    if method not in POSE_NMS_METHODS:
        raise ValueError("--pose-nms must be one of %s, got %r"
                         % (", ".join(POSE_NMS_METHODS), method))
    pose_scores = np.asarray(pose_scores, dtype=np.float64).reshape(-1)
    if method == "none" or (len(kpts) < 2 and method != "parametric"):
        # nothing to suppress; parametric NMS still applies its score floor to one pose
        keep = np.argsort(-pose_scores, kind="stable")
        return keep, kpts[keep], pose_scores[keep]
    if method == "oks":
        keep = oks_nms(kpts, pose_scores, areas, oks_thresh, sigmas=sigmas)
        return keep, kpts[keep], pose_scores[keep]
    if method == "soft-oks":
        keep, new = soft_oks_nms(kpts, pose_scores, areas, sigmas=sigmas)
        return keep, kpts[keep], new[keep]
    # parametric: suppression plus merging
    keep, merged_xy, merged_s = parametric_pose_nms(
        kpts[:, :, :2], kpts[:, :, 2], areas if boxes is None else boxes)
    scores = pose_scores[keep] if rescore is None else \
        np.asarray(rescore(merged_s, keep), np.float64).reshape(-1)
    merged = np.concatenate([merged_xy, merged_s[:, :, None]], axis=2).astype(kpts.dtype)
    # best first, like the other methods (picking order is by mean keypoint score)
    order = np.argsort(-scores, kind="stable")
    return keep[order], merged[order], scores[order]
