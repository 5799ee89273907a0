"""Inference throughput of the MobilePose and FastPose models: gluonpose FP32 / INT8 vs GluonCV FP32.

Every *new* model GluonCV also publishes: the six ``mobile_pose_*`` and
``alpha_pose_resnet101_v1b_coco`` (at 256x192, and at its own 320x256). What
is timed, as in ``bench/bench_infer.py``: ``net(x)`` plus ``wait_to_read()`` on
a fixed random batch (network forward only, no data loading, no decoding),
three networks of the same architecture in one process:

* **GluonCV FP32**: ``gluoncv.model_zoo.get_model(name, pretrained_base=False)``,
  ``MSRAPrelu`` init, ``hybridize(static_alloc=True, static_shape=True)``;
* **gluonpose FP32**: ``gluonpose.get_model`` through
  :func:`gluonpose.deploy.accelerate.optimize_for_cpu` (static memory plan plus
  oneDNN subgraph fusion);
* **gluonpose INT8**: :func:`gluonpose.deploy.quantize.quantize` of that FP32
  network (oneDNN, ``naive`` calibration on 32 crops of the bundled mini COCO
  set normalised with the model's own mean/std), hybridized static. Every
  convolution, trunk and DUC head, runs INT8; the pixel shuffles run in FP32
  between a dequantize and a quantize node, which a last
  table compares with running them on the INT8 codes
  (``quantize(..., int8_layout=True)``).

Each timed call runs the forward pass ``iters`` times (chosen once per group
so that a call takes about half a second); the networks of a group are timed
in turn, round after round (interleaved, so a slow patch of the shared
machine hits all of them), and each figure is the median over rounds of
images/s. Weights are random (throughput does not depend on their values).

Headline: ``mobile_pose_resnet18_v1b`` INT8 against GluonCV's
``simple_pose_resnet18_v1b`` FP32 -- GluonCV publishes 66.2 and 66.3 COCO AP
for them (val2017, 256x192, detector boxes, flip test) -- timed in one
interleaved group, target >= 3x, with the multiply-add arithmetic of both
networks (:func:`gluonpose.utils.model_summary.model_summary`).

``run(args) -> str`` returns a markdown section; ``python bench/bench_zoo.py
[--quick]`` prints it (``--quick``: two light models and the headline, batch 1,
3 rounds -- a smoke run, not a measurement).
"""
import os
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench._common import bench_main, gmacs, machine_line, median  # noqa: E402

#: (model, input size, batches): every new model GluonCV also has
CASES = (
    ("mobile_pose_resnet18_v1b", (256, 192), (1, 32)),
    ("mobile_pose_resnet50_v1b", (256, 192), (1, 32)),
    ("mobile_pose_mobilenet1.0", (256, 192), (1, 32)),
    ("mobile_pose_mobilenetv2_1.0", (256, 192), (1, 32)),
    ("mobile_pose_mobilenetv3_large", (256, 192), (1, 32)),
    ("mobile_pose_mobilenetv3_small", (256, 192), (1, 32)),
    # about 20x the work of a MobilePose: batch 1 only, fewer rounds (HEAVY)
    ("alpha_pose_resnet101_v1b_coco", (256, 192), (1,)),
    ("alpha_pose_resnet101_v1b_coco", (320, 256), (1,)),
)
QUICK_CASES = (("mobile_pose_mobilenetv3_small", (256, 192), (1,)),
               ("mobile_pose_resnet18_v1b", (256, 192), (1,)))
HEAVY = ("alpha_pose_resnet101_v1b_coco",)
HEADLINE = ("mobile_pose_resnet18_v1b", "simple_pose_resnet18_v1b")
#: GluonCV's published COCO val2017 AP (256x192, its detector's boxes, flip test)
HEADLINE_AP = {"mobile_pose_resnet18_v1b": 66.2, "simple_pose_resnet18_v1b": 66.3}
HEADLINE_TARGET = 3.0
SECONDS_PER_CALL = 0.5


def _quiet_init(net):
    """MSRAPrelu for every parameter not initialised yet (factories that initialise keep theirs)."""
    import mxnet as mx
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.initialize(mx.init.MSRAPrelu())
    return net


def _gluoncv(name, shape):
    import gluoncv
    import mxnet as mx
    mx.random.seed(0)
    net = _quiet_init(gluoncv.model_zoo.get_model(name, pretrained_base=False))
    net.hybridize(static_alloc=True, static_shape=True)
    return net


#: models whose oneDNN partitioning failed in this run -> the error (reported under the table)
FUSION_FAILED = {}


def _gluonpose_fp32(name, shape):
    import mxnet as mx
    from gluonpose.deploy.accelerate import optimize_for_cpu
    from gluonpose.model_zoo import get_model
    mx.random.seed(0)
    try:
        return optimize_for_cpu(_quiet_init(get_model(name)), shape)
    except mx.base.MXNetError as err:
        # MXNet 1.9's MKLDNN partitioner rejects some graphs (the SE-ResNet FastPose): time
        # the plain static graph instead and say so
        FUSION_FAILED[name] = str(err).strip().splitlines()[-1][:300]
        mx.random.seed(0)
        net = _quiet_init(get_model(name))
        net.hybridize(static_alloc=True, static_shape=True)
        return net


