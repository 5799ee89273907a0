"""8. CPN: pyramid targets and hard keypoints
============================================

The Cascaded Pyramid Network (CPN, Chen et al., CVPR 2018) trains five
heatmap outputs at once: four from **GlobalNet**, a feature pyramid with a
prediction on each of the ResNet levels C2..C5, and one from **RefineNet**,
which merges the levels again and is the output decoded at inference. Each
GlobalNet level gets its own Gaussian width, and the RefineNet output is
trained with **online hard keypoint mining** (OHKM): only the 8 joints with
the largest loss of each person count. This tutorial looks at both:

1. the **spec** of ``cpn_resnet50_v1b``: the five supervised outputs with
   their sigmas, losses and weights, and the network's size beside the
   published one;
2. the **pyramid targets** of one real person: one augmentation, five
   Gaussians, each checked against a Gaussian computed here, and a measure
   of why the coarse levels get the wide ones;
3. **OHKM on real samples**: a short training run on eight people, the
   joints the top-8 keeps for each of them, :class:`~gluonpose.loss.\
OHKMLoss` checked against a computation by hand, and what mining changes
   in the gradient compared with a plain L2 loss.

The training run starts from random weights and makes 10 updates, so its
network is at the very start of learning. What section 3 shows is how OHKM
selects from the losses of such a network, not which joints a fully trained
CPN finds hard.
"""
import json
import os
import time

import cv2
import matplotlib.pyplot as plt
import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from gluonpose.data import COCO_PERSON, mini_coco, mini_coco_root
from gluonpose.data.transforms.pose import (bbox_to_center_scale,
                                            get_affine_transform)
from gluonpose.data.transforms.presets.simple_pose import \
    SimplePoseDefaultTrainTransform
from gluonpose.engine.supervision import Supervision
from gluonpose.engine.trainer import forward_backward
from gluonpose.loss import OHKMLoss, WeightedL2Loss
from gluonpose.model_zoo import get_model, get_model_spec
from gluonpose.utils.model_summary import model_summary

NAME = "cpn_resnet50_v1b"
SEED = 0
mx.random.seed(SEED)
np.random.seed(SEED)

##############################################################################
# The spec: five supervised outputs
# ---------------------------------
#
# :func:`~gluonpose.model_zoo.model_zoo.get_model_spec` returns the
# model's :class:`~gluonpose.model_zoo.spec.TopDownSpec`; its ``outputs``
# list one :class:`~gluonpose.model_zoo.spec.SupervisedOutput` per trained
# output, with the position of that output in the tuple the network
# returns, ``(global_p2, global_p3, global_p4, global_p5, refine)``. A
# :class:`~gluonpose.engine.supervision.Supervision` turns them into codecs
# and losses, as the training engine does; an output whose spec names no
# codec takes the run's (``--codec``, GluonCV's MSRA Gaussian by default,
# and here for every output). The OpenCV column is the Gaussian blur
# kernel the reference implementation uses for each sigma (OpenCV derives
# ``sigma = 0.3 ((k - 1) / 2 - 1) + 0.8`` from a kernel of size ``k`` when
# it is given no sigma).

spec = get_model_spec(NAME)
print(spec)
SIZE = spec.input_size                          # (256, 192)
HEATMAP = spec.heatmap_size(SIZE)               # (64, 48)
sup = Supervision(spec, SIZE, HEATMAP)
LEVEL_STRIDE = {"global_p2": 4, "global_p3": 8, "global_p4": 16,
                "global_p5": 32, "refine": 4}
print("%-10s %5s %6s %6s %7s  %-44s %6s" % (
    "output", "index", "level", "sigma", "OpenCV", "codec and loss", "weight"))
