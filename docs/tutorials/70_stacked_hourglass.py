"""7. Stacked hourglass and intermediate supervision
====================================================

A stacked hourglass (Newell, Yang and Deng, *Stacked Hourglass Networks
for Human Pose Estimation*, ECCV 2016) pools its features down to a few
pixels and brings them back up, several times in a row. After every
hourglass it predicts a full set of heatmaps, and every one of these
predictions is trained against the targets: *intermediate supervision*.
The next hourglass takes the previous heatmaps back in, added to its
input, so it can look again and correct them. This tutorial follows
gluonpose's :class:`~gluonpose.model_zoo.hourglass.HourglassNet`:

1. its **spec** and its structure: one supervised output per stack, the
   parameters and multiply-adds of 1, 2, 4 and 8 stacks, and where the
   multiply-adds go;
2. a short training run of ``hourglass_2stack`` from scratch on eight
   people of the bundled mini COCO set, with both stacks supervised
   through :class:`~gluonpose.engine.supervision.Supervision` and the loss
   of each stack recorded;
3. what each stack sees: the heatmaps of stack 0 and stack 1 side by side,
   and how much sharper the second one is;
4. the flip test as the reference implementation does it, and why the
   spec's ``flip_shift`` is 0.75 of a heatmap cell here.

The training run takes under a minute on two CPU cores, so the network
**memorises** its eight training people, and only roughly: every number
in sections 2 and 3 is measured on those same people and compares the two
stacks with each other. None of it says how accurate an hourglass is on
people it has not seen.
"""
import time

import matplotlib.pyplot as plt
import mxnet as mx
import numpy as np
from mxnet import gluon

from gluonpose.codecs import flip_merge
from gluonpose.data import mini_coco
from gluonpose.data.transforms.pose import get_affine_transform
from gluonpose.data.transforms.presets.simple_pose import \
    SimplePoseDefaultTrainTransform
from gluonpose.engine.supervision import Supervision
from gluonpose.engine.trainer import forward_backward
from gluonpose.model_zoo import get_model, get_model_spec
from gluonpose.utils.lr_scheduler import LRScheduler, LRSequential
from gluonpose.utils.model_summary import model_summary

NAME = "hourglass_2stack"

##############################################################################
# The spec: one supervised output per stack
# -----------------------------------------
#
# :func:`~gluonpose.model_zoo.model_zoo.get_model_spec` returns the
# contract of a registered model without building it. For a stacked
# hourglass it lists one
# :class:`~gluonpose.model_zoo.spec.SupervisedOutput` per stack, each
# pointing at its position in the tuple the network returns, and decodes
# the last one:

spec = get_model_spec(NAME)
print(spec)
for key, value in spec.describe().items():
    print("  %-13s %s" % (key, value))
for output in spec.outputs:
    print("  %s: position %d in the returned tuple, loss weight %g"
          % (output.name, output.index, output.weight))

##############################################################################
# * **normalisation**: RGB scaled to [0, 1] and nothing else (``mean`` 0,
#   ``std`` 1), as the reference feeds ``image / 255``;
# * **stride** 4: the stem halves the resolution twice, and every
#   hourglass comes back to where it started, so all stacks give maps at a
#   quarter of the input;
# * **size multiple** 64: each hourglass pools four more times, so the
#   sides must be multiples of 4 x 2\ :sup:`4` = 64. Other sizes are
#   refused with a message that says so:

try:
    spec.check_input_size((256, 200))
except ValueError as err:
    print("ValueError:", err)

##############################################################################
# Every stack returns a map per joint at the same resolution. The shapes,
# inferred from the symbol graph (nothing runs):

net = get_model(NAME)
graph = mx.sym.Group(list(net(mx.sym.var("data"))))    # one per stack
for size in [(256, 256), (256, 192), (64, 64)]:
    _, shapes, _ = graph.infer_shape(data=(1, 3) + size)
    print("input %3dx%-3d -> " % size + ", ".join(
        "%s %s" % (o.name, "x".join(map(str, shapes[o.index])))
        for o in spec.outputs))

##############################################################################
# Stacks, parameters and multiply-adds
# ------------------------------------
#
# The zoo registers 1, 2, 4 and 8 stacks for COCO's 17 joints and the
# 8-stack network for MPII's 16. Parameters and multiply-adds at 256x256,
# counted on the symbol graph by
# :func:`~gluonpose.utils.model_summary.model_summary`, with
# 1 GFLOP = 10\ :sup:`9` multiply-adds (the batch-norm running statistics
# are not counted as parameters):

