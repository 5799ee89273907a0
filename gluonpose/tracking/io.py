"""Tracked poses as a PoseTrack-like per-frame json: one layout for results and ground truth.

The layout (``write_track_json`` writes it, ``read_track_json`` reads it,
:func:`~gluonpose.tracking.evaluate.track_metrics` scores it, and
``tools/make_track_sequence.py`` writes its ground truth in it)::

    {
      "format": "gluonpose-track",          # marks a results file (optional)
      "schema": "coco",                     # keypoint set: joint count and order
      "keypoint_names": ["nose", ...],
      "frames": [
        {"frame": 0,                        # index in the sequence, increasing
         "image_id": 0,                     # id the Predictor gave the frame
         "file_name": "clip.mp4#0",         # where the frame came from (optional)
         "people": [
           {"track_id": 1,                  # identity across frames (int >= 0)
            "keypoints": [x0, y0, s0, ..., x16, y16, s16],
            "box": [x0, y0, x1, y1],        # optional
            "score": 0.93},                 # optional
           ...]},
        ...]
    }

Keypoints are flat ``x, y, s`` triples in image pixels, ``s`` the joint
confidence in results and the COCO visibility (0 unlabelled, 1 or 2
labelled) in ground truth. A frame with nobody is listed with ``"people":
[]``; a frame missing from a results file counts as nobody seen. The bare
``frames`` list (without the wrapping object) is accepted too, and so are
other top-level keys (``make_track_sequence.py`` adds the clip's size,
paths and occlusions).
"""
import json

import numpy as np

from ..data.schema import get_schema
from ..utils.atomic import write_json

__all__ = ["TRACK_FORMAT", "frames_to_json", "write_track_json", "read_track_json",
           "validate_frames"]

#: the ``format`` marker of a results file
TRACK_FORMAT = "gluonpose-track"


def _person(p):
    """One person dict from a PersonPose (or anything with the same attributes)."""
    if getattr(p, "track_id", None) is None:
        raise ValueError("a person has no track_id: track the frames first "
                         "(Predictor.predict_source(..., track=True) or PoseTracker)")
    out = {"track_id": int(p.track_id),
           "keypoints": [round(float(v), 3) for v in np.asarray(p.keypoints).reshape(-1)]}
    box = getattr(p, "box", None)
    if box is not None:
        out["box"] = [round(float(v), 3) for v in np.asarray(box).reshape(-1)[:4]]
    score = getattr(p, "score", None)
    if score is not None:
        out["score"] = round(float(score), 5)
    return out


def frames_to_json(frame_results, schema="coco"):
    """The layout of the module docstring for a sequence of tracked frames.

    Parameters
    ----------
    frame_results : iterable of FrameResult
        Tracked frames (:class:`~gluonpose.inference.results.FrameResult`:
        a list of people with ``keypoints (J, 3)``, ``box``, ``score`` and
        ``track_id``, plus ``index``, ``image_id``, ``name``, ``file_name``).
    schema : str or KeypointSchema
        Keypoint set of the poses.

    Returns
    -------
    dict
    """
    schema = get_schema(schema)
    frames = []
    for n, result in enumerate(frame_results):
        index = getattr(result, "index", None)
        entry = {"frame": int(n if index is None else index)}
        image_id = getattr(result, "image_id", None)
        if image_id is not None:
            entry["image_id"] = image_id
        name = getattr(result, "file_name", None) or getattr(result, "name", None)
        if name is not None:
            entry["file_name"] = str(name)
        entry["people"] = [_person(p) for p in result]
        frames.append(entry)
    out = {"format": TRACK_FORMAT, "schema": schema.name,
           "keypoint_names": list(schema.keypoints), "frames": frames}
    validate_frames(out["frames"], schema.num_joints, "frame_results")
    return out


