"""Whole-image COCO keypoint dataset for bottom-up (multi-person) training.

:class:`COCOBottomUp` reads the same annotation jsons as
:class:`~gluonpose.data.mscoco.keypoints.COCOKeyPoints` (same json checks,
category and schema selection, image paths and decoder) but yields one item
per *image*: every supervised person's joints plus a training mask that says
where the loss may look. It serves both bottom-up families:

* OpenPose (PAF) -- the defaults: people with fewer than 5 labelled keypoints
  or an area under 32² are not supervised and their segmentation is masked,
  like crowd regions;
* Associative Embedding -- ``min_keypoints=1, min_area=0, mask_dropped=False``:
  every person with a labelled keypoint is supervised and only crowd regions
  are masked.

Nothing family specific (heatmaps, PAFs, tags) happens here; that is the
encoder's job, after :mod:`gluonpose.data.transforms.presets.bottom_up`.
"""
import logging
import os
from collections import Counter

import numpy as np

from .keypoints import _COCOPersonBase, _extract_annotations, decode_image, \
    xywh_to_xyxy_clipped

__all__ = ["COCOBottomUp", "IMAGE_SKIP_REASONS", "PERSON_REASONS", "rasterize_ignore_mask"]

#: Why an image does not become an item (first reason that applies).
IMAGE_SKIP_REASONS = (
    "no usable person",     # no supervised person (only with skip_empty=True)
    "missing image",        # the image file does not exist
)

#: What happened to each annotation read, in the order the checks run.
PERSON_REASONS = (
    "malformed",            # missing/ill-typed fields, wrong keypoint count: dropped
    "unknown image",        # image_id not in the json's images: dropped
    "other category",       # not the person (selected) category: dropped, not masked
    "crowd",                # iscrowd=1: masked
    "too few keypoints",    # fewer than min_keypoints labelled: masked if mask_dropped
    "too small",            # area < min_area: masked if mask_dropped
)

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- masks

def _segmentation_rles(seg, box, height, width):
    """pycocotools RLEs of one annotation's region; its box when the segmentation is unusable.

    Polygons (a list of flat ``[x0, y0, x1, y1, ...]`` lists; ones with fewer than
    three points are dropped), uncompressed RLE (``counts`` a list) and compressed RLE
    (``counts`` a string) are accepted; an RLE must have the image's ``size``.
    Anything else, an empty list included, falls back to the ``(x, y, w, h)`` box.
    """
    from pycocotools import mask as mask_utils
    try:
        if isinstance(seg, list):
            polys = [[float(v) for v in p] for p in seg
                     if isinstance(p, (list, tuple)) and len(p) >= 6 and len(p) % 2 == 0]
            if polys:
                return mask_utils.frPyObjects(polys, height, width)
        elif isinstance(seg, dict) and "counts" in seg and \
                [int(v) for v in seg.get("size", ())] == [height, width]:
            counts = seg["counts"]
            if isinstance(counts, list):
                return [mask_utils.frPyObjects(seg, height, width)]
            if isinstance(counts, (str, bytes)):
                counts = counts.encode("ascii") if isinstance(counts, str) else counts
                return [{"size": [height, width], "counts": counts}]
    except (TypeError, ValueError):
        pass
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        return []
    return mask_utils.frPyObjects(np.array([[x, y, w, h]], np.float64), height, width)


def rasterize_ignore_mask(regions, height, width):
    """The training mask of one image: 1 = supervise, 0 = ignore.

    Parameters
    ----------
    regions : sequence of (segmentation, bbox)
        COCO ``segmentation`` (polygons or RLE) and ``[x, y, w, h]`` box of each
        ignored annotation; the box is used when the segmentation is empty or
        unusable.
    height, width : int
        Image size.

    Returns
    -------
    numpy.ndarray
        uint8 ``(height, width)``: 0 inside the union of the regions (pycocotools'
        rasterisation), 1 elsewhere.
    """
    from pycocotools import mask as mask_utils
    height, width = int(height), int(width)
    rles = []
    for seg, box in regions:
        rles.extend(_segmentation_rles(seg, box, height, width))
    if not rles:
        return np.ones((height, width), np.uint8)
    covered = mask_utils.decode(mask_utils.merge(rles, intersect=False))
    return (1 - covered).astype(np.uint8)


# ----------------------------------------------------------------------------- dataset

