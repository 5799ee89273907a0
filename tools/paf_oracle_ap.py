#!/usr/bin/env python
"""Oracle AP of the OpenPose PAF codec: ground-truth maps in, COCO AP out.

For every image of a COCO-layout keypoint set (default: the bundled mini
set), all annotated people (non-crowd, at least one labelled keypoint) are
mapped into the network input (the image resized so its longer side is
``--size`` pixels), encoded into confidence maps and PAFs with
:class:`gluonpose.codecs.PAFCodec`, decoded back to the image (cubic
up-sampling, peaks, limb scoring, greedy matching, assembly) and scored with
pycocotools' ``COCOeval`` (keypoints) against the same annotations. No
network, no boxes: the figure is the ceiling the bottom-up representation
and its grouping put on a perfect network at that input size.

Prints, per size, the AP over all annotated people and the AP over the
"groupable" people only (the others marked ignored, as COCO ignores people
without keypoints), e.g.::

    PAF oracle AP 0.638 [ground-truth maps, no network, bottom-up, no boxes, single scale,
    no flip, input 368 (longer side), coco_mini train2017]

Why the two figures differ: OpenPose groups parts along its 19-limb tree, and
the neck exists only when both shoulders are labelled. A person whose
labelled parts do not form one connected piece of that tree with at least 4
parts (e.g. one shoulder unlabelled: arms and legs become separate 3-part
chains, which the ``< 4 parts`` filter drops) cannot come back from their
own ground-truth maps, whatever the codec does; a network would also predict
the unlabelled parts. On the bundled set 22 of the 86 annotated people are
like that. The rest of the gap is small people in crowds, whose Gaussians
(sigma 7 input pixels) merge.

Usage (from the repository root)::

    python tools/paf_oracle_ap.py                 # sizes 368 and 184
    python tools/paf_oracle_ap.py --size 368 --size 256
"""
import argparse
import contextlib
import io
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from gluonpose.codecs.paf import PAF_LIMBS, PAFCodec, coco_to_openpose  # noqa: E402
from gluonpose.data import MINI_COCO_SPLIT, mini_coco_root  # noqa: E402

#: COCO person keypoint OKS sigmas (pycocotools' defaults, restated)
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07,
                        .87, .87, .89, .89]) / 10.0


def load_coco(ann_file=None):
    """pycocotools ``COCO`` of ``ann_file`` (default: the bundled mini set), quietly."""
    from pycocotools.coco import COCO
    if ann_file is None:
        ann_file = os.path.join(mini_coco_root(), "annotations", MINI_COCO_SPLIT + ".json")
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(ann_file)


def image_people(coco, image_id):
    """``(P, 17, 3)`` float64 keypoints of the annotated people of one image."""
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id], iscrowd=False))
    kps = [a["keypoints"] for a in anns if a.get("num_keypoints", 0) > 0]
    return np.array(kps, np.float64).reshape(-1, 17, 3)


def groupable(keypoints, min_parts=4):
    """Whether one person's labelled parts can be grouped from their own maps.

    True when the labelled OpenPose-18 parts (neck from both shoulders) are
    connected by the 19 limbs into a single piece of at least ``min_parts``.
    """
    op = coco_to_openpose(np.asarray(keypoints, np.float64).reshape(17, 3))
    labelled = op[:, 2] > 0
    if labelled.sum() < min_parts:
        return False
    root = list(range(len(op)))

    def find(i):
        while root[i] != i:
            i = root[i]
        return i

    for a, b in PAF_LIMBS:
        if labelled[a] and labelled[b]:
            root[find(a)] = find(b)
    return len({find(i) for i in np.flatnonzero(labelled)}) == 1


def groupable_only(coco):
    """A copy of ``coco`` whose non-groupable people are ignored (``num_keypoints = 0``)."""
    import copy
    from pycocotools.coco import COCO
    data = copy.deepcopy(coco.dataset)
    for ann in data["annotations"]:
        if ann.get("num_keypoints", 0) > 0 and not groupable(ann["keypoints"]):
            ann["num_keypoints"] = 0
    out = COCO()
    out.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        out.createIndex()
    return out


def predict(coco, size, codec=None, image_ids=None):
    """Encode-decode every image; the COCO result records."""
    codec = codec or PAFCodec()
    results = []
    for image_id in (coco.getImgIds() if image_ids is None else image_ids):
        info = coco.imgs[image_id]
        image_size = (int(info["height"]), int(info["width"]))
        people = image_people(coco, image_id)
        if not len(people):
            continue                  # blank maps decode to nobody; skip the work
        scale = float(size) / max(image_size)
        joints, input_size = codec.image_to_input(people, image_size, scale)
        heat, paf, _ = codec.encode(joints, input_size)
        kps, scores = codec.decode(heat, paf, image_size=image_size, input_scale=scale)
        for kp, score in zip(kps, scores):
            results.append({"image_id": int(image_id), "category_id": 1,
                            "keypoints": [round(float(v), 3) for v in kp.reshape(-1)],
                            "score": float(score)})
    return results


def evaluate(coco, results, image_ids=None):
    """COCOeval keypoints stats (10 numbers; AP first)."""
    from pycocotools.cocoeval import COCOeval
    if not results:
        return np.zeros(10)
    with contextlib.redirect_stdout(io.StringIO()):
        dets = coco.loadRes(results)
        ev = COCOeval(coco, dets, "keypoints")
        ev.params.kpt_oks_sigmas = COCO_SIGMAS
        if image_ids is not None:
            ev.params.imgIds = list(image_ids)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats)


def oracle_ap(size, coco=None, codec=None, image_ids=None, name="coco_mini train2017"):
    """PAF oracle at input ``size`` (longer side).

    Returns
    -------
    stats : numpy.ndarray
        COCOeval's ten keypoint numbers over all annotated people.
    stats_groupable : numpy.ndarray
        The same with the non-groupable people ignored (:func:`groupable`).
    lines : list of str
        The two protocol lines.
    """
    coco = coco or load_coco()
    results = predict(coco, size, codec, image_ids)
    stats = evaluate(coco, results, image_ids)
    stats_g = evaluate(groupable_only(coco), results, image_ids)
    proto = ("ground-truth maps, no network, bottom-up, no boxes, single scale, no flip, "
             "input %d (longer side), %s" % (size, name))
    lines = ["PAF oracle AP %.3f [%s]" % (stats[0], proto),
             "PAF oracle AP %.3f [%s; non-groupable people ignored]" % (stats_g[0], proto)]
    return stats, stats_g, lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, action="append",
                        help="input longer side (repeatable; default 368 and 184)")
    parser.add_argument("--ann", help="annotation json (default: the bundled mini set)")
    args = parser.parse_args(argv)
    coco = load_coco(args.ann)
    name = os.path.basename(args.ann) if args.ann else "coco_mini train2017"
    for size in args.size or (368, 184):
        stats, stats_g, lines = oracle_ap(size, coco, name=name)
        for line, st in zip(lines, (stats, stats_g)):
            print(line)
            print("    AP50 %.3f  AP75 %.3f  APM %.3f  APL %.3f  AR %.3f"
                  % (st[1], st[2], st[3], st[4], st[5]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