def _gluonpose_int8(name, shape, calib_cache, int8_layout=False):
    import mxnet as mx
    from gluonpose.deploy.quantize import calibration_crops, quantize
    from gluonpose.model_zoo import get_model, get_model_spec
    size = tuple(shape[2:])
    spec = get_model_spec(name)
    key = (size, tuple(spec.mean), tuple(spec.std))
    if key not in calib_cache:
        calib_cache[key] = calibration_crops(size, num_examples=32, mean=spec.mean,
                                             std=spec.std)
    mx.random.seed(0)
    qnet = quantize(_quiet_init(get_model(name)), size, calib_mode="naive",
                    calib_data=calib_cache[key], int8_layout=int8_layout)
    qnet.hybridize(static_alloc=True, static_shape=True)
    return qnet


def _time_group(nets, shape, rounds):
    """Median images/s of each network, timed interleaved."""
    import mxnet as mx
    import numpy as np
    x = mx.nd.array(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    slowest = 0.0
    for net in nets.values():
        net(x).wait_to_read()                           # build / plan once
        tic = time.perf_counter()
        net(x).wait_to_read()
        slowest = max(slowest, time.perf_counter() - tic)
    iters = max(1, int(round(SECONDS_PER_CALL / max(slowest, 1e-6))))
    rates = {k: [] for k in nets}
    for _ in range(rounds):
        for key, net in nets.items():
            tic = time.perf_counter()
            for _ in range(iters):
                net(x).wait_to_read()
            rates[key].append(iters * shape[0] / (time.perf_counter() - tic))
    return {k: median(v) for k, v in rates.items()}


def run(args=None):
    """Run the benchmark; returns a markdown section.

    Parameters
    ----------
    args : argparse.Namespace or dict, optional
        ``quick`` (bool): two light models and the headline, batch 1, 3 rounds.
    """
    import gluoncv  # noqa: F401  (fail early when the reference is missing)
    import mxnet as mx
    from gluonpose.deploy.accelerate import has_onednn

    quick = bool(args.get("quick") if isinstance(args, dict) else getattr(args, "quick", False))
    cases = QUICK_CASES if quick else CASES
    calib_cache = {}
    rows, ratios = [], []
    t_start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, size, batches in cases:
            for batch in batches:
                rounds = 3 if quick or name in HEAVY else 7
                shape = (batch, 3) + size
                nets = {"gcv": _gluoncv(name, shape), "fp32": _gluonpose_fp32(name, shape),
                        "int8": _gluonpose_int8(name, shape, calib_cache)}
                r = _time_group(nets, shape, rounds)
                del nets
                f, q = r["fp32"] / r["gcv"], r["int8"] / r["gcv"]
                ratios.append((name, size, batch, f, q))
                rows.append("| %s%s | %dx%d | %d | %d | %.1f | %.1f | %.2fx | %.1f | %.2fx | "
                            "%.2fx |" % (name, " (*)" if name in FUSION_FAILED else "",
                                         size[0], size[1], batch, rounds, r["gcv"],
                                         r["fp32"], f, r["int8"], q, r["int8"] / r["fp32"]))
        # the headline: one interleaved group, batch 1 (and 32 unless quick)
        mobile, simple = HEADLINE
        size = (256, 192)
        head_rows, head_ratios = [], []
        for batch in ((1,) if quick else (1, 32)):
            rounds = 3 if quick else 9
            shape = (batch, 3) + size
            nets = {"gcv_simple": _gluoncv(simple, shape), "gcv_mobile": _gluoncv(mobile, shape),
                    "int8_mobile": _gluonpose_int8(mobile, shape, calib_cache)}
            r = _time_group(nets, shape, rounds)
            del nets
            ratio = r["int8_mobile"] / r["gcv_simple"]
            head_ratios.append(ratio)
            head_rows.append("| %d | %d | %.1f | %.1f | %.1f | **%.2fx** | %.2fx |" % (
                batch, rounds, r["gcv_simple"], r["gcv_mobile"], r["int8_mobile"], ratio,
                r["gcv_mobile"] / r["gcv_simple"]))
        macs_simple, macs_mobile = gmacs(simple, size), gmacs(mobile, size)
        # the pixel shuffles on INT8 codes vs MXNet's FP32 reshape/transpose between a
        # dequantize and a quantize node (same network, same calibration, same outputs)
        shuffle_rows = []
        for batch in ((1,) if quick else (1, 32)):
            rounds = 3 if quick else 9
            shape = (batch, 3) + size
            nets = {"fp32_shuffle": _gluonpose_int8(mobile, shape, calib_cache, False),
                    "int8_shuffle": _gluonpose_int8(mobile, shape, calib_cache, True)}
            r = _time_group(nets, shape, rounds)
            del nets
            shuffle_rows.append("| %d | %d | %.1f | %.1f | %.2fx |" % (
                batch, rounds, r["fp32_shuffle"], r["int8_shuffle"],
                r["int8_shuffle"] / r["fp32_shuffle"]))
    ok = min(head_ratios) >= HEADLINE_TARGET
    mac_ratio = macs_simple / macs_mobile
    lines = [
        "## MobilePose / FastPose inference vs GluonCV (`bench/bench_zoo.py`)",
        "",
        "Network forward only (`net(x)` + `wait_to_read`), random weights, images/s, median "
        "of the stated number of interleaved rounds%s. GluonCV FP32: its own `get_model(..., "
        "pretrained_base=False)` hybridized with `static_alloc/static_shape`. gluonpose FP32: "
        "`optimize_for_cpu` (static plan + oneDNN fusion). gluonpose INT8: "
        "`gluonpose.deploy.quantize.quantize`, naive calibration on 32 mini-COCO crops "
        "normalised with the model's mean/std; every convolution (trunk and DUC head) INT8, "
        "pixel shuffles FP32 (between a dequantize and a quantize); "
        "MobileNetV3's hard-swish/SE arithmetic stays FP32. "
        "`alpha_pose_resnet101_v1b_coco` (GluonCV's, published at 320x256) runs batch 1 only "
        "with fewer rounds: at about 20x a MobilePose's work a batch of 32 takes tens of "
        "seconds per call on this machine."
        % (" (quick mode: a smoke run, not a measurement)" if quick else ""),
        "",
        "| model | input | batch | rounds | GluonCV FP32 img/s | gluonpose FP32 img/s | ratio | "
        "gluonpose INT8 img/s | INT8 / GluonCV FP32 | INT8 / gluonpose FP32 |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ] + rows + [
        "",
    ] + ["(*) `optimize_for_cpu` failed for `%s` (MXNet's MKLDNN partitioner: `%s`); its "
         "gluonpose FP32 column is the plain static graph, without oneDNN fusion.\n" % kv
         for kv in sorted(FUSION_FAILED.items())] + [
        "FP32 gluonpose / GluonCV: lowest %.2fx (%s), highest %.2fx. INT8 / GluonCV FP32: "
        "lowest %.2fx (%s), highest %.2fx."
        % (min(r[3] for r in ratios), min(ratios, key=lambda r: r[3])[0],
           max(r[3] for r in ratios), min(r[4] for r in ratios),
           min(ratios, key=lambda r: r[4])[0], max(r[4] for r in ratios)),
        "",
        "### Headline: `%s` INT8 vs GluonCV `%s` FP32" % HEADLINE,
        "",
        "GluonCV publishes %.1f vs %.1f COCO val2017 AP for the two (256x192, its detector's "
        "boxes, flip test), so this is the speed of the same accuracy. One interleaved group "
        "per batch, 256x192." % (HEADLINE_AP[mobile], HEADLINE_AP[simple]),
        "",
        "| batch | rounds | GluonCV simple_pose_resnet18 FP32 | GluonCV mobile_pose_resnet18 FP32 "
        "| gluonpose mobile_pose_resnet18 INT8 | INT8 MobilePose / GluonCV SimplePose | "
        "GluonCV MobilePose / SimplePose (FP32) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ] + head_rows + [
        "",
        "Target >= %.1fx: **%s** (lowest %.2fx). Arithmetic: `%s` is %.2f GMACs at 256x192 "
        "(three FP32-only transposed convolutions included), `%s` %.2f GMACs, so the "
        "architecture alone is worth %.2fx in multiply-adds, and INT8 must add the rest "
        "(%.2fx on top of that to reach %.1fx)."
        % (HEADLINE_TARGET, "met" if ok else "MISSED", min(head_ratios), simple, macs_simple,
           mobile, macs_mobile, mac_ratio, HEADLINE_TARGET / mac_ratio, HEADLINE_TARGET),
        "",
        "Where the pixel shuffles of the INT8 `%s` run: FP32 reshape/transpose between a "
        "dequantize and a quantize node (`quantize(..., int8_layout=False)`, the default: "
        "MXNet %s) vs on the INT8 codes with no conversion (`int8_layout=True`); identical "
        "outputs:"
        % (mobile, mx.__version__),
        "",
        "| batch | rounds | FP32 shuffles img/s | INT8 shuffles img/s | INT8 / FP32 shuffles |",
        "| ---: | ---: | ---: | ---: | ---: |",
    ] + shuffle_rows + [
        "",
        machine_line(" oneDNN %s; %.0f s." % ("on" if has_onednn() else "off",
                                               time.perf_counter() - t_start)),
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    return bench_main(run, __doc__, "two light models and the headline, batch 1, 3 rounds "
                      "(smoke run)", argv)


if __name__ == "__main__":
    sys.exit(main())
