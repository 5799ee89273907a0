#!/usr/bin/env python
"""Build the small COCO keypoint set bundled with gluonpose.

Reads a COCO-layout source (``annotations/<split>.json`` plus image folders),
downscales every image so its longer side is at most ``--max-side`` pixels
(``cv2.INTER_AREA``) and rewrites the annotations to match: keypoint x/y,
boxes, areas, polygon and crowd-RLE segmentations, image width/height. Ids,
``info``, ``licenses`` and ``categories`` are kept. Writes the json and images
atomically (temporary file, then rename) and a README with the attribution.

Example (from the repository root)::

    python tools/build_mini_coco.py --src ../shared/data/coco-mini \\
        --dst gluonpose/datasets/coco_mini --max-side 384
"""
import argparse
import json
import os
import sys
import tempfile

import cv2
import numpy as np
from pycocotools import mask as mask_utils

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SRC = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "coco-mini"))
DEFAULT_DST = os.path.join(REPO, "gluonpose", "datasets", "coco_mini")
# decimals kept in the json: far below a pixel, and keeps the file small
DECIMALS = 3


def image_relpath(entry, split):
    """``<dir>/<file>`` of an image, the way the keypoint datasets resolve it."""
    url = entry.get("coco_url")
    if isinstance(url, str) and url:
        parts = url.rstrip("/").split("/")
        if len(parts) >= 2:
            return os.path.join(parts[-2], parts[-1])
    return os.path.join(split.rsplit("_", 1)[-1], entry["file_name"])


def _round(values):
    """Round floats to DECIMALS; zeros stay the ints COCO writes for unlabelled points."""
    arr = np.round(np.asarray(values, dtype=np.float64), DECIMALS)
    return [0 if v == 0 else float(v) for v in arr.tolist()]


def scale_keypoints(kps, sx, sy):
    """Scale the x, y of a flat ``[x, y, v, ...]`` list; v untouched."""
    triples = np.asarray(kps, dtype=np.float64).reshape(-1, 3)
    xy = np.asarray(_round((triples[:, :2] * (sx, sy)).ravel()), dtype=object).reshape(-1, 2)
    vis = np.asarray(kps, dtype=object).reshape(-1, 3)[:, 2:]     # the json's own values
    return np.concatenate([xy, vis], axis=1).ravel().tolist()


def rle_from_mask_uncompressed(mask):
    """COCO's uncompressed RLE counts of a binary mask (column-major, zeros first)."""
    flat = np.asarray(mask, dtype=np.uint8).ravel(order="F")
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts      # runs start with a (possibly empty) run of zeros
    return counts


def scale_segmentation(seg, sx, sy, new_w, new_h):
    """Polygons scaled per axis; RLE decoded, resized nearest and re-encoded."""
    if isinstance(seg, list):
        polys = []
        for poly in seg:
            arr = np.asarray(poly, dtype=np.float64).reshape(-1, 2) * (sx, sy)
            polys.append([float(v) for v in np.round(arr.ravel(), 2).tolist()])
        return polys
    if isinstance(seg, dict) and "counts" in seg and "size" in seg:
        h, w = seg["size"]
        if isinstance(seg["counts"], list):
            rle = mask_utils.frPyObjects(seg, h, w)
        else:
            rle = {"size": [h, w], "counts": seg["counts"].encode("ascii")
                   if isinstance(seg["counts"], str) else seg["counts"]}
        mask = mask_utils.decode(rle)
        small = cv2.resize(mask, (new_w, new_h), interpolation=cv2.INTER_NEAREST)
        if isinstance(seg["counts"], list):
            counts = rle_from_mask_uncompressed(small)
        else:
            # bytes are not json-serialisable; pycocotools accepts the str form
            counts = mask_utils.encode(np.asfortranarray(small))["counts"].decode("ascii")
        return {"counts": counts, "size": [new_h, new_w]}
    raise ValueError("unknown segmentation format: %.80r" % (seg,))


def scale_annotation(ann, sx, sy, new_w, new_h):
    out = dict(ann)
    if "keypoints" in ann and ann["keypoints"]:
        out["keypoints"] = scale_keypoints(ann["keypoints"], sx, sy)
    if "bbox" in ann:
        x, y, w, h = ann["bbox"]
        out["bbox"] = _round([x * sx, y * sy, w * sx, h * sy])
    if "area" in ann:
        out["area"] = round(float(ann["area"]) * sx * sy, DECIMALS)
    if "segmentation" in ann and ann["segmentation"]:
        out["segmentation"] = scale_segmentation(ann["segmentation"], sx, sy, new_w, new_h)
    return out


