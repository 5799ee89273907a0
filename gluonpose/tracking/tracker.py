"""Online pose tracking: PoseFlow-style frame-to-frame association.

:class:`PoseTracker` gives every person of every frame a track id, looking
only at the past (online). Per frame:

1. The *candidates* are the latest pose of every track seen within the last
   ``link`` frames.
2. Each (candidate, new pose) pair gets a *grade*. With ``similarity=
   'poseflow'`` it is ``w . [corr-IoU of the boxes, box IoU, corr-IoU of the
   joint squares, joint-square IoU, candidate score, new score]`` (see
   :mod:`gluonpose.tracking.similarity`), with ``w = weights`` when the track
   was seen in the previous frame and ``w = weights_gap`` otherwise: after a
   gap the appearance terms (ORB correspondences between consecutive frames)
   are unavailable and the motion is less predictable. With ``similarity=
   'oks'`` the grade is the OKS, which needs only keypoints and the schema's
   sigmas, so it suits every model family.
3. The Hungarian algorithm picks the one-to-one assignment of largest total
   grade; a pair is accepted when its grade exceeds ``match_threshold``, every
   other new pose starts a new track (ids 1, 2, 3, ... in order of birth, and
   in input order within a frame).
4. Tracks unseen for more than ``max_age`` (default ``link``) frames are
   forgotten.

Unlike the offline PoseFlow script, an empty frame does not copy the
previous frame's people forward: the tracks simply go unseen for a frame.
"""
import numpy as np
from scipy.optimize import linear_sum_assignment

from ..data.schema import get_schema
from .similarity import (box_areas, box_iou, boxes_mask, correspondence_iou, keypoint_box_iou,
                         keypoint_regions_mask, oks_matrix, orb_features, orb_matches,
                         pose_boxes)

__all__ = ["Track", "PoseTracker", "SIMILARITIES"]

#: the grade functions :class:`PoseTracker` knows
SIMILARITIES = ("poseflow", "oks")

#: default ``match_threshold`` of each similarity (PoseFlow's 0.2; an OKS of 0.3 is a
#: loose "same person one frame later")
_DEFAULT_THRESHOLD = {"poseflow": 0.2, "oks": 0.3}


class Track:
    """One track: its id and its latest pose.

    Attributes
    ----------
    track_id : int
    pose : object
        The pose object last given to :meth:`PoseTracker.update` for it
        (e.g. a :class:`~gluonpose.inference.PersonPose`).
    keypoints : numpy.ndarray
        float64 ``(J, 3)`` of that pose.
    box : numpy.ndarray
        ``(4,)`` keypoint-extent box of that pose.
    score : float
    first_frame, last_frame : int
        Frame indices of its first and latest sighting.
    hits : int
        Number of frames it was seen in.
    misses : int
        Frames since its latest sighting, as of the tracker's current frame.
    """

    __slots__ = ("track_id", "pose", "keypoints", "box", "score", "first_frame", "last_frame",
                 "hits", "misses")

    def __init__(self, track_id, pose, keypoints, box, score, frame_index):
        self.track_id = int(track_id)
        self.first_frame = int(frame_index)
        self.hits = 0
        self.see(pose, keypoints, box, score, frame_index)

    def see(self, pose, keypoints, box, score, frame_index):
        """Record a new sighting."""
        self.pose = pose
        self.keypoints = keypoints
        self.box = box
        self.score = float(score)
        self.last_frame = int(frame_index)
        self.hits += 1
        self.misses = 0

    @property
    def age(self):
        """Frames from the first to the latest sighting, both included."""
        return self.last_frame - self.first_frame + 1

    def __repr__(self):
        return "Track(%d, frames %d-%d, hits=%d, misses=%d)" % (
            self.track_id, self.first_frame, self.last_frame, self.hits, self.misses)


def _pose_arrays(poses):
    """``(keypoints (N, J, 3) float64, scores (N,))`` of a list of poses.

    A pose is anything with a ``keypoints`` attribute (and optionally
    ``score``) or a ``(J, 2|3)`` array; missing joint scores are 1 and a
    missing pose score is the mean joint score.
    """
    kps, scores = [], []
    for p in poses:
        kp = np.asarray(getattr(p, "keypoints", p), dtype=np.float64)
        if kp.ndim != 2 or kp.shape[1] not in (2, 3):
            raise ValueError("a pose must be (J, 2|3) keypoints, got shape %s" % (kp.shape,))
        if kp.shape[1] == 2:
            kp = np.concatenate([kp, np.ones((kp.shape[0], 1))], axis=1)
        kps.append(kp)
        score = getattr(p, "score", None)
        scores.append(float(kp[:, 2].mean()) if score is None else float(score))
    if not kps:
        return None, np.zeros(0)
    if len({k.shape[0] for k in kps}) != 1:
        raise ValueError("the poses of a frame have different numbers of joints")
    return np.stack(kps), np.asarray(scores)


