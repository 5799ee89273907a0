"""2. Dive deep into training a simple pose model
=================================================

This tutorial takes apart what ``scripts/train_simple_pose.py`` does when it trains a Simple Baselines
network (Xiao, Wu and Wei, *Simple Baselines for Human Pose Estimation and Tracking*, ECCV 2018) on COCO:
the keypoint dataset, the training transform and what each augmentation does, the network with its
deconvolution head, the loss, the learning-rate schedule, the training metric, and a training loop that
splits every batch over several devices.

It runs on the small COCO keypoint set bundled with gluonpose (80 images, 86 people) on the CPU, and the
loop at the end trains for a few epochs only -- enough to see every piece work, nowhere near enough to
predict poses. The last section gives the commands for a real run.
"""
import time

import matplotlib.pyplot as plt
import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from gluonpose.data import mini_coco
from gluonpose.data.transforms.presets.simple_pose import SimplePoseDefaultTrainTransform
from gluonpose.utils.viz import draw_keypoints

##############################################################################
# The COCO keypoint dataset
# -------------------------
#
# :class:`~gluonpose.data.mscoco.COCOKeyPoints` reads a COCO person-keypoint json and yields one item per
# annotated person -- the same records, in the same order, as GluonCV's class of the same name.
# ``mini_coco()`` opens the bundled set; for the real data use
# ``COCOKeyPoints('~/.mxnet/datasets/coco', splits='person_keypoints_train2017')``.

train_dataset = mini_coco()
print(train_dataset.summary())
print("joints:", train_dataset.num_joints, "flip pairs:", train_dataset.joint_pairs)

img, label, img_id = train_dataset[3]
print("image", img.shape, img.dtype, "id", img_id)
print("label keys:", sorted(label))
print("bbox (xmin, ymin, xmax, ymax):", np.round(label["bbox"], 1))

##############################################################################
# ``joints_3d`` has shape ``(17, 3, 2)``: ``[:, :2, 0]`` are the x, y of each joint in image pixels and
# ``[:, 0, 1]`` its visibility flag (0 when the joint is not labelled). Drawn with
# :func:`~gluonpose.utils.viz.draw_keypoints`, which takes the links from the keypoint schema:

joints = label["joints_3d"]
fig, ax = plt.subplots(figsize=(5, 4.5))
ax.imshow(draw_keypoints(img.asnumpy(), joints[None, :, :2, 0], joints[None, :, 0, 1],
                         keypoint_thresh=0, boxes=[label["bbox"]]))
ax.set_title("ground truth of instance 3")
ax.set_axis_off()

##############################################################################
# The training transform
# ----------------------
#
# :class:`~gluonpose.data.transforms.presets.simple_pose.SimplePoseDefaultTrainTransform` turns an item
# into ``(image, target heatmaps, target weights, id)``. In order, it
#
# 1. takes the box, grows it by 1.25 and pads it to the input's aspect ratio (the *crop*);
# 2. scales the crop by a random factor (scale augmentation);
# 3. with probability 0.6, rotates it by a random angle (rotation augmentation);
# 4. with probability 0.5, mirrors image and joints, swapping left and right joints (flip augmentation);
# 5. warps the crop to the input size with one affine transform and normalises it;
# 6. encodes the joints that are labelled into Gaussian heatmaps at a quarter of the input size.
#
# To see one augmentation at a time we replace its random generator by one that returns chosen values (the
# transform accepts any object with ``normal()`` and ``uniform()``). Per call it draws: a normal for the
# scale, a uniform for the rotation gate (rotate if ``u <= 0.6``), a normal for the angle when rotating, and
# a uniform for the flip gate (flip if ``u > 0.5``).


class Scripted:
    """A 'random' generator that returns the values it is given, in order."""

    def __init__(self, *values):
        self.values = list(values)

    def normal(self):
        return self.values.pop(0)

    uniform = normal


MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
SIZE, HEATMAP = (256, 192), (64, 48)


