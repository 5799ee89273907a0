"""1. Predict with a pre-trained model
=====================================

With GluonCV, predicting poses starts with one line, ``get_model(name, pretrained=True)``, which downloads
published weights, checks their sha1 and loads them. gluonpose keeps that line, its model store and its file
layout, so GluonCV's published pose weights load unchanged. This tutorial goes from that line to drawn
poses:

1. where ``pretrained=True`` gets its weights: the model store, a mirror of it, the sha1 check;
2. the :class:`~gluonpose.inference.predictor.Predictor`, which crops the people, runs the network and
   decodes the heatmaps, with person boxes from the caller, from a COCO detection file, or the whole image
   -- or from a GluonCV detector;
3. drawing with :func:`~gluonpose.utils.viz.plot_keypoints` (matplotlib) and
   :func:`~gluonpose.utils.viz.cv_plot_keypoints` (OpenCV), the time each stage takes, the COCO results
   file, and the command line that does all of it.

The documentation is built offline, so nothing can be downloaded here. The tutorial therefore makes its own
weights first, with a short training run, and publishes them to a mirror in a temporary folder; from there on
every line is the one you would run with GluonCV's published weights. **Those weights are not a pose model**:
they have memorised the few people they were trained on, so the pictures below show them on those very
images. The end of the tutorial gives the lines for the real weights.
"""
import json
import os
import pathlib
import shutil
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np

from gluonpose.data import mini_coco, mini_coco_root

NAME = "simple_pose_resnet18_v1b"
work = tempfile.mkdtemp(prefix="gluonpose_predict_")
# the model store reads these two variables; they are set below and restored at the end
saved_env = {var: os.environ.get(var) for var in ("GLUONPOSE_REPO", "GLUONPOSE_HOME")}

##############################################################################
# Weights to publish: a short run that memorises eight people
# -----------------------------------------------------------
#
# We train ``simple_pose_resnet18_v1b`` from random weights on the first eight people of the bundled mini
# COCO set (four people at a dinner table and four single-person photos), at a small input of 96x64 pixels
# (the network needs multiples of 32) with 24x16 heatmaps, which the unbiased codec decodes to sub-pixel
# positions. The loop is the one :doc:`20_dive_deep_simple_pose` takes apart, reduced to its core: Adam with
# a short warmup and a cosine decay, scale jitter of 10 %, no rotation and no flip, batches of four,
# 250 updates -- about a minute on two CPU cores, most of this page's run time. (Trained on all 86 people of
# the set, the network needs some 500 updates of eight before its poses look right: ``make quickstart``,
# seven minutes.)

import mxnet as mx  # noqa: E402
from mxnet import autograd, gluon  # noqa: E402

from gluonpose.data.transforms.presets.simple_pose import SimplePoseDefaultTrainTransform  # noqa: E402
from gluonpose.loss import WeightedL2Loss  # noqa: E402
from gluonpose.model_zoo import get_model  # noqa: E402
from gluonpose.utils.lr_scheduler import LRScheduler, LRSequential  # noqa: E402