for out, codec, loss in zip(spec.outputs, sup.codecs, sup.losses):
    kernel = 2 * int(round((codec.sigma - 0.8) / 0.3 + 1)) + 1
    args = ", ".join("%s=%g" % kv for kv in sorted(out.loss_kwargs.items()))
    print("%-10s %5d %6s %6.1f %4dx%-2d  %-44s %6g" % (
        out.name, out.index, "s%d" % LEVEL_STRIDE[out.name], codec.sigma,
        kernel, kernel, "%s, %s(%s)" % (codec.describe(),
                                        type(loss).__name__, args),
        out.weight))
print("decoded at inference: %s" % spec.decoded_output.name)

##############################################################################
# The widest Gaussian (sigma 2.6 heatmap cells, a 15x15 kernel) supervises
# the coarsest level, C5 at stride 32, and the sigmas shrink towards C2;
# RefineNet gets the smallest, 1.4, the same as C2. Every global level is a
# :class:`~gluonpose.loss.WeightedL2Loss` (half the mean squared error over
# joints and pixels) with weight 1, RefineNet an
# :class:`~gluonpose.loss.OHKMLoss` keeping the 8 hardest of 17 joints;
# ``weight=2`` cancels the loss's factor 1/2, so its value is the plain mean
# squared error of the kept joints, as in the reference. The module notes of
# :mod:`gluonpose.model_zoo.cpn` give the derivation of these weights and
# the one pairing choice (the two reference implementations feed the
# kernels to the levels in opposite orders).
#
# What the network costs at 256x192, counted from its symbol graph by
# :func:`~gluonpose.utils.model_summary.model_summary`, beside the figures
# usually quoted for CPN-R50 (the HRNet paper's Table 1, whose GFLOPs are
# counted by the HRNet repository's summary: convolution weight size times
# output positions, divided by 2**30, which
# :attr:`~gluonpose.utils.model_summary.ModelSummary.hrnet_gflops`
# reproduces):

cost = model_summary(get_model(NAME), SIZE)
parts = {"trunk (ResNet-50)": 0, "GlobalNet": 0, "RefineNet": 0}
for row in cost.layers:
    part = ("GlobalNet" if "_global_" in row["name"] else
            "RefineNet" if "_refine_" in row["name"] else "trunk (ResNet-50)")
    parts[part] += row["macs"]
print("%s at %dx%d: %.2f M parameters, %.2f GFLOPs (1e9 multiply-adds),"
      "\n  %.2f GFLOPs in the HRNet count" % (
          NAME, SIZE[0], SIZE[1], cost.mparams, cost.gflops,
          cost.hrnet_gflops))
PUBLISHED = (27.0, 6.20)        # HRNet paper, Table 1, CPN-R50 256x192
print("published (HRNet paper, Table 1): %.1f M parameters, %.2f GFLOPs;"
      "\n  ours: %+.2f %% parameters, %+.1f %% GFLOPs in the HRNet count"
      % (PUBLISHED + (100 * (cost.mparams / PUBLISHED[0] - 1),
                      100 * (cost.hrnet_gflops / PUBLISHED[1] - 1))))
for part, macs in parts.items():
    print("  %-18s %5.2f GFLOPs (%4.1f %%)" % (part, macs / 1e9,
                                               100.0 * macs / cost.macs))

##############################################################################
# The parameter counts agree. The multiply-adds do not: counted the HRNet
# way, ours are above the published 6.20 by the margin printed, a
# difference the references do not explain. (CPN has no transposed
# convolution, so here the two ways of counting differ only by the unit,
# 2**30 against 1e9.) The trunk is a little over half of the cost;
# RefineNet, whose last bottleneck takes the four concatenated levels
# (1024 channels) at stride 4, costs twice as much as GlobalNet.
#
# Pyramid targets of one person
# -----------------------------
#
# ``Supervision.encoder`` is a :class:`~gluonpose.codecs.multi.TargetSet`:
# the training transform augments a sample once (crop, scale, rotation) and
# hands the joints to every output's codec, so the five targets cannot
# disagree about where a joint is. We take a skier of the bundled set,
# rotate and scale the crop with the usual
# :class:`~gluonpose.data.transforms.presets.simple_pose.\
# SimplePoseDefaultTrainTransform` (no flip, so the left wrist stays the
# left wrist), and get five targets back.