def write_track_json(path, frame_results, schema="coco"):
    """Write tracked frames as the per-frame json of the module docstring.

    The file is written atomically (a reader never sees half of it).

    Parameters
    ----------
    path : str
    frame_results : iterable of FrameResult
        See :func:`frames_to_json`.
    schema : str or KeypointSchema

    Returns
    -------
    str
        ``path``.
    """
    write_json(path, frames_to_json(frame_results, schema))
    return path


def validate_frames(frames, num_joints, where="frames"):
    """Check the per-frame layout; raise ``ValueError`` naming ``where`` and the fault.

    Parameters
    ----------
    frames : list
        The ``frames`` list of the layout.
    num_joints : int
        Joints per pose (``keypoints`` holds ``3 * num_joints`` numbers).
    where : str
        What to call the data in the message (e.g. the file name).
    """
    if not isinstance(frames, list):
        raise ValueError("%s: 'frames' must be a list of frames, got %s"
                         % (where, type(frames).__name__))
    seen = set()
    for n, fr in enumerate(frames):
        if not isinstance(fr, dict) or not isinstance(fr.get("people", None), list):
            raise ValueError("%s: frame #%d is not an object with a 'people' list" % (where, n))
        index = fr.get("frame", n)
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ValueError("%s: frame #%d has frame index %r, not an int >= 0"
                             % (where, n, index))
        if index in seen:
            raise ValueError("%s: frame %d is listed twice" % (where, index))
        seen.add(index)
        ids = set()
        for k, p in enumerate(fr["people"]):
            what = "%s: frame %d, person #%d" % (where, index, k)
            if not isinstance(p, dict):
                raise ValueError("%s is not an object" % what)
            tid = p.get("track_id")
            if not isinstance(tid, int) or isinstance(tid, bool) or tid < 0:
                raise ValueError("%s has track_id %r, not an int >= 0" % (what, tid))
            if tid in ids:
                raise ValueError("%s: track_id %d appears twice in the frame" % (what, tid))
            ids.add(tid)
            kp = p.get("keypoints")
            if not isinstance(kp, list) or len(kp) != 3 * num_joints:
                raise ValueError("%s: 'keypoints' must be a flat list of %d numbers (x, y, s "
                                 "for %d joints), got %s" % (
                                     what, 3 * num_joints, num_joints,
                                     "%d" % len(kp) if isinstance(kp, list) else repr(kp)[:40]))
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       and np.isfinite(v) for v in kp):
                raise ValueError("%s: 'keypoints' holds a value that is not a finite number"
                                 % what)
            box = p.get("box")
            if box is not None and (not isinstance(box, list) or len(box) != 4):
                raise ValueError("%s: 'box' must be [x0, y0, x1, y1]" % what)


def read_track_json(path, schema=None):
    """Read and check a per-frame tracking json (results or ground truth).

    Parameters
    ----------
    path : str
    schema : str or KeypointSchema, optional
        Keypoint set to check the poses against; default the file's
        ``schema`` entry, else COCO.

    Returns
    -------
    dict
        The file's object with a checked ``frames`` list (a bare list in the
        file is wrapped as ``{"frames": [...]}``).

    Raises
    ------
    ValueError
        One line naming ``path`` and what is wrong (missing, not json, not
        the layout).
    """
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ValueError("%s: no such file" % path) from None
    except IsADirectoryError:
        raise ValueError("%s: is a folder, not a json file" % path) from None
    except UnicodeDecodeError:
        raise ValueError("%s: not a text (json) file" % path) from None
    except json.JSONDecodeError as err:
        raise ValueError("%s: not valid json (%s)" % (path, err)) from None
    if isinstance(data, list):
        data = {"frames": data}
    if not isinstance(data, dict) or "frames" not in data:
        raise ValueError("%s: not a tracking json: expected an object with a 'frames' list "
                         "(see gluonpose.tracking.io)" % path)
    if schema is None:
        schema = data.get("schema", "coco")
    try:
        schema = get_schema(schema)
    except (KeyError, ValueError) as err:
        raise ValueError("%s: unknown keypoint schema %r (%s)" % (path, schema, err)) from None
    validate_frames(data["frames"], schema.num_joints, path)
    return data
