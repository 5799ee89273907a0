"""9. Bottom-up: OpenPose part affinity fields
=============================================

A top-down model is handed one person at a time, cut out by a box. A
*bottom-up* model sees the whole image and has to find every part of
every person, then decide which parts belong together. OpenPose (Cao,
Simon, Wei and Sheikh, *Realtime Multi-Person 2D Pose Estimation using
Part Affinity Fields*, CVPR 2017) answers the second question with a
second set of maps: for every limb, a field of unit vectors pointing
along it. This tutorial follows gluonpose's
:class:`~gluonpose.codecs.paf.PAFCodec` on the most crowded image of the
bundled mini COCO set:

1. the **representation**: 19 confidence maps (18 parts and a
   background) and 38 part-affinity-field (PAF) channels, the ignore
   mask, and the neck, the one part COCO does not label;
2. **grouping**: how one limb's candidate pairs are scored by a line
   integral, matched, and assembled into people, and the two filters
   that drop the leftovers;
3. a **prediction without a network**: decoding the ground-truth maps
   (the *oracle*), then the same maps with noise added, to see where the
   grouping breaks; and the networks themselves, which exist, build and
   run, but have no trained weights here.

No network is trained in this tutorial and none is published for it:
training a bottom-up model takes days on GPUs, far beyond what a
tutorial can run. Every map that is decoded below comes from the
annotations, not from a network.
"""
import contextlib
import io
import os

import cv2
import matplotlib.pyplot as plt
import mxnet as mx
import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from gluonpose.codecs.paf import (DECODE_LIMBS, NECK, PAF_LIMBS, PARTS,
                                  PAFCodec, coco_to_openpose)
from gluonpose.data import MINI_COCO_SPLIT, mini_coco_bottom_up, \
    mini_coco_root
from gluonpose.engine.bottom_up_forward import predict_bottom_up
from gluonpose.model_zoo import get_model, get_model_spec
from gluonpose.utils.model_summary import model_summary

##############################################################################
# The most crowded image
# ----------------------
#
# :func:`~gluonpose.data.mini.mini_coco_bottom_up` reads the bundled set
# with one item per *image*: the joints of every supervised person and
# a training mask. OpenPose supervises a person with at least 5 labelled
# keypoints and an area of at least 32\ :sup:`2` pixels; crowds and the
# people that fail those thresholds are not dropped silently but
# *masked*, so the loss never asks the network to call them background.

dataset = mini_coco_bottom_up(image_format="numpy")
print(dataset.summary().replace(mini_coco_root(), "<coco_mini>"))
counts = [len(r["joints"]) for r in dataset.records]
idx = int(np.argmax(counts))
image, label = dataset[idx]
IMAGE_ID = label["image_id"]
H, W = image.shape[:2]
masked = 1.0 - label["mask"].mean()
print("most crowded: image %d, %dx%d (w x h), %d supervised people, "
      "%.1f%% of the pixels masked" % (IMAGE_ID, W, H, counts[idx],
                                       100 * masked))

##############################################################################
# The codec works in the network's *input* frame. The reference test
# protocol resizes the image so that its height is 368 pixels (the
# ``boxsize`` of the CMU code, ``spec.input_size[0]`` of the zoo's
# OpenPose models) and pads it to a multiple of the stride, 8. The
# defaults of :class:`~gluonpose.codecs.paf.PAFCodec` are the
# reference's: Gaussians of sigma 7 input pixels, PAF bands one cell
# wide on each side of the limb.

codec = PAFCodec()
print(codec)
INPUT_H = 368
scale = INPUT_H / float(H)
joints, input_size = codec.image_to_input(label["joints"], (H, W), scale)
in_mask = cv2.resize(label["mask"], (input_size[1], input_size[0]),
                     interpolation=cv2.INTER_NEAREST).astype(np.float32)
heat, paf, cell_mask = codec.encode(joints, input_size, in_mask)
print("input %dx%d (w x h) -> confidence maps %s, PAFs %s, mask %s"
      % (input_size[1], input_size[0], heat.shape, paf.shape,
         cell_mask.shape))