SIZE, PEOPLE, BATCH, UPDATES, LR = (96, 64), 8, 4, 250, 4e-3
dataset = mini_coco()
people_set = gluon.data.SimpleDataset([dataset[i] for i in range(PEOPLE)])   # decoded once
augment = SimplePoseDefaultTrainTransform(
    dataset.num_joints, dataset.joint_pairs, image_size=SIZE,
    heatmap_size=(SIZE[0] // 4, SIZE[1] // 4), sigma=2, scale_factor=0.10, rotation_factor=0,
    random_flip=False, rng=0)
loader = gluon.data.DataLoader(people_set.transform(augment), batch_size=BATCH, shuffle=True,
                               last_batch="discard")
mx.random.seed(0)
np.random.seed(0)                      # the loader's shuffling
model = get_model(NAME, num_joints=dataset.num_joints)
model.initialize(mx.init.MSRAPrelu())
model.hybridize(static_alloc=True, static_shape=True)
schedule = LRSequential([LRScheduler("linear", base_lr=0, target_lr=LR, nepochs=1,
                                     iters_per_epoch=10),
                         LRScheduler("cosine", base_lr=LR, target_lr=0, nepochs=1,
                                     iters_per_epoch=UPDATES - 10)])
trainer = gluon.Trainer(model.collect_params(), "adam",
                        {"learning_rate": schedule.base_lr, "wd": 0.0, "lr_scheduler": schedule})
loss_fn = WeightedL2Loss()
tic, done, losses = time.time(), 0, []
while done < UPDATES:
    for data, target, weight, _ in loader:
        with autograd.record():
            loss = loss_fn(model(data), target, weight)
        loss.backward()
        trainer.step(BATCH)
        losses.append(loss.mean().asscalar())
        done += 1
        if done == UPDATES:
            break
params_file = os.path.join(work, "memorised.params")
model.save_parameters(params_file)
print("%d updates in %.0f s; loss %.1e over the first 10 updates, %.1e over the last 10"
      % (done, time.time() - tic, np.mean(losses[:10]), np.mean(losses[-10:])))

##############################################################################
# Publishing the weights to a mirror
# ----------------------------------
#
# ``pretrained=True`` downloads ``{repo}gluon/models/{name}-{hash8}.zip``, where ``hash8`` is the start of
# the ``.params`` file's sha1 -- GluonCV's layout. The publish tool writes that archive into a folder and
# records ``name -> full sha1`` in the folder's ``gluon/models/index.json``. On the command line::
#
#     python -m gluonpose.model_zoo.publish PARAMS simple_pose_resnet18_v1b --repo DIR
#
# which calls :func:`gluonpose.model_zoo.publish.publish` and prints the hashtag:

from gluonpose.model_zoo.publish import publish  # noqa: E402

mirror = os.path.join(work, "mirror")
tag = publish(params_file, NAME, mirror)
print("hashtag:", tag)
for path in sorted(pathlib.Path(mirror).rglob("*")):
    if path.is_file() and not path.name.startswith("."):
        print("  %-50s %7.1f MB" % (path.relative_to(mirror), path.stat().st_size / 1e6))
with open(os.path.join(mirror, "gluon", "models", "index.json")) as f:
    index = json.load(f)
print("index.json:", index)

##############################################################################
# Serve the folder over HTTP (any static file server) or, as here, point ``GLUONPOSE_REPO`` at it with a
# ``file://`` URL. ``GLUONPOSE_HOME`` moves the download cache (``$GLUONPOSE_HOME/models``, by default
# ``~/.mxnet/models``, the folder GluonCV uses) into the temporary folder too, so this page leaves no file
# behind. Without ``GLUONPOSE_REPO`` the store fetches from GluonCV's own bucket and takes the sha1 from its
# built-in table of GluonCV's published files.
#
# ``get_model(..., pretrained=True)`` is now the GluonCV line:

os.environ["GLUONPOSE_REPO"] = pathlib.Path(mirror).as_uri() + "/"
os.environ["GLUONPOSE_HOME"] = os.path.join(work, "home")

from gluonpose.model_zoo import model_store  # noqa: E402

model_store.clear_index_cache()       # the index is read once per process and repo
net = get_model(NAME, pretrained=True)
cached = model_store.get_model_file(NAME)          # what get_model just fetched and loaded
print("cache:", os.path.relpath(cached, work))
print("sha1 of the cached file: %s\nsha1 in the mirror index: %s -> %s"
      % (model_store.file_sha1(cached), index[NAME],
         "match" if model_store.file_sha1(cached) == index[NAME] else "MISMATCH"))
same = all(np.array_equal(p.data().asnumpy(), q.data().asnumpy())
           for p, q in zip(net.collect_params().values(),
                           get_model(NAME, pretrained=tag).collect_params().values()))
print("pretrained=True and pretrained=%r load the same weights: %s" % (tag, same))

##############################################################################
# The sha1 is checked on every download and every cached use: a file that does not match is never loaded.
# Here the mirror's archive is replaced by one that holds other bytes under the same name, and a fresh
# cache asks for the weights:

zip_path = os.path.join(mirror, "gluon", "models", "%s-%s.zip" % (NAME, tag))
good_zip = pathlib.Path(zip_path).read_bytes()
import zipfile  # noqa: E402

with zipfile.ZipFile(zip_path, "w") as archive:
    archive.writestr("%s-%s.params" % (NAME, tag), b"these are not the published weights")
try:
    model_store.get_model_file(NAME, root=os.path.join(work, "fresh_cache"))
except model_store.ModelChecksumError as err:
    print("%s: %s" % (type(err).__name__, str(err).split("; to place it")[0]))
pathlib.Path(zip_path).write_bytes(good_zip)       # the mirror is good again

##############################################################################
# The Predictor
# -------------
#
# :class:`gluonpose.Predictor <gluonpose.inference.predictor.Predictor>` runs the whole top-down pipeline
# on an image, an array, a folder or a video: person boxes, one crop per person, one forward pass for all
# people of a frame, decoding to image pixels, and OKS-NMS. It takes the same ``pretrained=True`` (or
# ``params_file=`` for a file of your own) and needs to know the input size and the codec the weights were
# trained with.
#
# **(a) Boxes from the caller.** Any detector's ``(xmin, ymin, xmax, ymax)`` boxes (``box_format='xywh'``
# for COCO's ``[x, y, w, h]``), given with the image, override the Predictor's own box source (here none:
# the whole image). The boxes are the ground-truth boxes of the four people at the table, from the
# annotation file:

import gluonpose  # noqa: E402
from gluonpose.utils.viz import cv_plot_keypoints, plot_keypoints  # noqa: E402

by_image = {}
for record in dataset.records[:PEOPLE]:
    by_image.setdefault(record["image_id"], []).append(record["bbox"])
table_id = dataset.records[0]["image_id"]
table_path = os.path.join(mini_coco_root(), "train2017", "%012d.jpg" % table_id)
table_boxes = np.array(by_image[table_id])

pred = gluonpose.Predictor(NAME, pretrained=True, input_size=SIZE, codec="unbiased", sigma=2,
                           progress=False)
print(pred.describe())
people = pred(table_path, boxes=table_boxes)
print(people)
for person in people:
    print("  %r  joints above 0.2: %d of 17" % (person, int((person.confidence > 0.2).sum())))

##############################################################################
# Each :class:`~gluonpose.inference.results.PersonPose` holds ``keypoints`` (17 x ``(x, y, confidence)`` in
# the image's pixels), its ``box`` and a pose ``score`` (mean confidence of the joints above 0.2 times the
# box score). :meth:`FrameResult.arrays <gluonpose.inference.results.FrameResult.arrays>` stacks them into
# the arrays the drawing functions take. :func:`~gluonpose.utils.viz.plot_keypoints` draws with matplotlib
# and has GluonCV's signature, so GluonCV's demo code draws unchanged:

from gluonpose.inference import read_image  # noqa: E402

table = read_image(table_path)
coords, confidence, boxes, scores = people.arrays()
fig, ax = plt.subplots(figsize=(7, 4.8))
plot_keypoints(table, coords, confidence, bboxes=boxes, scores=scores, box_thresh=0.0,
               keypoint_thresh=0.2, ax=ax, linewidth=2, fontsize=8)
ax.set_title("(a) caller boxes, plot_keypoints (matplotlib)")
plt.tight_layout()

##############################################################################
# The legs under the table are drawn too, with confident joints: a top-down network predicts all 17 joints
# of every box and has no reliable "not visible" output (its training ignores unlabelled joints rather than
# teaching it to say so). Raise ``keypoint_thresh`` to draw and score only the surest joints.

##############################################################################
# **(b) Boxes from a COCO detection file.** Detectors evaluated on COCO write their boxes as a json list of
# ``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}``; ``det_file=`` reads it and matches images
# by id (the number in COCO file names, or through ``ann_file=``, a COCO annotation json, for other names).
# We write one for the four single-person photos, the true box of each plus a spurious low-score box,
# which ``det_score_thresh=0.3`` drops, as one drops a detector's weak boxes:

singles = [i for i in by_image if i != table_id]
detections = []
for img_id in singles:
    x0, y0, x1, y1 = by_image[img_id][0]
    detections.append({"image_id": img_id, "category_id": 1, "score": 0.98,
                       "bbox": [x0, y0, x1 - x0, y1 - y0]})
    detections.append({"image_id": img_id, "category_id": 1, "score": 0.12,
                       "bbox": [0, 0, 40, 60]})
det_file = os.path.join(work, "detections.json")
with open(det_file, "w") as f:
    json.dump(detections, f)
photos = os.path.join(work, "photos")
os.makedirs(photos)
for img_id in singles:
    shutil.copy(os.path.join(mini_coco_root(), "train2017", "%012d.jpg" % img_id), photos)

pred_det = gluonpose.Predictor(NAME, pretrained=True, input_size=SIZE, codec="unbiased",
                               det_file=det_file, det_score_thresh=0.3, progress=False)
print(pred_det.describe())
frames = pred_det.predict_source(photos, keep_images=True)   # a folder: one result per image
frames = list(frames)
for frame in frames:
    print("  %s: %d person, score %.2f" % (os.path.basename(frame.name), len(frame),
                                           frame[0].score))

##############################################################################
# :func:`~gluonpose.utils.viz.cv_plot_keypoints` draws with OpenCV into the image itself (GluonCV's
# signature too; it returns the annotated RGB array), which is what a video or a web service wants:

fig, axes = plt.subplots(1, len(frames), figsize=(12, 3.6))
for ax, frame in zip(axes, frames):
    coords, confidence, boxes, scores = frame.arrays()
    ax.imshow(cv_plot_keypoints(frame.image, coords, confidence, bboxes=boxes, scores=scores,
                                box_thresh=0.0, keypoint_thresh=0.2))
    ax.set_title(os.path.basename(frame.name), fontsize=9)
    ax.axis("off")
fig.suptitle("(b) boxes from a COCO detection file, cv_plot_keypoints (OpenCV)")
plt.tight_layout()

##############################################################################
# **(c) The whole image.** With no box source the whole frame is one person's box: right for pictures that
# are already cropped to one person (by a detector, a tracker, a photographer). The frame is treated like a
# detector's box -- grown by 1.25 and padded to the input's shape -- so it should be about as tight around
# the person as one. Arrays work as well as files; here the second photo is cut to its person's box and
# given as an ``H x W x 3`` RGB array:

portrait = frames[1].image
x0, y0, x1, y1 = frames[1][0].box.round().astype(int)
crop = portrait[y0:y1 + 1, x0:x1 + 1]
whole = gluonpose.Predictor(NAME, pretrained=True, input_size=SIZE, codec="unbiased",
                            progress=False)
print(whole.describe())
person = whole(crop)[0]
print(person, "crop", crop.shape)
fig, ax = plt.subplots(figsize=(3, 4.2))
plot_keypoints(crop, person.coords[None], person.confidence[None], ax=ax, linewidth=2)
ax.set_title("(c) whole image", fontsize=9)
plt.tight_layout()

##############################################################################
# Some joints land in the wrong place here although (b) got this child right: cut to the box, the picture
# loses the context around the person that the network saw in every training crop, and weights that have
# memorised eight crops do not cope with any change. Weights trained on COCO do; this is what the
# memorising shortcut of this page costs.

##############################################################################
# **(d) A GluonCV detector.** ``detector='yolo3_mobilenet1.0_coco'`` (or any GluonCV detection model name,
# or a detector block) finds the people: the Predictor builds the detector with ``gluoncv.model_zoo`` and
# its published weights, keeps the person class and the boxes scoring at least ``box_thresh``. That needs
# ``pip install gluoncv`` and a network connection for the detector's weights, so it does not run on this
# page; the line is
#
# .. code-block:: python
#
#    pred = gluonpose.Predictor('simple_pose_resnet50_v1b', pretrained=True,
#                               detector='yolo3_mobilenet1.0_coco', box_thresh=0.5)
#    people = pred('street.jpg')
#
# GluonCV's own demo code runs too: :func:`~gluonpose.data.transforms.pose.detector_to_simple_pose` and
# :func:`~gluonpose.data.transforms.pose.heatmap_to_coord` take and return what GluonCV's do. In place of a
# detector's ``(class_ids, scores, bounding_boxs)`` output we pass the table's boxes in its layout (batch of
# one, class 0 = person):

from gluonpose.data.transforms.pose import detector_to_simple_pose, heatmap_to_coord  # noqa: E402

n = len(table_boxes)
class_ids = mx.nd.zeros((1, n, 1))
det_scores = mx.nd.full((1, n, 1), 0.9)
bounding_boxs = mx.nd.array(table_boxes[None])
pose_input, upscale_bbox = detector_to_simple_pose(table, class_ids, det_scores, bounding_boxs,
                                                   output_shape=SIZE)
predicted_heatmap = net(pose_input)
pred_coords, confidence = heatmap_to_coord(predicted_heatmap, upscale_bbox, codec="unbiased")
print("pose input", pose_input.shape, "-> heatmaps", predicted_heatmap.shape,
      "-> coords", pred_coords.shape)
# the Predictor sorts people by score: match them to the boxes they were cropped from
order = [int(np.abs(table_boxes - p.box).sum(axis=1).argmin()) for p in people]
print("largest difference to the Predictor's keypoints: %.1g px"
      % np.abs(pred_coords.asnumpy()[order] - people.arrays()[0]).max())

##############################################################################
# Time per stage
# --------------
#
# :attr:`Predictor.last_timings <gluonpose.inference.predictor.Predictor.last_timings>` holds the seconds
# each stage of the last image took: decoding the file, finding boxes, cropping, the network (it waits for
# the result, so the stages add up to the latency), decoding the heatmaps and OKS-NMS. Medians of ten runs
# on the table image with its four people, on this build's CPU:

runs = []
for _ in range(10):
    pred(table_path, boxes=table_boxes)
    runs.append(list(pred.last_timings.values()))
median_ms = np.median(np.array(runs), axis=0) * 1e3
for stage, ms in zip(pred.last_timings, median_ms):
    print("  %-16s %7.2f ms" % (stage, ms))
print("  %-16s %7.2f ms for 4 people at %dx%d" % ("total", median_ms.sum(), SIZE[0], SIZE[1]))

##############################################################################
# The network dominates even at this small input; GluonCV's published weights take 256x192 crops, eight times
# the pixels.
#
# COCO results
# ------------
#
# Every pose a Predictor returns is also kept for
# :meth:`~gluonpose.inference.predictor.Predictor.write_coco_results`, which writes COCO's keypoint results
# format (``image_id``, ``category_id``, flat ``keypoints`` as ``x, y, confidence``, ``score``), atomically;
# :func:`~gluonpose.inference.results.write_coco_results` writes any list of poses. pycocotools reads the
# file as it is. Scored against the annotations of the five images, the poses of the detection-file run and
# of the first run on the table (all eight people the network was trained on) give the memorisation check of
# this page: an AP near 1 says the weights reproduce what they were trained on -- and nothing more, since
# these are the training images.

import contextlib  # noqa: E402
import io  # noqa: E402

from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

from gluonpose.inference import write_coco_results  # noqa: E402

det_results = pred_det.write_coco_results(os.path.join(work, "results_det_file.json"))
with open(det_results) as f:
    entry = json.load(f)[0]
print("%s: %d entries; the first: image_id %d, %d keypoint values, score %.3f, keys %s"
      % (os.path.basename(det_results), len(pred_det.results), entry["image_id"],
         len(entry["keypoints"]), entry["score"], sorted(entry)))
all_results = write_coco_results(os.path.join(work, "results_all.json"),
                                 list(people) + pred_det.results)
with contextlib.redirect_stdout(io.StringIO()):      # pycocotools prints its progress
    gt = COCO(os.path.join(mini_coco_root(), "annotations", "person_keypoints_train2017.json"))
    coco_eval = COCOeval(gt, gt.loadRes(all_results), "keypoints")
    coco_eval.params.imgIds = sorted(by_image)
    coco_eval.evaluate()
    coco_eval.accumulate()
    coco_eval.summarize()
print("memorisation check: COCO keypoint AP %.3f AP50 %.3f AP75 %.3f on the %d training people "
      "[%s boxes, input %dx%d, unbiased codec, no flip]"
      % (coco_eval.stats[0], coco_eval.stats[1], coco_eval.stats[2], PEOPLE, "ground-truth",
         SIZE[0], SIZE[1]))

##############################################################################
# The command line
# ----------------
#
# ``gluonpose predict`` (also ``scripts/demo.py``, which accepts GluonCV demo's option names) wraps the same
# Predictor: an image, a folder, a video or ``webcam:N``; boxes from ``--boxes x,y,w,h;...`` (COCO order),
# ``--det-file``, ``--detector`` or the whole image; annotated images or an annotated video in
# ``--output-dir`` and the COCO results in ``--results-json``. Run (b) is
#
# .. code-block:: bash
#
#    export GLUONPOSE_REPO=file:///path/to/mirror/
#    gluonpose predict photos/ --pretrained --input-size 96,64 --codec unbiased \
#        --det-file detections.json --det-score-thresh 0.3 \
#        --output-dir annotated/ --results-json results_det_file.json
#
# and ``--params FILE.params`` replaces ``--pretrained`` for a file that is not published anywhere.
#
# The published weights
# ---------------------
#
# For real pictures use GluonCV's published weights: the same line, online, without ``GLUONPOSE_REPO``.
# gluonpose knows their sha1 and downloads them from GluonCV's bucket into ``~/.mxnet/models`` (so weights a
# GluonCV install already fetched are reused):
#
# .. code-block:: python
#
#    import gluonpose
#    net = gluonpose.get_model('simple_pose_resnet50_v1b', pretrained=True)
#    # GluonCV's published COCO val2017 AP for it: 71.0 (ground-truth boxes, no flip test)
#    pred = gluonpose.Predictor('simple_pose_resnet50_v1b', pretrained=True,
#                               input_size=(256, 192), detector='yolo3_mobilenet1.0_coco')
#
# GluonCV's pose weights take 256x192 inputs and the default ``msra`` codec, the Predictor's defaults.
# ``gluonpose models --pretrained`` lists the registered models with published weights (the pose models and
# the ImageNet backbones they start from):

from gluonpose.cli import main as gluonpose_cli  # noqa: E402

gluonpose_cli(["models", "--pretrained"])

##############################################################################
# Their accuracy, with the protocol it was measured under, is on the :doc:`../model_zoo` page.
#
# Clean up: restore the two environment variables and remove the temporary folder (the weights, the mirror,
# the cache, the detection and results files).

for var, value in saved_env.items():
    if value is None:
        os.environ.pop(var, None)
    else:
        os.environ[var] = value
model_store.clear_index_cache()
shutil.rmtree(work)
