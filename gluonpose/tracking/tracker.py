"""Online pose tracking: PoseFlow-style frame-to-frame association.

:class:`PoseTracker` gives every person of every frame a track id, looking
only at the past (online). Per frame:

1. The *candidates* are the tracks seen within the last ``link`` frames,
   each at its *predicted* pose for this frame (the motion model below).
2. Each (candidate, new pose) pair gets a *grade*. With ``similarity=
   'poseflow'`` it is ``w . [corr-IoU of the boxes, box IoU, corr-IoU of the
   joint squares, joint-square IoU, candidate score, new score]`` (see
   :mod:`gluonpose.tracking.similarity`), with ``w = weights`` when the track
   was seen in the previous frame and ``w = weights_gap`` otherwise: after a
   gap the appearance terms (ORB correspondences between consecutive frames)
   are unavailable and the motion is less predictable. With ``similarity=
   'oks'`` the grade is the OKS, which needs only keypoints and the schema's
   sigmas, so it suits every model family. The joint terms (joint-square IoU,
   OKS) count only the joints *trusted* in both poses: scoring above
   ``keypoint_thresh`` in the new pose, seen at some time in the track.
3. The Hungarian algorithm picks the one-to-one assignment of largest total
   grade; a pair is accepted when its grade exceeds ``match_threshold``, every
   other new pose starts a new track (ids 1, 2, 3, ... in order of birth, and
   in input order within a frame).
4. Tracks unseen for more than ``max_age`` (default ``link``) frames are
   forgotten.

Unlike the offline PoseFlow script, an empty frame does not copy the
previous frame's people forward: the tracks simply go unseen for a frame.

*Motion model (re-entry and occlusion).* Every track remembers its body's
*shape* (each trusted joint's offset from an anchor) and the anchor: at each
sighting the anchor is placed where the remembered shape best fits the
joints seen now (the median over them), so it follows the body whichever
joints are in view. The anchor's velocity is
its step per frame between sightings, averaged with weight
``velocity_smoothing`` on the previous estimate. For frame ``f`` a track last
seen at frame ``g`` is predicted at ``anchor + velocity * min(f - g,
motion_horizon)`` plus its shape (``motion='velocity'``; ``motion='last'``
keeps the anchor where it was), its box moved the same way. Predictions are
clipped to the frame (the ``frame`` given to :meth:`PoseTracker.update`, or
``frame_size``, widened to every joint seen; without either, the extent of
every trusted joint seen so far): someone who walked out can only come back
through the border they left by, so a track that left waits there instead
of drifting away.

*Why.* A hidden joint carries no position (ground truth writes ``0, 0, 0``; a
network puts a low-scoring guess anywhere). On the 72-frame clip of
``tools/make_track_sequence.py`` with ground-truth poses, comparing every
joint gave a joint-square IoU of 1.0 between *unrelated* half-visible people
(their hidden joints all sit at ``(0, 0)``), and 3 identity switches (MOTA
0.987, IDF1 0.876): the swinging person coming out from behind the pillar
took the id of the one who had just gone behind it (frame 30), who came
out with the other's id (frame 44), and the swinging person walking back in
at the left edge took an id again (frame 61). With only trusted joints
compared, the shape-and-velocity prediction and the border clipping, the
same run has no switch: MOTA 1.0, IDF1 1.0 (``tests/test_track_motion.py``).
"""
import numpy as np
from scipy.optimize import linear_sum_assignment

from ..data.schema import get_schema
from .similarity import (box_areas, box_iou, boxes_mask, correspondence_iou, keypoint_box_iou,
                         keypoint_regions_mask, oks_matrix, orb_features, orb_matches,
                         pose_boxes)

__all__ = ["Track", "PoseTracker", "SIMILARITIES", "MOTIONS"]

#: the grade functions :class:`PoseTracker` knows
SIMILARITIES = ("poseflow", "oks")

#: default ``match_threshold`` of each similarity: PoseFlow's 0.2, and an OKS of 0.1, which
#: allows about the same step between frames (some 40 px for a person 200 px tall) as
#: PoseFlow's threshold on its 60-px joint squares
_DEFAULT_THRESHOLD = {"poseflow": 0.2, "oks": 0.1}

#: margin (px) kept around the people when ORB looks at part of a frame: its
#: descriptors read a 31-px patch around each keypoint
_ORB_PAD = 32

