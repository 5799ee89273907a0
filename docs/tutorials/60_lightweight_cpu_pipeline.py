"""6. A lightweight top-down pipeline on a CPU
============================================

A top-down pose estimator runs its network once per person, so on a CPU
its cost grows with the crowd. This tutorial builds the light FastPose,
``alpha_pose_mobilenetv3_large_coco`` -- AlphaPose's pixel-shuffle head on
a MobileNetV3-Large trunk, gluonpose's network for CPUs -- and follows it
from the model zoo to timed, drawn poses:

1. its **spec**: the input size, normalisation and stride that the
   engine, the Predictor, the exporter and the quantiser read from the
   registry, and the head's channel arithmetic;
2. a short training run on a few people of the bundled mini COCO set;
3. INT8 quantisation with MXNet's oneDNN kernels, and which operators it
   turns into INT8;
4. a timing table for 1, 5 and 20 people per frame, FP32 against INT8,
   through :class:`gluonpose.Predictor <gluonpose.inference.predictor.\
Predictor>`, with the time of every stage;
5. the poses drawn.

The training run is kept to well under a minute on two CPU cores, so the
network **memorises** its eight training people and nothing more: every
accuracy figure below is measured on those same people and says that the
pipeline works end to end, not how good the model is.
"""
import contextlib
import io
import json
import os
import platform
import tempfile
import time

import matplotlib.pyplot as plt
import mxnet as mx
import numpy as np

from gluonpose.model_zoo import get_model, get_model_spec
from gluonpose.utils.model_summary import model_summary

NAME = "alpha_pose_mobilenetv3_large_coco"
work = tempfile.mkdtemp(prefix="gluonpose_light_")

##############################################################################
# The spec
# --------
#
# Every registered pose model comes with a
# :class:`~gluonpose.model_zoo.spec.TopDownSpec`:
# :func:`~gluonpose.model_zoo.get_model_spec` returns it without building
# the network.

spec = get_model_spec(NAME)
print(spec)
for key, value in spec.describe().items():
    print("  %-14s %s" % (key, value))

##############################################################################
# * **input size** 256x192 ``(H, W)`` is the default crop; any size whose
#   sides are multiples of ``size_multiple`` = 32 works (the trunk halves
#   the resolution five times). We train at 128x96 below.
# * **normalisation**: FastPose takes AlphaPose's input, RGB scaled to
#   [0, 1] minus ``mean`` and *no* division (``std`` = 1), unlike the
#   ImageNet mean and std of GluonCV's Simple Baselines and MobilePose
#   networks. Feeding ImageNet-normalised crops to a FastPose network (or
#   the reverse) does not fail, it just gives worse poses, which is why
#   the normalisation lives in the spec and the Predictor, ``gluonpose
#   train`` / ``eval`` / ``export`` and the INT8 calibration all take it
#   from there.
# * **stride** 4: one heatmap pixel per 4x4 input pixels, so 128x96 crops
#   give 32x24 heatmaps.
#
# The four light models of the zoo side by side, each summarised at its
# spec's input size (parameters and multiply-adds from the symbol graph,
# :func:`~gluonpose.utils.model_summary.model_summary`):

LIGHT = ("mobile_pose_mobilenetv3_small", "mobile_pose_mobilenetv3_large",
         "alpha_pose_mobilenetv3_small_coco", NAME)
print("%-34s %-12s %-8s %-9s %6s %9s %7s" % (
    "model", "family", "input", "mean/std", "stride", "params(M)", "GFLOPs"))
for name in LIGHT:
    s = get_model_spec(name)
    cost = model_summary(get_model(name), s.input_size)
    norm = "ImageNet" if s.std[0] < 1 else "AlphaPose"
    print("%-34s %-12s %-8s %-9s %6d %9.2f %7.3f" % (
        name, s.family, "%dx%d" % s.input_size, norm, s.stride,
        cost.params / 1e6, cost.gflops))