print("parts:", ", ".join("%d %s" % (j, p) for j, p in enumerate(PARTS)))
print("channel 18 is the background: max(0, 1 - max over parts); its "
      "mean here %.2f" % heat[18].mean())

##############################################################################
# Every PAF *plane* (two channels, x then y) belongs to one limb of
# :data:`~gluonpose.codecs.paf.PAF_LIMBS`, 19 connections between the
# 18 parts. On the cells within one cell of a limb's segment the plane
# holds the unit vector from the limb's first part to its second; where
# the same limb of two people crosses, the mean of their vectors;
# everywhere else zero. Figure 1 draws the right-shoulder confidence map
# over the whole image (the people are small: a white box marks the
# largest), then the PAF of the neck -> right-hip limb (plane 0) on that
# person, one arrow per map cell; the masked regions are outlined.

SHOW_PART = PARTS.index("right_shoulder")
SHOW_PLANE = PAF_LIMBS.index((NECK, PARTS.index("right_hip")))
heat_img, _ = codec.to_image(heat, paf, image_size=(H, W),
                             input_size=input_size)


def cells_to_image(g, offset):
    """Map-cell index -> image pixel (input pixel ``g * 8 + offset``)."""
    return (g * codec.stride + offset + 0.5) / scale - 0.5


big = int(np.argmax(label["areas"]))                # zoom on this person
x0, y0, x1, y1 = label["boxes"][big]
pad = 0.15 * max(x1 - x0, y1 - y0)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.9))
overlay = plt.get_cmap("viridis")(heat_img[SHOW_PART])
overlay[..., 3] = 0.9 * np.clip(heat_img[SHOW_PART], 0, 1)
for ax in axes:
    ax.imshow(image)
    ax.imshow(overlay)
    ax.contour(label["mask"], levels=[0.5], colors="red", linewidths=1.2)
    ax.axis("off")
axes[0].add_patch(plt.Rectangle((x0 - pad, y0 - pad), x1 - x0 + 2 * pad,
                                y1 - y0 + 2 * pad, fill=False, color="w",
                                ls="--"))
axes[0].set_title("%s map, all people (red: masked)"
                  % PARTS[SHOW_PART].replace("_", " "), fontsize=10)
px, py = paf[2 * SHOW_PLANE], paf[2 * SHOW_PLANE + 1]
gy, gx = np.nonzero(np.hypot(px, py) > 0)
axes[1].quiver(cells_to_image(gx, codec.paf_offset),
               cells_to_image(gy, codec.paf_offset),
               px[gy, gx], py[gy, gx], color="yellow", angles="xy",
               scale=0.9 * scale / codec.stride, scale_units="xy",
               width=0.006)
axes[1].set_xlim(x0 - pad, x1 + pad)
axes[1].set_ylim(y1 + pad, y0 - pad)
a, b = PAF_LIMBS[SHOW_PLANE]
axes[1].set_title("zoom: PAF plane %d, %s -> %s" % (
    SHOW_PLANE, PARTS[a], PARTS[b].replace("_", " ")), fontsize=10)
plt.tight_layout()

##############################################################################
# The neck, and who cannot be grouped
# -----------------------------------
#
# COCO labels 17 keypoints; OpenPose's 18th part, the neck, is made up
# by :func:`~gluonpose.codecs.paf.coco_to_openpose` as the midpoint of
# the two shoulders, and only when *both* are labelled. The neck is the
# hub of OpenPose's limb tree: 6 of the 19 limbs start there (the hips,
# the shoulders, the nose). A person with a missing shoulder has no neck,
# so their arms, legs and head fall apart into separate chains of at most
# 3 parts, each of which the grouping's ``< 4 parts`` filter drops. Such
# a person cannot come back even from their own, perfect ground-truth
# maps. On the bundled set, over every annotated person (non-crowd, at
# least one labelled keypoint):

with contextlib.redirect_stdout(io.StringIO()):
    coco = COCO(os.path.join(mini_coco_root(), "annotations",
                             MINI_COCO_SPLIT + ".json"))


def annotated_people(image_id):
    """``(P, 17, 3)`` keypoints of the annotated people of one image."""
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id], iscrowd=False))
    kps = [a["keypoints"] for a in anns if a.get("num_keypoints", 0) > 0]
    return np.array(kps, np.float64).reshape(-1, 17, 3)


