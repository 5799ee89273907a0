"""Per-frame latency of the top-down Predictor, by stage, for 1, 5 and 20 people.

Method: ``gluonpose.Predictor`` with ``simple_pose_resnet18_v1b`` at 256x192,
FP32, random weights (latency does not depend on the weights), hybridized,
MSRA codec, no flip test, OKS-NMS 0.9, on one bundled mini-COCO JPEG with N
caller boxes (the first person's box shifted across the image, so every crop
is a real person-sized box). Each frame is a full ``predict(path,
boxes=...)`` call: JPEG decode, box lookup, crop (affine warp of every box +
normalisation into one batch), one network forward for all N crops (the
stage waits for the result), heatmap decoding, rescoring + OKS-NMS. Stage
times come from ``Predictor.last_timings``; medians over the timed rounds
after two warm-up rounds (the hybridized graph is built per batch shape).
Every round runs each setting once, interleaved (1, 5, 20 people, the bare
network, GluonCV's path), so load drift on a shared machine hits all alike.

The network's own time per crop is measured separately: the median of a bare
``net(batch of 20 crops)`` forward divided by 20. The marginal cost of one
more person is ``(t20 - t1) / 19`` of the end-to-end frame latency; the target
is at most 1.2x the network's time per crop, i.e. crop, decode and NMS add at
most 20% per person on top of the unavoidable network work.

When gluoncv is installed, GluonCV's demo path runs on the same frames in the
same process for comparison: ``mx.image.imread``, its
``detector_to_simple_pose`` (with the same boxes as detector output), its
``simple_pose_resnet18_v1b`` (random weights, hybridized) and its
``heatmap_to_coord``.

``run(args) -> str`` returns a markdown section; ``python
bench/bench_predict.py [--quick]`` prints it.
"""
import os
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench._common import bench_main, machine_line, median  # noqa: E402

MODEL = "simple_pose_resnet18_v1b"
SIZE = (256, 192)
PEOPLE = (1, 5, 20)


def _frame():
    """(image path, H, W, a person box xyxy) from the bundled set: its largest person."""
    import numpy as np
    from gluonpose.data import mini_coco, mini_coco_root
    ds = mini_coco(image_format="numpy")
    areas = [(r["bbox"][2] - r["bbox"][0]) * (r["bbox"][3] - r["bbox"][1]) for r in ds.records]
    rec = ds.records[int(np.argmax(areas))]
    path = os.path.join(mini_coco_root(), "train2017", "%012d.jpg" % rec["image_id"])
    img = ds[int(np.argmax(areas))][0]
    return path, img.shape[0], img.shape[1], np.asarray(rec["bbox"], np.float64)


def _boxes(n, box, h, w):
    """``n`` person boxes: ``box`` shifted along a grid over the image (all inside it)."""
    import numpy as np
    bw, bh = box[2] - box[0], box[3] - box[1]
    bw, bh = min(bw, w * 0.6), min(bh, h * 0.8)
    rng = np.random.RandomState(n)
    x0 = rng.uniform(0, w - 1 - bw, n)
    y0 = rng.uniform(0, h - 1 - bh, n)
    return np.stack([x0, y0, x0 + bw, y0 + bh], axis=1)


def _median_or_nan(xs):
    return median(xs) if xs else float("nan")


def _gluonpose_setup():
    import mxnet as mx
    from gluonpose.inference import Predictor
    mx.random.seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Predictor(MODEL, pretrained=False, input_size=SIZE, progress=False)


def _gluoncv_setup():
    """``frame(path, boxes)`` running GluonCV's demo path (None without gluoncv)."""
    try:
        from gluoncv.data.transforms.pose import detector_to_simple_pose, heatmap_to_coord
        from gluoncv.model_zoo import get_model
    except ImportError:
        return None
    import mxnet as mx
    mx.random.seed(0)
    net = get_model(MODEL, pretrained=False, pretrained_base=False)
    net.initialize(mx.init.Xavier())
    net.hybridize()

    def frame(path, boxes):
        n = len(boxes)
        ids, scores = mx.nd.zeros((1, n, 1)), mx.nd.ones((1, n, 1))
        bbs = mx.nd.array(boxes[None].astype("float32"))
        img = mx.image.imread(path)
        x, crops = detector_to_simple_pose(img, ids, scores, bbs, output_shape=SIZE)
        coords, conf = heatmap_to_coord(net(x), crops)
        coords.asnumpy()
        conf.asnumpy()
    return frame


