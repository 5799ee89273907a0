"""Training throughput: the gluonpose engine vs GluonCV's ``train_simple_pose.py`` loop.

Both sides train ``simple_pose_resnet18_v1b`` from scratch on the bundled mini
COCO set with the images decoded once and held in memory, the same batch per
device, input size, devices, augmentation (scale 0.30, rotation 40, flip,
sigma 2 MSRA targets), Adam, hybridized with ``static_alloc/static_shape``.

* GluonCV: its model, ``SimplePoseDefaultTrainTransform``, ``L2Loss`` and
  ``HeatmapAccuracy`` in a reproduction of the script's inner loop
  (``split_and_load``, record, backward, ``trainer.step``, metric update, the
  logged loss read every batch -- divided by ``max(1, num_gpus)`` since the
  script's ``/ num_gpus`` fails on the CPU).
* gluonpose: :func:`gluonpose.engine.train` itself (data pipeline, metric,
  records, progress bars off); images/s come from its epoch records.

Images/s are measured per epoch (data loading included) after one warm-up
epoch; a run's rate is the median of its timed epochs. The two sides run as
interleaved pairs in ABBA order (GluonCV first in even pairs, gluonpose first
in odd ones) so a slow drift of the shared machine's load hits both equally;
the reported ratio is the median of the per-pair ratios, with their range.
``run(args) -> str`` returns a markdown section; ``python bench/bench_train.py
[--quick]`` prints it.
"""
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench._common import bench_main, machine_line, median  # noqa: E402

MODEL = "simple_pose_resnet18_v1b"


def _in_memory_mini():
    from gluonpose.data import mini_coco
    from gluonpose.engine.data import InMemoryDataset
    return InMemoryDataset(mini_coco(image_format="numpy")).preload()


def _gluoncv_epochs(dataset, ctxs, batch, size, epochs, workers):
    """Per-epoch images/s of GluonCV's training loop (after a warm-up epoch)."""
    import mxnet as mx
    from mxnet import autograd as ag
    from mxnet import gluon
    from gluoncv.data.transforms.presets.simple_pose import SimplePoseDefaultTrainTransform
    from gluoncv.model_zoo import get_model
    from gluoncv.utils.metrics import HeatmapAccuracy

    h, w = size
    items = [(mx.nd.array(dataset[i][0], dtype="uint8"), dataset.label(i), i)
             for i in range(len(dataset))]
    transform = SimplePoseDefaultTrainTransform(
        num_joints=17, joint_pairs=dataset.joint_pairs, image_size=(h, w),
        heatmap_size=(h // 4, w // 4), sigma=2, scale_factor=0.30, rotation_factor=40,
        random_flip=True)
    data = gluon.data.SimpleDataset(items).transform(transform)
    total = batch * len(ctxs)
    loader = gluon.data.DataLoader(data, batch_size=total, shuffle=True, last_batch="discard",
                                   num_workers=workers)
    mx.random.seed(0)
    net = get_model(MODEL, pretrained_base=False, ctx=ctxs)
    net.initialize(mx.init.MSRAPrelu(), ctx=ctxs)
    net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 1e-3, "wd": 0.0})
    L = gluon.loss.L2Loss()
    metric = HeatmapAccuracy()
    num_gpus = 0                                   # CPU run: the script would divide by this
    rates = []
    for epoch in range(epochs):
        metric.reset()
        tic, seen = time.time(), 0
        for batch_data in loader:
            X = gluon.utils.split_and_load(batch_data[0], ctx_list=ctxs, batch_axis=0)
            y = gluon.utils.split_and_load(batch_data[1], ctx_list=ctxs, batch_axis=0)
            wt = gluon.utils.split_and_load(batch_data[2], ctx_list=ctxs, batch_axis=0)
            with ag.record():
                outputs = [net(x.astype("float32", copy=False)) for x in X]
                loss = [L(o.astype("float32", copy=False), t, ww)
                        for o, t, ww in zip(outputs, y, wt)]
            ag.backward(loss)
            trainer.step(total)
            metric.update(y, outputs)
            # GluonCV reads the running loss every batch (a sync point): keep that cost
            _ = sum(l.mean().asscalar() for l in loss) / max(1, num_gpus)
            seen += total
        mx.nd.waitall()
        if epoch > 0:
            rates.append(seen / (time.time() - tic))
    return rates


