"""The threaded video path: order, back-pressure, errors, and results equal to the sequential path."""
import json
import os
import random
import threading
import time

import numpy as np
import pytest

from _tools import load_tool
from gluonpose.inference.pipeline import StageError, ThreadedPipeline


def _sleepy(scale, seed):
    rng = random.Random(seed)

    def fn(x):
        time.sleep(rng.random() * scale)
        return x
    return fn


def _pipeline_threads():
    return [t for t in threading.enumerate() if t.name.startswith("gluonpose-")]


def test_order_kept_with_uneven_stage_times():
    stages = [("a", _sleepy(0.004, 1)), ("b", lambda x: x * 10), ("c", _sleepy(0.004, 2))]
    assert list(ThreadedPipeline(range(60), stages, queue_size=1)) == [10 * i for i in range(60)]
    assert not _pipeline_threads()


def test_slow_consumer_bounds_items_in_flight():
    produced = []

    def source():
        for i in range(200):
            produced.append(i)
            yield i

    stages = [("x", lambda v: v), ("y", lambda v: v)]
    pipe = ThreadedPipeline(source(), stages, queue_size=2)
    most = 0
    for consumed, _ in enumerate(pipe, 1):
        time.sleep(0.002)
        most = max(most, len(produced) - consumed)
    # 3 queues of 2 plus one item held by each of the 3 threads (source + 2 stages)
    assert most <= (len(stages) + 1) * (2 + 1)
    assert len(produced) == 200


@pytest.mark.parametrize("where", ["read", "middle", "last"])
def test_error_names_stage_and_frame_and_stops_threads(where):
    def source():
        for i in range(50):
            if where == "read" and i == 7:
                raise OSError("camera unplugged")
            yield i

    def boom(i):
        if i == 7:
            raise ValueError("bad crop")
        return i

    stages = [("prepare", lambda i: i), ("network", boom if where == "middle" else int),
              ("draw", boom if where == "last" else int)]
    seen = []
    with pytest.raises(StageError) as info:
        for item in ThreadedPipeline(source(), stages):
            seen.append(item)
    stage = {"read": "read", "middle": "network", "last": "draw"}[where]
    assert info.value.stage == stage and info.value.index == 7
    assert str(info.value).startswith("%s stage failed at frame 7: " % stage)
    assert isinstance(info.value.__cause__, (OSError, ValueError))
    assert seen == list(range(7))              # everything before the failure arrived in order
    assert not _pipeline_threads()


def test_bug_keeps_its_type_in_the_message():
    def bad(_):
        return {}["missing"]
    with pytest.raises(StageError, match=r"track stage failed at frame 0: KeyError: 'missing'"):
        list(ThreadedPipeline(range(3), [("track", bad)]))


def test_break_stops_threads():
    pipe = ThreadedPipeline(iter(range(10 ** 6)), [("s", lambda v: v)])
    for item in pipe:
        if item == 5:
            break
    pipe.close()
    assert not _pipeline_threads()


def test_queue_size_checked():
    with pytest.raises(ValueError, match="queue_size"):
        ThreadedPipeline([], [], queue_size=0)


# ----------------------------------------------------------------------------- the Predictor

@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("clip"))
    gt = load_tool("make_track_sequence").make_sequence(out, num_frames=10, seed=0)
    boxes = {f["frame"]: np.array([p["box"] for p in f["people"]], np.float32).reshape(-1, 4)
             for f in gt["frames"]}
    return os.path.join(out, "sequence.mp4"), boxes


def _predictor(clip_boxes):
    import mxnet as mx
    from gluonpose.inference import Predictor
    from gluonpose.model_zoo import get_model
    net = get_model("simple_pose_resnet18_v1b")
    net.initialize(mx.init.Xavier(rnd_type="gaussian", magnitude=2), ctx=mx.cpu())
    mx.random.seed(0)

    def boxes(frame):
        b = clip_boxes.get(frame.index, np.zeros((0, 4), np.float32))
        return b, np.ones(len(b), np.float32)
    return Predictor(net, input_size=(64, 64), boxes=boxes, progress=False)


def test_predictor_pipelined_equals_sequential(clip):
    path, clip_boxes = clip
    pred = _predictor(clip_boxes)
    drawn = {}

    def render(result, image):
        drawn.setdefault(len(drawn), (result.index, image.shape))

    runs = {}
    for pipeline in (False, True):
        drawn.clear()
        runs[pipeline] = [[(p.keypoints.tolist(), p.track_id, p.score) for p in r]
                          for r in pred.predict_source(path, track=True, smooth=True,
                                                       pipeline=pipeline, render=render)]
        assert [d[0] for _, d in sorted(drawn.items())] == list(range(10))
        assert all(d[1] == (288, 384, 3) for d in drawn.values())
    assert runs[True] == runs[False]
    ids = [t for frame in runs[True] for (_, t, _) in frame]
    assert ids and all(t is not None for t in ids)


@pytest.fixture(scope="module")
def params_file(tmp_path_factory):
    import mxnet as mx
    from gluonpose.model_zoo import get_model
    mx.random.seed(3)
    net = get_model("simple_pose_resnet18_v1b")
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 3, 64, 64)))
    path = str(tmp_path_factory.mktemp("net") / "net.params")
    net.save_parameters(path)
    return path


def _predict(clip, params_file, out, *extra):
    from gluonpose.cli import main
    return main(["predict", clip[0], "--params", params_file, "--input-size", "64,64",
                 "--no-progress", "--track", "--results-json", str(out / "res.json"),
                 "--output-dir", str(out / "video")] + list(extra))


def test_cli_pipelined_video_equals_no_pipeline(clip, params_file, tmp_path, capsys):
    import cv2
    results = {}
    for mode, extra in (("pipe", []), ("seq", ["--no-pipeline"])):
        out = tmp_path / mode
        assert _predict(clip, params_file, out, *extra) == 0, capsys.readouterr().err
        results[mode] = json.load(open(out / "res.json"))
        cap = cv2.VideoCapture(str(out / "video" / "sequence_pose.mp4"))
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
        cap.release()
    assert results["pipe"] == results["seq"] and len(results["pipe"]) >= 10


def test_cli_error_in_draw_stage_is_one_line(clip, params_file, tmp_path, capsys, monkeypatch):
    from gluonpose.inference import render

    def write(self, image, result):
        if result.index == 4:
            raise OSError("disk full while encoding")
    monkeypatch.setattr(render.AnnotatedVideo, "write", write)
    assert _predict(clip, params_file, tmp_path) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["gluonpose: error: draw stage failed at frame 4: disk full while encoding"]
    assert not (tmp_path / "res.json").exists()
    assert not [t for t in threading.enumerate() if t.name.startswith("gluonpose-")]