class COCOBottomUp(_COCOPersonBase):
    """COCO keypoint dataset with one item per image, for bottom-up training.

    Items are ``(img, label)``: ``img`` an RGB uint8 ``H x W x 3`` array
    (``mx.nd`` by default, numpy with ``image_format='numpy'``) and ``label`` a
    dict with

    * ``'joints'``: float32 ``(P, K, 3)`` ``[x, y, v]`` of the ``P`` supervised
      people, ``v`` COCO's flag (0 unlabelled, 1 labelled but occluded,
      2 visible; ``v > 0`` means labelled), ``x = y = 0`` where ``v = 0``;
    * ``'boxes'``: float32 ``(P, 4)`` ``(xmin, ymin, xmax, ymax)`` -- the
      convention of :class:`~gluonpose.data.mscoco.keypoints.COCOKeyPoints`:
      ``(x, y, x + max(w - 1, 0), y + max(h - 1, 0))`` clipped to the image;
    * ``'areas'``: float32 ``(P,)`` the annotations' ``area``;
    * ``'ann_ids'``: int64 ``(P,)`` COCO annotation ids;
    * ``'image_id'``: int;
    * ``'mask'``: uint8 ``(H, W)``, 1 = supervise, 0 = ignore: zero on the
      segmentation of every crowd annotation and, with ``mask_dropped``, of
      every person that is not supervised (too few keypoints or too small).
      An annotation with an empty or unusable segmentation is masked on its
      box. Rasterised with ``pycocotools.mask`` when the item is read.

    A person annotation (non-crowd, person category) is *supervised* iff it has
    at least ``min_keypoints`` keypoints with ``v > 0`` and ``area >= min_area``.
    People appear in the json's order; items follow sorted image ids. An image
    becomes an item iff its file exists and (with ``skip_empty``) it has a
    supervised person; the rest are counted in :attr:`skipped`.

    Parameters
    ----------
    root : str, default '~/.mxnet/datasets/coco'
        Dataset root holding ``annotations/{split}.json`` and the image folders.
    splits : str or sequence of str, default ('person_keypoints_train2017',)
        Annotation file names without ``.json``.
    min_keypoints : int, default 5
        Fewest labelled keypoints of a supervised person (OpenPose: 5; AE: 1).
    min_area : float, default 1024
        Smallest annotation ``area`` of a supervised person (OpenPose: 32²; AE: 0).
    mask_dropped : bool, default True
        Mask the segmentation of people that fail the two thresholds (OpenPose's
        ``mask_miss``). AE masks crowd regions only: pass False.
    skip_empty : bool, default True
        Skip images without a supervised person. False keeps them (with
        ``P = 0``), e.g. to evaluate on every image of a split.
    category, schema, image_dir, image_format, strict
        As for :class:`~gluonpose.data.mscoco.keypoints.COCOKeyPoints`.

    Attributes
    ----------
    skipped : collections.Counter
        Reason (:data:`IMAGE_SKIP_REASONS`) -> number of images not turned into items.
    people : collections.Counter
        ``'supervised'`` and each reason of :data:`PERSON_REASONS` -> number of
        annotations; the counts add up to :attr:`num_read`.
    num_read : int
        Annotations read from the json(s).
    num_images : int
        Images listed in the json(s).
    missing_images : list of str
        Listed image files that do not exist.

    Raises
    ------
    OSError
        (when reading an item) the image file cannot be decoded, or its size is
        not the one the json gives; the message names the file.
    """

    _unit = "images"

    def __init__(self, root=os.path.join("~", ".mxnet", "datasets", "coco"),
                 splits=("person_keypoints_train2017",), min_keypoints=5, min_area=32 ** 2,
                 mask_dropped=True, skip_empty=True, category=None, schema=None,
                 image_dir=None, image_format="ndarray", strict=False):
        super().__init__(root, splits, category=category, schema=schema, image_dir=image_dir,
                         image_format=image_format, strict=strict)
        self._min_keypoints = int(min_keypoints)
        self._min_area = float(min_area)
        self._mask_dropped = bool(mask_dropped)
        self._skip_empty = bool(skip_empty)
        self.people = Counter()
        self.num_images = 0
        self._sizes = []            # per item: (height, width) from the json
        self._ignore = []           # per item: [(segmentation, xywh)] of masked regions
        for split in self._splits:
            self._load_split(split)
            split.release()
        self._log_summary()

    def _load_split(self, split):
        anns = split.data["annotations"]
        num_joints = self.num_joints
        a = _extract_annotations(anns, num_joints)
        n = len(anns)
        code = np.full(n, -1, np.int64)

        def mark(mask, reason):
            code[(code < 0) & mask] = PERSON_REASONS.index(reason)

        mark(a["malformed"], "malformed")
        pos, known = split.locate(a["image_id"])
        mark(~known, "unknown image")
        mark(a["category_id"] != split.category["id"], "other category")
        mark(a["crowd"], "crowd")
        kps = a["kps"].reshape(n, num_joints, 3)
        labelled = (kps[:, :, 2] > 0).sum(axis=1)
        mark(labelled < self._min_keypoints, "too few keypoints")
        mark(a["area"] < self._min_area, "too small")

        counts = np.bincount(code[code >= 0], minlength=len(PERSON_REASONS))
        for reason, c in zip(PERSON_REASONS, counts):
            if c:
                self.people[reason] += int(c)
        if (code < 0).any():
            self.people["supervised"] += int((code < 0).sum())
        self.num_read += n
        self.num_images += len(split.image_ids)

        masked_codes = [PERSON_REASONS.index("crowd")]
        if self._mask_dropped:
            masked_codes += [PERSON_REASONS.index("too few keypoints"),
                             PERSON_REASONS.index("too small")]
        keep = code < 0
        masked = np.isin(code, masked_codes)

        width, height, exists = split.at(pos)
        _, boxes = xywh_to_xyxy_clipped(a["bbox"], width, height)
        joints = kps.astype(np.float32)
        joints[:, :, :2] *= (joints[:, :, 2:] > 0)

        # group the kept and masked annotations by image, json order within an image
        people_of = [[] for _ in range(len(split.image_ids))]
        ignore_of = [[] for _ in range(len(split.image_ids))]
        for i in np.flatnonzero(keep).tolist():
            people_of[pos[i]].append(i)
        for i in np.flatnonzero(masked).tolist():
            ignore_of[pos[i]].append((anns[i].get("segmentation"), a["bbox"][i].tolist()))

        labels, rec_pos = [], []
        for p in range(len(split.image_ids)):
            idx = np.asarray(people_of[p], np.int64)
            if self._skip_empty and not len(idx):
                self.skipped["no usable person"] += 1
                continue
            if not split.exists[p]:
                self.skipped["missing image"] += 1
                continue
            labels.append({
                "joints": joints[idx].reshape(len(idx), num_joints, 3),
                "boxes": boxes[idx].astype(np.float32).reshape(len(idx), 4),
                "areas": a["area"][idx].astype(np.float32),
                "ann_ids": a["ann_id"][idx].copy(),
                "image_id": int(split.image_ids[p]),
            })
            rec_pos.append(p)
            self._sizes.append((int(split.heights[p]), int(split.widths[p])))
            self._ignore.append(ignore_of[p])
        self._add_records(split, rec_pos, labels)

    # -- items ------------------------------------------------------------------------
    def __getitem__(self, idx):
        path = self.image_path(idx)
        img = decode_image(path, self._image_format)
        h, w = self._sizes[idx]
        if tuple(img.shape[:2]) != (h, w):
            raise OSError("image file %s is %dx%d but its annotation file says %dx%d (w x h)"
                          % (path, img.shape[1], img.shape[0], w, h))
        return img, self.label(idx)

    def label(self, idx):
        """A copy of item ``idx``'s label dict, mask included (the image is not read)."""
        rec = self._records[idx]
        out = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in rec.items()}
        out["mask"] = self.mask(idx)
        return out

    def mask(self, idx):
        """The uint8 ``(H, W)`` training mask of item ``idx`` (1 = supervise, 0 = ignore)."""
        h, w = self._sizes[idx]
        return rasterize_ignore_mask(self._ignore[idx], h, w)

    def image_size(self, idx):
        """``(height, width)`` of item ``idx``'s image, as the json gives it."""
        return self._sizes[idx]

    @property
    def records(self):
        """All labels without masks, in item order, without decoding any image.

        The list and its dicts are the dataset's own: read, don't modify.
        """
        return self._records

    # -- bookkeeping ------------------------------------------------------------------
    def summary(self):
        """One line: images read, kept and skipped; people supervised, masked and dropped."""
        kept = len(self)
        line = "%s: %d images, kept %d" % (self, self.num_images, kept)
        if self.skipped:
            line += ", skipped: " + ", ".join("%s %d" % (r, self.skipped[r])
                                              for r in IMAGE_SKIP_REASONS if self.skipped[r])
        line += "; %d person annotations, supervised %d" % (self.num_read,
                                                            self.people["supervised"])
        masked = ["crowd"] + (["too few keypoints", "too small"] if self._mask_dropped else [])
        parts = ["%s %d" % (r, self.people[r]) for r in masked if self.people[r]]
        if parts:
            line += ", masked: " + ", ".join(parts)
        parts = ["%s %d" % (r, self.people[r]) for r in PERSON_REASONS
                 if r not in masked and self.people[r]]
        if parts:
            line += ", dropped: " + ", ".join(parts)
        if self.missing_images:
            line += "; first missing image file: %s" % self.missing_images[0]
        return line

    def _log_summary(self):
        bad = self.missing_images or self.people["malformed"] or self.people["unknown image"]
        (logger.warning if bad else logger.info)(self.summary())