dataset = mini_coco()
SAMPLE, JOINT = 4, COCO_PERSON.keypoints.index("left_wrist")
augment = SimplePoseDefaultTrainTransform(
    dataset.num_joints, dataset.joint_pairs, image_size=SIZE,
    heatmap_size=HEATMAP, mean=spec.mean, std=spec.std, scale_factor=0.25,
    rotation_factor=30, random_flip=False, codec=sup.encoder, rng=SEED)
image, label, _ = dataset[SAMPLE]
crop, targets, weights, _ = augment(image, label, None)
drawn = augment.last_params
print("%s: %d targets %s from one augmentation (scale x%.2f, rotation "
      "%+.1f deg)" % (type(sup.encoder).__name__, len(targets),
                      targets[0].shape, drawn["scale"], drawn["rotation"]))
print("global_p2 and refine (both sigma 1.4) are separate arrays with the "
      "same values: %s" % (targets[0] is not targets[4]
                           and np.array_equal(targets[0], targets[4])))

##############################################################################
# An independent check. We map the annotated joints into the crop with the
# affine the transform drew (its centre, box size and rotation are in
# ``last_params``), find each joint's heatmap cell (position / stride,
# rounded), and write ``exp(-d^2 / 2 sigma^2)`` around it, ``d`` the
# distance in cells, inside the square of half-width ``3 sigma`` that the
# MSRA codec fills. Every level's target should equal it.

trans = get_affine_transform(drawn["center"], drawn["scale_px"],
                             drawn["rotation"], (SIZE[1], SIZE[0]))
joints = label["joints_3d"][:, :2, 0].astype(np.float64)
joints = joints @ trans[:, :2].T + trans[:, 2]            # crop pixels
labelled = label["joints_3d"][:, 0, 1] > 0
cells = np.floor(joints / spec.stride + 0.5)              # (x, y) cells
yy, xx = np.mgrid[0:HEATMAP[0], 0:HEATMAP[1]]


def gaussian_at(cell, sigma):
    """The target written here: a Gaussian in a 3-sigma square."""
    dx, dy = xx - cell[0], yy - cell[1]
    inside = (np.abs(dx) <= 3 * sigma) & (np.abs(dy) <= 3 * sigma)
    return np.exp(-(dx ** 2 + dy ** 2) / (2.0 * sigma ** 2)) * inside


print("left wrist at crop (%.1f, %.1f) px -> heatmap cell (%d, %d)"
      % (tuple(joints[JOINT]) + tuple(cells[JOINT])))
print("%-10s %6s %10s %18s %22s" % ("output", "sigma", "FWHM (px)",
                                    "max |diff| wrist",
                                    "max |diff| %d joints" % labelled.sum()))
for out, codec, target in zip(spec.outputs, sup.codecs, targets):
    diffs = [np.abs(target[j] - gaussian_at(cells[j], codec.sigma)).max()
             for j in np.flatnonzero(labelled)]
    print("%-10s %6.1f %10.1f %18.1e %22.1e" % (
        out.name, codec.sigma, 2.3548 * codec.sigma * spec.stride,
        np.abs(target[JOINT] - gaussian_at(cells[JOINT], codec.sigma)).max(),
        max(diffs)))