def connected(person):
    """Labelled OpenPose parts form one piece of the limb tree, >= 4 parts."""
    op = coco_to_openpose(person)
    have = op[:, 2] > 0
    root = np.arange(len(op))
    for _ in range(len(op)):                        # label propagation
        for a, b in PAF_LIMBS:
            if have[a] and have[b]:
                root[a] = root[b] = min(root[a], root[b])
    return have.sum() >= 4 and len(set(root[have])) == 1


everyone = np.concatenate([annotated_people(i) for i in coco.getImgIds()])
neck = coco_to_openpose(everyone)[:, NECK, 2] > 0
one = np.array([connected(p) for p in everyone])
print("%d annotated people: %d without a neck (a shoulder unlabelled), "
      "%d whose parts are not one piece of >= 4" % (len(everyone),
                                                   (~neck).sum(),
                                                   (~one).sum()))
print("without a neck and not one piece: %d; with a neck but not one "
      "piece: %d" % ((~neck & ~one).sum(), (neck & ~one).sum()))

##############################################################################
# The two counts agree, 22 and 22, but not person for person: 18 people
# have no neck and fall apart; 4 lack a neck but keep one piece anyway
# (their labelled parts hang together without it, e.g. a head and one
# arm on the same side), and 4 have a neck but are too fragmentary. A
# network would also *predict* the parts the annotators left out, so the
# problem is one of scoring against these labels as much as of grouping.
#
# Scoring one limb: the line integral
# -----------------------------------
#
# Decoding starts from maps at image resolution
# (:meth:`~gluonpose.codecs.paf.PAFCodec.to_image`: cubic up-sampling by
# the stride, padding cropped, cubic resize to the image), then finds the
# *candidates* of every part: local maxima of the smoothed confidence
# map above 0.1
# (:meth:`~gluonpose.codecs.paf.PAFCodec.find_peaks`).

heat_img, paf_img = codec.to_image(heat, paf, image_size=(H, W),
                                   input_size=input_size)
peaks = codec.find_peaks(heat_img)
per_part = np.diff(peaks.start)
print("%d candidates: " % len(peaks) + ", ".join(
    "%s %d" % (p, n) for p, n in zip(PARTS, per_part)))

##############################################################################
# Every pair of a limb's candidates ``(A, B)`` is then scored by sampling
# the limb's PAF at 10 points from ``A`` to ``B`` and taking the dot
# product with the unit vector ``u`` from ``A`` to ``B``: a discrete line
# integral, close to 1 when the field runs along the segment and close to
# 0 across it. A *distance prior* ``min(0.5 H / |B - A| - 1, 0)`` (``H``
# the image height) penalises limbs longer than half the image. A pair is
# accepted when more than 8 of its 10 samples exceed 0.05 and its score
# is positive. The neck -> right-shoulder limb, every pair:

LIMB = [k for k, (a, b, _) in enumerate(DECODE_LIMBS)
        if (a, b) == (NECK, PARTS.index("right_shoulder"))][0]
a, b, plane = DECODE_LIMBS[LIMB]
ids_a = np.arange(peaks.start[a], peaks.start[a + 1])
ids_b = np.arange(peaks.start[b], peaks.start[b + 1])
pair_a, pair_b = [m.ravel() for m in np.meshgrid(ids_a, ids_b,
                                                 indexing="ij")]
d = np.stack([peaks.x[pair_b] - peaks.x[pair_a],
              peaks.y[pair_b] - peaks.y[pair_a]], 1).astype(np.float64)
length = np.hypot(d[:, 0], d[:, 1])
u = d / length[:, None]
t = np.arange(codec.num_samples) / (codec.num_samples - 1.0)
sx = np.rint(peaks.x[pair_a, None] + d[:, :1] * t).astype(int)
sy = np.rint(peaks.y[pair_a, None] + d[:, 1:] * t).astype(int)
dots = (paf_img[2 * plane][sy, sx] * u[:, :1]
        + paf_img[2 * plane + 1][sy, sx] * u[:, 1:])
