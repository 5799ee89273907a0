"""3. Heatmap codecs, the flip test and the oracle
===================================================

A top-down pose network does not output coordinates: it outputs one heatmap per joint, a quarter of the
input's size, and is trained to put a Gaussian blob where the joint is. A *codec* owns both directions of
that representation -- ``encode`` turns joints into training targets, ``decode`` turns heatmaps back into
image coordinates -- so training and inference cannot drift apart.

This tutorial encodes ground-truth poses of the bundled mini COCO set, decodes them with GluonCV's MSRA
codec (argmax plus a quarter-pixel offset) and with the unbiased codec (sub-pixel targets, DARK decoding),
measures how far each lands from the truth, shows why the flip test shifts the mirrored heatmaps, and ends
with the *oracle AP*: the COCO AP a perfect network would reach through each codec at two input sizes.
"""
import cv2
import matplotlib.pyplot as plt
import numpy as np

from gluonpose.codecs import argmax_2d, flip_heatmaps, flip_merge, get_codec
from gluonpose.data import COCO_PERSON, mini_coco
from gluonpose.data.transforms.pose import (affine_transform_points, boxes_to_center_scale,
                                            get_affine_transform_batch)

##############################################################################
# Ground truth in the network's input frame
# -----------------------------------------
#
# The validation crop of a person is fixed by its box: centre and size (grown by 1.25 and padded to the
# input's aspect ratio) give an affine map from the image to the ``W x H`` input. Codecs work in that input
# frame, so we map every annotated joint of the 86 instances through it.

dataset = mini_coco(image_format="numpy")
records = dataset.records
boxes = np.array([r["bbox"] for r in records], dtype=np.float64)
joints = np.stack([r["joints_3d"][:, :2, 0] for r in records])      # (N, 17, 2) image pixels
visible = np.stack([r["joints_3d"][:, 0, 1] for r in records])      # (N, 17) 1 = labelled


def to_input_frame(image_size):
    """Centres, scales, affines and joints mapped into a (H, W) input."""
    h, w = image_size
    center, scale = boxes_to_center_scale(boxes, w / h)
    trans = get_affine_transform_batch(center, scale, 0.0, (w, h))
    return center, scale, trans, affine_transform_points(joints, trans).astype(np.float32)


