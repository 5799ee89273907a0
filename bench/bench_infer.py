"""Inference throughput: gluonpose FP32 and INT8 vs GluonCV's FP32, network forward only.

What is timed: ``net(x)`` plus ``wait_to_read()`` on a fixed random batch of
shape ``(B, 3, 256, 192)``, for ``simple_pose_resnet18_v1b`` and
``simple_pose_resnet50_v1b`` at batch 1 and 32 (no data loading, no
decoding). All networks live in this one process:

* **GluonCV FP32**: ``gluoncv.model_zoo.get_model(name, pretrained_base=False)``,
  ``MSRAPrelu`` init, ``hybridize(static_alloc=True, static_shape=True)`` --
  GluonCV's own inference setting (``validate.py --mode hybrid``);
* **gluonpose FP32**: the same architecture from ``gluonpose.get_model``,
  through :func:`gluonpose.deploy.accelerate.optimize_for_cpu` (static
  memory plan plus MXNet's oneDNN subgraph fusion: batch norm folded into the
  convolution, ReLU and residual add fused);
* **gluonpose INT8**: :func:`gluonpose.deploy.quantize.quantize` of that FP32
  network (oneDNN, ``naive`` calibration on 32 crops of the bundled mini
  COCO set), ``hybridize(static_alloc=True, static_shape=True)``. The three
  transposed convolutions of the head have no INT8 kernel in MXNet 1.9 and
  run in FP32.

Weights are random (throughput does not depend on their values). Every
network gets a warm-up call, then the three are timed in turn, round after
round (interleaved, so a slow patch of a shared machine hits all of them);
each figure is the median over rounds of images/s. ``run(args) -> str``
returns a markdown section; ``python bench/bench_infer.py [--quick]`` prints
it (``--quick``: resnet18 only, batch 1 and 8, few rounds -- a smoke test, not
a measurement).
"""
import os
import sys
import time
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench._common import bench_main, machine_line  # noqa: E402

MODELS = ("simple_pose_resnet18_v1b", "simple_pose_resnet50_v1b")
INPUT = (256, 192)
FP32_TARGET = 1.0
INT8_TARGET = 2.5


def _rate(net, x, iters):
    """Images/s of ``iters`` forward passes (after one untimed call)."""
    net(x).wait_to_read()
    tic = time.perf_counter()
    for _ in range(iters):
        net(x).wait_to_read()
    return iters * x.shape[0] / (time.perf_counter() - tic)


def _build(name, batch, calib):
    """The three networks of one model, ready for a batch of ``batch``."""
    import gluoncv
    import mxnet as mx
    from gluonpose.deploy.accelerate import optimize_for_cpu
    from gluonpose.deploy.quantize import quantize
    from gluonpose.model_zoo import get_model
    shape = (batch, 3) + INPUT
    mx.random.seed(0)
    gcv = gluoncv.model_zoo.get_model(name, pretrained_base=False)
    gcv.initialize(mx.init.MSRAPrelu())
    gcv.hybridize(static_alloc=True, static_shape=True)
    mx.random.seed(0)
    fp32 = get_model(name)
    fp32.initialize(mx.init.MSRAPrelu())
    mx.random.seed(0)
    src = get_model(name)
    src.initialize(mx.init.MSRAPrelu())
    int8 = quantize(src, INPUT, calib_mode="naive", calib_data=calib)
    int8.hybridize(static_alloc=True, static_shape=True)
    optimize_for_cpu(fp32, shape)
    return {"gluoncv_fp32": gcv, "gluonpose_fp32": fp32, "gluonpose_int8": int8}


