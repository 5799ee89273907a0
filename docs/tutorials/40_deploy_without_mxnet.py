"""4. Deploy without MXNet: ONNX, a numpy decoder and INT8
=========================================================

A trained pose network is only half of a pose estimator: around it sit the person crop, the input
normalisation and the heatmap decoding, all of which must match what the network was trained with. This
tutorial takes a network from Gluon to a deployment that needs neither MXNet nor gluonpose:

1. export it as an MXNet symbol (GluonCV's ``--deploy`` format) and load it back;
2. write an ONNX *deployment folder*: ``model.onnx``, ``pose_decoder.py`` (crop, flip test and both codecs
   in numpy alone) and ``deploy.json`` (everything the decoder needs to know about the model);
3. run that folder in a separate Python process in which importing MXNet fails, with onnxruntime, numpy and
   Pillow, and compare its keypoints with gluonpose's own :class:`~gluonpose.inference.predictor.Predictor`;
4. quantise the network to INT8 with MXNet's oneDNN kernels, calibrated on the bundled mini COCO set, and
   measure what that costs in accuracy and gains in speed.

Everything runs on the CPU in about a minute (two cores), in a temporary folder that is removed at the end.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import matplotlib.pyplot as plt
import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from gluonpose.codecs import get_codec
from gluonpose.data import mini_coco_root
from gluonpose.data.mini import MINI_COCO_SPLIT
from gluonpose.data.mscoco import COCOKeyPoints
from gluonpose.data.schema import get_schema
from gluonpose.data.transforms.presets.simple_pose import SimplePoseDefaultTrainTransform
from gluonpose.model_zoo import get_model

##############################################################################
# A network worth deploying
# -------------------------
#
# Deployment only makes sense for a network whose heatmaps mean something, and a useful one takes hours of
# training on COCO. A real deployment starts from GluonCV's published weights,
# ``get_model('simple_pose_resnet18_v1b', pretrained=True)`` (input 256x192; see :doc:`../model_zoo`), or
# from your own training run (``make quickstart`` gives one at 128x96 in a few minutes). To stay within the
# documentation build we do something cheaper and say so plainly: the network below **memorises** the
# people of the first few images of the bundled mini set. Its heatmaps are real peaked Gaussians at the
# labelled joints of *those* images, which is all that export, decoding and INT8 need to be checked
# against -- but it has learned nothing about people in general, and every accuracy figure below is
# measured on the same images it was fitted to.
#
# Those images (all of their people) go into a COCO-layout folder of their own, so that COCO AP can later be
# computed over exactly them.

work = tempfile.mkdtemp(prefix="gluonpose_deploy_")
root = os.path.join(work, "memorised")
NUM_IMAGES = 5

with open(os.path.join(mini_coco_root(), "annotations", MINI_COCO_SPLIT + ".json")) as f:
    full = json.load(f)
keep_ids = list(dict.fromkeys(a["image_id"] for a in sorted(full["annotations"],
                                                           key=lambda a: (a["image_id"], a["id"]))
                              if a["num_keypoints"] > 0))[:NUM_IMAGES]
subset = dict(full, images=[im for im in full["images"] if im["id"] in keep_ids],
              annotations=[a for a in full["annotations"] if a["image_id"] in keep_ids])
os.makedirs(os.path.join(root, "annotations"))
os.makedirs(os.path.join(root, "train2017"))
with open(os.path.join(root, "annotations", MINI_COCO_SPLIT + ".json"), "w") as f:
    json.dump(subset, f)
for im in subset["images"]:
    shutil.copy(os.path.join(mini_coco_root(), "train2017", im["file_name"]),
                os.path.join(root, "train2017"))
dataset = COCOKeyPoints(root, MINI_COCO_SPLIT, image_format="numpy")
print("%d images, %d people with keypoints" % (len(subset["images"]), len(dataset)))

##############################################################################
# The network is ``simple_pose_resnet18_v1b`` with a lighter head (128 instead of 256 filters in its three
# transposed convolutions) at a 64x64 input (16x16 heatmaps, the unbiased codec with sigma 1.5). Its
# training crops are the evaluation crops -- ground-truth box, no augmentation -- all people in one batch,
# Adam with a short warmup and a cosine decay, from random initialisation.

SIZE = (64, 64)                      # (H, W); the stride-32 trunk needs multiples of 32
SIGMA = 1.5
ITERATIONS = 140
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
COCO = get_schema("coco")

codec = get_codec("unbiased", image_size=SIZE, sigma=SIGMA)
as_crops = SimplePoseDefaultTrainTransform(
    COCO.num_joints, image_size=SIZE, scale_factor=0, rotation_factor=0, random_flip=False,
    codec=codec, schema=COCO, rng=0)
items = [as_crops(*dataset[i]) for i in range(len(dataset))]
crops = mx.nd.stack(*[it[0] for it in items])
targets = mx.nd.array(np.stack([it[1] for it in items]))
weights = mx.nd.array(np.stack([it[2] for it in items]))

from gluonpose.utils.lr_scheduler import LRScheduler, LRSequential  # noqa: E402

mx.random.seed(0)
net = get_model("simple_pose_resnet18_v1b", num_deconv_filters=(128, 128, 128))
net.initialize(mx.init.MSRAPrelu())
net.hybridize(static_alloc=True, static_shape=True)
schedule = LRSequential([
    LRScheduler("linear", base_lr=0, target_lr=4e-3, nepochs=1, iters_per_epoch=10),
    LRScheduler("cosine", base_lr=4e-3, target_lr=0, nepochs=1, iters_per_epoch=ITERATIONS - 10)])
trainer = gluon.Trainer(net.collect_params(), "adam",
                        {"learning_rate": schedule.base_lr, "lr_scheduler": schedule})
l2 = gluon.loss.L2Loss()
losses, tic = [], time.time()
for _ in range(ITERATIONS):
    with autograd.record():
        loss = l2(net(crops), targets, weights)
    loss.backward()
    trainer.step(len(dataset))
    losses.append(float(loss.mean().asscalar()))
print("%d iterations in %.0f s, loss %.1e -> %.1e" % (ITERATIONS, time.time() - tic, losses[0],
                                                     losses[-1]))

##############################################################################
# How well it has memorised: PCK@0.05 against the ground truth (a labelled joint counts when the prediction
# is within 5 % of the box's longer side), with the library's codec on the Gluon network's heatmaps.

from gluonpose.data.transforms.pose import boxes_to_center_scale  # noqa: E402
from gluonpose.deploy.quantize import pck_agreement  # noqa: E402

gt_boxes = np.array([dataset.records[i]["bbox"] for i in range(len(dataset))], dtype=np.float64)
gt_joints = np.stack([np.asarray(dataset.records[i]["joints_3d"])[:, :2, 0] for i in range(len(dataset))])
labelled = np.stack([np.asarray(dataset.records[i]["joints_3d"])[:, 0, 1] > 0 for i in range(len(dataset))])
centers, scales = boxes_to_center_scale(gt_boxes, SIZE[1] / SIZE[0])
heatmaps = net(crops).asnumpy()
fp32_coords, _ = codec.decode(heatmaps, centers, scales)
print("FP32 PCK@0.05 against the ground truth, on the memorised people: %.3f"
      % pck_agreement(fp32_coords, gt_joints, gt_boxes, 0.05, labelled))

##############################################################################
# MXNet symbol and params
# -----------------------
#
# :func:`~gluonpose.deploy.export.export_symbol` is ``HybridBlock.export`` after one forward pass:
# ``prefix-symbol.json`` (the graph) and ``prefix-0000.params`` (the weights), the format GluonCV's
# ``--deploy`` writes and ``gluon.SymbolBlock.imports`` reads. No Python class is needed to load it back,
# only MXNet; :func:`~gluonpose.deploy.export.load_symbol` does that and returns the same heatmaps.

from gluonpose.deploy.export import (deploy_config, export_symbol, load_deployment,  # noqa: E402
                                     load_symbol, write_deployment)

os.makedirs(os.path.join(work, "symbol"))
sym_file, params_file = export_symbol(net, os.path.join(work, "symbol", "pose"), SIZE)
for path in (sym_file, params_file):
    print("%-22s %7.1f KB" % (os.path.basename(path), os.path.getsize(path) / 1024))
reloaded = load_symbol(os.path.join(work, "symbol", "pose"))
print("reloaded:", type(reloaded).__name__, "- largest heatmap difference: %.1e"
      % np.abs(reloaded(crops).asnumpy() - heatmaps).max())

##############################################################################
# The ONNX deployment folder
# --------------------------
#
# :func:`~gluonpose.deploy.export.deploy_config` gathers what the decoder must know -- input size, mean and
# std, codec and sigma, the flip permutation, keypoint names, skeleton and OKS sigmas from the keypoint
# schema -- and :func:`~gluonpose.deploy.export.write_deployment` writes the folder: the network through
# MXNet's ONNX converter (opset 13, a dynamic batch axis, input ``data``, output ``heatmaps``), a copy of
# :mod:`gluonpose.deploy.numpy_decoder` as ``pose_decoder.py``, and ``deploy.json``. The folder is built
# under a temporary name and renamed, so it is either complete or absent. ``extra`` adds entries; here it
# records the lighter head, since ``model`` only names the zoo architecture.

deploy_dir = os.path.join(work, "deploy_onnx")
config = deploy_config("simple_pose_resnet18_v1b", SIZE, "unbiased", SIGMA, COCO, MEAN, STD, "onnx",
                       extra={"num_deconv_filters": [128, 128, 128]})
write_deployment(net, deploy_dir, config)
for name in sorted(os.listdir(deploy_dir)):
    print("%-16s %7.1f KB" % (name, os.path.getsize(os.path.join(deploy_dir, name)) / 1024))

##############################################################################
# ``deploy.json`` (long lists cut short here):

for key, value in load_deployment(deploy_dir).items():
    text = json.dumps(value)
    print("%-18s %s" % (key, text if len(text) <= 84 else text[:80] + " ..."))

##############################################################################
# Before leaving MXNet behind, one check in this process: onnxruntime runs ``model.onnx`` on the training
# crops and its heatmaps are the Gluon network's, to float rounding (the converter turns every layer into
# its ONNX twin; nothing is approximated).

import onnxruntime as ort  # noqa: E402

session = ort.InferenceSession(os.path.join(deploy_dir, "model.onnx"),
                               providers=["CPUExecutionProvider"])
print("ONNX input %s %s, output %s %s" % (session.get_inputs()[0].name, session.get_inputs()[0].shape,
                                          session.get_outputs()[0].name,
                                          session.get_outputs()[0].shape))
ort_heatmaps = session.run(None, {"data": crops.asnumpy()})[0]
print("onnxruntime vs Gluon, largest heatmap difference: %.1e (heatmap peaks ~%.2f)"
      % (np.abs(ort_heatmaps - heatmaps).max(), heatmaps.max(axis=(2, 3)).mean()))

##############################################################################
# Running it without MXNet
# ------------------------
#
# This is the whole of a deployed application: a script that imports onnxruntime, numpy, Pillow (to read
# JPEG files; any decoder that gives an ``H x W x 3`` RGB array will do) and the folder's own
# ``pose_decoder``. It first makes ``import mxnet``, ``import gluonpose`` and ``import cv2`` fail, so that
# nothing it does can lean on them. For every image it gets person boxes (a detector's job in a real
# application; here the ground-truth boxes) and calls ``PoseDecoder.run``: crop and normalise each box in
# numpy, run the session, decode the heatmaps with the codec ``deploy.json`` names, map back to image
# pixels.

APP = '''
import json, sys, time
for blocked in ("mxnet", "gluonpose", "cv2"):
    sys.modules[blocked] = None              # importing any of these now raises ImportError
import numpy as np
import onnxruntime as ort
from PIL import Image
import pose_decoder                          # the deployment folder's copy (numpy only)

folder, requests, answers = sys.argv[1:]
decoder = pose_decoder.PoseDecoder.from_folder(folder)
session = ort.InferenceSession(folder + "/model.onnx", providers=["CPUExecutionProvider"])
results, tic = {}, time.perf_counter()
with open(requests) as f:
    jobs = json.load(f)
for image_file, boxes in jobs.items():
    image = np.asarray(Image.open(image_file).convert("RGB"))
    coords, scores = decoder.run(session, image, np.asarray(boxes), flip=False)
    results[image_file] = np.concatenate([coords, scores], axis=2).tolist()
elapsed = time.perf_counter() - tic
with open(answers, "w") as f:
    json.dump(results, f)
print("loaded:", ", ".join(sorted(m for m in ("mxnet", "gluonpose", "cv2", "numpy",
                                              "onnxruntime", "PIL")
                                  if sys.modules.get(m) is not None)))
print("decoder file:", pose_decoder.__file__.split("/")[-2:])
print("%d people in %d images: %.1f ms per image (crop + network + decode, onnxruntime %s)"
      % (sum(len(b) for b in jobs.values()), len(jobs), 1000 * elapsed / len(jobs),
         ort.__version__))
'''

image_dir = os.path.join(root, "train2017")
file_of = {im["id"]: os.path.join(image_dir, im["file_name"]) for im in subset["images"]}
person_image = [file_of[dataset.records[i]["image_id"]] for i in range(len(dataset))]
jobs = {}
for path, box in zip(person_image, gt_boxes):
    jobs.setdefault(path, []).append(box.tolist())
for name, text in (("app.py", APP), ("jobs.json", json.dumps(jobs))):
    with open(os.path.join(work, name), "w") as f:
        f.write(text)
proc = subprocess.run(
    [sys.executable, os.path.join(work, "app.py"), deploy_dir, os.path.join(work, "jobs.json"),
     os.path.join(work, "answers.json")],
    cwd=work, env=dict(os.environ, PYTHONPATH=deploy_dir), capture_output=True, text=True)
if proc.returncode != 0:
    raise RuntimeError("the standalone application failed:\n" + proc.stderr[-3000:])
print(proc.stdout)
with open(os.path.join(work, "answers.json")) as f:
    answers = {k: np.asarray(v) for k, v in json.load(f).items()}

##############################################################################
# The same images through gluonpose's :class:`~gluonpose.inference.predictor.Predictor` (the Gluon network,
# OpenCV crops, the library's codec), with the same boxes. The predictor returns people in order of their
# pose score, so each is matched back to its box. The two paths differ in one place only: the numpy crop
# samples the image exactly where OpenCV's ``warpAffine`` rounds positions to 1/32 pixel, so the network
# sees inputs a fraction of a grey level apart on average (a few levels at sharp edges), and the keypoints
# move by small fractions of a pixel.

from gluonpose.inference import Predictor  # noqa: E402

predictor = Predictor(net, input_size=SIZE, codec="unbiased", sigma=SIGMA, oks_nms_thresh=None,
                      progress=False)
gluon_kpts, onnx_kpts, person_boxes = [], [], []
for path, boxes in jobs.items():
    boxes = np.asarray(boxes)
    people = predictor.predict(path, boxes=boxes)
    order = [int(np.abs(boxes - p.box).sum(axis=1).argmin()) for p in people]
    mine = np.empty((len(boxes), COCO.num_joints, 3), np.float32)
    mine[order] = [p.keypoints for p in people]
    gluon_kpts.append(mine)
    onnx_kpts.append(answers[path])
    person_boxes.append(boxes)
gluon_kpts, onnx_kpts = np.concatenate(gluon_kpts), np.concatenate(onnx_kpts)
person_boxes = np.concatenate(person_boxes)
gap = np.linalg.norm(onnx_kpts[..., :2] - gluon_kpts[..., :2], axis=2)
print("onnxruntime + numpy vs Gluon Predictor, %d people x %d joints:" % gap.shape)
print("  keypoint distance: mean %.3f px, max %.3f px (boxes are %.0f-%.0f px tall)"
      % (gap.mean(), gap.max(), (person_boxes[:, 3] - person_boxes[:, 1]).min(),
         (person_boxes[:, 3] - person_boxes[:, 1]).max()))
print("  largest score difference: %.4f" % np.abs(onnx_kpts[..., 2] - gluon_kpts[..., 2]).max())
print("  PCK@0.05 of one against the other: %.3f"
      % pck_agreement(onnx_kpts[..., :2], gluon_kpts[..., :2], person_boxes))

##############################################################################
# The deployed keypoints drawn (skeleton from the keypoint schema), with the Predictor's joints as white
# rings on top:

from gluonpose.inference import read_image  # noqa: E402
from gluonpose.utils.viz import draw_keypoints  # noqa: E402

fig, axes = plt.subplots(1, len(jobs), figsize=(3.0 * len(jobs), 3.6))
start = 0
for ax, (path, boxes) in zip(np.atleast_1d(axes), jobs.items()):
    n = len(boxes)
    mine, theirs = onnx_kpts[start:start + n], gluon_kpts[start:start + n]
    start += n
    ax.imshow(draw_keypoints(read_image(path), mine[..., :2], mine[..., 2], schema=COCO,
                             keypoint_thresh=0.2, boxes=boxes, radius=2, thickness=1))
    shown = theirs[..., 2] > 0.2
    ax.scatter(theirs[..., 0][shown], theirs[..., 1][shown], s=28, facecolors="none",
               edgecolors="white", linewidths=0.8)
    ax.set_title(os.path.basename(path), fontsize=8)
    ax.axis("off")
fig.suptitle("onnxruntime + pose_decoder (skeleton) and Gluon Predictor (rings), memorised images",
             fontsize=10)
plt.tight_layout()

##############################################################################
# INT8 with oneDNN
# ----------------
#
# MXNet 1.9 quantises a network after training: :func:`~gluonpose.deploy.quantize.quantize` runs the FP32
# network over calibration crops, records the range of every layer's output, and rewrites the graph so
# convolutions, batch norms (folded into the convolutions), ReLUs, residual adds and pooling run on 8-bit
# integers with oneDNN kernels. The calibration crops default to every person of the bundled mini set (86
# crops, ground-truth boxes, the evaluation transform); ``naive`` calibration takes each layer's min/max
# over them (``entropy`` picks KL-optimal ranges instead and takes longer).

from gluonpose.deploy.quantize import int8_report, quantization_summary, quantize  # noqa: E402

tic = time.time()
qnet = quantize(net, SIZE, calib_mode="naive")
print("quantised in %.1f s" % (time.time() - tic))
summary = quantization_summary(qnet)
print("INT8 operators:", summary["int8"])
print("FP32 operators:", summary["fp32"])

##############################################################################
# ``_sg_mkldnn_conv`` is oneDNN's fused convolution (with its batch norm, ReLU and residual add), the
# quantized pooling is the stem's max pool, and the quantized batch norms and activations follow the head's
# transposed convolutions. The ``Deconvolution`` entries are those three transposed convolutions
# themselves: they stay FP32 because MXNet 1.9 has no INT8 kernel for them, and run between a dequantize
# and a quantize node. At 256x192 they are
# about 40 % of ResNet-18's FP32 work (see the multiply-adds in :doc:`20_dive_deep_simple_pose`), which
# bounds what INT8 can gain.
#
# How much do the keypoints move? :func:`~gluonpose.deploy.quantize.int8_report` evaluates both networks
# with the same crops and reports COCO keypoint AP of each and the agreement between them: PCK@0.05 of the
# INT8 keypoints measured against the FP32 ones (a joint agrees when it lies within 5 % of the box's longer
# side of the FP32 joint). The protocol: ground-truth boxes, no flip test, the unbiased codec with sigma
# 1.5, input 64x64, on the memorised images written above -- the same images the network was fitted to, so
# the AP says how faithfully INT8 keeps what FP32 does, not how good the model is.

rep = int8_report(net, qnet, SIZE, codec="unbiased", sigma=SIGMA, data_dir=root,
                  split=MINI_COCO_SPLIT)
print("%d people, ground-truth boxes, no flip, unbiased codec (sigma %g), input %dx%d, %d memorised "
      "mini-COCO images" % (rep["num_people"], SIGMA, SIZE[0], SIZE[1], len(subset["images"])))
print("  COCO AP  FP32 %.3f   INT8 %.3f" % (rep["ap_fp32"], rep["ap_int8"]))
print("  INT8 vs FP32 PCK@%.2f: %.3f (labelled joints), %.3f (all joints)"
      % (rep["threshold"], rep["pck_labelled"], rep["pck_all"]))

##############################################################################
# The displacement of every joint, as a fraction of its person's box (the PCK threshold is the dashed line).
# The joints without a label were never trained (their target weight is 0), so their heatmaps are flat and
# INT8 rounding can move their argmax far; they are the ones that lower the all-joints agreement.

size = np.maximum(rep["boxes"][:, 2] - rep["boxes"][:, 0], rep["boxes"][:, 3] - rep["boxes"][:, 1])
moved = np.linalg.norm(rep["coords_int8"] - rep["coords_fp32"], axis=2) / size[:, None]
fig, ax = plt.subplots(figsize=(6, 3))
bins = np.linspace(0, max(0.1, moved.max()), 41)
ax.hist([moved[rep["labelled"]], moved[~rep["labelled"]]], bins=bins, stacked=True,
        label=["labelled joints", "unlabelled joints"])
ax.axvline(rep["threshold"], color="k", linestyle="--", linewidth=1)
ax.set_xlabel("|INT8 - FP32| / longer box side")
ax.set_ylabel("joints")
ax.set_yscale("log")
ax.legend()
plt.tight_layout()

##############################################################################
# The INT8 network exports as an MXNet symbol (oneDNN's INT8 operators have no ONNX equivalent), into a
# deployment folder of format ``symbol-int8`` with the same ``pose_decoder.py`` and ``deploy.json``;
# :func:`~gluonpose.deploy.export.load_symbol` loads it back (CPU only) and the decoder is used exactly as
# with ONNX, on the heatmaps the symbol returns.

int8_dir = os.path.join(work, "deploy_int8")
int8_config = deploy_config("simple_pose_resnet18_v1b", SIZE, "unbiased", SIGMA, COCO, MEAN, STD,
                            "symbol-int8", extra={"num_deconv_filters": [128, 128, 128],
                                                  "int8": {"calib_mode": "naive",
                                                           "fp32_ops": summary["fp32"]}})
write_deployment(net, int8_dir, int8_config, quantized_net=qnet)
print(sorted(os.listdir(int8_dir)))
int8_back = load_symbol(int8_dir)
print("reloaded INT8 vs in-memory INT8, largest heatmap difference: %.1e"
      % np.abs(int8_back(crops).asnumpy() - qnet(crops).asnumpy()).max())

##############################################################################
# Speed
# -----
#
# A few timed forward passes, measured in this build, of the network alone (no cropping, no decoding):
#
# * **Gluon FP32**: the network as trained, hybridized with ``static_alloc`` and ``static_shape``;
# * **FP32 fused**: its exported symbol through :func:`~gluonpose.deploy.accelerate.optimize_for_cpu`
#   (oneDNN fuses each convolution with its batch norm, ReLU and residual add) -- the fair FP32 baseline
#   for INT8, which is fused the same way;
# * **INT8**: the quantised network;
# * **onnxruntime FP32**: the exported ``model.onnx``, default session options (no tuning).
#
# Twice: at this tutorial's 64x64 with the trained network (batch 16), and at the usual 256x192 with the
# zoo's ``simple_pose_resnet18_v1b`` (full 256-filter head, random weights: speed does not depend on the
# weight values; INT8 calibrated on 8 mini-set crops; batch 4). Each figure is the median of a few
# interleaved rounds on a machine that may be busy with other work, so read the ratios as indicative; the
# careful side-by-side numbers, including GluonCV's own FP32 network, are in ``BENCHMARKS.md``
# (``bench/bench_infer.py``).

import platform  # noqa: E402

from gluonpose.deploy.accelerate import optimize_for_cpu  # noqa: E402
from gluonpose.deploy.export import export_onnx  # noqa: E402
from gluonpose.deploy.quantize import calibration_crops  # noqa: E402


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def speeds(fp32, int8, onnx_file, size, batch_size, rounds):
    """ms per crop of the four variants on ``batch_size`` mini-set crops.

    The rounds are interleaved (each round times every variant once) so that a slow moment of a shared
    machine hits all of them; each figure is the median over the rounds, after one warm-up call.
    """
    x = calibration_crops(size, num_examples=batch_size)
    x_nd = mx.nd.array(x)
    # the fused copy is the exported symbol, so ``fp32`` itself stays a plain hybridized network
    prefix = os.path.join(work, "speed-%dx%d" % size)
    export_symbol(fp32, prefix, size)
    fused = optimize_for_cpu(load_symbol(prefix), x_nd.shape)
    fp32.hybridize(static_alloc=True, static_shape=True)
    int8.hybridize(static_alloc=True, static_shape=True)
    sess = ort.InferenceSession(onnx_file, providers=["CPUExecutionProvider"])
    variants = {"Gluon FP32": lambda: fp32(x_nd).wait_to_read(),
                "FP32 fused": lambda: fused(x_nd).wait_to_read(),
                "INT8": lambda: int8(x_nd).wait_to_read(),
                "onnxruntime FP32": lambda: sess.run(None, {"data": x})}
    times = {name: [] for name in variants}
    for run in variants.values():
        run()
    for _ in range(rounds):
        for name, run in variants.items():
            tic = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - tic)
    return {name: 1000 * float(np.median(t)) / batch_size for name, t in times.items()}


BIG = (256, 192)
zoo_net = get_model("simple_pose_resnet18_v1b")
zoo_net.initialize(mx.init.MSRAPrelu())
zoo_net.hybridize()
zoo_int8 = quantize(zoo_net, BIG, calib_data=calibration_crops(BIG, num_examples=8))
zoo_onnx = export_onnx(zoo_net, os.path.join(work, "zoo_r18_256x192.onnx"), BIG)

table = {"64x64, trained, batch 16": speeds(net, qnet, os.path.join(deploy_dir, "model.onnx"),
                                            SIZE, 16, rounds=15),
         "256x192, zoo r18, batch 4": speeds(zoo_net, zoo_int8, zoo_onnx, BIG, 4, rounds=5)}
print("%s, %d logical cores, MXNet %s, onnxruntime %s" % (cpu_name(), os.cpu_count(),
                                                          mx.__version__, ort.__version__))
print("%-28s" % "ms per crop" + "".join("%18s" % name for name in table["64x64, trained, batch 16"]))
for setting, rows in table.items():
    print("%-28s" % setting + "".join("%18.2f" % ms for ms in rows.values()))
for setting, rows in table.items():
    print("INT8 speed-up over fused FP32 at %s: x%.2f" % (setting.split(",")[0],
                                                           rows["FP32 fused"] / rows["INT8"]))

fig, axes = plt.subplots(1, 2, figsize=(10, 2.8))
for ax, (setting, rows) in zip(axes, table.items()):
    names = list(rows)[::-1]
    ax.barh(names, [rows[n] for n in names], color=["tab:gray", "tab:green", "tab:blue",
                                                     "tab:blue"])
    ax.set_xlabel("ms per crop")
    ax.set_title(setting, fontsize=9)
plt.tight_layout()

##############################################################################
# At 64x64 the convolutions are small, so the fixed cost of each operator (and of the quantize and
# dequantize nodes around the FP32 head) weighs more than at 256x192: use the 256x192 row to judge what
# INT8 gives a real deployment on this kind of CPU, and remember the head's three transposed convolutions
# stay FP32 in both.


##############################################################################
# The command line
# ----------------
#
# ``gluonpose export`` does all of the above for a zoo model and a weights file (the published weights when
# ``--params`` is left out). For the quickstart model (``make quickstart``; 128x96, unbiased codec, sigma
# 2):
#
# .. code-block:: bash
#
#    # ONNX deployment folder: model.onnx + pose_decoder.py + deploy.json
#    gluonpose export --model simple_pose_resnet18_v1b --params runs/quickstart/<final>.params \
#        --input-size 128,96 --codec unbiased --sigma 2 --format onnx --output deploy_r18
#
#    # INT8 MXNet symbol, calibrated on the bundled mini set, with the FP32/INT8 AP and PCK@0.05 report
#    gluonpose export --model simple_pose_resnet18_v1b --params runs/quickstart/<final>.params \
#        --input-size 128,96 --codec unbiased --sigma 2 --format symbol --int8 --calib-mode naive \
#        --report --output deploy_r18_int8
#
# ``--fixed-batch N`` fixes the ONNX batch axis (some runtimes and accelerators want static shapes);
# ``--calib-mode entropy`` and ``--num-calib-examples`` tune the calibration. Errors (a missing or mismatched
# weights file, an input size that is not a multiple of 32, an output folder that already holds files) are
# one ``gluonpose: error: ...`` line and leave nothing behind. The network of this tutorial has a lighter
# head than the zoo's ``simple_pose_resnet18_v1b``, so its weights would be refused by ``--params`` for that
# name; the Python functions above take any network.
#
# The temporary folder goes away:

shutil.rmtree(work)
