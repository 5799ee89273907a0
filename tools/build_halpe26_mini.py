#!/usr/bin/env python
"""Build a Halpe-26 keypoint json from the bundled COCO-17 mini set.

Reads ``gluonpose/datasets/coco_mini/annotations/person_keypoints_train2017.json``
and writes ``halpe26_train2017.json`` next to it: same images, boxes, areas and
ids, the category's ``keypoints``/``skeleton`` replaced by Halpe-26's, and each
person's 26 keypoints built from its 17 COCO ones:

* 0-16 (the COCO joints): copied unchanged;
* 18 neck: midpoint of the shoulders (5, 6) when both are labelled; its
  visibility is the smaller of the two (2 only when both shoulders are visible);
* 19 hip (pelvis): midpoint of the hips (11, 12) when both are labelled, same
  visibility rule;
* 17 head (Halpe's head top): COCO has no head-top point, so it is extrapolated
  and only where the source pins it down -- both ears and both shoulders
  labelled. With ``E`` the midpoint of the ears and ``N`` the midpoint of the
  shoulders, ``head = E + HEAD_RATIO * (E - N)``: the head top lies on the
  neck-to-ear line continued upwards, about 0.6 of the shoulder-to-ear length
  above the ears (ear to vertex ~13 cm against ~20 cm from the shoulder line
  to the ears in adult anthropometry). It is written with v=1 (labelled, not
  seen) since it is an estimate, never with v=2, and left out (v=0) when it
  would fall outside the image;
* 20-25 (big toes, small toes, heels): COCO does not annotate feet: v=0.

``num_keypoints`` is recounted over the 26 points. Everything else in the json
(``info``, ``licenses``, ``images``, other annotation fields) is kept. The file
is written atomically. The split name ``halpe26_train2017`` resolves to the same
``train2017/`` image folder, so::

    COCOKeyPoints(gluonpose.data.mini_coco_root(), 'halpe26_train2017')

reads it with the registered ``halpe26`` schema.

Example (from the repository root)::

    python tools/build_halpe26_mini.py
"""
import argparse
import json
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from gluonpose.data.schema import COCO_PERSON, HALPE_26  # noqa: E402
from gluonpose.utils.atomic import write_json  # noqa: E402

ANN_DIR = os.path.join(REPO, "gluonpose", "datasets", "coco_mini", "annotations")
DEFAULT_SRC = os.path.join(ANN_DIR, "person_keypoints_train2017.json")
DEFAULT_DST = os.path.join(ANN_DIR, "halpe26_train2017.json")
#: head top = ear midpoint + HEAD_RATIO * (ear midpoint - shoulder midpoint)
HEAD_RATIO = 0.6
#: decimals of the derived points (the source's own precision)
DECIMALS = 3


def _midpoint(kps, a, b):
    """Midpoint and visibility of joints ``a`` and ``b`` of ``(N, J, 3)`` keypoints.

    Returns ``(xy (N, 2), v (N,), ok (N,))``; ``ok`` where both are labelled.
    """
    ok = (kps[:, a, 2] > 0) & (kps[:, b, 2] > 0)
    xy = (kps[:, a, :2] + kps[:, b, :2]) / 2.0
    vis = np.minimum(kps[:, a, 2], kps[:, b, 2])
    return xy, vis, ok


def coco17_to_halpe26(kps17):
    """Halpe-26 keypoints from COCO-17 ones (the rules of this module's docstring).

    Parameters
    ----------
    kps17 : array-like
        ``(N, 17, 3)`` COCO keypoints ``(x, y, v)``.

    Returns
    -------
    numpy.ndarray
        ``(N, 26, 3)`` float64; unlabelled points are all zero.
    """
    kps = np.asarray(kps17, dtype=np.float64)
    if kps.ndim != 3 or kps.shape[1:] != (17, 3):
        raise ValueError("kps17: expected (N, 17, 3) COCO keypoints, got %s" % (kps.shape,))
    idx = COCO_PERSON.index
    out = np.zeros((kps.shape[0], HALPE_26.num_joints, 3))
    out[:, :17] = kps
    neck, neck_v, neck_ok = _midpoint(kps, idx("left_shoulder"), idx("right_shoulder"))
    hip, hip_v, hip_ok = _midpoint(kps, idx("left_hip"), idx("right_hip"))
    ears, _, ears_ok = _midpoint(kps, idx("left_ear"), idx("right_ear"))
    head_ok = ears_ok & neck_ok
    head = ears + HEAD_RATIO * (ears - neck)
    for name, xy, vis, ok in (("neck", neck, neck_v, neck_ok), ("hip", hip, hip_v, hip_ok),
                              ("head", head, np.ones(len(kps)), head_ok)):
        j = HALPE_26.index(name)
        out[ok, j, :2] = xy[ok]
        out[ok, j, 2] = vis[ok]
    return out


