"""Multi-object tracking metrics for pose tracks (MOTA, IDF1, ID switches).

Poses are matched frame by frame with the CLEAR-MOT rules of ``motmetrics``:
the distance between a ground-truth pose and a predicted one is ``1 - OKS``
(pycocotools' OKS, with the ground truth's visible joints and its area as
the scale), and a pair can only be matched when ``OKS >= oks_threshold``.
Existing matches are kept from frame to frame while they stay allowed, so a
switch is counted when a ground-truth person is matched to a new predicted
id (motmetrics' definition).

Frames use the PoseTrack-like per-frame layout documented in
:mod:`gluonpose.tracking.io` (the ``frames`` list: results written by
:func:`~gluonpose.tracking.io.write_track_json` and the ground truth of
``tools/make_track_sequence.py`` alike)::

    [{"frame": 0, "people": [{"track_id": 1, "keypoints": [x, y, v, ...],
                              "box": [x0, y0, x1, y1]}, ...]}, ...]

A dict ``{frame: [people]}`` is accepted too.  Ground-truth people with no
visible joint cannot be scored with OKS and are left out, as PoseTrack does.
"""
import numpy as np

from ..data.schema import get_schema
from ..utils.pose_nms import oks_iou

__all__ = ["track_metrics", "TRACK_METRICS"]

#: The motmetrics metrics returned by :func:`track_metrics`.
TRACK_METRICS = ("mota", "motp", "idf1", "idp", "idr", "num_switches", "precision", "recall",
                 "num_false_positives", "num_misses", "num_matches", "num_objects",
                 "num_predictions", "num_unique_objects", "mostly_tracked", "mostly_lost",
                 "num_fragmentations")

_COUNTS = {"num_switches", "num_false_positives", "num_misses", "num_matches", "num_objects",
           "num_predictions", "num_unique_objects", "mostly_tracked", "mostly_lost",
           "num_fragmentations"}


def _by_frame(frames):
    """``{frame index: [people]}`` from any accepted layout."""
    if isinstance(frames, dict) and "frames" in frames:    # a whole track / ground-truth file
        frames = frames["frames"]
    if isinstance(frames, dict):
        return {int(k): list(v) for k, v in frames.items()}
    out = {}
    for i, fr in enumerate(frames):
        out.setdefault(int(fr.get("frame", i)), []).extend(fr.get("people", []))
    return out


def _poses(people, num_joints):
    """Ids ``(N,)`` and keypoints ``(N, J, 3)`` of one frame's people."""
    ids = [p["track_id"] for p in people]
    kpts = np.asarray([np.asarray(p["keypoints"], np.float64).reshape(num_joints, -1)[:, :3]
                       for p in people]).reshape(len(people), num_joints, 3)
    return ids, kpts


def _gt_areas(people, kpts):
    """Object scale of each ground-truth person: ``area``, else box, else joint extent."""
    areas = np.empty(len(people))
    for n, p in enumerate(people):
        if "area" in p:
            areas[n] = p["area"]
        elif "box" in p:
            x0, y0, x1, y1 = p["box"][:4]
            areas[n] = max(x1 - x0, 0.0) * max(y1 - y0, 0.0)
        else:
            vis = kpts[n, kpts[n, :, 2] > 0, :2]
            areas[n] = np.prod(vis.max(0) - vis.min(0))
    return areas


def track_metrics(gt_frames, pred_frames, schema="coco", oks_threshold=0.5):
    """CLEAR-MOT and identity metrics of predicted pose tracks.

    Parameters
    ----------
    gt_frames : list of dict or dict
        Ground truth per frame (see the module docstring), or a whole
        document whose ``frames`` holds them; keypoints' third column is the
        visibility (> 0 = labelled).
    pred_frames : list of dict or dict
        Predicted tracks in the same layout; the third column (a score) is
        not used.  Frames missing here have no predictions.
    schema : str or KeypointSchema
        Keypoint set giving the OKS sigmas.
    oks_threshold : float
        Smallest OKS at which a prediction may match a ground-truth pose.

    Returns
    -------
    dict
        The metrics of :data:`TRACK_METRICS` (counts as ``int``, rates as
        ``float``; ``mota`` is NaN without ground truth) and ``mean_oks``,
        the mean OKS of the matched pairs (``1 - motp``).
    """
    import motmetrics as mm                          # optional at import time

    if not 0.0 < oks_threshold <= 1.0:
        raise ValueError("oks_threshold must be in (0, 1], got %r" % (oks_threshold,))
    schema = get_schema(schema)
    num_joints = schema.num_joints
    gt, pred = _by_frame(gt_frames), _by_frame(pred_frames)
    acc = mm.MOTAccumulator(auto_id=True)
    for f in sorted(set(gt) | set(pred)):
        g_people = gt.get(f, [])
        g_ids, g_kpts = _poses(g_people, num_joints)
        keep = (g_kpts[:, :, 2] > 0).any(axis=1)
        g_people = [p for p, k in zip(g_people, keep) if k]
        g_ids, g_kpts = [i for i, k in zip(g_ids, keep) if k], g_kpts[keep]
        p_ids, p_kpts = _poses(pred.get(f, []), num_joints)
        if len(set(p_ids)) != len(p_ids) or len(set(g_ids)) != len(g_ids):
            raise ValueError("frame %d: a track id appears twice" % f)
        dist = np.full((len(g_ids), len(p_ids)), np.nan)
        if len(g_ids) and len(p_ids):
            areas = _gt_areas(g_people, g_kpts)
            for n in range(len(g_ids)):
                oks = oks_iou(g_kpts[n], p_kpts, areas[n], areas[n], sigmas=schema,
                              vis_thresh=0.0, area_mode="a")
                dist[n] = np.where(oks >= oks_threshold, 1.0 - oks, np.nan)
        acc.update(g_ids, p_ids, dist)
    summary = mm.metrics.create().compute(acc, metrics=list(TRACK_METRICS), name="seq")
    row = summary.iloc[0]
    out = {k: (int(row[k]) if k in _COUNTS else float(row[k])) for k in TRACK_METRICS}
    out["mean_oks"] = 1.0 - out["motp"] if out["num_matches"] else float("nan")
    return out