def show(ax, sample, title):
    """Un-normalise the image and draw the joints decoded from the target heatmaps."""
    image, target, weight, _ = sample
    pixels = np.clip((image.asnumpy().transpose(1, 2, 0) * STD + MEAN) * 255, 0, 255)
    flat = target.reshape(target.shape[0], -1).argmax(axis=1)
    pts = np.stack([flat % HEATMAP[1], flat // HEATMAP[1]], axis=1) * 4.0   # heatmap -> input px
    ax.imshow(draw_keypoints(pixels.astype(np.uint8), pts[None], weight.reshape(1, -1),
                             keypoint_thresh=0.5))
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def transform(rng, scale_factor=0.30, rotation_factor=40, flip=True):
    return SimplePoseDefaultTrainTransform(
        train_dataset.num_joints, train_dataset.joint_pairs, image_size=SIZE,
        heatmap_size=HEATMAP, sigma=2, scale_factor=scale_factor,
        rotation_factor=rotation_factor, random_flip=flip, rng=rng)


# (scale normal, rotation gate, [angle normal], flip gate)
cases = [("no augmentation", (0.0, 1.0, 0.0)),
         ("scale x1.3 (zoom out)", (1.0, 1.0, 0.0)),
         ("scale x0.7 (zoom in)", (-1.0, 1.0, 0.0)),
         ("rotation +40 deg", (0.0, 0.0, 1.0, 0.0)),
         ("horizontal flip", (0.0, 1.0, 1.0))]
fig, axes = plt.subplots(1, 5, figsize=(13, 4))
for ax, (title, values) in zip(axes, cases):
    show(ax, transform(Scripted(*values))(img, label, img_id), title)
plt.tight_layout()

##############################################################################
# The joints drawn here are decoded from the *target heatmaps*, so they show that targets and image moved
# together. After the flip, ``left_*`` joints sit on the person's right-hand side of the picture, where the
# mirrored left arm now is: the transform swaps the channels of each left/right pair (the keypoint
# schema's ``flip_index``). The training script draws all of it at random -- scale factor
# ``clip(N(0, 1) * 0.3 + 1, 0.7, 1.3)``, angle ``clip(N(0, 1) * 40, -80, 80)`` degrees -- with GluonCV's
# defaults for COCO (``--scale-factor 0.30 --rotation-factor 40``). Six random draws of the same person:

rand = transform(rng=0)
fig, axes = plt.subplots(1, 6, figsize=(13, 3.6))
for k, ax in enumerate(axes):
    sample = rand(img, label, img_id)
    p = rand.last_params
    show(ax, sample, "s=%.2f r=%+.0f%s" % (p["scale"], p["rotation"], " flip" if p["flip"] else ""))
plt.tight_layout()

##############################################################################
# The targets are one Gaussian heatmap per joint; joints that are not labelled (or end up outside the crop)
# get an empty map and weight 0, so the loss ignores them:

image, target, weight, _ = transform(Scripted(0.0, 1.0, 0.0))(img, label, img_id)
print("image", image.shape, "target", target.shape, "weight", weight.shape)
fig, axes = plt.subplots(1, 4, figsize=(10, 3.4))
for ax, name in zip(axes, ["nose", "left_wrist", "right_knee", "right_ankle"]):
    j = train_dataset.schema.index(name)
    ax.imshow(target[j], cmap="magma")
    ax.set_title("%s (weight %d)" % (name, weight[j].item()), fontsize=9)
    ax.axis("off")
plt.tight_layout()

##############################################################################
# The network: a ResNet and a deconvolution head
# ----------------------------------------------
#
# Simple Baselines is a ResNet without its classifier (output stride 32) followed by three transposed
# convolutions (4x4, stride 2, 256 channels, each with batch norm and ReLU) that bring the feature map back
# to stride 4, and a 1x1 convolution with one output channel per joint. (MXNet prints a transposed
# convolution's channels as ``out -> in``: the first one maps the 512 channels of ResNet-18 to 256.)

from gluonpose.model_zoo import get_model  # noqa: E402
from gluonpose.utils.model_summary import model_summary  # noqa: E402

net = get_model("simple_pose_resnet18_v1b", num_joints=17)
print(net.deconv_layers)
print(net.final_layer)

##############################################################################
# :func:`~gluonpose.utils.model_summary.model_summary` counts parameters and multiply-adds from the
# network's symbol graph (1 GFLOP = 10\ :sup:`9` multiply-adds). The head is cheap in parameters but not in
# computation: its last transposed convolution runs at 64x48.

for size in [(256, 192), (128, 96)]:
    summary = model_summary(net, size)
    print(summary)
    print("   by operator (GMACs):",
          {op: round(m / 1e9, 3) for op, m in summary.by_op().items()})
head = [r for r in model_summary(net, (256, 192)).layers if r["op"] == "Deconvolution"]
for r in head:
    print("   %-28s %s -> %s  %.0f MMACs" % (r["name"], "x".join(map(str, r["input"])),
                                            "x".join(map(str, r["output"])), r["macs"] / 1e6))

##############################################################################
# The loss
# --------
#
# :class:`~gluonpose.loss.WeightedL2Loss` is the mean squared error between predicted and target heatmaps,
# each joint's term multiplied by its target weight (and by 1/2, as ``gluon.loss.L2Loss``, which it equals).
# A joint with weight 0 does not contribute, whatever the network predicts for it:

from gluonpose.loss import WeightedL2Loss  # noqa: E402

loss_fn = WeightedL2Loss()
t = mx.nd.array(target[None])
w = mx.nd.array(weight[None])
noisy = t + mx.nd.random.normal(0, 0.01, shape=t.shape)
print("perfect prediction:     ", loss_fn(t, t, w).asscalar())
print("zero prediction:        ", loss_fn(mx.nd.zeros_like(t), t, w).asscalar())
print("noisy prediction:       ", loss_fn(noisy, t, w).asscalar())
masked = w.copy()
masked[0, 0] = 0                   # ignore the nose ...
garbage = t.copy()
garbage[0, 0] = 5.0                # ... so a wrong nose map costs nothing
print("wrong nose, nose weight 0:", loss_fn(garbage, t, masked).asscalar())

##############################################################################
# The learning-rate schedule
# --------------------------
#
# :class:`~gluonpose.utils.lr_scheduler.LRScheduler` computes the rate for every iteration;
# :class:`~gluonpose.utils.lr_scheduler.LRSequential` chains a warmup and the main schedule. GluonCV's
# published COCO recipe is Adam at 1e-3, divided by 10 at epochs 90 and 120, 140 epochs, no warmup. The
# quickstart on the mini set uses a one-epoch linear warmup and a cosine decay instead. (MXNet calls the
# schedule with the update count, which starts at 1.)

from gluonpose.utils.lr_scheduler import LRScheduler, LRSequential  # noqa: E402

nb = 100                                      # iterations per epoch, for the picture
recipes = {
    "GluonCV COCO recipe: step at 90, 120": LRSequential([
        LRScheduler("linear", base_lr=0, target_lr=1e-3, nepochs=0, iters_per_epoch=nb),
        LRScheduler("step", base_lr=1e-3, nepochs=140, iters_per_epoch=nb,
                    step_epoch=[90, 120], step_factor=0.1)]),
    "1 warmup epoch + cosine": LRSequential([
        LRScheduler("linear", base_lr=0, target_lr=1e-3, nepochs=1, iters_per_epoch=nb),
        LRScheduler("cosine", base_lr=1e-3, target_lr=0, nepochs=139, iters_per_epoch=nb)]),
}
updates = np.arange(1, 140 * nb + 1)
fig, ax = plt.subplots(figsize=(6.5, 3.4))
for name, sched in recipes.items():
    ax.plot(updates / nb, [sched(int(u)) for u in updates], label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("learning rate")
ax.set_yscale("log")
ax.set_ylim(1e-6, 2e-3)
ax.legend()
plt.tight_layout()

##############################################################################
# The training metric: heatmap accuracy
# -------------------------------------
#
# :class:`~gluonpose.utils.metrics.HeatmapAccuracy` compares the argmax of each predicted heatmap with the
# argmax of its target: a joint is correct when they are closer than half a tenth of the heatmap size
# (x in units of ``w / 10``, y of ``h / 10``). Joints without a target are ignored. It is cheap enough to
# log every batch; the AP is measured after training.

from gluonpose.utils.metrics import HeatmapAccuracy  # noqa: E402

for shift in (0, 2, 4):
    metric = HeatmapAccuracy()
    pred = mx.nd.array(np.roll(target[None], shift, axis=3))    # move every peak `shift` cells
    metric.update([t], [pred])
    print("prediction %d heatmap pixels off: %s = %.2f" % ((shift,) + metric.get()))

##############################################################################
# A training loop on several devices
# ----------------------------------
#
# GluonCV's script trains on ``--num-gpus`` GPUs: every batch is split into one slice per device with
# :func:`mxnet.gluon.utils.split_and_load`, each device runs forward and backward on its slice, and the
# trainer sums the gradients and takes one step for the whole batch. Two CPU contexts are distinct MXNet
# devices, so the same code runs here on ``[mx.cpu(0), mx.cpu(1)]``; with GPUs it would be
# ``[mx.gpu(0), mx.gpu(1)]``. Each device keeps its own batch-norm statistics, as in GluonCV (no SyncBN).
#
# The network is initialised from scratch with ``MSRAPrelu``, as the script does without
# ``--use-pretrained-base`` (the head keeps its own Normal(0.001) initialisers). To stay within a few seconds
# an epoch we train at 128x96 with 32x24 heatmaps.

ctx = [mx.cpu(0), mx.cpu(1)]
per_device, num_epochs = 8, 4
small = SimplePoseDefaultTrainTransform(
    train_dataset.num_joints, train_dataset.joint_pairs, image_size=(128, 96),
    heatmap_size=(32, 24), sigma=2, scale_factor=0.30, rotation_factor=40, random_flip=True, rng=0)
loader = gluon.data.DataLoader(train_dataset.transform(small), batch_size=per_device * len(ctx),
                               shuffle=True, last_batch="discard", num_workers=0)

mx.random.seed(0)
net = get_model("simple_pose_resnet18_v1b", num_joints=17)
net.initialize(mx.init.MSRAPrelu(), ctx=ctx)
net.hybridize(static_alloc=True, static_shape=True)

batches_per_epoch = len(loader)
schedule = LRSequential([
    LRScheduler("linear", base_lr=0, target_lr=2e-3, nepochs=1, iters_per_epoch=batches_per_epoch),
    LRScheduler("cosine", base_lr=2e-3, target_lr=0, nepochs=num_epochs - 1,
                iters_per_epoch=batches_per_epoch)])
trainer = gluon.Trainer(net.collect_params(), "adam",
                        {"learning_rate": schedule.base_lr, "wd": 0.0, "lr_scheduler": schedule})
metric = HeatmapAccuracy()
history = []
for epoch in range(num_epochs):
    metric.reset()
    tic, total, seen = time.time(), 0.0, 0
    for data, target, weight, _ in loader:
        data = gluon.utils.split_and_load(data, ctx, batch_axis=0)
        target = gluon.utils.split_and_load(target, ctx, batch_axis=0)
        weight = gluon.utils.split_and_load(weight, ctx, batch_axis=0)
        with autograd.record():
            outputs = [net(x) for x in data]
            losses = [loss_fn(o, t, w) for o, t, w in zip(outputs, target, weight)]
        autograd.backward(losses)
        trainer.step(per_device * len(ctx))
        metric.update(target, outputs)
        total += sum(loss.sum().asscalar() for loss in losses)
        seen += per_device * len(ctx)
    history.append((total / seen, metric.get()[1]))
    print("[Epoch %d] loss=%.6f %s=%.3f lr=%.2e  %.1f samples/s on %s"
          % (epoch, total / seen, metric.get()[0], metric.get()[1], trainer.learning_rate,
             seen / (time.time() - tic), ", ".join(map(str, ctx))))

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(1, num_epochs + 1), [h[0] for h in history], "o-")
ax.set_xlabel("epoch")
ax.set_ylabel("weighted L2 loss")
ax.set_title("a few epochs on the mini set")
plt.tight_layout()

##############################################################################
# The parameters live on both devices and stay identical, because every device applies the same summed
# gradient:

first = net.final_layer.weight
print("final_layer weight on %s and %s equal: %s"
      % (ctx[0], ctx[1], bool((first.data(ctx[0]) == first.data(ctx[1])).min().asscalar())))

##############################################################################
# How good is it? :func:`gluonpose.engine.evaluate` crops every ground-truth box, runs the network,
# decodes the heatmaps and computes COCO keypoint AP; ``net=`` evaluates the network in memory.

from gluonpose.engine import EVAL_DEFAULTS, evaluate, make_config  # noqa: E402
import tempfile  # noqa: E402

with tempfile.TemporaryDirectory() as out:
    result = evaluate(make_config(EVAL_DEFAULTS, {
        "data_dir": "mini", "input_size": "128,96", "codec": "msra", "ctx": "cpu:0,cpu:1",
        "batch_size": 16, "num_data_workers": 0, "output_dir": out, "progress": False}),
        net=net, echo=lambda line: None)
print(result.summary)

##############################################################################
# After four epochs from random weights the AP is close to zero: the loss has only begun to fall, and
# heatmap accuracy is low. That is expected, not a bug -- the point of this loop is to show the pieces.
#
# Where the full script is
# ------------------------
#
# ``scripts/train_simple_pose.py`` (the same as ``gluonpose train``) runs this loop with everything a long
# run needs: checkpoints under GluonCV's names, exact resume, a JSON-lines log, learning curves, data
# loading workers and the augmentation RNG keyed by epoch and sample so runs repeat. On the bundled set,
#
# .. code-block:: bash
#
#    make quickstart     # scripts/quickstart.py: 70 epochs at 128x96 in about 6-8 minutes on 2 CPU cores
#
# trains this network until it reproduces the training poses (COCO AP about 0.9 on those same images:
# a memorisation check). GluonCV's published COCO recipe, with the images and annotations of COCO 2017
# in ``~/.mxnet/datasets/coco``, is
#
# .. code-block:: bash
#
#    python scripts/train_simple_pose.py --model simple_pose_resnet50_v1b --num-joints 17 \
#        --mode hybrid --lr 0.001 --wd 0.0 --lr-mode step --lr-decay-epoch 90,120 \
#        --num-epochs 140 --batch-size 32 --num-gpus 8 -j 60 --dtype float32 \
#        --warmup-epochs 0 --use-pretrained-base --save-dir params
#
# followed by ``python scripts/validate.py --model simple_pose_resnet50_v1b --num-joints 17
# --params-file params/simple_pose_resnet50_v1b-139.params --flip-test`` to measure the AP on val2017 with
# ground-truth boxes, the protocol of GluonCV's published table (see :doc:`../model_zoo`).
