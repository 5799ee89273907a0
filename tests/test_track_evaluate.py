"""Pose-tracking metrics: perfect predictions, hand-counted identity switches,
the OKS gate, misses and false positives."""
import copy
import importlib.util
import math
import os

import numpy as np
import pytest

pytest.importorskip("motmetrics")

from gluonpose.tracking.evaluate import track_metrics  # noqa: E402
from gluonpose.utils.pose_nms import oks_iou  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _pose(cx, cy, size=40.0):
    """A 17-joint pose spread over a ``size`` square around ``(cx, cy)``."""
    grid = np.linspace(-size / 2, size / 2, 17)
    kp = np.stack([cx + grid, cy + grid[::-1] * 0.5, np.full(17, 2.0)], 1)
    return kp


def _person(track_id, cx, cy, size=40.0):
    return {"track_id": track_id, "keypoints": _pose(cx, cy, size).reshape(-1).tolist(),
            "box": [cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2]}


def _two_walkers(num_frames=6):
    """Two people 200 px apart, moving right, every frame."""
    return [{"frame": f, "people": [_person(1, 50 + 5 * f, 100), _person(2, 50 + 5 * f, 300)]}
            for f in range(num_frames)]


def test_ground_truth_as_prediction_is_perfect():
    spec = importlib.util.spec_from_file_location(
        "make_track_sequence", os.path.join(REPO, "tools", "make_track_sequence.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    gt = tool.make_sequence(None, num_frames=16, seed=0)
    pred = copy.deepcopy(gt["frames"])
    for fr in pred:                                 # ids are labels: renaming changes nothing
        for p in fr["people"]:
            p["track_id"] += 100
    m = track_metrics(gt["frames"], pred)
    n = sum(len(f["people"]) for f in gt["frames"])
    assert m["mota"] == 1.0 and m["idf1"] == 1.0 and m["num_switches"] == 0
    assert m["precision"] == 1.0 and m["recall"] == 1.0
    assert m["num_matches"] == m["num_objects"] == m["num_predictions"] == n
    assert m["num_unique_objects"] == 4
    assert m["mean_oks"] == pytest.approx(1.0)


def test_one_swap_counts_two_switches():
    gt = _two_walkers()
    pred = copy.deepcopy(gt)
    for fr in pred[3:]:                             # ids 1 and 2 swap from frame 3 on
        for p in fr["people"]:
            p["track_id"] = 3 - p["track_id"]
    m = track_metrics(gt, pred)
    assert m["num_switches"] == 2                   # each person changes predicted id once
    assert m["num_misses"] == m["num_false_positives"] == 0
    assert m["mota"] == pytest.approx(1 - 2 / 12)
    # IDF1: the best one-to-one id mapping keeps 3 of 6 frames per person.
    assert m["idf1"] == pytest.approx(0.5)


def test_new_id_for_one_person_is_one_switch():
    gt = _two_walkers()
    pred = copy.deepcopy(gt)
    for fr in pred[2:]:
        fr["people"][1]["track_id"] = 7
    m = track_metrics(gt, pred)
    assert m["num_switches"] == 1
    assert m["mota"] == pytest.approx(1 - 1 / 12)


def test_oks_gate_misses_and_false_positives():
    gt = [{"frame": 0, "people": [_person(1, 100, 100)]}]
    shift = 6.0
    moved = _pose(100 + shift, 100)
    oks = oks_iou(_pose(100, 100), moved, 40 * 40, 40 * 40, vis_thresh=0.0, area_mode="a")
    pred = [{"frame": 0, "people": [{"track_id": 5, "keypoints": moved.reshape(-1).tolist()}]}]
    below = track_metrics(gt, pred, oks_threshold=oks + 1e-6)
    above = track_metrics(gt, pred, oks_threshold=oks - 1e-6)
    assert 0.3 < oks < 0.95
    assert (below["num_misses"], below["num_false_positives"], below["num_matches"]) == (1, 1, 0)
    assert below["mota"] == pytest.approx(-1.0)
    assert (above["num_misses"], above["num_false_positives"], above["num_matches"]) == (0, 0, 1)
    assert above["mean_oks"] == pytest.approx(oks)


def test_missing_frames_unlabelled_people_and_dict_layout():
    gt = _two_walkers(4)
    hidden = _person(9, 0, 0)
    hidden["keypoints"] = [0.0] * 51                 # no visible joint: not scored
    gt[1]["people"].append(hidden)
    pred = {f["frame"]: f["people"] for f in copy.deepcopy(gt) if f["frame"] != 2}
    m = track_metrics(gt, pred)
    assert m["num_objects"] == 8 and m["num_misses"] == 2 and m["num_false_positives"] == 1
    assert m["num_switches"] == 0
    assert m["mota"] == pytest.approx(1 - 3 / 8)
    assert math.isnan(track_metrics([], [])["mota"])
