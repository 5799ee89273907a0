"""Tracking through the Predictor and ``gluonpose predict --track``.

The synthetic clip of ``tools/make_track_sequence.py`` (people pasted from the
bundled images, crossing, leaving, occluded) gives poses with known
identities: with its ground-truth poses as input, the tracker's identities
score MOTA >= 0.95 (its ceiling). The command line is driven end to end on
that clip with a randomly initialised network.
"""
import importlib.util
import json
import os

import cv2
import mxnet as mx
import numpy as np
import pytest

from gluonpose.cli import main
from gluonpose.inference.predictor import _track
from gluonpose.inference.render import draw_result, identity_colour
from gluonpose.inference.results import FrameResult, PersonPose
from gluonpose.tracking import PoseTracker, TrackSmoother, track_metrics

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tool():
    spec = importlib.util.spec_from_file_location(
        "make_track_sequence", os.path.join(ROOT, "tools", "make_track_sequence.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    out = tmp_path_factory.mktemp("clip")
    gt = _tool().make_sequence(str(out), num_frames=40, seed=0)
    return str(out / "sequence.mp4"), gt


class _Frame:
    def __init__(self, index):
        self.index = index
        self.image = None


def _gt_results(gt):
    """The ground-truth poses as the Predictor's FrameResults (no ids)."""
    out = []
    for f in gt["frames"]:
        poses = [PersonPose(np.asarray(p["keypoints"], np.float32).reshape(-1, 3),
                            np.asarray(p["box"], np.float64), 1.0, 1.0, f["frame"])
                 for p in f["people"]]
        out.append(FrameResult(poses, f["frame"], index=f["frame"]))
    return out


def test_tracker_ceiling_on_ground_truth_poses(clip):
    _, gt = clip
    tracker = PoseTracker()
    pred = []
    for result in _gt_results(gt):
        _track(result, _Frame(result.index), tracker, None)
        assert all(p.track_id is not None for p in result)
        pred.append({"frame": result.index,
                     "people": [{"track_id": p.track_id,
                                 "keypoints": p.keypoints.reshape(-1).tolist()}
                                for p in result]})
    m = track_metrics(gt["frames"], pred)
    assert m["mota"] >= 0.95, m
    # identities switch only where the clip forces it (a long occlusion, leaving the frame)
    assert m["num_switches"] <= len(gt["forced_occlusions"]) + 2, m


def test_smoothing_in_the_loop_keeps_ids_and_scores(clip):
    _, gt = clip
    tracker, smoother = PoseTracker(), TrackSmoother(beta=0.05)
    rng = np.random.RandomState(0)
    for result in _gt_results(gt)[:10]:
        raw = [p.keypoints.copy() for p in result]
        for p in result:
            p.keypoints[:, :2] += rng.normal(0, 2, p.keypoints[:, :2].shape)
        _track(result, _Frame(result.index), tracker, smoother)
        for p, k in zip(result, raw):
            assert p.keypoints.dtype == np.float32
            np.testing.assert_array_equal(p.keypoints[:, 2], k[:, 2])
    assert set(smoother) <= set(tracker.tracks)


def test_identity_colours_are_drawn():
    image = np.zeros((120, 160, 3), np.uint8)
    kp = np.zeros((17, 3), np.float32)
    result = FrameResult([PersonPose(kp, np.array([10.0, 10, 60, 100]), 1, 1, 0, track_id=3)])
    drawn = draw_result(image, result)
    assert tuple(drawn[50, 10]) == identity_colour(3)          # the box's left edge
    assert identity_colour(3) != identity_colour(4)
    assert result[0].to_coco()["track_id"] == 3 and result[0].to_dict()["track_id"] == 3


def test_cli_predict_track_smooth_on_the_clip(clip, tmp_path, capsys):
    from gluonpose.model_zoo import get_model
    video, gt = clip
    mx.random.seed(3)
    net = get_model("simple_pose_resnet18_v1b")
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 3, 128, 96)))
    params = str(tmp_path / "net.params")
    net.save_parameters(params)
    res, out_dir = tmp_path / "res.json", tmp_path / "out"
    code = main(["predict", video, "--params", params, "--input-size", "128,96",
                 "--no-progress", "--track", "--smooth", "--max-frames", "12",
                 "--results-json", str(res), "--output-dir", str(out_dir)])
    assert code == 0, capsys.readouterr().err
    entries = json.load(open(res))
    frames = sorted({e["image_id"] for e in entries})
    assert len(frames) == 12
    assert all(isinstance(e["track_id"], int) and e["track_id"] >= 1 for e in entries)
    # one whole-image box per frame: one person, one identity all along
    assert {e["track_id"] for e in entries} == {1}
    cap = cv2.VideoCapture(str(out_dir / "sequence_pose.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    cap.release()