ZOO = ["hourglass_1stack", "hourglass_2stack", "hourglass_4stack",
       "hourglass_8stack", "hourglass_8stack_mpii"]
print("%-22s %6s %6s %9s %7s" % ("model", "stacks", "joints", "params(M)",
                                 "GFLOPs"))
costs, blocks = {}, {}
for name in ZOO:
    block = blocks[name] = get_model(name)
    costs[name] = model_summary(block, (256, 256))
    print("%-22s %6d %6d %9.2f %7.2f" % (
        name, block.num_stacks, block.num_joints, costs[name].params / 1e6,
        costs[name].gflops))
print("%-22s %6d %6d %9.2f %7.2f   (published, PyTorch)"
      % ("8-stack MPII", 8, 16, 25.59, 28))

##############################################################################
# Every stack after the first adds the same 3.14 M parameters and 3.19
# GFLOPs (an hourglass, its feature layers, its heatmap head and the two
# merge convolutions), on top of a stem and first stack of 3.43 M and
# 5.15 GFLOPs. The 8-stack MPII count is within 1 % of the parameters and
# 2 % of the multiply-adds published for the PyTorch 8-stack hourglass
# (a port with a slightly different layout). The original checkpoint
# holds 7.4 M values more than either: its residual units create a 1x1
# ``skip_layer`` convolution even where the input and output widths are
# equal and the unit adds its input unchanged, and never use it;
# gluonpose builds the convolution only where it is used (see the
# :mod:`~gluonpose.model_zoo.hourglass` module notes).
#
# Where do the multiply-adds of the 8-stack network go? Each row sums the
# counted layers of one kind of block:

big = blocks["hourglass_8stack"]
cost = costs["hourglass_8stack"]


def macs_of(members):
    """Multiply-adds of the layers inside any of the blocks ``members``."""
    prefixes = tuple(b.prefix for b in members)
    return sum(r["macs"] for r in cost.layers
               if r["name"].startswith(prefixes))


parts = [("stem (pre)", [big.pre]),
         ("hourglasses (hgs)", [h[0] for h in big.hgs]),
         ("features", [f[k] for f in big.features for k in (0, 1)]),
         ("heatmap heads (outs)", list(big.outs)),
         ("merges (merge_*)", list(big.merge_features)
          + list(big.merge_preds))]
print("%-22s %6s %12s %8s %6s" % ("part", "blocks", "GFLOPs each",
                                  "GFLOPs", "share"))
for label, members in parts:
    macs = macs_of(members)
    count = len(members) // (2 if label.startswith(("features", "merges"))
                            else 1)
    print("%-22s %6d %12.3f %8.2f %5.1f%%" % (
        label, count, macs / count / 1e9, macs / 1e9,
        100.0 * macs / cost.macs))
print("%-22s %6s %12s %8.2f" % ("total", "", "", cost.gflops))

##############################################################################
# Half of the work is in the eight hourglasses, and a third in the
# feature layers after each one (a residual unit and a 1x1 convolution,
# both at the full 64x64 map resolution); the heatmap heads, 256 -> 17
# channels, cost almost nothing. Inside an hourglass the work follows the
# resolution: a residual unit costs the same per pixel at every level,
# and each level has four times the pixels of the one below. Grouped by
# the output resolution of each layer of the first hourglass:

first = [r for r in cost.layers if r["name"].startswith(big.hgs[0][0].prefix)]
hourglass_macs = sum(r["macs"] for r in first)
for side in sorted({r["output"][2] for r in first}, reverse=True):
    macs = sum(r["macs"] for r in first if r["output"][2] == side)
    print("  %2dx%-2d  %5.3f GFLOPs  %5.1f%% of the hourglass"
          % (side, side, macs / 1e9, 100.0 * macs / hourglass_macs))