prior = np.minimum(0.5 * H / length - 1, 0)
score = dots.mean(axis=1) + prior
support = (dots > codec.paf_threshold).sum(axis=1)
accepted = (support > codec.min_paf_fraction * codec.num_samples) \
    & (score > 0)

# greedy matching: best accepted pair first, each candidate used once
matched, used = set(), set()
for k in np.argsort(-score, kind="stable"):
    if accepted[k] and pair_a[k] not in used and pair_b[k] not in used:
        matched.add(k)
        used.update((pair_a[k], pair_b[k]))

print("limb %s -> %s (plane %d), image height %d" % (PARTS[a], PARTS[b],
                                                      plane, H))
print("%-4s %-4s %6s %9s %7s %7s %7s  %s" % ("A", "B", "|B-A|",
                                             "mean dot", "prior", "score",
                                             "support", "result"))
for k in np.argsort(-score, kind="stable"):
    result = "matched" if k in matched else (
        "accepted, A or B taken" if accepted[k] else "rejected")
    print("%-4d %-4d %6.1f %9.3f %7.3f %7.3f %4d/10  %s" % (
        pair_a[k] - peaks.start[a], pair_b[k] - peaks.start[b], length[k],
        dots[k].mean(), prior[k] + 0.0, score[k], support[k], result))
lib_limb, lib_a, lib_b, lib_score = codec.score_limbs(paf_img, peaks)
mine = lib_limb == LIMB
print("PAFCodec.score_limbs accepts the same pairs: %s" % (
    sorted(zip(lib_a[mine], lib_b[mine]))
    == sorted(zip(pair_a[accepted], pair_b[accepted]))))

##############################################################################
# Three necks, four right shoulders: the three right pairs score close to
# 1 (a little above, where the cubic up-sampling overshoots), the wrong
# ones stay low or negative, and the long ones across the image are
# pushed further down by the prior. The fourth shoulder belongs to a
# person without a neck and finds no partner. Matching is greedy: the
# best accepted pair first, each candidate used at most once, at most
# ``min(n_A, n_B)`` connections per limb.
#
# Assembling people, and the two filters
# --------------------------------------
#
# :meth:`~gluonpose.codecs.paf.PAFCodec.group` walks the limbs in
# :data:`~gluonpose.codecs.paf.DECODE_LIMBS` order, from the neck
# outwards: a connection whose ``A`` already belongs to a person adds
# ``B`` to that person, one that joins two partial people with no part in
# common merges them, and one that touches nobody starts a new person. A
# person's score is the sum of its peak and connection scores. Without
# the filters, then with the reference's (at least 4 parts, mean score
# per part at least 0.4):

loose = PAFCodec(min_parts=0, min_mean_score=0)
parts, totals, nparts = loose.group(paf_img, peaks)
print("%-7s %6s %7s %11s  %s" % ("person", "parts", "total",
                                 "total/part", "kept by the filters"))
for p in np.argsort(-nparts, kind="stable"):
    mean = totals[p] / nparts[p]
    fate = "yes" if nparts[p] >= codec.min_parts and \
        mean >= codec.min_mean_score else (
            "no: < 4 parts" if nparts[p] < codec.min_parts
            else "no: mean < 0.4")
    names = [PARTS[j] for j in np.flatnonzero(parts[p] >= 0)]
    print("%-7d %6d %7.2f %11.2f  %s%s" % (
        p, nparts[p], totals[p], mean, fate,
        "" if nparts[p] > 3 else " (" + ", ".join(names) + ")"))
kept, _, _ = codec.group(paf_img, peaks)
print("people after the filters: %d" % len(kept))

##############################################################################
# On clean maps every connection is strong (means per part well above
# 1, since each counts a peak near 1 and a connection near 1), so only
# the part-count filter acts here: it removes the leg and arm chains of
# the people without a neck. The mean-score filter is for noisy maps,
# below.
#
# A prediction without a network: the oracle
# ------------------------------------------
#
# No trained OpenPose weights are published with gluonpose, and training
# one is far beyond a tutorial's budget, so the "prediction" here is the
# *oracle*: every annotated person of the image (non-crowd, at least one
# labelled keypoint) encoded into maps at the reference input size and
# decoded back with :meth:`~gluonpose.codecs.paf.PAFCodec.decode`, then
# scored with pycocotools' ``COCOeval`` against the same annotations.
# It is the ceiling that the representation and its grouping put on a
# perfect network. The helpers below add Gaussian noise of a given
# standard deviation to the maps at network resolution first, a crude
# stand-in for an imperfect network.