def _flat(kps):
    """``[x, y, v, ...]`` of derived points: rounded floats, integer visibilities, zeros as 0."""
    out = []
    for x, y, v in np.asarray(kps).tolist():
        if v > 0:
            out += [round(x, DECIMALS), round(y, DECIMALS), int(v)]
        else:
            out += [0, 0, 0]
    return out


def build(src_json):
    """The Halpe-26 json dict built from a COCO-17 person keypoint json dict."""
    cats = [c for c in src_json.get("categories", []) if c.get("name") == "person"]
    if not cats or tuple(cats[0].get("keypoints", ())) != COCO_PERSON.keypoints:
        raise ValueError("--src must be a COCO person keypoint json with the 17 COCO keypoints")
    cat_id = cats[0]["id"]
    anns = [dict(a) for a in src_json["annotations"]]
    person = [i for i, a in enumerate(anns)
              if a.get("category_id") == cat_id and len(a.get("keypoints") or []) == 51]
    if person:
        kps17 = np.array([anns[i]["keypoints"] for i in person], np.float64).reshape(-1, 17, 3)
        kps26 = coco17_to_halpe26(kps17)
        # an extrapolated head outside the image is no label: unlabel it
        sizes = {e["id"]: (e["width"], e["height"]) for e in src_json["images"]}
        wh = np.array([sizes.get(anns[i]["image_id"], (np.inf, np.inf)) for i in person],
                      np.float64)
        head = kps26[:, HALPE_26.index("head")]
        outside = (head[:, 0] < 0) | (head[:, 1] < 0) | (head[:, 0] >= wh[:, 0]) \
            | (head[:, 1] >= wh[:, 1])
        head[outside] = 0
        for i, k in zip(person, kps26):
            # the COCO joints keep the source's exact values; only 17-25 are new
            anns[i]["keypoints"] = list(anns[i]["keypoints"]) + _flat(k[17:])
            anns[i]["num_keypoints"] = int((k[:, 2] > 0).sum())
    category = dict(cats[0], keypoints=list(HALPE_26.keypoints),
                    skeleton=(HALPE_26.skeleton + 1).tolist())
    info = dict(src_json.get("info") or {})
    info["description"] = ("Halpe-26 keypoints derived from the COCO-17 annotations of "
                           "gluonpose's bundled mini set (tools/build_halpe26_mini.py)")
    out = {k: v for k, v in src_json.items()}
    out.update(info=info, annotations=anns,
               categories=[category] + [c for c in src_json["categories"] if c["id"] != cat_id])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", default=DEFAULT_SRC, help="COCO-17 person keypoint json")
    parser.add_argument("--dst", default=DEFAULT_DST, help="Halpe-26 json to write")
    args = parser.parse_args(argv)
    try:
        with open(args.src, "rb") as f:
            src = json.load(f)
        out = build(src)
    except (OSError, ValueError) as err:
        print("build_halpe26_mini: error: %s" % err, file=sys.stderr)
        return 1
    write_json(args.dst, out)
    kps = np.array([a["keypoints"] for a in out["annotations"]
                    if len(a.get("keypoints") or []) == 78]).reshape(-1, 26, 3)
    labelled = (kps[:, :, 2] > 0).sum(axis=0)
    print("wrote %s: %d annotations; labelled head %d, neck %d, hip %d, feet %d"
          % (args.dst, len(out["annotations"]), labelled[17], labelled[18], labelled[19],
             labelled[20:].sum()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