##############################################################################
# Half of every hourglass runs at full heatmap resolution: the skip
# branch ``up1`` there is a single residual unit, but on 4096 pixels.
# The innermost 4x4 level, where one cell stands for a 64x64 block of the
# input, is almost free.
#
# Intermediate supervision in a short training run
# ------------------------------------------------
#
# :class:`~gluonpose.engine.supervision.Supervision` reads the spec and
# gives what one training step needs for *all* its outputs: a target
# encoder for the data transform (a
# :class:`~gluonpose.codecs.multi.TargetSet`, which gives every output its
# targets from the same augmented sample; here both stacks have the same
# settings, so it encodes once and copies), and a loss that returns the
# weighted total together with every output's term.
# :func:`~gluonpose.engine.trainer.forward_backward` is the step of the
# training engine; nothing below knows that there are two stacks.
#
# The setting is small, to fit in under a minute: eight people, crops of
# 64x64 (the smallest size an hourglass takes) and 16x16 maps, unbiased
# Gaussian targets with sigma 2 cells, and no augmentation at all -- the
# point is to watch the stacks memorise. Each update takes all eight
# people as one batch, so the batch-norm statistics the network trains
# with are those of the eight crops, which is also what its running
# statistics converge to for the evaluation below. (In our trials with
# batches of four, one bright, snowy crop came out with maps several
# times too high at evaluation.) Adam with a short warm-up and a cosine
# decay; the normalisation comes from the spec.

SIZE, PEOPLE, UPDATES, LR, SIGMA = (64, 64), 8, 45, 2.5e-3, 2
HEATMAP = spec.heatmap_size(SIZE)
sup = Supervision(spec, SIZE, HEATMAP, codec="unbiased", sigma=SIGMA)
print(sup.describe())

dataset = mini_coco()
people = gluon.data.SimpleDataset([dataset[i] for i in range(PEOPLE)])
transform = SimplePoseDefaultTrainTransform(
    dataset.num_joints, dataset.joint_pairs, image_size=SIZE,
    heatmap_size=HEATMAP, mean=spec.mean, std=spec.std, scale_factor=0.0,
    rotation_factor=0, random_flip=False, codec=sup.encoder, rng=0)
image, targets, weights, _ = transform(*people[0])
print("one sample: image %s, targets %s, weights %s" % (
    image.shape, [t.shape for t in targets], [w.shape for w in weights]))

##############################################################################
# The transform returns a tuple of targets and a tuple of weights, one per
# stack, and the loader batches each position, so a batch carries a list
# of two target arrays. We also keep the ground-truth joints in input
# pixels (the annotations through the crop's affine transform) for
# section 3, and, for reading the curves, the loss of a network that
# outputs zeros everywhere (the weighted L2 loss is half the mean squared
# error over the joints that are labelled):

loader = gluon.data.DataLoader(people.transform(transform),
                               batch_size=PEOPLE)
batch = next(iter(loader))
crops, crop_targets, crop_weights = batch[:3]
joints = []
for img, label, img_id in people:
    transform(img, label, img_id)
    p = transform.last_params
    trans = get_affine_transform(p["center"], p["scale_px"], 0,
                                 [SIZE[1], SIZE[0]])
    xy = label["joints_3d"][:, :2, 0].astype(np.float64)
    joints.append(xy @ trans[:, :2].T + trans[:, 2])
joints = np.array(joints)                                # (8, 17, 2)
labelled = crop_weights[0].asnumpy()[..., 0, 0] > 0      # (8, 17)
zeros = tuple(mx.nd.zeros_like(t) for t in crop_targets)
_, zero_terms = sup.loss(zeros, crop_targets, crop_weights)
zero_level = float(zero_terms[0].mean().asscalar())
print("batch: data %s, targets %d x %s" % (
    crops.shape, len(crop_targets), crop_targets[0].shape))
print("loss of an all-zero output: %.4f per stack (%d labelled joints)"
      % (zero_level, labelled.sum()))

##############################################################################
# The network starts from the reference initialisation (every parameter
# carries its own initialiser, so ``net.initialize()`` gives it). The
# loop records each stack's term of every update:

mx.random.seed(0)
np.random.seed(0)
net.initialize()
net.hybridize(static_alloc=True, static_shape=True)
schedule = LRSequential([
    LRScheduler("linear", base_lr=0, target_lr=LR, nepochs=1,
                iters_per_epoch=10),
    LRScheduler("cosine", base_lr=LR, target_lr=0, nepochs=1,
                iters_per_epoch=UPDATES - 10)])
trainer = gluon.Trainer(net.collect_params(), "adam",
                        {"learning_rate": schedule.base_lr,
                         "lr_scheduler": schedule})
tic, history = time.time(), []
while len(history) < UPDATES:
    for batch in loader:
        _, _, _, terms = forward_backward(net, sup, batch, [mx.cpu()])
        trainer.step(PEOPLE)
        history.append([float(t.mean().asscalar()) for t in terms[0]])