def _gluonpose_epochs(dataset, ctxs, batch, size, epochs, workers):
    """Per-epoch images/s of gluonpose's engine (its epoch records, warm-up epoch dropped)."""
    from gluonpose.engine import TRAIN_DEFAULTS, make_config, train
    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        cfg = make_config(TRAIN_DEFAULTS, {
            "model": MODEL, "input_size": "%d,%d" % size, "batch_size": batch,
            "ctx": ",".join("cpu:%d" % c.device_id for c in ctxs), "num_epochs": epochs,
            "lr": 1e-3, "wd": 0.0, "mode": "hybrid", "num_data_workers": workers,
            "save_dir": tmp, "save_frequency": 0, "log_interval": 0, "logging_file": None,
            "progress": False, "split": "person_keypoints_train2017"})
        result = train(cfg, dataset=dataset, echo=lambda s: None, console=False)
    return [r["samples_per_sec"] for r in result.epochs[1:]]


def _measure(dataset, ctxs, batch, size, epochs, workers, pairs):
    """Per-pair median epoch rates of both loops, run as interleaved ABBA pairs."""
    sides = (("gluoncv", _gluoncv_epochs), ("gluonpose", _gluonpose_epochs))
    rates = {"gluoncv": [], "gluonpose": []}
    for k in range(pairs):
        for name, fn in (sides if k % 2 == 0 else sides[::-1]):
            rates[name].append(median(fn(dataset, ctxs, batch, size, epochs, workers)))
    ratios = [p / g for g, p in zip(rates["gluoncv"], rates["gluonpose"])]
    return {"gluoncv": median(rates["gluoncv"]), "gluonpose": median(rates["gluonpose"]),
            "ratio": median(ratios), "low": min(ratios), "high": max(ratios)}


def run(args=None):
    """Run the benchmark; returns a markdown section.

    Parameters
    ----------
    args : argparse.Namespace or dict, optional
        ``quick`` (bool): one setting, short runs.
    """
    import mxnet as mx
    import gluoncv  # noqa: F401  (fail early when the reference is missing)

    quick = bool(args.get("quick") if isinstance(args, dict) else getattr(args, "quick", False))
    dataset = _in_memory_mini()
    # (input size, batch per device, devices, interleaved pairs)
    settings = [((128, 96), 16, [mx.cpu(0)], 1 if quick else 4)]
    if not quick:
        settings += [((128, 96), 8, [mx.cpu(0), mx.cpu(1)], 4),
                     ((256, 192), 16, [mx.cpu(0)], 3)]
    epochs = 3 if quick else 4
    rows, ratios = [], []
    for size, batch, ctxs, pairs in settings:
        m = _measure(dataset, ctxs, batch, size, epochs, 0, pairs)
        ratios.append(m["ratio"])
        rows.append("| %dx%d | %d x %d | %s | %d | %.1f | %.1f | **%.2fx** | %.2f-%.2fx |" % (
            size[0], size[1], batch, len(ctxs), ",".join(str(c) for c in ctxs), pairs,
            m["gluoncv"], m["gluonpose"], m["ratio"], m["low"], m["high"]))
    lines = [
        "## Training throughput vs GluonCV's loop (`bench/bench_train.py`)",
        "",
        "`simple_pose_resnet18_v1b` from scratch on the bundled mini COCO set (86 instances, "
        "images in memory), Adam, hybridized (static), sigma-2 MSRA targets, scale 0.30 / "
        "rotation 40 / flip augmentation, data-loader workers 0. Images/s per epoch including "
        "data loading and the metric; a run is one warm-up epoch and %d timed epochs (its rate: "
        "the median epoch). GluonCV's and gluonpose's runs alternate in ABBA-ordered pairs; "
        "img/s columns are medians over the pairs, the ratio is the median of the per-pair "
        "ratios and the range their lowest and highest%s." % (
            epochs - 1, " (quick mode)" if quick else ""),
        "",
        "| input | batch x devices | devices | pairs | GluonCV img/s | gluonpose img/s "
        "| ratio (median) | ratio range |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ] + rows + [
        "",
        "Target >= 1.0x: **%s** (lowest median ratio %.2fx). On the CPU both loops are bound "
        "by the same network's forward/backward (identical graphs, the same MXNet kernels); "
        "what the engine does faster (vectorised transform and metric, one loss read per step) "
        "is a few percent of a step there, so single pairs scatter around the median by "
        "about as much as the difference itself."
        % ("met" if min(ratios) >= 1.0 else "MISSED", min(ratios)),
        "",
        machine_line(" Several `cpu(i)` contexts share the same cores, so the two-device row "
                     "tests the multi-device path, not a speed-up."),
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    return bench_main(run, __doc__, "one setting, short runs", argv)


if __name__ == "__main__":
    sys.exit(main())