#: the motion models :class:`PoseTracker` knows (see the module docstring)
MOTIONS = ("velocity", "last")


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
    anchor : numpy.ndarray
        float64 ``(2,)``: the body's position at the latest sighting.
    layout : numpy.ndarray
        float64 ``(J, 2)``: each joint's offset from the anchor when it was
        last trusted (the body's shape).
    known : numpy.ndarray
        ``(J,)`` bool: the joints trusted at least once (their layout is set).
    velocity : numpy.ndarray
        float64 ``(2,)``: the anchor's estimated motion in pixels per frame.
    """

    __slots__ = ("track_id", "pose", "keypoints", "box", "score", "first_frame", "last_frame",
                 "hits", "misses", "anchor", "layout", "known", "velocity", "_measured")

    def __init__(self, track_id, pose, keypoints, box, score, frame_index, trusted=None):
        self.track_id = int(track_id)
        self.first_frame = int(frame_index)
        self.hits = 0
        num = keypoints.shape[0]
        self.anchor = np.zeros(2)
        self.layout = np.zeros((num, 2))
        self.known = np.zeros(num, bool)
        self.velocity = np.zeros(2)
        self._measured = False
        self.see(pose, keypoints, box, score, frame_index, trusted)

    def see(self, pose, keypoints, box, score, frame_index, trusted=None, velocity_smoothing=0.5):
        """Record a new sighting.

        Parameters
        ----------
        pose, keypoints, box, score, frame_index
            See the attributes.
        trusted : numpy.ndarray, optional
            ``(J,)`` bool: the joints whose position is reliable (default all).
        velocity_smoothing : float
            Weight of the previous velocity estimate against this sighting's.
        """
        frame_index = int(frame_index)
        trusted = np.ones(keypoints.shape[0], bool) if trusted is None else trusted
        xy = keypoints[:, :2]
        both = trusted & self.known
        if both.any():
            # where the remembered shape puts the body: the median over the joints
            # seen now, so the anchor moves with the body whichever joints are in view
            # and a few mislocated ones do not move it
            anchor = np.median(xy[both] - self.layout[both], axis=0)
            if self.hits:
                step = (anchor - self.anchor) / float(frame_index - self.last_frame)
                self.velocity = step if not self._measured else (
                    velocity_smoothing * self.velocity + (1.0 - velocity_smoothing) * step)
                self._measured = True
            self.anchor = anchor
        elif trusted.any():
            # nothing in common with the remembered shape: start it again here
            self.anchor = xy[trusted].mean(axis=0)
        self.layout[trusted] = xy[trusted] - self.anchor
        self.known |= trusted
        self.pose = pose
        self.keypoints = keypoints
        self.box = box
        self.score = float(score)
        self.last_frame = frame_index
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
        means 0.2 for ``'poseflow'`` and 0.1 for ``'oks'``.
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
        The joints trusted: those scoring above it span a pose's box, feed the
        motion model and take part in the joint-square IoU and the OKS, which
        count a joint when the new pose trusts it and the track has trusted it
        before (a hidden joint is not where its coordinates say); ``None``
        trusts every joint.
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
        ORB features per full frame; they are searched for only around the
        frame's people, and in proportion to the area searched.
    motion : {'velocity', 'last'}
        How a track's pose is predicted for the next frame (module
        docstring): constant velocity, or each joint where it was last seen.
    velocity_smoothing : float
        In ``[0, 1)``: weight of the previous velocity estimate when a new
        sighting measures one (0 keeps only the latest measurement).
    motion_horizon : int
        The velocity is extrapolated over at most this many frames (30: one
        second at 30 fps); a track unseen longer stays at that prediction.
    frame_size : (int, int), optional
        ``(width, height)`` of the frames, for clipping predictions to the
        frame when :meth:`update` is given no frame (a frame's own size wins).
    """

    def __init__(self, link=100, match_threshold=None, weights=(1, 2, 1, 2, 0, 0),
                 weights_gap=(0, 1, 0, 1, 0, 0), num=7, mag=30, keypoint_thresh=0.2,
                 use_orb=False, similarity="poseflow", schema="coco", max_age=None,
                 orb_features=1000, motion="velocity", velocity_smoothing=0.5,
                 motion_horizon=30, frame_size=None):
        if similarity not in SIMILARITIES:
            raise ValueError("similarity must be one of %s, got %r" % (SIMILARITIES, similarity))
        if motion not in MOTIONS:
            raise ValueError("motion must be one of %s, got %r" % (MOTIONS, motion))
        if not 0.0 <= float(velocity_smoothing) < 1.0:
            raise ValueError("velocity_smoothing must be in [0, 1), got %r"
                             % (velocity_smoothing,))
        if int(motion_horizon) < 0:
            raise ValueError("motion_horizon must be >= 0, got %r" % (motion_horizon,))
        if frame_size is not None and (len(frame_size) != 2 or min(frame_size) <= 0):
            raise ValueError("frame_size must be (width, height) > 0, got %r" % (frame_size,))
        self.motion = motion
        self.velocity_smoothing = float(velocity_smoothing)
        self.motion_horizon = int(motion_horizon)
        self.frame_size = None if frame_size is None else tuple(float(v) for v in frame_size)
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
        self._size = self.frame_size
        self._seen_lo = self._seen_hi = None

    @property
    def tracks(self):
        """``{track id: Track}`` of the live tracks (a copy of the dict)."""
        return dict(self._tracks)

    @property
    def frame_index(self):
        """Index of the latest frame given to :meth:`update` (``None`` before any)."""
        return self._frame

    # ------------------------------------------------------------------------------------
    def _trusted(self, kpts):
        """``(N, J)`` bool: the joints scoring above ``keypoint_thresh``."""
        if self.keypoint_thresh is None:
            return np.ones(kpts.shape[:2], bool)
        return kpts[:, :, 2] > self.keypoint_thresh

    def predict(self, tracks, frame_index):
        """Predicted poses and boxes of tracks for a frame (the motion model).

        Each track's remembered shape at its anchor moved by ``velocity``
        times the frames since it was seen (at most ``motion_horizon``),
        clipped to the frame as described in the module docstring.

        Parameters
        ----------
        tracks : sequence of Track
        frame_index : int

        Returns
        -------
        keypoints : numpy.ndarray
            ``(M, J, 3)``: ``x, y`` and 1 for the joints the track has
            trusted, 0 for the others.
        boxes : numpy.ndarray
            ``(M, 4)``: each latest box moved by the same motion.
        """
        anchor = np.stack([t.anchor for t in tracks])                      # (M, 2)
        boxes = np.stack([t.box for t in tracks]).astype(np.float64)
        if self.motion == "velocity":
            gap = np.clip(frame_index - np.array([t.last_frame for t in tracks]), 0,
                          self.motion_horizon)
            shift = np.stack([t.velocity for t in tracks]) * gap[:, None]
            anchor = anchor + shift
            boxes = boxes + np.tile(shift, 2)
        joints = anchor[:, None, :] + np.stack([t.layout for t in tracks])  # (M, J, 2)
        if self._seen_lo is not None:
            # someone who left the frame can only come back through its border
            lo, hi = self._seen_lo, self._seen_hi
            if self._size is not None:
                lo, hi = np.minimum(lo, 0.0), np.maximum(hi, self._size)
            joints = np.clip(joints, lo, hi)
            boxes = np.clip(boxes, np.tile(lo, 2), np.tile(hi, 2))
        flags = np.stack([t.known for t in tracks]).astype(np.float64)[..., None]
        return np.concatenate([joints, flags], axis=2), boxes

    def _features(self, frame, boxes):
        """ORB features of a frame, found only around its people.

        Only matches touching a person's region count in the correspondence
        IoUs, and this frame's regions are the tracks' regions for the next
        frame, so the features are detected inside this frame's pose boxes
        grown by ``mag`` (``orb_features`` per full frame, in proportion to
        the area searched): matching costs the square of the feature count.
        """
        height, width = np.shape(frame)[:2]
        mask = np.zeros((height, width), np.uint8)
        if boxes is not None:
            grown = np.round(boxes + [-self.mag, -self.mag, self.mag, self.mag]).astype(int)
            grown[:, 0::2] = np.clip(grown[:, 0::2], 0, width)
            grown[:, 1::2] = np.clip(grown[:, 1::2], 0, height)
            for x0, y0, x1, y1 in grown:
                mask[y0:y1, x0:x1] = 1
        share = float(mask.mean())
        if share == 0.0:
            return np.zeros((0, 2)), None
        count = max(1, int(round(self.orb_features * share)))
        if share == 1.0:
            return orb_features(frame, count)
        # ORB builds its image pyramid over the whole input, mask or not: give it only
        # the rectangle around the people, with room for its 31-px descriptor patches
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        y0, y1 = max(rows[0] - _ORB_PAD, 0), min(rows[-1] + 1 + _ORB_PAD, height)
        x0, x1 = max(cols[0] - _ORB_PAD, 0), min(cols[-1] + 1 + _ORB_PAD, width)
        pts, desc = orb_features(np.asarray(frame)[y0:y1, x0:x1], count, mask=mask[y0:y1, x0:x1])
        return pts + [x0, y0], desc

    def _grade(self, cands, kpts, boxes, scores, frame_index, features):
        """``(M, N)`` grade of the candidate tracks against the new poses."""
        p_kpts, p_boxes = self.predict(cands, frame_index)
        # joints count when trusted in both: flags 1/0 on both sides, compared at 0.5
        n_kpts = np.concatenate([kpts[:, :, :2], self._trusted(kpts)[..., None]], axis=2)
        if self.similarity == "oks":
            # scale: the mean of the track's remembered extent and the new trusted one,
            # so a person coming into view half hidden keeps a body-sized scale
            return oks_matrix(p_kpts, n_kpts, box_areas(pose_boxes(p_kpts, 0.5)),
                              box_areas(pose_boxes(n_kpts, 0.5)), sigmas=self.schema,
                              vis_thresh=0.5)
        t_kpts = np.stack([t.keypoints for t in cands])
        t_boxes = np.stack([t.box for t in cands])
        m, n = len(cands), kpts.shape[0]
        recent = np.array([t.last_frame == frame_index - 1 for t in cands])
        w = np.where(recent[:, None], self.weights[None, :], self.weights_gap[None, :])  # (M, 6)
        terms = np.zeros((6, m, n))
        terms[1] = box_iou(p_boxes, boxes)
        terms[3] = keypoint_box_iou(p_kpts, n_kpts, num=self.num, mag=self.mag, thresh=0.5,
                                    shown_only=True)
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
            # hidden joints have no place: NaN puts no point in their squares
            t_xy = np.where(self._trusted(t_kpts)[..., None], t_kpts[..., :2], np.nan)
            n_xy = np.where(self._trusted(kpts)[..., None], kpts[..., :2], np.nan)
            terms[2] = correspondence_iou(keypoint_regions_mask(pts_prev, t_xy, self.mag),
                                          keypoint_regions_mask(pts_cur, n_xy, self.mag))
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
        self._size = self.frame_size if size is None else size
        if poses:
            # the extent of every trusted joint so far: the frame when its size is unknown
            # (joints are seen inside it), and never clipped away when it is known (a
            # network may place joints a little outside the image)
            seen = kpts[..., :2][self._trusted(kpts)]
            if len(seen):
                lo, hi = seen.min(axis=0), seen.max(axis=0)
                first = self._seen_lo is None
                self._seen_lo = lo if first else np.minimum(self._seen_lo, lo)
                self._seen_hi = hi if first else np.maximum(self._seen_hi, hi)
        boxes = None
        if poses:
            boxes = pose_boxes(kpts, self.keypoint_thresh, expand=0.1, size=size)
        features = None
        if self.use_orb and frame is not None and self.similarity == "poseflow":
            features = self._features(frame, boxes)

        # forget the tracks gone too long, then gather the candidates
        for tid in [t for t, tr in self._tracks.items()
                    if frame_index - tr.last_frame > self.max_age]:
            del self._tracks[tid]
        window = min(self.link, self.max_age)
        cands = [self._tracks[t] for t in sorted(self._tracks)
                 if frame_index - self._tracks[t].last_frame <= window]

        ids = [None] * len(poses)
        if poses and cands:
            grade = self._grade(cands, kpts, boxes, scores, frame_index, features)
            # pairs at or below the threshold are rejected anyway, so they get no say
            # in the assignment: it maximises the total grade of accepted matches
            gain = np.where(grade > self.match_threshold, grade, 0.0)
            rows, cols = linear_sum_assignment(gain, maximize=True)
            for r, c in zip(rows, cols):
                if grade[r, c] > self.match_threshold:
                    ids[c] = cands[r].track_id
        trusted = self._trusted(kpts) if poses else None
        for i, pose in enumerate(poses):
            if ids[i] is None:
                ids[i] = self._next_id
                self._next_id += 1
                self._tracks[ids[i]] = Track(ids[i], pose, kpts[i], boxes[i], scores[i],
                                             frame_index, trusted[i])
            else:
                self._tracks[ids[i]].see(pose, kpts[i], boxes[i], scores[i], frame_index,
                                         trusted[i], self.velocity_smoothing)
        for tr in self._tracks.values():
            tr.misses = frame_index - tr.last_frame
        self._frame = frame_index
        # correspondences are only ever taken between consecutive frames
        self._prev_features = features
        return ids

    def __repr__(self):
        return "PoseTracker(similarity=%r, link=%d, match_threshold=%g, %d tracks)" % (
            self.similarity, self.link, self.match_threshold, len(self._tracks))