history = np.array(history)
print("%d updates of %d crops in %.0f s" % (UPDATES, PEOPLE,
                                           time.time() - tic))
for s, o in enumerate(spec.outputs):
    print("%s loss: %.4f over the first 5 updates, %.4f over the last 5"
          % (o.name, history[:5, s].mean(), history[-5:, s].mean()))

fig, ax = plt.subplots(figsize=(7, 3.4))
steps = np.arange(1, UPDATES + 1)
for s, o in enumerate(spec.outputs):
    ax.plot(steps, history[:, s], lw=2, label=o.name)
ax.axhline(zero_level, color="gray", ls="--", lw=1,
           label="all-zero output")
ax.set_yscale("log")
ticks = [0.004, 0.01, 0.02, 0.04]
ax.set_yticks(ticks)
ax.set_yticklabels(["%g" % t for t in ticks])
ax.minorticks_off()
ax.set_xlabel("update (all %d people in one batch)" % PEOPLE)
ax.set_ylabel("weighted L2 loss")
ax.set_title("%s, %dx%d crops: the loss of each stack"
             % (NAME, SIZE[0], SIZE[1]), fontsize=10)
ax.legend(fontsize=9)
plt.tight_layout()

##############################################################################
# Both stacks start above the all-zero level -- the freshly initialised
# network outputs values of about 0.2 in size everywhere, where the
# targets are zero on most of the map -- and the first updates bring the
# background down. Stack 1's loss drops below stack 0's within the first
# few updates and the gap keeps growing; at the end it is about half of
# stack 0's. Stack 1 is no separate, better network: it *is* stack 0 plus
# one more hourglass, and it sees stack 0's heatmaps added to its input, so
# it starts from an estimate instead of from the image features alone.
#
# What each stack sees
# --------------------
#
# The trained network on the same crops (batch norm with its running
# statistics), each stack's maps decoded with the decoded output's codec,
# :meth:`UnbiasedHeatmap.decode_heatmap
# <gluonpose.codecs.unbiased.UnbiasedHeatmap.decode_heatmap>` (heatmap
# cells, times the stride for input pixels), and compared with the
# ground-truth joints and with the targets themselves:

outputs = [o.asnumpy() for o in spec.supervised(net(crops))]
rows = [("target", crop_targets[sup.decoded_position].asnumpy())]
rows += [(o.name, m) for o, m in zip(spec.outputs, outputs)]
cells = joints / spec.stride                 # true joints in heatmap cells
grid_y, grid_x = np.mgrid[:HEATMAP[0], :HEATMAP[1]]
near = (((grid_x - cells[..., 0, None, None]) ** 2
         + (grid_y - cells[..., 1, None, None]) ** 2) <= SIGMA ** 2)
idx = np.clip(np.round(cells).astype(int), 0, HEATMAP[1] - 1)
n_idx, j_idx = np.meshgrid(np.arange(PEOPLE), np.arange(dataset.num_joints),
                           indexing="ij")
stats, decoded = {}, {}
for name, maps in rows:
    coords, peaks = sup.codec.decode_heatmap(maps)
    decoded[name] = coords * spec.stride
    error = np.linalg.norm(decoded[name] - joints, axis=-1)[labelled]
    at_joint = maps[n_idx, j_idx, idx[..., 1], idx[..., 0]][labelled]
    positive = np.maximum(maps, 0)
    share = ((positive * near).sum(axis=(2, 3))
             / np.maximum(positive.sum(axis=(2, 3)), 1e-12))[labelled]
    stats[name] = (at_joint.mean(), peaks[..., 0][labelled].mean(),
                   error.mean(), np.median(error), share.mean())

print("Memorisation, not accuracy: the %d training people, ground-truth "
      "boxes,\nno flip, input %dx%d, %dx%d maps, codec=unbiased(sigma=%g); "
      "means over\nthe %d labelled joints" % (PEOPLE, SIZE[0], SIZE[1],
                                             HEATMAP[0], HEATMAP[1], SIGMA,
                                             labelled.sum()))
print("%-8s %9s %7s %11s %10s %10s" % ("maps", "at joint", "peak",
                                       "error (px)", "median px",
                                       "mass near"))
for name, (at, peak, err, med, share) in stats.items():
    print("%-8s %9.3f %7.3f %11.2f %10.2f %10.2f"
          % (name, at, peak, err, med, share))