##############################################################################
# The two families differ in their heads. MobilePose narrows the trunk to
# 256 channels with a 1x1 convolution and ends with 32 channels at stride
# 4 and a 1x1 convolution; the light FastPose keeps 128 channels at
# stride 4 and ends with a 3x3 convolution, so at the same input it costs
# 1.5 to 1.7 times the multiply-adds of MobilePose on the same trunk.
#
# The head's channel arithmetic
# -----------------------------
#
# FastPose up-samples without transposed convolutions: a *pixel shuffle*
# turns ``4C`` channels at ``H x W`` into ``C`` channels at ``2H x 2W``
# (each group of four channels becomes a 2x2 block of pixels), and a DUC
# block is a 3x3 convolution to four times the channels it should hand on,
# batch norm, ReLU and a pixel shuffle. Every step divides the channels by
# four and doubles the resolution, so the widths must be planned backwards
# from the output. Stepping through the blocks of the network at 128x96:

SIZE = (128, 96)
mx.random.seed(0)
net = get_model(NAME)            # FastPose factories return it initialised
x = mx.nd.zeros((1, 3) + SIZE)
steps = [("trunk (preact)", net.preact), ("shuffle1", net.shuffle1),
         ("duc1.conv", net.duc1.conv), ("duc1 (after shuffle)", None),
         ("duc2.conv", net.duc2.conv), ("duc2 (after shuffle)", None),
         ("conv_out", net.conv_out)]