def _atomic_write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)       # mkstemp makes files private; these are shipped data
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def write_readme(dst, data, split, args, sizes):
    lic = {entry["id"]: entry for entry in data.get("licenses", [])}
    lines = [
        "# coco_mini: a small COCO person-keypoint set bundled with gluonpose",
        "",
        "%d images from COCO 2017 (%s) with their person-keypoint annotations, in the standard"
        % (len(data["images"]), split.rsplit("_", 1)[-1]),
        "COCO layout, for the quickstart, tests and tutorials:",
        "",
        "    annotations/%s.json   (%d annotations)" % (split, len(data["annotations"])),
        "    %s/*.jpg" % split.rsplit("_", 1)[-1],
        "",
        "Use it with `gluonpose.data.mini_coco()` or "
        "`COCOKeyPoints(gluonpose.data.mini_coco_root(), '%s')`." % split,
        "",
        "## How it was made",
        "",
        "`tools/build_mini_coco.py --max-side %d --quality %d` downscaled every image so its"
        % (args.max_side, args.quality),
        "longer side is at most %d pixels (OpenCV `INTER_AREA`, JPEG quality %d) and scaled the"
        % (args.max_side, args.quality),
        "annotations per axis to match (keypoints, boxes, areas, polygons, crowd RLE masks, image",
        "sizes). Ids, `info`, `licenses` and `categories` are unchanged. Total size: %.2f MB."
        % (sizes / 1e6),
        "",
        "## Attribution and licences",
        "",
        "Source: the COCO 2017 dataset, https://cocodataset.org (Lin et al., \"Microsoft COCO:",
        "Common Objects in Context\", ECCV 2014).",
        "",
        "* Annotations: (c) COCO Consortium, licensed under Creative Commons Attribution 4.0",
        "  (https://creativecommons.org/licenses/by/4.0/); modified here (rescaled with the",
        "  images).",
        "* Images: each image is the work of its Flickr author and keeps the licence given by",
        "  its `license` id in the json's `licenses` table (listed below), reduced in size here.",
        "  Several are NonCommercial; see each licence before any use beyond research and testing.",
    ]
    no_derivs = sorted({e.get("license") for e in data["images"]
                        if "NoDerivs" in lic.get(e.get("license"), {}).get("name", "")})
    if no_derivs:
        count = sum(e.get("license") in no_derivs for e in data["images"])
        lines += [
            "* %d images carry a NoDerivs licence; they are only reduced in size, nothing else is"
            % count,
            "  changed. To ship without them, rebuild with `--exclude-licenses %s`."
            % " ".join(str(i) for i in no_derivs),
        ]
    lines += [
        "",
        "| file | licence | Flickr source |",
        "| --- | --- | --- |",
    ]
    for entry in sorted(data["images"], key=lambda e: e["file_name"]):
        info = lic.get(entry.get("license"), {})
        lines.append("| %s | [%s](%s) | %s |" % (entry["file_name"], info.get("name", "unknown"),
                                                 info.get("url", ""), entry.get("flickr_url", "")))
    _atomic_write(os.path.join(dst, "README.md"), ("\n".join(lines) + "\n").encode("utf-8"))


def build(args):
    split = args.split
    src_json = os.path.join(args.src, "annotations", split + ".json")
    with open(src_json, "rb") as f:
        data = json.load(f)
    if args.exclude_licenses:
        drop = {e["id"] for e in data["images"] if e.get("license") in args.exclude_licenses}
        data["images"] = [e for e in data["images"] if e["id"] not in drop]
        data["annotations"] = [a for a in data["annotations"] if a["image_id"] not in drop]

    scales, written, total = {}, set(), 0
    images = []
    for entry in data["images"]:
        rel = image_relpath(entry, split)
        src = os.path.join(args.src, rel)
        img = cv2.imread(src, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        if img is None:
            raise SystemExit("cannot read image %s" % src)
        h, w = img.shape[:2]
        if (w, h) != (entry["width"], entry["height"]):
            raise SystemExit("%s is %dx%d but the json says %dx%d"
                             % (src, w, h, entry["width"], entry["height"]))
        scale = min(1.0, args.max_side / float(max(w, h)))
        new_w, new_h = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
        if (new_w, new_h) == (w, h):
            # nothing to shrink: ship the original bytes, no second JPEG generation
            with open(src, "rb") as f:
                payload = f.read()
        else:
            small = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_AREA)
            ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, args.quality])
            if not ok:
                raise SystemExit("cannot encode %s" % src)
            payload = buf.tobytes()
        _atomic_write(os.path.join(args.dst, rel), payload)
        written.add(os.path.normpath(os.path.join(args.dst, rel)))
        total += len(payload)
        # per-axis factors: rounding the size makes them differ slightly
        scales[entry["id"]] = (new_w / float(w), new_h / float(h), new_w, new_h)
        images.append(dict(entry, width=new_w, height=new_h))

    annotations = [scale_annotation(a, *scales[a["image_id"]]) for a in data["annotations"]
                   if a["image_id"] in scales]
    out = dict(data, images=images, annotations=annotations)
    payload = json.dumps(out, separators=(",", ":")).encode("utf-8")
    _atomic_write(os.path.join(args.dst, "annotations", split + ".json"), payload)
    total += len(payload)

    # remove images of an earlier build that are no longer listed
    for folder in {os.path.dirname(p) for p in written}:
        for name in os.listdir(folder):
            path = os.path.normpath(os.path.join(folder, name))
            if name.lower().endswith((".jpg", ".jpeg", ".png")) and path not in written:
                os.remove(path)
    write_readme(args.dst, out, split, args, total)
    print("wrote %d images, %d annotations, %.2f MB to %s"
          % (len(images), len(annotations), total / 1e6, args.dst))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", default=DEFAULT_SRC, help="COCO-layout source root")
    parser.add_argument("--dst", default=DEFAULT_DST, help="output root")
    parser.add_argument("--split", default="person_keypoints_train2017",
                        help="annotation file name without .json")
    parser.add_argument("--max-side", type=int, default=384, help="longest image side, pixels")
    parser.add_argument("--quality", type=int, default=90, help="JPEG quality")
    parser.add_argument("--exclude-licenses", type=int, nargs="*", default=[],
                        help="drop images whose license id is one of these")
    args = parser.parse_args(argv)
    if args.max_side < 1:
        parser.error("--max-side must be positive")
    build(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