##############################################################################
# * **at joint**: the map's value at the cell nearest to the true joint
#   (the target's is a little below 1 because a joint is rarely at a cell
#   centre);
# * **peak**: the maximum of the map;
# * **error**: distance between the decoded and the true joint, in input
#   pixels of the 64x64 crop (one heatmap cell is 4 pixels), mean and
#   median;
# * **mass near**: the share of the map's positive values that lies
#   within one sigma (2 cells, 8 pixels) of the true joint -- how much of
#   the map is about this joint rather than clutter elsewhere.
#
# Stack 1's maps are higher at the joint, keep more of their mass near it
# and decode closer to it. Both are still far from the targets after 45
# updates. Two people (the two with the most labelled joints) and two
# joints, stack 0 beside stack 1, each map drawn over its crop with
# opacity growing with its value, both stacks on the scale of the higher
# of the two; ``+`` is the true joint, ``o`` what the stack's maps decode
# to:

SHOW_PEOPLE = np.argsort(-labelled.sum(axis=1), kind="stable")[:2]
SHOW_JOINTS = ["left_wrist", "right_knee"]
fig, axes = plt.subplots(len(SHOW_PEOPLE), 1 + 2 * len(SHOW_JOINTS),
                         figsize=(10, 4.8))
mean, std = np.array(spec.mean), np.array(spec.std)
box = (-0.5, SIZE[1] - 0.5, SIZE[0] - 0.5, -0.5)      # the crop's pixels
half = spec.stride / 2                                # cell k at pixel 4 k
cell_box = (-half, SIZE[1] - half, SIZE[0] - half, -half)
colours = plt.get_cmap("inferno")
for row, n in zip(axes, SHOW_PEOPLE):
    pixels = np.clip(crops[n].asnumpy().transpose(1, 2, 0) * std + mean,
                     0, 1)
    row[0].imshow(pixels, extent=box)
    row[0].set_title("person %d, %dx%d crop" % (n, SIZE[0], SIZE[1]),
                     fontsize=9)
    for k, joint in enumerate(SHOW_JOINTS):
        j = dataset.schema.index(joint)
        row[0].plot(*joints[n, j], "+", color="cyan", ms=10, mew=2)
        right = joints[n, j, 0] > SIZE[1] / 2       # label towards the middle
        row[0].annotate(joint.replace("_", " "), joints[n, j],
                        xytext=(-6 if right else 6, -6),
                        textcoords="offset points",
                        ha="right" if right else "left", color="cyan",
                        fontsize=9, bbox=dict(fc="black", alpha=0.5, lw=0,
                                              pad=1))
        top = max(outputs[s][n, j].max() for s in range(len(outputs)))
        for s, o in enumerate(spec.outputs):
            ax = row[1 + 2 * k + s]
            ax.imshow(pixels.mean(axis=2), cmap="gray", vmin=0, vmax=1.6,
                      extent=box)
            value = np.clip(outputs[s][n, j] / top, 0, 1)
            rgba = colours(value)
            rgba[..., 3] = 0.9 * value
            ax.imshow(rgba, extent=cell_box, interpolation="bilinear")
            ax.plot(*joints[n, j], "+", color="cyan", ms=11, mew=2)
            ax.plot(*decoded[o.name][n, j], "o", mfc="none", color="lime",
                    ms=9, mew=1.5)
            ax.set_title("%s, %s\npeak %.2f" % (
                o.name, joint.replace("_", " "), outputs[s][n, j].max()),
                fontsize=9)
    for ax in row:
        ax.set_xlim(box[:2])
        ax.set_ylim(box[2:])
        ax.axis("off")
plt.tight_layout()

