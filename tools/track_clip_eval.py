"""Track the synthetic clip with poses from a model and score the identities.

The clip of ``tools/make_track_sequence.py`` (people pasted from the bundled
images, crossing, occluded, leaving and re-entering) is run through a pose
network by ``Predictor.predict_source(..., track=True, pipeline=True)`` with
the clip's ground-truth person boxes as the box source (a perfect detector:
the figures measure the pose network and the tracker, not a detector). The
tracked poses are written in the PoseTrack-like layout of
:mod:`gluonpose.tracking.io` and scored against the clip's ground truth with
:func:`gluonpose.tracking.track_metrics` (MOTA, IDF1, identity switches),
once per tracker similarity, next to the tracker's ceiling (ground-truth poses
as input).

Usage::

    python tools/track_clip_eval.py --params runs/quickstart/<...>.params \\
        --input-size 128,96 --codec unbiased [--frames 72] [--out-dir DIR]

``make quickstart`` trains such a model on the bundled images (the people of
the clip are cut from them, so a memorised model sees familiar people on a new
background, at new positions).
"""
import argparse
import json
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def _load_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "make_track_sequence", os.path.join(ROOT, "tools", "make_track_sequence.py"))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def gt_box_provider(gt):
    """``frame -> (boxes, scores)`` from the clip's ground-truth boxes."""
    boxes = {f["frame"]: np.array([p["box"] for p in f["people"]], np.float32).reshape(-1, 4)
             for f in gt["frames"]}

    def provider(frame):
        b = boxes.get(frame.index, np.zeros((0, 4), np.float32))
        return b, np.ones(len(b), np.float32)
    return provider


def gt_results(gt):
    """The ground-truth poses as FrameResults without ids (the tracker's ceiling input)."""
    from gluonpose.inference.results import FrameResult, PersonPose
    out = []
    for f in gt["frames"]:
        poses = [PersonPose(np.asarray(p["keypoints"], np.float32).reshape(-1, 3),
                            np.asarray(p["box"], np.float64), 1.0, 1.0, f["frame"])
                 for p in f["people"]]
        out.append(FrameResult(poses, f["frame"], index=f["frame"]))
    return out


def track_results(results, similarity, frames=None):
    """Give the poses of ``results`` track ids with a fresh PoseTracker (in place)."""
    from gluonpose.tracking import PoseTracker
    tracker = PoseTracker(similarity=similarity)
    for n, result in enumerate(results):
        image = None if frames is None else frames[n]
        ids = tracker.update(list(result), frame=image, frame_index=result.index)
        for person, track_id in zip(result, ids):
            person.track_id = int(track_id)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", required=True, help="weights (.params or .ckpt.json)")
    parser.add_argument("--model", default="simple_pose_resnet18_v1b")
    parser.add_argument("--input-size", default="128,96")
    parser.add_argument("--codec", default="unbiased")
    parser.add_argument("--frames", type=int, default=72)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--oks-threshold", type=float, default=0.5)
    parser.add_argument("--out-dir", default=None, help="keep the clip and the track jsons here")
    args = parser.parse_args(argv)

    import copy
    import cv2
    from gluonpose.inference import Predictor
    from gluonpose.tracking import track_metrics
    from gluonpose.tracking.io import frames_to_json, write_track_json

    out_dir = args.out_dir or tempfile.mkdtemp(prefix="track_clip_")
    gt = _load_tool().make_sequence(out_dir, num_frames=args.frames, seed=args.seed)
    video = os.path.join(out_dir, "sequence.mp4")
    cap, frames = cv2.VideoCapture(video), []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()

    pred = Predictor(args.model, params_file=args.params, input_size=args.input_size,
                     codec=args.codec, boxes=gt_box_provider(gt), progress=False)
    untracked = list(pred.predict_source(video, pipeline=True))
    print("protocol: %d-frame synthetic clip (seed %d), ground-truth person boxes, %s, "
          "no flip; identities matched to the ground truth at OKS >= %.2f"
          % (len(frames), args.seed, pred.describe(), args.oks_threshold))
    header = "%-34s %-9s %6s %6s %9s %5s %6s %8s" % (
        "input poses", "tracker", "MOTA", "IDF1", "switches", "FP", "misses", "mean OKS")
    print(header)
    print("-" * len(header))
    forced = gt.get("forced_occlusions", [])
    for name, source in (("ground truth (ceiling)", gt_results(gt)),
                         ("model: " + args.model, untracked)):
        for similarity in ("poseflow", "oks"):
            results = track_results(copy.deepcopy(source), similarity, frames)
            path = os.path.join(out_dir, "tracks_%s_%s.json"
                                % ("gt" if name.startswith("ground") else "model", similarity))
            write_track_json(path, results)
            m = track_metrics(gt["frames"], frames_to_json(results),
                              oks_threshold=args.oks_threshold)
            print("%-34s %-9s %6.3f %6.3f %9d %5d %6d %8.3f" % (
                name, similarity, m["mota"], m["idf1"], m["num_switches"],
                m["num_false_positives"], m["num_misses"], m["mean_oks"]))
    print("forced occlusions: %s" % json.dumps(forced))
    print("clip and track jsons: %s" % out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