class PoseTracker:
    """Online multi-person pose tracker (PoseFlow-style).

    Parameters
    ----------
    link : int
        A track is a candidate while unseen for at most ``link`` frames.
    match_threshold : float, optional
        A match is accepted when its grade is ``> match_threshold``; ``None``
        means 0.2 for ``'poseflow'`` and 0.3 for ``'oks'``.
    weights : sequence of 6 float
        Grade weights for tracks seen in the previous frame, in the order
        ``(corr box IoU, box IoU, corr joint-square IoU, joint-square IoU,
        track score, new score)``.
    weights_gap : sequence of 6 float
        The weights for tracks last seen earlier.
    num : int
        Joints averaged by the joint-square IoU (the best ``num``).
    mag : float
        Half side, in pixels, of the squares around the joints.
    keypoint_thresh : float or None
        The joints trusted: those scoring above it span a pose's box and take
        part in the OKS (which counts the joints above it in both poses);
        ``None`` trusts every joint. The joint-square IoU uses every joint, as
        PoseFlow does: its best-``num`` average already skips the stray ones.
    use_orb : bool
        Compute the ORB correspondence terms. They need the frames passed to
        :meth:`update`; without frames (or when ``False``) those terms are 0.
        They are only available for tracks seen in the previous frame
        (correspondences are matched between consecutive frames), so a
        non-zero weight for them in ``weights_gap`` has no effect.
    similarity : {'poseflow', 'oks'}
        The grade: PoseFlow's weighted sum, or the OKS alone (``weights`` and
        ``weights_gap`` are then unused).
    schema : str or KeypointSchema
        Keypoint schema whose sigmas the OKS uses.
    max_age : int, optional
        Tracks unseen for more than ``max_age`` frames are forgotten
        (default ``link``); a smaller value also shortens the candidate window.
    orb_features : int
        ORB features per frame.
    """

    def __init__(self, link=100, match_threshold=None, weights=(1, 2, 1, 2, 0, 0),
                 weights_gap=(0, 1, 0, 1, 0, 0), num=7, mag=30, keypoint_thresh=0.2,
                 use_orb=False, similarity="poseflow", schema="coco", max_age=None,
                 orb_features=1000):
        if similarity not in SIMILARITIES:
            raise ValueError("similarity must be one of %s, got %r" % (SIMILARITIES, similarity))
        self.similarity = similarity
        self.link = int(link)
        if self.link < 1:
            raise ValueError("link must be >= 1, got %r" % (link,))
        self.max_age = self.link if max_age is None else int(max_age)
        self.match_threshold = float(_DEFAULT_THRESHOLD[similarity] if match_threshold is None
                                     else match_threshold)
        self.weights = np.asarray(weights, dtype=np.float64)
        self.weights_gap = np.asarray(weights_gap, dtype=np.float64)
        if self.weights.shape != (6,) or self.weights_gap.shape != (6,):
            raise ValueError("weights and weights_gap need 6 values each")
        self.num = int(num)
        self.mag = float(mag)
        self.keypoint_thresh = keypoint_thresh
        self.use_orb = bool(use_orb)
        self.orb_features = int(orb_features)
        self.schema = get_schema(schema)
        self.reset()

    def reset(self):
        """Forget every track; the next id is 1 again."""
        self._tracks = {}
        self._next_id = 1
        self._frame = None
        self._prev_features = None

    @property
    def tracks(self):
        """``{track id: Track}`` of the live tracks (a copy of the dict)."""
        return dict(self._tracks)

    @property
    def frame_index(self):
        """Index of the latest frame given to :meth:`update` (``None`` before any)."""
        return self._frame

    # ------------------------------------------------------------------------------------
    def _grade(self, cands, kpts, boxes, scores, frame_index, features):
        """``(M, N)`` grade of the candidate tracks against the new poses."""
        t_kpts = np.stack([t.keypoints for t in cands])
        t_boxes = np.stack([t.box for t in cands])
        if self.similarity == "oks":
            # the object scale comes from all joints: the box of the confident ones
            # collapses when a person is mostly hidden, which would zero the OKS
            return oks_matrix(t_kpts, kpts, box_areas(pose_boxes(t_kpts)),
                              box_areas(pose_boxes(kpts)), sigmas=self.schema,
                              vis_thresh=self.keypoint_thresh)
        m, n = len(cands), kpts.shape[0]
        recent = np.array([t.last_frame == frame_index - 1 for t in cands])
        w = np.where(recent[:, None], self.weights[None, :], self.weights_gap[None, :])  # (M, 6)
        terms = np.zeros((6, m, n))
        terms[1] = box_iou(t_boxes, boxes)
        terms[3] = keypoint_box_iou(t_kpts, kpts, num=self.num, mag=self.mag)
        terms[4] = np.array([t.score for t in cands])[:, None]
        terms[5] = scores[None, :]
        wants_corr = (w[:, [0, 2]] != 0).any()
        if wants_corr and features is not None and self._prev_features is not None \
                and recent.any():
            pts_prev, pts_cur = orb_matches(None, None, features_a=self._prev_features,
                                            features_b=features)
            # a track's stored box lives in the frame it was seen in, so only the
            # tracks of the previous frame can use the previous-to-current matches
            terms[0] = correspondence_iou(boxes_mask(pts_prev, t_boxes),
                                          boxes_mask(pts_cur, boxes))
            terms[2] = correspondence_iou(keypoint_regions_mask(pts_prev, t_kpts, self.mag),
                                          keypoint_regions_mask(pts_cur, kpts, self.mag))
            terms[[0, 2]] *= recent[None, :, None]
        return np.einsum("mk,kmn->mn", w, terms)

    def update(self, poses, frame=None, frame_index=None):
        """Assign track ids to the poses of the next frame.

        Parameters
        ----------
        poses : sequence
            The frame's people: :class:`~gluonpose.inference.PersonPose`,
            anything with ``keypoints`` (``(J, 3)``) and ``score``, or
            ``(J, 2|3)`` arrays. May be empty.
        frame : numpy.ndarray, optional
            The image, ``(H, W[, C])``: clips the boxes to it and feeds the
            ORB terms when ``use_orb``.
        frame_index : int, optional
            Index of the frame; default one more than the previous (0 first).
            Must increase; skipping indices counts as frames with nobody.

        Returns
        -------
        list of int
            One track id per pose, in the order of ``poses``.
        """
        if frame_index is None:
            frame_index = 0 if self._frame is None else self._frame + 1
        frame_index = int(frame_index)
        if self._frame is not None and frame_index <= self._frame:
            raise ValueError("frame_index must increase: got %d after %d"
                             % (frame_index, self._frame))
        poses = list(poses)
        kpts, scores = _pose_arrays(poses)
        size = None if frame is None else (np.shape(frame)[1], np.shape(frame)[0])
        features = None
        if self.use_orb and frame is not None and self.similarity == "poseflow":
            features = orb_features(frame, self.orb_features)

        # forget the tracks gone too long, then gather the candidates
        for tid in [t for t, tr in self._tracks.items()
                    if frame_index - tr.last_frame > self.max_age]:
            del self._tracks[tid]
        window = min(self.link, self.max_age)
        cands = [self._tracks[t] for t in sorted(self._tracks)
                 if frame_index - self._tracks[t].last_frame <= window]

        ids = [None] * len(poses)
        boxes = None
        if poses:
            boxes = pose_boxes(kpts, self.keypoint_thresh, expand=0.1, size=size)
        if poses and cands:
            grade = self._grade(cands, kpts, boxes, scores, frame_index, features)
            # pairs at or below the threshold are rejected anyway, so they get no say
            # in the assignment: it maximises the total grade of accepted matches
            gain = np.where(grade > self.match_threshold, grade, 0.0)
            rows, cols = linear_sum_assignment(gain, maximize=True)
            for r, c in zip(rows, cols):
                if grade[r, c] > self.match_threshold:
                    ids[c] = cands[r].track_id
        for i, pose in enumerate(poses):
            if ids[i] is None:
                ids[i] = self._next_id
                self._next_id += 1
                self._tracks[ids[i]] = Track(ids[i], pose, kpts[i], boxes[i], scores[i],
                                             frame_index)
            else:
                self._tracks[ids[i]].see(pose, kpts[i], boxes[i], scores[i], frame_index)
        for tr in self._tracks.values():
            tr.misses = frame_index - tr.last_frame
        self._frame = frame_index
        # correspondences are only ever taken between consecutive frames
        self._prev_features = features
        return ids

    def __repr__(self):
        return "PoseTracker(similarity=%r, link=%d, match_threshold=%g, %d tracks)" % (
            self.similarity, self.link, self.match_threshold, len(self._tracks))