##############################################################################
# Less than a minute of training on eight people is far from a trained
# hourglass. In three of the four pairs, stack 1's map is brighter and
# more compact than stack 0's; in the fourth (person 4's right knee) it
# is fainter, though it still decodes close to the joint. The table, not
# four examples, is the measurement.
#
# This is what intermediate supervision asks of a stacked network: every
# stack must already be a pose estimator on its own, and every later
# stack refines the estimate it is handed.
#
# The flip test, and the 3/4-cell shift
# -------------------------------------
#
# At test time the reference runs each crop and its mirror image, flips
# the mirror's heatmaps back (left and right channels swapped), and
# averages them with the plain ones, *without* shifting them. That is
# exact in the reference's convention, where heatmap cell ``k`` stands
# for the centre of a 4-pixel block, input coordinate ``4 k + 2`` on a
# continuous axis whose mirror is ``x -> W - x``.
#
# gluonpose (like GluonCV) puts cell ``k`` at input pixel ``4 k`` and
# mirrors pixels as ``x -> W - 1 - x``. Flipping a map then moves a joint
# from ``4 k`` to ``4 (w - 1 - k)`` while the mirrored joint sits at
# ``4 (w - 1 - k) + 3``: the flipped-back map lies 3 pixels, 3/4 of a
# cell, to the left of the plain one, and averaging the two puts the
# merged joint 1.5 pixels to the left. GluonCV moves the flipped-back map
# one whole cell right (a quarter of a cell too far, 0.5 px right after
# averaging); the hourglass spec asks for the exact correction, a 0.75
# cell shift by linear interpolation
# (:func:`~gluonpose.codecs.flip.flip_merge` with ``shift=0.75``).
#
# Measured on *ideal* maps: the targets of the eight people's crops and
# of their mirror images, what a perfectly trained network outputs. (Our
# short run never saw a mirrored person, so its maps of the mirrors
# would measure the training, not the shift.)

print("spec.flip_shift of %s: %r" % (NAME, spec.flip_shift))
flip_index = np.asarray(dataset.schema.flip_index)
mirrored = joints[:, flip_index].copy()
mirrored[..., 0] = SIZE[1] - 1 - mirrored[..., 0]
visible = labelled.astype(np.float32)
plain_maps = np.stack([sup.codec.encode(j, v)[0]
                       for j, v in zip(joints, visible)])
mirror_maps = np.stack([sup.codec.encode(j, v[flip_index])[0]
                        for j, v in zip(mirrored, visible)])
print("Ideal maps of the %d training people, ground-truth boxes, input "
      "%dx%d,\n%dx%d maps, codec=unbiased(sigma=%g); x error of the "
      "merged maps, input px" % (PEOPLE, SIZE[0], SIZE[1], HEATMAP[0],
                                 HEATMAP[1], SIGMA))
print("%-30s %12s %12s" % ("flip merge", "mean x error", "mean |error|"))
for label, shift in [("no flip (plain maps only)", None),
                     ("shift=False (the reference)", False),
                     ("shift=True (GluonCV, 1 cell)", True),
                     ("shift=%g (spec.flip_shift)" % spec.flip_shift,
                      spec.flip_shift)]:
    maps = plain_maps if shift is None else flip_merge(
        plain_maps, mirror_maps, flip_index, shift=shift)
    coords = sup.codec.decode_heatmap(maps)[0] * spec.stride
    dx = (coords[..., 0] - joints[..., 0])[labelled]
    error = np.linalg.norm(coords - joints, axis=-1)[labelled]
    print("%-30s %+12.2f %12.2f" % (label, round(dx.mean(), 2) + 0.0,
                                    error.mean()))

##############################################################################
# The first row checks the codec: the plain maps decode to the joints.
# The other three match the arithmetic: -1.5 px without a shift, +0.5 px
# with GluonCV's column, and no error (to a few hundredths of a pixel)
# with the 0.75-cell shift, which is what ``gluonpose eval --flip-test``
# and a :class:`~gluonpose.inference.predictor.Predictor` built with
# ``flip_test=True`` apply to an hourglass (they read
# ``spec.flip_shift``). The bias is in input pixels, 1.5 px at any input
# size: small next to a person, but it is the same for every joint, and
# COCO's OKS counts it most against small people.
# ``tests/test_flip_shift.py`` checks the same three numbers at 256x192.
#
# What this shows, and what it does not
# -------------------------------------
#
# * The spec alone makes a multi-output network trainable: one
#   :class:`~gluonpose.engine.supervision.Supervision` built from it
#   encodes one target per stack, sums the losses and keeps each term.
#   ``gluonpose train --model hourglass_2stack`` logs the same per-stack
#   terms (``loss_stack0``, ``loss_stack1``) and draws them in its
#   curves.
# * The per-stack table is a memorisation check on eight training people
#   with ground-truth boxes and a minute of training; it compares the
#   stacks with each other, it is not an accuracy. The MPII recipe of the
#   reference (Adam, learning rate 1e-3, batch 16, about 200 000
#   iterations at 256x256) is a long way from it.
# * The flip-test numbers come from ideal maps, so they measure the
#   geometry of the merge and nothing else.