PROTOCOL = ("ground-truth maps, no network, bottom-up, no boxes, single "
            "scale, no flip, input height %d, coco_mini train2017 image %d"
            % (INPUT_H, IMAGE_ID))
gt_people = annotated_people(IMAGE_ID)
gt_joints, _ = codec.image_to_input(gt_people, (H, W), scale)
gt_heat, gt_paf, _ = codec.encode(gt_joints, input_size)


def decode_noisy(noise, rng, order="coco"):
    """People decoded from the ground-truth maps plus Gaussian noise."""
    h = gt_heat + rng.normal(0, noise, gt_heat.shape).astype(np.float32)
    p = gt_paf + rng.normal(0, noise, gt_paf.shape).astype(np.float32)
    return codec.decode(h, p, image_size=(H, W), input_size=input_size,
                        order=order)


def image_ap(keypoints, scores):
    """COCO keypoint AP of one image's people (pycocotools, OKS)."""
    if not len(keypoints):
        return 0.0
    results = [{"image_id": IMAGE_ID, "category_id": 1, "score": float(s),
                "keypoints": [float(v) for v in k.ravel()]}
               for k, s in zip(keypoints, scores)]
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes(results), "keypoints")
        ev.params.imgIds = [IMAGE_ID]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return max(float(ev.stats[0]), 0.0)


rng = np.random.RandomState(0)
kps, scores = decode_noisy(0.0, rng)
print("%d annotated people in the image, %d of them one piece of >= 4 "
      "parts; the oracle finds %d" % (len(gt_people),
                                      sum(connected(p) for p in gt_people),
                                      len(kps)))
print("PAF oracle AP %.3f [%s]" % (image_ap(kps, scores), PROTOCOL))

##############################################################################
# The oracle finds exactly the people that are one piece of the limb
# tree, and the AP is low because COCO counts every annotated person:
# the other five here have 6 to 10 labelled keypoints each but no neck
# (a shoulder unlabelled), so their maps fall apart into short chains,
# and nothing in the grouping can bring them back.
# ``tools/paf_oracle_ap.py`` runs the same oracle over the whole bundled
# set.
#
# Noise, then, at the level of the maps the network would output (before
# up-sampling): mean over two seeds of the people found and of the AP.

NOISE = (0.0, 0.05, 0.1, 0.15, 0.2)
print("AP [%s, Gaussian noise added to the maps, 2 seeds]" % PROTOCOL)
print("%-6s %13s %8s" % ("noise", "people found", "AP"))
table = {}
for noise in NOISE:
    rng = np.random.RandomState(0)
    runs = [decode_noisy(noise, rng) for _ in range(2)]
    table[noise] = (np.mean([len(k) for k, _ in runs]),
                    np.mean([image_ap(k, s) for k, s in runs]))
    print("%-6.2f %13.1f %8.3f" % ((noise,) + table[noise]))

##############################################################################
# Small noise moves the peaks by a pixel or two and the AP of a single
# image by a few hundredths either way (at 0.05 it happens to go up).
# Past about 0.1 the background starts to cross the peak threshold of
# 0.1 after smoothing, so spurious candidates appear everywhere; the
# line integral rejects most of their pairs, but enough short, random
# limbs survive to build small false people, and the AP falls as they
# outnumber the real ones. The mean-score filter (0.4 per part) removes
# about half of the false people at 0.15 (on the first seed, 40 people
# without it, 21 with it) and almost none at 0.2, where the noisy peaks
# themselves are high.
#
# Figure 2: the grouped skeletons of the oracle, and of one noisy draw
# (in the OpenPose order, neck included), one colour per person.


