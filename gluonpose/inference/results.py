"""Per-person results of the Predictor and the COCO results json.

A :class:`PersonPose` is one person: ``keypoints`` ``(J, 3)`` ``(x, y,
confidence)`` in original image pixels, the ``box`` it was cropped from, the
box (detector) score and the pose ``score``. A :class:`FrameResult` is the list
of people of one frame plus where the frame came from.

The pose score is GluonCV's / Simple Baselines' rescoring, the one
:class:`~gluonpose.utils.metrics.COCOKeyPointsMetric` writes: the mean of the
joint confidences above a threshold (0 when none is) times the box score
(:func:`~gluonpose.utils.metrics.instance_scores`, one function for both).
"""
import numpy as np

from ..utils.atomic import write_json
from ..utils.metrics.coco_keypoints import instance_scores

__all__ = ["PersonPose", "FrameResult", "instance_scores", "coco_results", "write_coco_results"]


class PersonPose:
    """One person's pose.

    Attributes
    ----------
    keypoints : numpy.ndarray
        float32 ``(J, 3)``: ``x, y`` in original image pixels and the joint
        confidence (heatmap peak).
    box : numpy.ndarray
        float64 ``(4,)`` ``(xmin, ymin, xmax, ymax)`` the crop was made from.
    box_score : float
        Score of the box (1 for caller or whole-image boxes).
    score : float
        Pose score (see :func:`instance_scores`).
    image_id : int
        Image id of the frame (COCO id, file-name id or frame index).
    track_id : int or None
        Identity across frames, set by tracking
        (:meth:`Predictor.predict_source` with ``track=True``); None otherwise.
    """

    __slots__ = ("keypoints", "box", "box_score", "score", "image_id", "track_id")

    def __init__(self, keypoints, box, box_score, score, image_id, track_id=None):
        self.keypoints = keypoints
        self.box = box
        self.box_score = float(box_score)
        self.score = float(score)
        self.image_id = image_id
        self.track_id = None if track_id is None else int(track_id)

    @property
    def coords(self):
        """``(J, 2)`` ``(x, y)``."""
        return self.keypoints[:, :2]

    @property
    def confidence(self):
        """``(J,)`` joint confidences."""
        return self.keypoints[:, 2]

    def to_dict(self):
        """Plain-Python dict (json-serialisable); ``track_id`` only when tracked."""
        out = {"image_id": self.image_id, "keypoints": self.keypoints.tolist(),
               "box": self.box.tolist(), "box_score": self.box_score, "score": self.score}
        if self.track_id is not None:
            out["track_id"] = self.track_id
        return out

    def to_coco(self, category_id=1):
        """A COCO keypoint result entry (``loadRes`` format).

        ``keypoints`` is the flat ``[x1, y1, c1, ...]`` list and ``score`` the
        pose score; the crop box is kept as ``person_box`` (COCO ``[x, y, w,
        h]`` with GluonCV's ``w = xmax - xmin + 1``) and ``box_score`` -- not as
        ``bbox``, which would make ``loadRes`` treat the entries as box
        detections and take their area from the box.
        """
        x0, y0, x1, y1 = (float(v) for v in self.box)
        out = {"image_id": int(self.image_id), "category_id": int(category_id),
               "keypoints": [float(v) for v in self.keypoints.reshape(-1)],
               "score": self.score,
               "person_box": [x0, y0, x1 - x0 + 1.0, y1 - y0 + 1.0],
               "box_score": self.box_score}
        if self.track_id is not None:
            out["track_id"] = self.track_id         # PoseTrack's name for the identity
        return out

    def __repr__(self):
        return "PersonPose(image_id=%s, score=%.3f, box=[%s])" % (
            self.image_id, self.score, ", ".join("%.1f" % v for v in self.box))


class FrameResult(list):
    """The people of one frame (a list of :class:`PersonPose`) and its origin.

    Attributes
    ----------
    image_id : int
    name : str
        File path, ``'<array>'`` or ``'<video>#<index>'``.
    index : int
        Frame index in its source.
    file_name : str or None
    image : numpy.ndarray or None
        The RGB frame (kept by :meth:`Predictor.predict_source` only when
        asked, for drawing).
    """

    def __init__(self, poses=(), image_id=None, name="<array>", index=0, file_name=None,
                 image=None):
        super().__init__(poses)
        self.image_id = image_id
        self.name = name
        self.index = index
        self.file_name = file_name
        self.image = image

    def arrays(self, num_joints=None):
        """``(coords (N, J, 2), confidence (N, J, 1), boxes (N, 4), scores (N,))`` for drawing."""
        if not self:
            j = int(num_joints or 0)
            return (np.zeros((0, j, 2), np.float32), np.zeros((0, j, 1), np.float32),
                    np.zeros((0, 4)), np.zeros(0))
        kp = np.stack([p.keypoints for p in self])
        return (kp[:, :, :2], kp[:, :, 2:3], np.stack([p.box for p in self]),
                np.array([p.score for p in self]))

    def __repr__(self):
        return "FrameResult(%r, image_id=%s, %d people)" % (self.name, self.image_id, len(self))


def coco_results(poses, category_id=1, file_names=None):
    """COCO keypoint result entries for an iterable of :class:`PersonPose`."""
    out = [p.to_coco(category_id) for p in poses]
    if file_names:
        for entry in out:
            name = file_names.get(entry["image_id"])
            if name:
                entry["file_name"] = name
    return out


def write_coco_results(path, poses, category_id=1, file_names=None):
    """Write COCO keypoint results (a json list) atomically; returns ``path``.

    Parameters
    ----------
    path : str
    poses : iterable of PersonPose
    category_id : int
        COCO category of the people (1).
    file_names : dict, optional
        ``{image_id: file name}``; added to each entry as ``file_name`` so
        results of files without COCO ids can be traced back.
    """
    write_json(path, coco_results(poses, category_id, file_names))
    return path
