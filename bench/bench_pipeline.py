"""Pipelined against sequential video prediction: frames/s with tracking, drawing and writing.

Method: the synthetic tracking clip of ``tools/make_track_sequence.py`` (72
frames, 4 people crossing, leaving and re-entering; 384x288) and the same
clip upscaled to 1280x720 (a webcam's size: reading, drawing and encoding
grow with the pixels, the network's work does not). Person boxes are the
clip's ground-truth boxes (a box provider, so no detector cost is added),
so a frame holds 0-4 people (225 person instances in 72 frames). Each run is
``Predictor.predict_source(clip, track=True, render=...)`` where ``render``
draws every person and writes the annotated frame to an mp4 (what
``gluonpose predict clip.mp4 --track --output-dir D`` does), once with
``pipeline=False`` (stages one after another) and once with
``pipeline=True`` (read+detect+crop | network+decode+NMS | tracking |
drawing+writing in four threads). Rounds alternate the two modes after a
warm-up run; the table gives the median frames/s and checks that both modes
produced identical keypoints and track ids.

The sequential run's stage shares explain the ratio: the pipeline can be no
faster than its slowest stage, and on 2 cores no faster than 2x. When the
network takes a fraction ``f`` of the sequential time, the best possible
speed-up is ``min(1 / f, 2)`` (Amdahl, the other stages hidden behind the
network).

``run(args) -> str`` returns a markdown section; ``python
bench/bench_pipeline.py [--quick]`` prints it.
"""
import collections
import importlib.util
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench._common import bench_main, machine_line, median  # noqa: E402

#: (model, input size) pairs: a light network and the default one
MODELS = (("mobile_pose_mobilenetv3_small", (256, 192)),
          ("simple_pose_resnet18_v1b", (256, 192)))
#: video sizes (W, H); None: the clip as rendered
SIZES = (None, (1280, 720))


def _make_clips(folder, num_frames):
    """``{label: (video path, {frame index: (N, 4) boxes})}`` of the clip at every size."""
    import cv2
    import numpy as np
    spec = importlib.util.spec_from_file_location(
        "make_track_sequence", os.path.join(ROOT, "tools", "make_track_sequence.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    gt, frames = tool.make_sequence(folder, num_frames=num_frames, seed=0, return_frames=True)
    clips = {}
    for size in SIZES:
        w, h = size or (gt["width"], gt["height"])
        sx, sy = w / gt["width"], h / gt["height"]
        path = os.path.join(folder, "clip_%dx%d.mp4" % (w, h))
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"mp4v"), gt["fps"], (w, h))
        for frame in frames:
            writer.write(frame if size is None else cv2.resize(frame, (w, h)))
        writer.release()
        boxes = {f["frame"]: np.array([p["box"] for p in f["people"]], np.float32)
                 .reshape(-1, 4) * np.float32([sx, sy, sx, sy]) for f in gt["frames"]}
        clips["%dx%d" % (w, h)] = (path, boxes)
    return clips


def _predictor(model, size, boxes):
    import mxnet as mx
    import numpy as np
    from gluonpose.inference import Predictor
    from gluonpose.model_zoo import get_model
    mx.random.seed(0)
    net = get_model(model)
    net.initialize(mx.init.Xavier(), ctx=mx.cpu())

    def provider(frame):
        b = boxes.get(frame.index, np.zeros((0, 4), np.float32))
        return b, np.ones(len(b), np.float32)
    return Predictor(net, input_size=size, boxes=provider, progress=False)


def _run(pred, path, out_path, pipeline):
    """Seconds of one tracked, drawn and written pass, and its (keypoints, ids) per frame."""
    from gluonpose.inference.render import AnnotatedVideo
    pred.reset()
    kept = []
    t0 = time.perf_counter()
    with AnnotatedVideo(out_path, 30.0, pred.schema, 0.2) as video:
        for result in pred.predict_source(path, track=True, pipeline=pipeline,
                                          render=lambda res, img: video.write(img, res)):
            kept.append([(p.keypoints.tobytes(), p.track_id) for p in result])
    return time.perf_counter() - t0, kept


def _stage_shares(pred, path, out_path):
    """Seconds per stage of one sequential pass (read, prepare, network, track, draw+write)."""
    from gluonpose.inference.predictor import _track
    from gluonpose.inference.render import AnnotatedVideo
    from gluonpose.inference.sources import open_source
    from gluonpose.tracking import PoseTracker
    clock, total = time.perf_counter, collections.OrderedDict(
        (k, 0.0) for k in ("read", "detect+crop", "network", "track", "draw+write"))
    tracker = PoseTracker(schema=pred.schema)
    src = open_source(path)
    frames = iter(src)
    with AnnotatedVideo(out_path, 30.0, pred.schema, 0.2) as video:
        while True:
            t0 = clock()
            frame = next(frames, None)
            if frame is None:
                break
            t1 = clock()
            state = pred._prepare(frame)
            t2 = clock()
            result = pred._infer(state)
            t3 = clock()
            _track(result, frame, tracker, None)
            t4 = clock()
            video.write(frame.image, result)
            t5 = clock()
            for key, dt in zip(total, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                total[key] += dt
    src.close()
    return total


def run(args):
    rounds = 1 if args.quick else 3
    num_frames = 24 if args.quick else 72
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        clips = _make_clips(folder, num_frames)
        out_path = os.path.join(folder, "annotated.mp4")
        for model, size in MODELS:
            for label, (path, boxes) in clips.items():
                pred = _predictor(model, size, boxes)
                _run(pred, path, out_path, False)                 # warm-up: graphs per shape
                shares = _stage_shares(pred, path, out_path)
                times = {False: [], True: []}
                same = True
                for _ in range(rounds):
                    results = {}
                    for pipeline in (False, True):
                        seconds, results[pipeline] = _run(pred, path, out_path, pipeline)
                        times[pipeline].append(seconds)
                    same &= results[False] == results[True]
                seq, pipe = num_frames / median(times[False]), num_frames / median(times[True])
                total = sum(shares.values())
                net = shares["network"] / total
                rows.append("| %s %dx%d | %s | %.1f | %.1f | **%.2fx** | %.2fx | %s | %s |" % (
                    model, size[0], size[1], label, seq, pipe, pipe / seq,
                    min(1.0 / net, 2.0), " / ".join("%.0f" % (100 * v / total)
                                                   for v in shares.values()),
                    "yes" if same else "**NO**"))
    return "\n".join([
        "## Pipelined video path (`bench_pipeline.py`)", "",
        machine_line(" %d-frame synthetic clip, tracking + drawing + mp4 writing on, "
                     "%d alternating rounds, medians." % (num_frames, rounds)), "",
        "| model, input | video | sequential frames/s | pipelined frames/s | speed-up "
        "| bound min(1/f, 2) | sequential stage % (read / detect+crop / network / track / "
        "draw+write) | identical results |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ] + rows + [
        "",
        "`f` is the network's share of the sequential time. The pipeline overlaps the "
        "other stages with the network, so its ceiling is the network's own speed; on "
        "2 cores the network already uses both cores (MXNet's OpenMP), so the overlap "
        "buys least where the network dominates.",
    ])


if __name__ == "__main__":
    sys.exit(bench_main(run, __doc__, "one round, 24 frames"))