##############################################################################
# The differences are float32 rounding: each level's target is the
# Gaussian of its sigma around the joint's cell, and the five share the
# cell. FWHM is the full width at half maximum in input pixels, 2.355
# sigma times the stride: the C5 target is a blob 24 pixels across on a
# crop 192 pixels wide, the C2 and RefineNet ones 13.
#
# Why the coarse levels get wide Gaussians
# ----------------------------------------
#
# Each GlobalNet level predicts at its own resolution -- C5 at 8x6 cells
# for a 256x192 crop -- and its maps are up-sampled bilinearly to 64x48
# before the loss. Whatever that level learns, its output is a bilinear
# up-sampling of an 8x6 map, so some targets are out of its reach. We
# measure it: the least-squares fit of each target by such an up-sampled
# map, and the fraction of the target's energy it misses (0 % means the
# level can reproduce the target exactly), averaged over the person's
# labelled joints. The up-sampling is the network's own,
# ``BilinearResize2D`` with ``align_corners=True``; C2 predicts at the
# heatmap's resolution and fits any target.


def upsampling_basis(factor):
    """Columns: the up-sampled images of every cell of a coarse map."""
    h, w = HEATMAP[0] // factor, HEATMAP[1] // factor
    eye = mx.nd.array(np.eye(h * w, dtype=np.float32).reshape(-1, 1, h, w))
    up = mx.nd.contrib.BilinearResize2D(eye, scale_height=float(factor),
                                        scale_width=float(factor),
                                        align_corners=True)
    return up.asnumpy().reshape(h * w, -1).T         # (64 * 48, h * w)


SIGMAS = (1.4, 1.7, 2.0, 2.6)
LEVELS = (("C5", 8, 2.6), ("C4", 4, 2.0), ("C3", 2, 1.7), ("C2", 1, 1.4))
missed = np.zeros((len(LEVELS), len(SIGMAS)))
for i, (level, factor, _) in enumerate(LEVELS):
    if factor == 1:
        continue                       # the identity: nothing is missed
    basis = upsampling_basis(factor)
    for k, sigma in enumerate(SIGMAS):
        wanted = np.stack([gaussian_at(cells[j], sigma).ravel()
                           for j in np.flatnonzero(labelled)], axis=1)
        fit = basis @ np.linalg.lstsq(basis, wanted, rcond=None)[0]
        missed[i, k] = np.mean(((fit - wanted) ** 2).sum(axis=0)
                               / (wanted ** 2).sum(axis=0))
print("energy of a target that each level's resolution cannot represent "
      "(mean over %d joints)" % labelled.sum())
print("%-22s" % "level (its own sigma)"
      + "".join("%12s" % ("sigma %.1f" % s) for s in SIGMAS))