def _measure(name, batch, rounds, calib):
    import mxnet as mx
    import numpy as np
    nets = _build(name, batch, calib)
    x = mx.nd.array(np.random.default_rng(0).standard_normal((batch, 3) + INPUT)
                    .astype(np.float32))
    # about two seconds of work per timed call on a small CPU
    iters = max(1, int(round(8 / batch))) if batch < 8 else 1
    rates = {k: [] for k in nets}
    for net in nets.values():
        net(x).wait_to_read()                       # build / plan once
    for _ in range(rounds):
        for key, net in nets.items():
            rates[key].append(_rate(net, x, iters))
    return {k: float(np.median(v)) for k, v in rates.items()}


def run(args=None):
    """Run the benchmark; returns a markdown section.

    Parameters
    ----------
    args : argparse.Namespace or dict, optional
        ``quick`` (bool): resnet18 only, batch 1 and 8, 3 rounds.
    """
    import mxnet as mx
    import gluoncv  # noqa: F401  (fail early when the reference is missing)
    from gluonpose.deploy.accelerate import has_onednn
    from gluonpose.deploy.quantize import calibration_crops

    quick = bool(args.get("quick") if isinstance(args, dict) else getattr(args, "quick", False))
    models = MODELS[:1] if quick else MODELS
    batches = (1, 8) if quick else (1, 32)
    rounds = 3 if quick else 7
    calib = calibration_crops(INPUT, num_examples=32)
    rows, fp32_ratios, int8_ratios = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in models:
            for batch in batches:
                r = _measure(name, batch, rounds, calib)
                f = r["gluonpose_fp32"] / r["gluoncv_fp32"]
                q = r["gluonpose_int8"] / r["gluoncv_fp32"]
                fp32_ratios.append(f)
                int8_ratios.append(q)
                rows.append("| %s | %d | %.1f | %.1f | %.2fx | %.1f | %.2fx |" % (
                    name, batch, r["gluoncv_fp32"], r["gluonpose_fp32"], f,
                    r["gluonpose_int8"], q))
    fp_ok = min(fp32_ratios) >= FP32_TARGET
    q_ok = min(int8_ratios) >= INT8_TARGET
    lines = [
        "## Inference throughput vs GluonCV (`bench/bench_infer.py`)",
        "",
        "Network forward only (`net(x)` + `wait_to_read`), input 256x192, random weights, "
        "images/s, median of %d interleaved rounds%s. GluonCV FP32: its model hybridized "
        "with `static_alloc/static_shape`. gluonpose FP32: the same architecture through "
        "`gluonpose.deploy.accelerate.optimize_for_cpu` (static memory plan + oneDNN subgraph "
        "fusion: BN folded into conv, ReLU and residual add fused). gluonpose INT8: oneDNN "
        "post-training quantisation, naive calibration on 32 mini-COCO crops; the head's 3 "
        "transposed convolutions stay FP32 (no INT8 deconvolution kernel in MXNet %s)."
        % (rounds, " (quick mode: a smoke run, not a measurement)" if quick else "",
           mx.__version__),
        "",
        "| model | batch | GluonCV FP32 img/s | gluonpose FP32 img/s | ratio | "
        "gluonpose INT8 img/s | INT8 / GluonCV FP32 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ] + rows + [
        "",
        "Target FP32 >= %.1fx GluonCV: **%s** (lowest %.2fx). Target INT8 >= %.1fx GluonCV "
        "FP32: **%s** (lowest %.2fx)."
        % (FP32_TARGET, "met" if fp_ok else "MISSED", min(fp32_ratios), INT8_TARGET,
           "met" if q_ok else "MISSED", min(int8_ratios)),
        "",
        "Why the INT8 gain is bounded: the FP32 transposed convolutions of the head are 1.1 "
        "GMAC per image at 256x192 (1.4 for resnet50) next to 1.8 GMAC in the resnet18 trunk "
        "(4.0 for resnet50); they stay FP32, so the lighter the trunk, the smaller the gain.",
        "",
        machine_line(" oneDNN %s." % ("on" if has_onednn() else "off")),
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    return bench_main(run, __doc__, "resnet18 only, batch 1 and 8, 3 rounds (smoke run)", argv)


if __name__ == "__main__":
    sys.exit(main())