def _measure(path, boxes_by_n, repeats):
    """Interleaved timings (the machine may be shared: drift hits every setting alike).

    Returns ``(stages {n: {stage: s}}, net seconds per crop, gluoncv {n: s} or None)``.
    """
    import mxnet as mx
    from gluonpose.inference import STAGES
    pred = _gluonpose_setup()
    gcv = _gluoncv_setup()
    big = max(boxes_by_n)
    x = mx.nd.random.uniform(-2, 2, shape=(big, 3) + SIZE)
    rows = {n: [] for n in boxes_by_n}
    gcv_rows = {n: [] for n in boxes_by_n}
    net_rows = []
    for rep in range(repeats + 2):                 # the first two rounds warm up
        for n, boxes in boxes_by_n.items():
            t0 = time.perf_counter()
            pred.predict(path, boxes=boxes)
            total = time.perf_counter() - t0
            if rep >= 2:
                rows[n].append(dict(pred.last_timings, total=total))
            if gcv is not None:
                t0 = time.perf_counter()
                gcv(path, boxes)
                if rep >= 2:
                    gcv_rows[n].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pred.net(x).wait_to_read()
        if rep >= 2:
            net_rows.append(time.perf_counter() - t0)
    stages = {n: {k: _median_or_nan([r[k] for r in rows[n]]) for k in STAGES + ("total",)}
              for n in boxes_by_n}
    gcv_out = None if gcv is None else {n: _median_or_nan(v) for n, v in gcv_rows.items()}
    return stages, _median_or_nan(net_rows) / big, gcv_out


def run(args=None):
    """Run the benchmark; returns a markdown section.

    Parameters
    ----------
    args : argparse.Namespace or dict, optional
        ``quick`` (bool): 3 timed repeats instead of 15.
    """
    from gluonpose.inference import STAGES

    quick = bool(args.get("quick") if isinstance(args, dict) else getattr(args, "quick", False))
    repeats = 3 if quick else 15
    path, h, w, box = _frame()
    boxes_by_n = {n: _boxes(n, box, h, w) for n in PEOPLE}
    stages, net_per_crop, gcv = _measure(path, boxes_by_n, repeats)

    ms = 1000.0
    head = "| people | " + " | ".join(STAGES) + " | total ms | ms / person |"
    if gcv:
        head += " GluonCV demo path ms | gluonpose speed-up |"
    rows = [head, "|" + " ---: |" * (len(STAGES) + 3 + (2 if gcv else 0))]
    for n in PEOPLE:
        s = stages[n]
        row = "| %d | %s | %.1f | %.2f |" % (n, " | ".join("%.2f" % (s[k] * ms) for k in STAGES),
                                            s["total"] * ms, s["total"] * ms / n)
        if gcv:
            row += " %.1f | %.2fx |" % (gcv[n] * ms, gcv[n] / s["total"])
        rows.append(row)
    marginal = (stages[PEOPLE[-1]]["total"] - stages[PEOPLE[0]]["total"]) \
        / (PEOPLE[-1] - PEOPLE[0])
    ratio = marginal / net_per_crop
    lines = [
        "## Predictor latency by stage (`bench/bench_predict.py`)",
        "",
        "`%s` at %dx%d, FP32, hybridized, MSRA decode, no flip, OKS-NMS 0.9; one bundled "
        "mini-COCO JPEG (%dx%d) with N caller boxes; `Predictor.predict(path, boxes)` per "
        "frame, stage times in ms, medians of %d interleaved rounds after 2 warm-up rounds%s."
        % (MODEL, SIZE[0], SIZE[1], w, h, repeats, " (quick mode)" if quick else ""),
        "",
    ] + rows + [
        "",
        "Network alone, batch of %d crops: %.2f ms per crop. Marginal cost of one more person "
        "(t%d - t%d) / %d = %.2f ms = %.2fx the network's time per crop; target <= 1.2x: "
        "**%s**." % (PEOPLE[-1], net_per_crop * ms, PEOPLE[-1], PEOPLE[0],
                     PEOPLE[-1] - PEOPLE[0], marginal * ms, ratio,
                     "met" if ratio <= 1.2 else "MISSED"),
    ]
    if gcv:
        lines += ["", "GluonCV demo path: `mx.image.imread` + `detector_to_simple_pose` (per-box "
                  "crop/resize/normalise NDArray ops) + the same network + `heatmap_to_coord` "
                  "(per-person loop), same frames and boxes, same process."]
    lines += [
        "",
        machine_line(),
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    return bench_main(run, __doc__, "3 timed frames per setting", argv)


if __name__ == "__main__":
    sys.exit(main())