for i, (level, factor, own) in enumerate(LEVELS):
    print("%-22s" % ("%s, %dx%d cells (%.1f)" % (
        level, HEATMAP[0] // factor, HEATMAP[1] // factor, own))
        + "".join("%11.1f%%" % (100 * m) for m in missed[i]))

##############################################################################
# Read along a row: a wider Gaussian is always easier, but the coarse
# levels need it most. C5 misses most of a sharp 1.4 target however it is
# trained, and much less of its own 2.6; C4 sits between; C3 and C2 fit
# every sigma nearly exactly. A sharp target on a coarse level would leave
# an error that no training can remove, and its gradient would keep
# pushing the shared features towards something the level cannot draw. A
# wide target asks of each level what its resolution allows -- roughly
# where the joint is -- and leaves the exact position to the finest level
# and to RefineNet, which sees all the levels at stride 4.
#
# The figure: the crop with the left wrist, and its target at every level.

shown = crop.asnumpy().transpose(1, 2, 0) * spec.std + spec.mean
order = (3, 2, 1, 0, 4)                 # global_p5 (coarsest) ... refine
fig, axes = plt.subplots(2, 3, figsize=(8.4, 7.6))
axes = axes.ravel()
axes[0].imshow(np.clip(shown, 0, 1))
axes[0].plot(*joints[JOINT], "o", ms=14, mfc="none", mec="yellow", mew=2)
axes[0].set_title("input %dx%d, scale x%.2f, %+.0f deg\nleft wrist circled"
                  % (SIZE[0], SIZE[1], drawn["scale"], drawn["rotation"]),
                  fontsize=10)
for ax, pos in zip(axes[1:], order):
    out = spec.outputs[pos]
    ax.imshow(targets[pos][JOINT], cmap="magma", vmin=0, vmax=1)
    ax.plot(*(joints[JOINT] / spec.stride), "c+", ms=12, mew=1.5)
    ax.set_title("%s (stride %d)\nsigma %.1f, %dx%d map" % (
        out.name, LEVEL_STRIDE[out.name], sup.codecs[pos].sigma,
        HEATMAP[0], HEATMAP[1]), fontsize=10)
for ax in axes:
    ax.axis("off")
plt.tight_layout()

##############################################################################
# OHKM on real samples
# --------------------
#
# Now the loss. We train the same network briefly on the first eight
# people of the bundled set (four at a dinner table, then the skier, a
# child, a person in a kitchen and a motorcyclist) with the spec's
# supervision:
# crops of 128x96 and 32x24 heatmaps to fit a CPU, no augmentation, so the
# batch the loss is checked on below is the batch the network trained on.
# The sigmas are the spec's, in heatmap cells: at this small input they are
# twice as wide relative to the person as at 256x192. CPN needs a
# bottleneck ResNet trunk (``CascadedPyramidNetwork`` accepts ResNet-50
# and deeper), so this is the full CPN-R50, initialised as ``gluonpose
# train`` does without pretrained weights; each update is one call of the
# engine's :func:`~gluonpose.engine.trainer.forward_backward` (forward
# with the :class:`~gluonpose.engine.supervision.Supervision` loss,
# backward) and an Adam step.

SMALL = (128, 96)
SMALL_HEATMAP = spec.heatmap_size(SMALL)
PEOPLE, UPDATES, LR, TOPK = 8, 10, 4e-3, 8
train_sup = Supervision(spec, SMALL, SMALL_HEATMAP)
fixed = SimplePoseDefaultTrainTransform(
    dataset.num_joints, dataset.joint_pairs, image_size=SMALL,
    heatmap_size=SMALL_HEATMAP, mean=spec.mean, std=spec.std,
    scale_factor=0, rotation_factor=0, random_flip=False,
    codec=train_sup.encoder, rng=SEED)
items = [fixed(*dataset[i]) for i in range(PEOPLE)]
batch = (mx.nd.stack(*[item[0] for item in items]),
         [mx.nd.array(np.stack([item[1][k] for item in items]))
          for k in range(len(spec.outputs))],
         [mx.nd.array(np.stack([item[2][k] for item in items]))
          for k in range(len(spec.outputs))])

mx.random.seed(SEED)
net = get_model(NAME)
net.initialize(mx.init.MSRAPrelu())
net.hybridize(static_alloc=True, static_shape=True)
trainer = gluon.Trainer(net.collect_params(), "adam",
                        {"learning_rate": LR, "wd": 0.0})
tic, history = time.time(), []
for step in range(UPDATES):
    _, outputs, totals, terms = forward_backward(net, train_sup, batch,
                                                 [mx.cpu()])
    trainer.step(PEOPLE)
    history.append([term.mean().asscalar() for term in terms[0]])
history = np.array(history)
print("%d updates of the %d people in %.0f s (Adam, lr %g)"
      % (UPDATES, PEOPLE, time.time() - tic, LR))
print("%-8s" % "update" + "".join("%11s" % n for n in train_sup.names))
for step in (0, UPDATES // 2, UPDATES - 1):
    print("%-8d" % (step + 1)
          + "".join("%11.2e" % v for v in history[step]))

##############################################################################
# All five terms fall. The coarse levels start highest because their
# wider targets carry more energy: against an empty map the loss is the
# target's mean square, which grows with sigma squared. These are training
# losses on the eight people, not a measure of accuracy on anyone.
#
# Which joints the top-8 keeps
# ----------------------------
#
# For each person, :class:`~gluonpose.loss.OHKMLoss` takes the squared
# error of the RefineNet maps, weighted by the joint weights (0 for a joint
# that is not labelled), averages it over each joint's map, and keeps the
# 8 largest of the 17. We redo that with numpy on the RefineNet output of
# the last update -- the output that update's OHKM term was computed from
# (BatchNorm on the batch's statistics, as in training) -- and list the
# kept joints, hardest first. COCO marks a labelled joint as visible (2) or
# occluded (1); the annotation file says which, and ``*`` flags the
# occluded ones.

refine = outputs[0][4]                      # (8, 17, 32, 24), last update
target, weight = batch[1][4], batch[2][4]
pred_np, target_np, weight_np = (a.asnumpy() for a in (refine, target,
                                                       weight))
ohkm_weight = spec.outputs[4].loss_kwargs["weight"]
per_joint = (ohkm_weight / 2 * weight_np * (pred_np - target_np) ** 2
             ).mean(axis=(2, 3))                              # (8, 17)
picked = np.argsort(-per_joint, axis=1, kind="stable")[:, :TOPK]

with open(os.path.join(mini_coco_root(), "annotations",
                       "person_keypoints_train2017.json")) as f:
    keypoints = {a["id"]: np.reshape(a["keypoints"], (-1, 3))
                 for a in json.load(f)["annotations"]}
flags = np.stack([keypoints[dataset.records[i]["ann_id"]][:, 2]
                  for i in range(PEOPLE)])                   # 0 / 1 / 2
names = COCO_PERSON.keypoints
short = [n.replace("left_", "l_").replace("right_", "r_") for n in names]
for n in range(PEOPLE):
    kept = ", ".join(short[j] + ("*" if flags[n, j] == 1 else "")
                     for j in picked[n])
    print("person %d (%2d labelled): %s" % (n, (flags[n] > 0).sum(), kept))

##############################################################################
# Over the eight people: how often each joint is labelled, how often it is
# kept, and its mean loss as a fraction of the loss of predicting an empty
# map (the loss the network starts from; 100 % means nothing learnt yet
# for that joint).

empty = (ohkm_weight / 2 * weight_np * target_np ** 2).mean(axis=(2, 3))
kept_count = np.zeros(len(names), int)
for row in picked:
    kept_count[row] += 1
kept_count = kept_count * (flags > 0).any(axis=0)     # only labelled ones
labelled_count = (flags > 0).sum(axis=0)
print("%-15s %9s %5s %22s" % ("joint", "labelled", "kept",
                              "loss / empty-map loss"))
for j, name in enumerate(names):
    has = weight_np[:, j, 0, 0] > 0
    ratio = (per_joint[has, j] / empty[has, j]).mean() if has.any() else 0
    print("%-15s %9d %5d %21.0f%%" % (name, labelled_count[j],
                                      kept_count[j], 100 * ratio))
occluded = flags == 1
kept_mask = np.zeros_like(occluded)
np.put_along_axis(kept_mask, picked, True, axis=1)
labelled_mask = flags > 0
spread = [per_joint[n, labelled_mask[n]].max()
          / per_joint[n, labelled_mask[n]].min() for n in range(PEOPLE)]
print("hardest / easiest labelled joint of a person: %.2f to %.2f"
      % (min(spread), max(spread)))
print("kept: %d of %d occluded labelled joints, %d of %d visible ones "
      "(%.0f %% and %.0f %%)" % (
          (kept_mask & occluded).sum(), occluded.sum(),
          (kept_mask & (flags == 2)).sum(), (flags == 2).sum(),
          100.0 * (kept_mask & occluded).sum() / occluded.sum(),
          100.0 * (kept_mask & (flags == 2)).sum() / (flags == 2).sum()))

##############################################################################
# Every person here has at least 9 labelled joints, so the 8 kept are
# always labelled ones; with fewer, the top-8 would fill up with unlabelled
# joints, whose loss is 0 -- they add nothing but still count in the
# division by 8.
#
# The counts are not flat: the wrists, elbows and hips are kept in most of
# the people where they are labelled, the eyes in one person each, and the
# right column ranks the same way, the wrists closest to the empty-map
# level and the eyes among the furthest below it. But every joint is still
# at 82 to 91 % of that level, and within a person the hardest labelled
# joint's loss is only 1.1 to 3 times the easiest's: the network has begun
# to draw blobs where joints tend to be and knows no joint well yet, so the
# top 8 are picked on small differences. Nine of the 11 occluded labelled
# joints are kept, against 59 % of the visible ones -- with 11 joints, a
# hint at most. Eight people and 10 updates make no ranking of joints.
#
# In a trained network the losses spread apart, and the joints left with
# large errors are the ones the CPN paper built OHKM for: occluded and
# invisible joints, and joints against a cluttered background. By type,
# pose networks do worst on the limb ends -- wrists and ankles: small, the
# farthest from the torso and the most mobile, often blurred, and easily
# taken for the other side's -- and best on the eyes, nose and shoulders,
# which look distinctive up close. A loss averaged over all 17 joints
# spreads RefineNet's effort over joints that GlobalNet already places
# well; the top-8 spends it where the errors are. Showing that ranking
# here would take a CPN trained on COCO (``gluonpose train --model
# cpn_resnet50_v1b``), not a minute on a CPU; what the loss does with
# whatever ranking it finds is the same, and is checked next.
#
# :class:`~gluonpose.loss.OHKMLoss` against the hand computation, on this
# batch (the loss is ``(N,)``; the trainer averages it over the batch):

ohkm = OHKMLoss(topk=TOPK, weight=ohkm_weight)
by_loss = ohkm(refine, target, weight).mean().asscalar()
by_hand = np.take_along_axis(per_joint, picked, axis=1).mean()
mask = mx.nd.topk(mx.nd.array(per_joint), axis=1, k=TOPK,
                  ret_typ="mask").asnumpy() > 0
print("OHKMLoss(topk=%d, weight=%g) on the batch: %.8e" % (TOPK, ohkm_weight,
                                                            by_loss))
print("mean of the kept joints' losses by hand:   %.8e  (|diff| %.1e)"
      % (by_hand, abs(by_loss - by_hand)))
print("the refine term of the last update:        %.8e"
      % history[-1][4])
print("MXNet's top-k mask keeps the same joints as numpy's sort: %s"
      % bool((mask == kept_mask).all()))

##############################################################################
# What OHKM changes in the gradient
# ---------------------------------
#
# A plain L2 loss on the RefineNet output (the same squared error averaged
# over all 17 joints: :class:`~gluonpose.loss.WeightedL2Loss` with the same
# ``weight``) gives every labelled joint a gradient in proportion to its
# error. OHKM divides by 8 instead of 17 and drops the other 9 joints. We
# differentiate both with respect to the RefineNet maps:


def map_gradient(loss_fn):
    """Gradient of the batch-summed loss w.r.t. the RefineNet maps."""
    maps = refine.copy()
    maps.attach_grad()
    with autograd.record():
        value = loss_fn(maps, target, weight).sum()
    value.backward()
    return maps.grad.asnumpy()


g_ohkm = map_gradient(ohkm)
g_plain = map_gradient(WeightedL2Loss(weight=ohkm_weight))
norm_ohkm = np.sqrt((g_ohkm ** 2).sum(axis=(2, 3)))       # (8, 17)
norm_plain = np.sqrt((g_plain ** 2).sum(axis=(2, 3)))
ratio = norm_ohkm[kept_mask] / norm_plain[kept_mask]
share = (norm_plain[kept_mask] ** 2).sum() / (norm_plain ** 2).sum()
print("kept joints: OHKM gradient / plain L2 gradient = %.4f to %.4f "
      "(17 / 8 = %.4f)" % (ratio.min(), ratio.max(), 17 / 8))
print("other joints: largest OHKM gradient %.1e" % norm_ohkm[~kept_mask]
      .max())
print("plain L2 already sends %.0f %% of its squared gradient norm to the "
      "kept joints; OHKM sends 100 %%" % (100 * share))

##############################################################################
# So on a kept joint OHKM is the plain loss scaled by 17 / 8, and on the
# others it is zero: the mining is a 0/1 mask over the joints, drawn anew
# for every person at every update from the current errors (constant for
# autograd: the loss takes ``topk`` with ``ret_typ='mask'`` behind a
# ``BlockGrad``). The plain loss already gives the kept joints the larger
# part of its gradient, because their errors are the largest; OHKM gives
# them all of it, and more of it per joint. Only RefineNet is mined: the
# four GlobalNet levels keep the plain loss on every labelled joint, so the
# pyramid still learns all of them.
#
# The figure: a person with the joints OHKM keeps circled, and the counts
# over the eight people.

PERSON = 3                      # at the dinner table, 5 joints occluded
record = dataset.records[PERSON]
center, scale = bbox_to_center_scale(record["bbox"], SIZE[1] / SIZE[0])
view_trans = get_affine_transform(center, scale, 0, (SIZE[1], SIZE[0]))
view = cv2.warpAffine(dataset[PERSON][0].asnumpy(), view_trans,
                      (SIZE[1], SIZE[0]), flags=cv2.INTER_LINEAR)
pts = (record["joints_3d"][:, :2, 0] @ view_trans[:, :2].T
       + view_trans[:, 2])

fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.6),
                         gridspec_kw={"width_ratios": [1, 1.3]})
axes[0].imshow(view)
for j in np.flatnonzero(flags[PERSON] > 0):
    kept = kept_mask[PERSON, j]
    axes[0].plot(*pts[j], "o", ms=13 if kept else 5,
                 mfc="none" if kept else "white",
                 mec="red" if kept else "white", mew=2)
    if kept:
        axes[0].annotate(short[j] + ("*" if flags[PERSON, j] == 1 else ""),
                         pts[j], xytext=(7, -7), textcoords="offset points",
                         color="yellow", fontsize=9)
axes[0].set_title("person %d: the %d joints OHKM keeps\n(circled; * "
                  "occluded; dots: labelled, not kept)" % (PERSON, TOPK),
                  fontsize=10)
axes[0].axis("off")
rows = np.arange(len(names))
axes[1].barh(rows, labelled_count, color="0.85", label="labelled")
axes[1].barh(rows, kept_count, color="tab:red", height=0.5,
             label="kept by OHKM (top %d)" % TOPK)
axes[1].set_yticks(rows)
axes[1].set_yticklabels(names, fontsize=9)
axes[1].invert_yaxis()
axes[1].set_xlabel("people (of %d)" % PEOPLE)
axes[1].set_xticks(range(PEOPLE + 1))
axes[1].set_title("after %d updates at %dx%d, from random weights"
                  % (UPDATES, SMALL[0], SMALL[1]), fontsize=10)
axes[1].legend(fontsize=9, loc="lower right")
plt.tight_layout()

##############################################################################
# What to take away
# -----------------
#
# * CPN's five outputs come from one augmentation; each GlobalNet level is
#   trained towards a Gaussian as wide as its resolution can draw, and
#   RefineNet towards the sharpest one, which is what is decoded.
# * OHKM is a mask over joints, recomputed for every person at every
#   update: the 8 joints with the largest error get the plain gradient
#   scaled by 17/8, the others none. Which joints those are depends on the
#   state of the network: after 10 updates from random weights the choice
#   rests on small differences between joints; in a trained network it
#   falls on the hard ones.
# * The full recipe (``gluonpose train --model cpn_resnet50_v1b`` on COCO,
#   with ``--use-pretrained-base``) trains the same supervision at
#   256x192; the :doc:`../model_zoo` page lists the CPN models with their
#   cost beside the published figures.
