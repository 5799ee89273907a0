r"""Object keypoint similarity (OKS) and OKS-based pose NMS, in NumPy.

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

__all__ = ["resolve_sigmas", "oks_iou", "oks_nms", "soft_oks_nms"]

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