def in_crop(crop_pts, image_size):
    """Labelled joints that fall inside the crop (some labelled joints lie outside the box)."""
    h, w = image_size
    x, y = crop_pts[..., 0], crop_pts[..., 1]
    return (visible > 0) & (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


SIZE = (256, 192)
center, scale, trans, crop_joints = to_input_frame(SIZE)
inside = in_crop(crop_joints, SIZE)
print("%d instances, %d labelled joints, %d of them inside their crop"
      % (len(records), int(visible.sum()), int(inside.sum())))

##############################################################################
# Encoding: the MSRA targets
# --------------------------
#
# :class:`~gluonpose.codecs.MSRAHeatmap` is GluonCV's target generator: a Gaussian with ``sigma`` heatmap
# pixels, drawn in a ``6 sigma + 1`` window around the joint position divided by the stride (4) and
# **rounded to the nearest heatmap pixel**; unlabelled joints get an empty map and weight 0.

msra = get_codec("msra", image_size=SIZE, sigma=2)
unbiased = get_codec("unbiased", image_size=SIZE, sigma=2)
i = int(np.argmax(visible.sum(axis=1) * 1e6 + (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
target, weight = msra.encode(crop_joints[i], visible[i])
print(msra, "-> target", target.shape, "weights", weight.ravel().astype(int))

img = cv2.cvtColor(cv2.imread(dataset.image_path(i)), cv2.COLOR_BGR2RGB)
crop = cv2.warpAffine(img, trans[i], SIZE[::-1], flags=cv2.INTER_LINEAR)
wrist = COCO_PERSON.index("left_wrist")
fig, axes = plt.subplots(1, 3, figsize=(11, 4.4))
axes[0].imshow(crop)
ok = visible[i] > 0
axes[0].scatter(crop_joints[i, ok, 0], crop_joints[i, ok, 1], s=12, c="yellow")
axes[0].set_title("input crop %dx%d, labelled joints" % SIZE)
axes[1].imshow(crop)
axes[1].imshow(cv2.resize(target.max(axis=0), SIZE[::-1], interpolation=cv2.INTER_NEAREST),
               alpha=0.6, cmap="magma")
axes[1].set_title("max over the 17 target maps (64x48)")
x, y = crop_joints[i, wrist] / msra.stride
axes[2].imshow(target[wrist], cmap="magma")
axes[2].plot(x, y, "c+", ms=14, mew=2)
axes[2].set_xlim(x - 6.5, x + 6.5)
axes[2].set_ylim(y + 6.5, y - 6.5)
axes[2].set_title("left wrist map; + = true position")
for ax in axes[:2]:
    ax.axis("off")
plt.tight_layout()

##############################################################################
# The zoomed map shows the quantisation: the blob sits on the nearest heatmap pixel, up to half a pixel --
# two input pixels at stride 4 -- away from the true position (the cross).
#
# Decoding: argmax, quarter offset, DARK
# --------------------------------------
#
# A trained network's heatmap peaks near the *true* position, not a rounded one. To compare decoders on
# such a map we use the unbiased codec's targets -- a Gaussian centred exactly on the joint -- and decode
# them three ways:
#
# * **argmax**: the hottest heatmap pixel (what GluonCV's demos use);
# * **MSRA**: argmax moved a quarter pixel towards the hotter neighbour in x and in y (GluonCV's
#   ``get_final_preds``, used by its validation);
# * **DARK** (:class:`~gluonpose.codecs.UnbiasedHeatmap`): blur, log, one Newton step of the local
#   quadratic -- a sub-pixel estimate.
#
# Errors are in input pixels, over every labelled joint of the mini set that lies inside its crop, at two
# input sizes.


def decoder_errors(image_size, sigma=2):
    _, _, _, cj = to_input_frame(image_size)
    codec_u = get_codec("unbiased", image_size=image_size, sigma=sigma)
    codec_m = get_codec("msra", image_size=image_size, sigma=sigma)
    heat, _ = codec_u.encode(cj, visible)                    # (N, 17, h, w), exact centres
    stride = codec_u.stride
    keep = in_crop(cj, image_size)
    out = {}
    out["argmax"] = argmax_2d(heat)[0] * stride
    out["MSRA (quarter offset)"] = codec_m.decode_heatmap(heat)[0] * stride
    out["DARK"] = codec_u.decode_heatmap(heat)[0] * stride
    return {k: np.linalg.norm(v - cj, axis=-1)[keep] for k, v in out.items()}


fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
for ax, size in zip(axes, [(128, 96), (256, 192)]):
    errs = decoder_errors(size)
    print("input %dx%d (heatmap %dx%d, 1 heatmap pixel = 4 input pixels)"
          % (size + (size[0] // 4, size[1] // 4)))
    for name, e in errs.items():
        print("  %-22s mean %.2f px, 95th percentile %.2f px" % (name, e.mean(),
                                                              np.percentile(e, 95)))
        ax.hist(e, bins=np.linspace(0, 3, 31), histtype="step", lw=2, label=name)
    ax.set_title("decoding a Gaussian centred on the joint, %dx%d" % size)
    ax.set_xlabel("error (input pixels)")
ax.legend()
axes[0].set_ylabel("joints")
plt.tight_layout()

##############################################################################
# The argmax error is spread up to half a heatmap pixel per axis (the diagonal of that square is 2.8 input
# pixels at stride 4). The quarter offset halves the typical error; on these noise-free Gaussians DARK is
# exact (on a real network's output it is not, but it stays the most precise of the three). The same
# holds when each codec decodes *its own* targets: MSRA's rounding during encoding puts the blob on the grid
# (its round trip error is that of the argmax above), the unbiased codec's targets keep the sub-pixel
# position, so the encoder matters as much as the decoder.

for name, codec in (("msra", msra), ("unbiased", unbiased)):
    heat, _ = codec.encode(crop_joints, visible)
    dec = codec.decode_heatmap(heat)[0] * codec.stride
    err = np.linalg.norm(dec - crop_joints, axis=-1)[inside]
    print("%-9s round trip at 256x192: mean error %.3f px, max %.3f px" % (name, err.mean(),
                                                                            err.max()))

##############################################################################
# The flip test
# -------------
#
# At test time the network also sees the mirror image of the crop; its heatmaps are mirrored back, left and
# right channels swapped through the keypoint schema's ``flip_index``, and averaged with the plain output.
# Mirroring the input maps pixel ``x`` to ``W - 1 - x``, mirroring a heatmap maps cell ``k`` to ``w - 1 - k``,
# and with cell ``k`` standing for pixel ``4 k`` the two do not commute: the mirrored-back map lies
# ``(stride - 1) / stride`` = 3/4 of a cell (3 input pixels) to the left. GluonCV shifts it one whole cell to
# the right, which leaves it 1/4 cell (1 input pixel) to the right. We measure that with exact targets:

W = SIZE[1]
mirrored = crop_joints.copy()
mirrored[..., 0] = W - 1 - mirrored[..., 0]                     # mirror the input ...
mirrored = mirrored[:, COCO_PERSON.flip_index]                   # ... and swap left and right
mirror_vis = visible[:, COCO_PERSON.flip_index]
plain, _ = unbiased.encode(crop_joints, visible)
mirror_heat, _ = unbiased.encode(mirrored, mirror_vis)           # what a perfect net outputs
keep = inside
for shift in (False, True):
    back = flip_heatmaps(mirror_heat, COCO_PERSON.flip_index, shift=shift)
    dx = unbiased.decode_heatmap(back)[0][..., 0] * 4 - crop_joints[..., 0]
    print("flip back, shift=%-5s: mean x error %+.2f px" % (shift, dx[keep].mean()))
merged = flip_merge(plain, mirror_heat, COCO_PERSON.flip_index, shift=True)
dx = unbiased.decode_heatmap(merged)[0][..., 0] * 4 - crop_joints[..., 0]
print("flip_merge (average), shift=True: mean x error %+.2f px" % dx[keep].mean())

##############################################################################
# So GluonCV's flip test trades a 3-pixel bias for a 1-pixel one, and the average with the plain output
# halves that. (``shift=True`` reproduces GluonCV exactly, including the duplicated first column;
# ``shift='drop'`` is the variant that does not duplicate it.)
#
# The oracle AP
# -------------
#
# How much accuracy does the representation itself cost? :func:`gluonpose.utils.oracle.oracle_ap` feeds every
# ground-truth instance through the codec -- crop, encode, decode, map back to the image -- and scores the
# result with pycocotools' ``COCOeval`` like a network's predictions. A perfect network trained on these
# targets cannot do better. Every result prints its protocol.

from gluonpose.utils.oracle import oracle_ap  # noqa: E402

table = {}
for size in [(128, 96), (256, 192)]:
    for name in ("msra", "unbiased"):
        res = oracle_ap(dataset, name, image_size=size, sigma=2)
        table[(name, size)] = res.ap
        print(res.summary())

fig, ax = plt.subplots(figsize=(6, 3.4))
for k, name in enumerate(("msra", "unbiased")):
    aps = [table[(name, s)] for s in [(128, 96), (256, 192)]]
    bars = ax.bar(np.arange(2) + 0.38 * k, aps, width=0.36, label=name)
    ax.bar_label(bars, fmt="%.3f")
ax.set_xticks(np.arange(2) + 0.19, ["128x96 (heatmap 32x24)", "256x192 (heatmap 64x48)"])
ax.set_ylim(0.5, 1.05)
ax.set_ylabel("oracle AP")
ax.set_title("oracle AP, mini COCO set, GT boxes, no flip")
ax.legend(loc="lower right")
plt.tight_layout()

##############################################################################
# The protocol of these numbers: the 86 person instances of the bundled set (80 COCO train2017 images),
# ground-truth boxes, no flip test, OKS AP by ``COCOeval`` with the COCO person sigmas. They are ceilings
# of the codecs, not the AP of any model. At 128x96 a heatmap pixel covers 4 input pixels of a small crop, so
# MSRA's rounding costs far more there; this is why the quickstart's 128x96 model uses the unbiased codec.
# ``python -m gluonpose.utils.oracle`` and ``gluonpose eval --oracle`` print the same numbers from the
# command line.