def draw_people(ax, keypoints, title):
    """Skeletons along the 19 PAF limbs over the image."""
    ax.imshow(image)
    colours = plt.get_cmap("tab10")
    for n, person in enumerate(keypoints):
        for a, b in PAF_LIMBS:
            if person[a, 2] > 0 and person[b, 2] > 0:
                ax.plot(person[[a, b], 0], person[[a, b], 1], "-",
                        color=colours(n % 10), lw=2)
        found = person[:, 2] > 0
        ax.plot(person[found, 0], person[found, 1], "o", ms=3,
                color=colours(n % 10))
    ax.set_title(title, fontsize=10)
    ax.axis("off")


SHOW_NOISE = 0.15
fig, axes = plt.subplots(1, 2, figsize=(10, 3.7))
clean, _ = decode_noisy(0.0, np.random.RandomState(0), order="openpose")
noisy, _ = decode_noisy(SHOW_NOISE, np.random.RandomState(0),
                        order="openpose")
draw_people(axes[0], clean, "oracle: %d people" % len(clean))
draw_people(axes[1], noisy, "noise %.2f: %d people" % (SHOW_NOISE,
                                                      len(noisy)))
plt.tight_layout()

##############################################################################
# The networks exist
# ------------------
#
# The zoo registers two OpenPose networks: ``openpose_vgg19_coco``, the
# CMU six-stage network, and ``openpose_mobilenet_light_coco``,
# Lightweight OpenPose (Osokin, 2018) on a MobileNet v1 trunk with one
# initial and one refinement stage. Neither has published weights in
# gluonpose. The spec of the light one
# (:class:`~gluonpose.model_zoo.spec.BottomUpSpec`):

NAME = "openpose_mobilenet_light_coco"
spec = get_model_spec(NAME)
print(spec)
for key in ("input_size", "mean", "std", "stride", "test_scales",
            "target_sigma", "limb_width"):
    print("  %-12s %s" % (key, spec.describe()[key]))

##############################################################################
# Every stage predicts both maps and every one is supervised; the last
# pair is decoded. The shapes at a small input, inferred from the symbol
# graph:

net = get_model(NAME)
graph = mx.sym.Group(list(net(mx.sym.var("data"))))
_, shapes, _ = graph.infer_shape(data=(1, 3, 128, 192))
print("input 192x128 (w x h) -> " + ", ".join(
    "%s %s" % (o.name, "x".join(map(str, shapes[o.index])))
    for o in spec.outputs))
cost = model_summary(net, (368, 368))
print("%s at 368x368: %.2f M parameters, %.2f GFLOPs (multiply-adds)"
      % (NAME, cost.params / 1e6, cost.gflops))
print("published (Osokin 2018, PyTorch): 4.1 M parameters, 9 GFLOPs")

##############################################################################
# :func:`~gluonpose.engine.bottom_up_forward.predict_bottom_up` is the
# whole test protocol: resize to the input height, pad, normalise, run,
# bring the decoded stage's maps back to the image and group them. With
# random weights it runs end to end and finds nobody, as it should: the
# untrained confidence maps have no peaks above the threshold that lead
# to accepted limbs.

mx.random.seed(0)
net.initialize()
keypoints, scores = predict_bottom_up(net, spec, image)
print("random weights, %s [bottom-up, no boxes, single scale, no flip, "
      "input height %d]: %d people" % (NAME, spec.input_size[0],
                                       len(keypoints)))

##############################################################################
# What this shows, and what it does not
# -------------------------------------
#
# * The representation and its grouping, measured on ground-truth maps:
#   every AP above is an oracle on one image of the bundled set, with no
#   network; it is a ceiling, not an accuracy.
# * People without both shoulders have no neck, and most of them cannot
#   be assembled even from perfect maps (22 of the 86 annotated people of
#   the bundled set are not one connected piece of at least 4 parts).
# * ``tools/paf_oracle_ap.py`` runs the same oracle over the whole
#   bundled set (longer side 368 and 184).
# * A real run trains and evaluates a network with the command line, for
#   instance ``gluonpose train --model openpose_mobilenet_light_coco
#   --data-dir mini ...`` and ``gluonpose eval --model
#   openpose_mobilenet_light_coco ...``; a few minutes on the bundled set
#   show the pipeline working, while a useful model needs full COCO
#   and GPUs.