h = x
for label, block in steps:
    if block is None:            # the rest of the DUC: BN, ReLU, shuffle
        duc = net.duc1 if label.startswith("duc1") else net.duc2
        h = duc.pixel_shuffle(duc.relu(duc.bn(h)))
    else:
        h = block(h)
    print("%-22s %4d channels at %3dx%-3d (stride %2d)" % (
        label, h.shape[1], h.shape[2], h.shape[3], SIZE[0] // h.shape[2]))

##############################################################################
# MobileNetV3-Large ends with 960 channels at stride 32; ``shuffle1``
# makes 960 / 4 = 240 at stride 16; ``duc1`` convolves to 256 and
# shuffles to 64 at stride 8; ``duc2`` convolves to 4 x 128 = 512 and
# shuffles to ``conv_dim`` = 128 at stride 4, where a 3x3 convolution
# gives the 17 heatmaps. AlphaPose's ResNet FastPose follows the same
# rule from 2048 channels (512, then 1024 -> 256, then 512 -> 128). Where
# the multiply-adds go:

cost = model_summary(net, SIZE)
parts = [("trunk", net.preact), ("duc1", net.duc1), ("duc2", net.duc2),
         ("conv_out", net.conv_out)]
for label, block in parts:
    macs = sum(r["macs"] for r in cost.layers
               if r["name"].startswith(block.prefix))
    print("%-9s %6.1f M multiply-adds (%4.1f %%)"
          % (label, macs / 1e6, 100.0 * macs / cost.macs))
print("total     %6.1f M multiply-adds, %.2f M parameters, at %dx%d"
      % (cost.macs / 1e6, cost.params / 1e6, SIZE[0], SIZE[1]))

##############################################################################
# The head costs more than the trunk: ``duc2`` runs its 3x3 convolution
# at stride 8 with 512 outputs. That is the price of a head with no
# transposed convolution -- and the reason all its convolutions quantise,
# as the INT8 section shows.
#
# A short training run
# --------------------
#
# Eight people of the bundled set (four at a dinner table, four single
# people), crops of 128x96 with 32x24 heatmaps, unbiased Gaussian targets
# (sigma 2); scale jitter of 10 %, no rotation and no flip; batches of
# four, Adam with a short warm-up and a cosine decay -- the recipe of
# :doc:`10_predict_pretrained`. The only FastPose-specific line is the
# normalisation, taken from the spec.

from mxnet import autograd, gluon  # noqa: E402

from gluonpose.codecs import get_codec  # noqa: E402
from gluonpose.data import mini_coco, mini_coco_root  # noqa: E402
from gluonpose.data.transforms.presets.simple_pose import \
    SimplePoseDefaultTrainTransform  # noqa: E402
from gluonpose.loss import WeightedL2Loss  # noqa: E402
from gluonpose.utils.lr_scheduler import LRScheduler, LRSequential  # noqa

PEOPLE, BATCH, UPDATES, LR, SIGMA = 8, 4, 300, 4e-3, 2
HEATMAP = spec.heatmap_size(SIZE)
dataset = mini_coco()
people_set = gluon.data.SimpleDataset([dataset[i] for i in range(PEOPLE)])
codec = get_codec("unbiased", image_size=SIZE, heatmap_size=HEATMAP,
                  sigma=SIGMA)
augment = SimplePoseDefaultTrainTransform(
    dataset.num_joints, dataset.joint_pairs, image_size=SIZE,
    heatmap_size=HEATMAP, sigma=SIGMA, mean=spec.mean, std=spec.std,
    scale_factor=0.10, rotation_factor=0, random_flip=False, codec=codec,
    rng=0)
loader = gluon.data.DataLoader(people_set.transform(augment),
                               batch_size=BATCH, shuffle=True,
                               last_batch="discard")
np.random.seed(0)                       # the loader's shuffling
net.hybridize(static_alloc=True, static_shape=True)
schedule = LRSequential([
    LRScheduler("linear", base_lr=0, target_lr=LR, nepochs=1,
                iters_per_epoch=10),
    LRScheduler("cosine", base_lr=LR, target_lr=0, nepochs=1,
                iters_per_epoch=UPDATES - 10)])
trainer = gluon.Trainer(net.collect_params(), "adam",
                        {"learning_rate": schedule.base_lr, "wd": 0.0,
                         "lr_scheduler": schedule})
loss_fn = WeightedL2Loss()
tic, done, losses = time.time(), 0, []
while done < UPDATES:
    for data, target, weight, _ in loader:
        with autograd.record():
            loss = loss_fn(net(data), target, weight)
        loss.backward()
        trainer.step(BATCH)
        losses.append(loss.mean().asscalar())
        done += 1
        if done == UPDATES:
            break
train_seconds = time.time() - tic
print("%d updates of %d crops in %.0f s;\nloss %.1e over the first 10 "
      "updates, %.1e over the last 10" % (done, BATCH, train_seconds,
                                          np.mean(losses[:10]),
                                          np.mean(losses[-10:])))

##############################################################################
# Whether the falling loss means anything is for the predictions to
# show. The network goes into a
# :class:`~gluonpose.inference.predictor.Predictor`, which takes the
# normalisation, the stride and the keypoint schema from the network's
# spec. The input size is given: the spec's default is 256x192, and these
# weights were trained at 128x96.

import gluonpose  # noqa: E402
from gluonpose.inference import read_image  # noqa: E402

by_image = {}
for record in dataset.records[:PEOPLE]:
    by_image.setdefault(record["image_id"], []).append(record["bbox"])
image_path = {i: os.path.join(mini_coco_root(), "train2017", "%012d.jpg" % i)
              for i in by_image}
table_id = dataset.records[0]["image_id"]
table = read_image(image_path[table_id])
table_boxes = np.array(by_image[table_id])

# hybridize=False: keep the static-memory hybridization of the training run
fp32 = gluonpose.Predictor(net, input_size=SIZE, codec="unbiased",
                           sigma=SIGMA, hybridize=False, progress=False)
print(fp32.describe())

##############################################################################
# Scored with pycocotools against the annotations of the five images (the
# eight training people are all their annotated people):

from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

with contextlib.redirect_stdout(io.StringIO()):      # pycocotools' chatter
    ground_truth = COCO(os.path.join(mini_coco_root(), "annotations",
                                     "person_keypoints_train2017.json"))
PROTOCOL = ("[ground-truth boxes, no flip, codec=unbiased(sigma=%g), "
            "input %dx%d,\n   split=coco_mini/person_keypoints_train2017, "
            "the %d training people]" % (SIGMA, SIZE[0], SIZE[1], PEOPLE))


def memorisation_ap(predictor):
    """COCO keypoint AP of a Predictor on the training people, GT boxes."""
    predictor.reset()
    for img_id, boxes in by_image.items():
        predictor.predict(read_image(image_path[img_id]), boxes=boxes,
                          box_format="xyxy", image_id=img_id)
    path = predictor.write_coco_results(
        os.path.join(work, "results_%d.json" % id(predictor)))
    with contextlib.redirect_stdout(io.StringIO()):
        coco_eval = COCOeval(ground_truth, ground_truth.loadRes(path),
                             "keypoints")
        coco_eval.params.imgIds = sorted(by_image)
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    return coco_eval.stats[:3]


ap_fp32 = memorisation_ap(fp32)
print("FP32 memorisation check: AP %.3f AP50 %.3f AP75 %.3f\n  %s"
      % (tuple(ap_fp32) + (PROTOCOL,)))

##############################################################################
# INT8
# ----
#
# :func:`~gluonpose.deploy.quantize.quantize` calibrates the FP32 network
# on person crops of the bundled set -- normalised with the *spec's* mean
# and std, so the INT8 ranges are those of the inputs the network really
# sees -- and rewrites the graph for oneDNN's INT8 kernels.
# :func:`~gluonpose.deploy.quantize.quantization_summary` reads the
# rewritten graph and says which operators run on 8-bit integers:

from gluonpose.deploy.quantize import quantization_summary  # noqa: E402
from gluonpose.deploy.quantize import quantize  # noqa: E402

tic = time.time()
qnet = quantize(net, SIZE, calib_mode="naive")
print("calibrated on the mini set's person crops and quantised in %.1f s"
      % (time.time() - tic))
summary = quantization_summary(qnet)
print(summary)

##############################################################################
# Every convolution is INT8 -- the trunk's (batch norms folded in, fused
# with the activation that follows) and all three of the head's. The
# trunk's FP32 operators are element-wise pieces of MobileNetV3 that
# MXNet 1.9 has no INT8 kernel for: the hard-swish ``x * relu6(x + 3) /
# 6`` (``_plus_scalar``, ``clip``, ``_div_scalar``, ``elemwise_mul``) and
# the products with the squeeze-excitation gates (``broadcast_mul``);
# around them the graph converts back and forth, which the
# ``conversions`` line counts. The pixel shuffles (reshapes and a
# transpose) do no arithmetic at all and are left in FP32 on purpose:
# MXNet 1.9 hands a transpose to oneDNN for FP32 tensors only, and its
# generic INT8 transpose costs more than the two conversions it would
# save (``quantize(..., int8_layout=True)`` moves them onto the INT8
# codes anyway, with the same outputs). Compare
# :doc:`40_deploy_without_mxnet`: there the three transposed convolutions
# of the Simple Baselines head stay FP32, a large part of the work.
#
# The INT8 network keeps the spec of its source, so a Predictor built on
# it normalises, crops and decodes as the FP32 one does. Its poses on the
# same people, and how far each joint moved (PCK@0.05 of the INT8 joints
# against the FP32 ones: a joint agrees when it lies within 5 % of its
# box's longer side):

from gluonpose.deploy.quantize import pck_agreement  # noqa: E402

int8 = gluonpose.Predictor(qnet, input_size=SIZE, codec="unbiased",
                           sigma=SIGMA, progress=False)
ap_int8 = memorisation_ap(int8)
print("INT8 memorisation check: AP %.3f AP50 %.3f AP75 %.3f\n  %s"
      % (tuple(ap_int8) + (PROTOCOL,)))


def keypoints_by_box(predictor, image, boxes):
    """Keypoints in the order of ``boxes`` (the Predictor sorts by score)."""
    people = predictor.predict(image, boxes=boxes)
    out = np.zeros((len(boxes), dataset.num_joints, 3), np.float32)
    for p in people:
        out[int(np.abs(boxes - p.box).sum(axis=1).argmin())] = p.keypoints
    return out


both = [np.concatenate([keypoints_by_box(p, read_image(image_path[i]),
                                         np.array(b))
                        for i, b in by_image.items()]) for p in (fp32, int8)]
all_boxes = np.concatenate([np.array(b) for b in by_image.values()])
print("INT8 vs FP32 PCK@0.05 over %d people x %d joints: %.3f"
      % (len(all_boxes), dataset.num_joints,
         pck_agreement(both[1][..., :2], both[0][..., :2], all_boxes)))

##############################################################################
# Time per frame, by people count
# -------------------------------
#
# A top-down pipeline crops every person and runs the network on all crops
# of a frame in one batch, so the network's share grows with the number
# of people. We time whole frames through the Predictor with caller boxes
# (the table image, its four boxes repeated with small random shifts to
# reach 5 and 20) for three networks:
#
# * **FP32**: the trained Gluon network, hybridized;
# * **FP32 fused**: its exported graph with oneDNN's operator fusion
#   (:func:`~gluonpose.deploy.accelerate.optimize_for_cpu`), the fair FP32
#   baseline, since INT8 is fused the same way;
# * **INT8**: the quantised network.
#
# The image is decoded once and passed as an array, so a frame is box
# handling, cropping, the network, heatmap decoding and OKS-NMS. Each
# figure is the median over interleaved rounds (each round times every
# network once), on the machine that built this page, which may be busy
# with other work: read the ratios as indicative. ``bench/`` has the
# careful benchmarks (``BENCHMARKS.md``).

from gluonpose.deploy.accelerate import optimize_for_cpu  # noqa: E402
from gluonpose.deploy.export import export_symbol, load_symbol  # noqa: E402


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


prefix = os.path.join(work, "light")
export_symbol(net, prefix, SIZE)
fused_net = optimize_for_cpu(load_symbol(prefix), (1, 3) + SIZE)
fused_net.pose_spec = spec        # a bare graph: tell it its contract
net.hybridize(static_alloc=True, static_shape=True)   # quantize reset it
qnet.hybridize(static_alloc=True, static_shape=True)
predictors = {
    "FP32": fp32,
    "FP32 fused": gluonpose.Predictor(fused_net, input_size=SIZE,
                                      codec="unbiased", sigma=SIGMA,
                                      hybridize=False, progress=False),
    "INT8": gluonpose.Predictor(qnet, input_size=SIZE, codec="unbiased",
                                sigma=SIGMA, hybridize=False, progress=False),
}

rng = np.random.default_rng(0)


def crowd(n):
    """``n`` boxes: the table's four, then shifted and rescaled copies."""
    boxes = []
    for k in range(n):
        x0, y0, x1, y1 = table_boxes[k % len(table_boxes)]
        if k >= len(table_boxes):
            w, h = x1 - x0, y1 - y0
            dx, dy = rng.uniform(-0.1, 0.1, 2) * (w, h)
            s = rng.uniform(0.9, 1.1)
            cx, cy = (x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy
            x0, x1 = cx - s * w / 2, cx + s * w / 2
            y0, y1 = cy - s * h / 2, cy + s * h / 2
        boxes.append([x0, y0, x1, y1])
    return np.array(boxes)


COUNTS, ROUNDS = (1, 5, 20), 15
frame_ms, stage_ms = {}, {}
for n in COUNTS:
    boxes = crowd(n)
    for pred in predictors.values():            # warm-up: shapes, caches
        pred.predict(table, boxes=boxes)
    runs = {name: [] for name in predictors}
    for _ in range(ROUNDS):
        for name, pred in predictors.items():
            pred.predict(table, boxes=boxes)
            runs[name].append(list(pred.last_timings.values()))
    for name, rows in runs.items():
        rows = np.array(rows) * 1e3
        frame_ms[name, n] = float(np.median(rows.sum(axis=1)))
        stage_ms[name, n] = np.median(rows, axis=0)
for pred in predictors.values():
    pred.reset()

print("%s, %d logical cores, MXNet %s; %dx%d crops, ms per frame"
      % (cpu_name(), os.cpu_count(), mx.__version__, SIZE[0], SIZE[1]))
print("%-8s" % "people" + "".join("%12s" % k for k in predictors)
      + "   INT8 vs FP32   INT8 vs fused")
for n in COUNTS:
    print("%-8d" % n
          + "".join("%12.1f" % frame_ms[k, n] for k in predictors)
          + "   x%-12.2f x%.2f" % (frame_ms["FP32", n] / frame_ms["INT8", n],
                                   frame_ms["FP32 fused", n]
                                   / frame_ms["INT8", n]))

##############################################################################
# ``x`` figures are speed-ups (FP32 time over INT8 time; above 1, INT8 is
# faster). On a shared machine the ratios move from run to run by more
# than they differ between the rows; what held in every run we made while
# writing this page is that INT8 is the fastest of the three at every
# people count, and that a person costs less in a crowded frame
# than alone (right panel): the fixed costs of a frame -- launching the
# network's operators, the conversions around the FP32 operators, Python
# -- are shared by all its crops.
#
# :attr:`Predictor.last_timings <gluonpose.inference.predictor.Predictor.\
# last_timings>` splits a frame into its stages (seconds; the network
# stage waits for its result, so the stages add up to the frame). Medians
# of the rounds above, in milliseconds:

from gluonpose.inference.predictor import STAGES  # noqa: E402

print("%-24s" % "stage (ms)" + "".join(
    "%9s" % ("%s/%d" % ("fp32" if k == "FP32" else "int8", n))
    for n in COUNTS for k in ("FP32", "INT8")))
for i, stage in enumerate(STAGES):
    print("%-24s" % stage + "".join(
        "%9.2f" % stage_ms[k, n][i] for n in COUNTS for k in ("FP32", "INT8")))

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
width = 0.27
for j, name in enumerate(predictors):
    axes[0].bar(np.arange(len(COUNTS)) + (j - 1) * width,
                [frame_ms[name, n] for n in COUNTS], width, label=name)
axes[0].set_xticks(np.arange(len(COUNTS)))
axes[0].set_xticklabels(["%d %s" % (n, "person" if n == 1 else "people")
                         for n in COUNTS])
axes[0].set_ylabel("ms per frame")
axes[0].set_title("frame time, %dx%d crops" % SIZE, fontsize=10)
axes[0].legend(fontsize=8)
for j, name in enumerate(predictors):
    axes[1].plot(COUNTS, [frame_ms[name, n] / n for n in COUNTS], "o-",
                 label=name)
axes[1].set_xscale("log")
axes[1].set_xticks(COUNTS)
axes[1].set_xticklabels([str(n) for n in COUNTS])
axes[1].set_xlabel("people in the frame")
axes[1].set_ylabel("ms per person")
axes[1].set_title("cost per person", fontsize=10)
axes[1].legend(fontsize=8)
plt.tight_layout()

##############################################################################
# The poses
# ---------
#
# FP32 and INT8 on the table image, drawn with GluonCV's
# :func:`~gluonpose.utils.viz.plot_keypoints`. The legs under the table
# are drawn too: a top-down network predicts every joint of every box.

from gluonpose.utils.viz import plot_keypoints  # noqa: E402

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for ax, (label, pred) in zip(axes, (("FP32", fp32), ("INT8", int8))):
    coords, conf, boxes, scores = pred.predict(table,
                                               boxes=table_boxes).arrays()
    plot_keypoints(table, coords, conf, bboxes=boxes, scores=scores,
                   box_thresh=0.0, keypoint_thresh=0.2, ax=ax, linewidth=2,
                   fontsize=7)
    ax.set_title("%s, %dx%d, AP %.2f on the training people"
                 % (label, SIZE[0], SIZE[1],
                    (ap_fp32 if label == "FP32" else ap_int8)[0]),
                 fontsize=9)
    ax.axis("off")
plt.tight_layout()

##############################################################################
# What this shows, and what it does not
# -------------------------------------
#
# * The light FastPose trains, predicts, quantises and runs through the
#   same Predictor as every other family: nothing in the pipeline asked
#   which family it was, the spec told it.
# * The APs are memorisation checks on eight training people, with the
#   protocol printed next to them; they say the loop and INT8 keep the
#   poses, not how accurate the network is on new people. Trained on COCO
#   (``gluonpose train --model alpha_pose_mobilenetv3_large_coco``, with
#   ``--use-pretrained-base`` for the ImageNet trunk), it is meant to be
#   compared with GluonCV's published MobilePose numbers on the
#   :doc:`../model_zoo` page.
# * The timings are one run on a shared machine at a small crop size; at
#   the spec's 256x192 every crop costs four times the multiply-adds, and
#   the network's share of the frame grows accordingly.
#
# The same pipeline from the command line:
#
# .. code-block:: bash
#
#    gluonpose train --model alpha_pose_mobilenetv3_large_coco \
#        --data-dir ~/.mxnet/datasets/coco --use-pretrained-base
#    gluonpose export --model alpha_pose_mobilenetv3_large_coco \
#        --params params/alpha_pose_mobilenetv3_large_coco-139.params \
#        --format symbol --int8 --report --output deploy_light_int8
#
# Input size and normalisation come from the spec; ``--input-size``
# overrides the first.

import shutil  # noqa: E402

shutil.rmtree(work)
