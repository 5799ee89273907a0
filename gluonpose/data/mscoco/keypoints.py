"""COCO-format person keypoint datasets.

:class:`COCOKeyPoints` reads a keypoint annotation json in the standard COCO
layout and yields one item per person instance, with the same records, in the
same order, as GluonCV's ``gluoncv.data.mscoco.keypoints.COCOKeyPoints``, so a
training or validation script written for GluonCV runs unchanged on it.

What it adds on top of GluonCV's records:

* extra label keys for evaluation (``'ann_id'``, ``'score'``, ``'area'``,
  ``'image_id'``) and label access without decoding the image
  (:attr:`~COCOKeyPoints.records`, :meth:`~COCOKeyPoints.label`);
* the keypoint set is read from the json (:attr:`~COCOKeyPoints.schema`), so a
  custom keypoint set works without code changes;
* bad data is skipped and counted (:attr:`~COCOKeyPoints.skipped`, one summary
  log line) instead of failing deep inside a decoder, and every error names the
  file it is about.
"""
import contextlib
import io
import json
import logging
import os
from collections import Counter

import cv2
import mxnet as mx
import numpy as np

from ..schema import COCO_PERSON, KeypointSchema, get_schema

__all__ = ["COCOKeyPoints", "SKIP_REASONS"]

logger = logging.getLogger(__name__)

#: Why an annotation (or detection) was not turned into a record, in the order
#: the checks run; every dropped annotation is counted under the first reason
#: that applies, so ``kept + sum(skipped.values())`` is the number read.
SKIP_REASONS = (
    "malformed",            # missing/ill-typed fields, wrong keypoint count
    "unknown image",        # image_id not in the json's images
    "crowd",                # iscrowd=1 (GluonCV fetches non-crowd annotations only)
    "other category",       # not the person (selected) category
    "low score",            # detection below score_thresh
    "no keypoints",         # no keypoints, or all zero
    "zero area",            # area <= 0 or a box of width/height <= 1 pixel
    "outside image",        # nothing left of the box after clipping to the image
    "no visible keypoints",  # every keypoint has v = 0
    "centre check",         # rejected by check_centers
    "missing image",        # otherwise valid, but the image file is missing
)

_DUMMY_BBOX = (-1, -1, 0, 0)


# ----------------------------------------------------------------------------- helpers

def _read_json(path, what):
    """Load a json file; one clear error naming the file when that fails."""
    if not os.path.isfile(path):
        raise FileNotFoundError("%s not found: %s" % (what, path))
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError("%s %s is not valid JSON: %s" % (what, path, err)) from None


def _make_coco(data):
    """A pycocotools ``COCO`` over an already loaded json dict.

    Building it from the dict avoids parsing the (large) file twice; the
    progress lines pycocotools prints are dropped.
    """
    from pycocotools.coco import COCO
    coco = COCO()
    coco.dataset = data
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _select_category(categories, path, category):
    """The one category whose instances become records.

    ``category=None`` picks the category named ``'person'`` (any case); failing
    that, the json's only category that has a ``keypoints`` list (a custom
    keypoint set such as a hand or an animal). Anything else is ambiguous and
    raises, naming the file.
    """
    cats = [c for c in categories if isinstance(c, dict) and "id" in c]
    names = [str(c.get("name")) for c in cats]
    if category is not None:
        match = [c for c in cats if c.get("name") == category]
        if not match:
            raise ValueError("annotation file %s has no category named %r (categories: %s)"
                             % (path, category, ", ".join(names) or "none"))
        return match[0]
    person = [c for c in cats if str(c.get("name", "")).lower() == "person"]
    if person:
        return person[0]
    with_kps = [c for c in cats if c.get("keypoints")]
    if len(with_kps) == 1:
        return with_kps[0]
    raise ValueError("annotation file %s has no 'person' category and %s category with a "
                     "keypoints list (categories: %s); pass category=NAME to choose one"
                     % (path, "no" if not with_kps else "more than one",
                        ", ".join(names) or "none"))


def _schema_for(cat, schema, path):
    """The keypoint schema of the selected category (or the one passed in)."""
    names = cat.get("keypoints")
    if schema is not None:
        schema = get_schema(schema)
        if names and len(names) != schema.num_joints:
            raise ValueError("annotation file %s: category %r has %d keypoints, schema %r has %d"
                             % (path, cat.get("name"), len(names), schema.name,
                                schema.num_joints))
        return schema
    if not names:
        if str(cat.get("name", "")).lower() == "person":
            # GluonCV assumes the COCO-17 set without reading the names
            return COCO_PERSON
        raise ValueError("annotation file %s: category %r has no 'keypoints' list; pass "
                         "schema= to say which keypoint set it uses" % (path, cat.get("name")))
    if tuple(names) == COCO_PERSON.keypoints:
        return COCO_PERSON
    try:
        return KeypointSchema.from_coco_category(cat)
    except ValueError as err:
        raise ValueError("annotation file %s: %s" % (path, err)) from None


def _split_dir(split):
    """Image folder implied by a split name: ``person_keypoints_train2017`` -> ``train2017``."""
    return os.path.basename(split).rsplit("_", 1)[-1]


def _image_path(root, split, entry, image_dir):
    if image_dir is not None:
        return os.path.join(root, image_dir, entry["file_name"])
    url = entry.get("coco_url")
    if isinstance(url, str) and url:
        # COCO's own jsons: the last two url components are '<split dir>/<file>'
        parts = url.replace("\\", "/").rstrip("/").split("/")
        if len(parts) >= 2 and parts[-2] and parts[-1]:
            return os.path.join(root, parts[-2], parts[-1])
    return os.path.join(root, _split_dir(split), entry["file_name"])


def xywh_to_xyxy_clipped(xywh, width, height):
    """GluonCV's box clean-up, vectorised over boxes.

    Parameters
    ----------
    xywh : numpy.ndarray
        ``(N, 4)`` boxes ``(x, y, w, h)`` as COCO stores them.
    width, height : numpy.ndarray or float
        Image size per box (or one size for all).

    Returns
    -------
    raw : numpy.ndarray
        ``(N, 4)`` float64 ``(x, y, x + max(w - 1, 0), y + max(h - 1, 0))``: GluonCV
        treats ``w`` as a pixel count, so the right edge is one pixel in.
    clipped : numpy.ndarray
        ``raw`` clipped to ``[0, width - 1] x [0, height - 1]``.
    """
    xywh = np.asarray(xywh, dtype=np.float64).reshape(-1, 4)
    raw = np.concatenate([xywh[:, :2], xywh[:, :2] + np.maximum(xywh[:, 2:] - 1, 0)], axis=1)
    hi = np.stack([np.broadcast_to(np.asarray(width, np.float64) - 1, len(raw)),
                   np.broadcast_to(np.asarray(height, np.float64) - 1, len(raw))], axis=1)
    hi = np.concatenate([hi, hi], axis=1)
    return raw, np.minimum(hi, np.maximum(0, raw))


def decode_image(path, image_format="ndarray"):
    """Read an image file as RGB uint8 ``H x W x 3``.

    EXIF orientation is ignored on purpose: COCO's boxes, keypoints and
    width/height are given on the stored pixel grid.

    Parameters
    ----------
    path : str
        Image file.
    image_format : {'ndarray', 'numpy'}
        ``'ndarray'`` returns an ``mx.nd.NDArray`` (what GluonCV returns),
        ``'numpy'`` a ``numpy.ndarray`` (no copy into MXNet).

    Raises
    ------
    OSError
        The file is missing, unreadable, empty or not a decodable image.
    """
    try:
        buf = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise OSError("cannot read image file %s: %s" % (path, err)) from None
    img = None
    if buf.size:
        try:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        except cv2.error:
            img = None
    if img is None:
        raise OSError("cannot decode image file %s (empty, truncated or not an image)" % path)
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if image_format == "numpy":
        return img
    return mx.nd.array(img, dtype=np.uint8)


class _Split:
    """One annotation json: its COCO object, selected category, schema and images."""

    def __init__(self, root, split, category, schema, image_dir):
        self.name = split
        self.path = os.path.join(root, "annotations", split + ".json")
        data = _read_json(self.path, "annotation file")
        if not isinstance(data, dict) or not all(
                isinstance(data.get(k), list) for k in ("images", "annotations", "categories")):
            raise ValueError("annotation file %s is not a COCO annotation file: it needs "
                             "'images', 'annotations' and 'categories' lists" % self.path)
        self.data = data
        self.category = _select_category(data["categories"], self.path, category)
        self.schema = _schema_for(self.category, schema, self.path)
        try:
            entries = sorted(data["images"], key=lambda e: int(e["id"]))
            self.image_ids = np.array([int(e["id"]) for e in entries], dtype=np.int64)
            self.widths = np.array([e["width"] for e in entries], dtype=np.float64)
            self.heights = np.array([e["height"] for e in entries], dtype=np.float64)
            self.image_paths = [_image_path(root, split, e, image_dir) for e in entries]
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError("annotation file %s: an image entry lacks a valid id, width, "
                             "height or file_name (%s: %s)"
                             % (self.path, type(err).__name__, err)) from None
        self.exists = np.array([os.path.isfile(p) for p in self.image_paths], dtype=bool)
        self._coco = None

    @property
    def coco(self):
        if self._coco is None:
            data = self.data if self.data is not None else \
                _read_json(self.path, "annotation file")
            self._coco = _make_coco(data)
        return self._coco

    def release(self):
        """Drop the parsed json once the records are built.

        On train2017 it is hundreds of MB of Python objects that training never
        reads again (and that forked loader workers would gradually copy);
        :attr:`coco` re-reads the file if evaluation asks for it.
        """
        if self._coco is None:
            self.data = None

    def locate(self, image_ids):
        """Index into the sorted image table of each id, and whether it is known."""
        image_ids = np.asarray(image_ids, dtype=np.int64)
        if not len(self.image_ids):
            return np.zeros(len(image_ids), np.int64), np.zeros(len(image_ids), bool)
        pos = np.minimum(np.searchsorted(self.image_ids, image_ids), len(self.image_ids) - 1)
        return pos, self.image_ids[pos] == image_ids

    def at(self, pos):
        """Width, height and file existence of the images at ``pos`` (zeros when none)."""
        if not len(self.image_ids):
            zero = np.zeros(len(pos))
            return zero, zero, zero.astype(bool)
        return self.widths[pos], self.heights[pos], self.exists[pos]


# ----------------------------------------------------------------------------- datasets

class _COCOPersonBase(mx.gluon.data.Dataset):
    """Shared machinery: json loading, category/schema, image paths, items, summary."""

    #: GluonCV's class attribute; :attr:`classes` gives the category actually read.
    CLASSES = ["person"]
    #: GluonCV's joint-name table for COCO (index -> name).
    KEYPOINTS = dict(enumerate(COCO_PERSON.keypoints))
    #: The official COCO person skeleton, 1-based as GluonCV (and COCO) store it.
    SKELETON = (COCO_PERSON.skeleton + 1).tolist()
    _unit = "annotations"

    def __init__(self, root, splits, category=None, schema=None, image_dir=None,
                 image_format="ndarray", strict=False):
        super().__init__()
        if image_format not in ("ndarray", "numpy"):
            raise ValueError("image_format must be 'ndarray' or 'numpy', got %r" % (image_format,))
        self._root = os.path.expanduser(root)
        if isinstance(splits, str):
            splits = [splits]
        self._split_names = list(splits)
        if not self._split_names:
            raise ValueError("no splits given")
        self._image_format = image_format
        self._strict = strict
        self._splits = [_Split(self._root, s, category, schema, image_dir)
                        for s in self._split_names]
        first = self._splits[0]
        for other in self._splits[1:]:
            if other.schema.keypoints != first.schema.keypoints:
                raise ValueError("splits disagree on the keypoint set: %s has %s, %s has %s"
                                 % (first.path, first.schema, other.path, other.schema))
        self._schema = first.schema
        self._category_name = str(first.category.get("name"))
        if strict:
            for sp in self._splits:
                if not sp.exists.all():
                    missing = [p for p, e in zip(sp.image_paths, sp.exists) if not e]
                    raise FileNotFoundError(
                        "image file not found: %s%s (listed in %s)"
                        % (missing[0], " and %d more" % (len(missing) - 1)
                           if len(missing) > 1 else "", sp.path))
        self._image_paths = []       # unique image paths; records point into it
        self._record_image = []      # per record: index into _image_paths
        self._records = []
        self.skipped = Counter()
        self.num_read = 0
        self.num_clipped = 0
        self.missing_images = [p for sp in self._splits
                               for p, e in zip(sp.image_paths, sp.exists) if not e]

    # -- GluonCV-compatible properties ------------------------------------------------
    def __str__(self):
        return "%s(%s)" % (type(self).__name__, ",".join(str(s) for s in self._split_names))

    @property
    def classes(self):
        """Category names: ``['person']`` (or the custom category read)."""
        return [self._category_name]

    @property
    def num_class(self):
        """Number of categories (1)."""
        return 1

    @property
    def schema(self):
        """The :class:`~gluonpose.data.KeypointSchema` read from the json."""
        return self._schema

    @property
    def num_joints(self):
        """Number of keypoints per instance (17 for COCO)."""
        return self._schema.num_joints

    @property
    def joint_pairs(self):
        """0-based left/right pairs swapped by a horizontal flip."""
        return self._schema.joint_pairs

    @property
    def coco(self):
        """The pycocotools ``COCO`` object of the (single) split, for evaluation."""
        if len(self._splits) > 1:
            raise NotImplementedError("evaluation needs a single annotation file; this dataset "
                                      "reads %d" % len(self._splits))
        return self._splits[0].coco

    # -- items ------------------------------------------------------------------------
    def __len__(self):
        return len(self._records)

    def __getitem__(self, idx):
        label = self.label(idx)
        img = decode_image(self._image_paths[self._record_image[idx]], self._image_format)
        return img, label, label["image_id"]

    @property
    def records(self):
        """All labels, in item order, without decoding any image.

        The list and its dicts are the dataset's own: read, don't modify
        (use :meth:`label` for a copy).
        """
        return self._records

    def label(self, idx):
        """A copy of item ``idx``'s label dict (the image is not read)."""
        rec = self._records[idx]
        out = dict(rec)
        out["joints_3d"] = rec["joints_3d"].copy()
        if isinstance(rec["bbox"], np.ndarray):
            out["bbox"] = rec["bbox"].copy()
        return out

    def image_path(self, idx):
        """Image file of item ``idx``."""
        return self._image_paths[self._record_image[idx]]

    # -- bookkeeping ------------------------------------------------------------------
    def _count(self, codes):
        """Add per-annotation reason codes (index into SKIP_REASONS, -1 = kept)."""
        counts = np.bincount(codes[codes >= 0], minlength=len(SKIP_REASONS))
        for reason, n in zip(SKIP_REASONS, counts):
            if n:
                self.skipped[reason] += int(n)
        self.num_read += len(codes)

    def _add_records(self, split, pos, labels):
        """Append records of one split; ``pos`` indexes the split's sorted images."""
        base = len(self._image_paths)
        self._image_paths.extend(split.image_paths)
        self._record_image.extend((base + np.asarray(pos, np.int64)).tolist())
        self._records.extend(labels)

    def summary(self):
        """One line: how many were read, kept, and skipped for which reason."""
        kept = self.num_read - sum(self.skipped.values())
        line = "%s: %d %s, kept %d" % (self, self.num_read, self._unit, kept)
        if self.skipped:
            line += ", skipped: " + ", ".join("%s %d" % (r, self.skipped[r])
                                              for r in SKIP_REASONS if self.skipped[r])
        if self.num_clipped:
            line += "; %d boxes clipped to the image" % self.num_clipped
        if self.missing_images:
            line += "; %d image files missing (first: %s)" % (len(self.missing_images),
                                                             self.missing_images[0])
        if len(self) != kept:
            line += "; %d items" % len(self)
        return line

    def _log_summary(self):
        # missing files and malformed entries mean the data is not what the json
        # promises: worth a warning; the usual crowd/no-keypoint drops are not
        bad = self.missing_images or self.skipped["malformed"] or self.skipped["unknown image"]
        (logger.warning if bad else logger.info)(self.summary())


class COCOKeyPoints(_COCOPersonBase):
    """COCO keypoint dataset with GluonCV's records: one item per person instance.

    Items are ``(img, label, img_id)``: ``img`` is an RGB uint8 ``H x W x 3``
    array (``mx.nd`` by default), ``img_id`` the int COCO image id, and
    ``label`` a dict with

    * ``'bbox'``: ``(xmin, ymin, xmax, ymax)`` -- COCO's ``(x, y, w, h)`` turned
      into ``(x, y, x + max(w - 1, 0), y + max(h - 1, 0))`` and clipped to
      ``[0, W - 1] x [0, H - 1]``, as GluonCV does;
    * ``'joints_3d'``: float32 ``(J, 3, 2)``, ``[:, 0, 0]`` = x, ``[:, 1, 0]`` = y,
      ``[:, 0:2, 1]`` = ``min(1, v)`` (COCO's v=1 and v=2 are both visible),
      zeros elsewhere;
    * ``'ann_id'`` (COCO annotation id), ``'score'`` (1.0), ``'area'`` (the
      annotation's area), ``'image_id'`` (int).

    An annotation becomes a record iff it is not crowd, belongs to the person
    category, has a non-zero keypoint, a positive ``area``, a box that is
    non-degenerate after clipping, at least one keypoint with v > 0, passes
    the optional centre check, and its image file exists. Records follow
    sorted image ids, then the json's annotation order.

    Parameters
    ----------
    root : str, default '~/.mxnet/datasets/coco'
        Dataset root holding ``annotations/{split}.json`` and the image folders.
    splits : str or sequence of str, default ('person_keypoints_val2017',)
        Annotation file names without ``.json``.
    check_centers : bool, default False
        Drop instances whose keypoint centroid is far from the box centre
        (GluonCV's rule, used for AlphaPose training): with box centre ``c_b``,
        box area ``A``, visible-keypoint centroid ``c_k`` and count ``n``, drop
        when ``n / 80 + 47 / 80 > exp(-2 |c_b - c_k|^2 / A)``.
    skip_empty : bool, default True
        When False, an image without valid instances yields one dummy record
        (bbox ``[-1, -1, 0, 0]``, zero joints, ``ann_id`` -1, ``score`` 0), as
        GluonCV's validation setup expects.
    category : str, optional
        Category to read. By default the one named ``'person'``; a json without
        one is accepted when it has exactly one category with a ``keypoints``
        list (a custom keypoint set), and otherwise raises ``ValueError``.
    schema : KeypointSchema or str, optional
        Override the keypoint schema. By default it comes from the category's
        ``keypoints`` names: COCO's 17 give :data:`~gluonpose.data.COCO_PERSON`,
        other names a schema built by :meth:`KeypointSchema.from_coco_category`.
    image_dir : str, optional
        Folder (relative to ``root``, or absolute) holding every image as
        ``{image_dir}/{file_name}``. By default the folder and file come from the
        last two components of ``coco_url``, or, without one, the folder is the
        split name's last ``_`` part (``person_keypoints_train2017`` ->
        ``train2017``).
    image_format : {'ndarray', 'numpy'}, default 'ndarray'
        Type of the returned image: ``mx.nd.NDArray`` (GluonCV's) or
        ``numpy.ndarray`` (faster when the transform works in numpy).
    strict : bool, default False
        Raise ``FileNotFoundError`` when any listed image file is missing
        (GluonCV's behaviour) instead of skipping its instances.

    Attributes
    ----------
    skipped : collections.Counter
        Reason (see :data:`SKIP_REASONS`) -> number of annotations dropped.
    num_read : int
        Annotations read from the json(s).
    missing_images : list of str
        Listed image files that do not exist.

    Notes
    -----
    ``img_id`` is the json's image id; GluonCV parses it from the file name,
    which is the same number for every COCO image. Images are decoded with
    OpenCV ignoring EXIF orientation; a file that cannot be decoded raises
    ``OSError`` naming it.
    """

    def __init__(self, root=os.path.join("~", ".mxnet", "datasets", "coco"),
                 splits=("person_keypoints_val2017",), check_centers=False, skip_empty=True,
                 category=None, schema=None, image_dir=None, image_format="ndarray",
                 strict=False):
        super().__init__(root, splits, category=category, schema=schema, image_dir=image_dir,
                         image_format=image_format, strict=strict)
        self._check_centers = check_centers
        self._skip_empty = skip_empty
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

        def reject(mask, reason):
            code[(code < 0) & mask] = SKIP_REASONS.index(reason)

        reject(a["malformed"], "malformed")
        pos, known = split.locate(a["image_id"])
        reject(~known, "unknown image")
        reject(a["crowd"], "crowd")
        reject(a["category_id"] != split.category["id"], "other category")
        # GluonCV's test is max(keypoints) == 0; "<= 0" also catches all-negative junk
        reject(~a["has_kps"] | (a["kps"].max(axis=1, initial=0) <= 0), "no keypoints")

        width, height, exists = split.at(pos)
        raw, box = xywh_to_xyxy_clipped(a["bbox"], width, height)
        reject((a["area"] <= 0) | (raw[:, 2] <= raw[:, 0]) | (raw[:, 3] <= raw[:, 1]),
               "zero area")
        reject((box[:, 2] <= box[:, 0]) | (box[:, 3] <= box[:, 1]), "outside image")

        kps = a["kps"].reshape(n, num_joints, 3)
        vis = np.minimum(1, kps[:, :, 2]).astype(np.float32)
        reject(vis.sum(axis=1) < 1, "no visible keypoints")

        cand = np.flatnonzero(code < 0)
        joints = np.zeros((len(cand), num_joints, 3, 2), dtype=np.float32)
        joints[:, :, 0, 0] = kps[cand, :, 0]
        joints[:, :, 1, 0] = kps[cand, :, 1]
        joints[:, :, 0:2, 1] = vis[cand, :, None]
        if self._check_centers:
            far = _centre_check(box[cand], joints)
            code[cand[far]] = SKIP_REASONS.index("centre check")
        reject(~exists, "missing image")

        keep = code < 0
        self._count(code)
        self.num_clipped += int(np.any(box[keep] != raw[keep], axis=1).sum())

        # records in GluonCV's order: sorted image ids, then json order within an image
        joint_of = np.full(n, -1, np.int64)
        joint_of[cand] = np.arange(len(cand))
        order = np.flatnonzero(keep)
        order = order[np.argsort(pos[order], kind="stable")]
        labels, rec_pos = [], []
        boxes = box.tolist()
        for i in order.tolist():
            labels.append({
                # numpy float64 scalars, like GluonCV's (and still plain floats)
                "bbox": tuple(np.float64(v) for v in boxes[i]),
                "joints_3d": joints[joint_of[i]],
                "ann_id": int(a["ann_id"][i]),
                "score": 1.0,
                "area": float(a["area"][i]),
                "image_id": int(split.image_ids[pos[i]]),
            })
            rec_pos.append(int(pos[i]))
        if not self._skip_empty:
            labels, rec_pos = self._with_dummies(split, labels, rec_pos)
        self._add_records(split, rec_pos, labels)

    def _with_dummies(self, split, labels, rec_pos):
        """Insert one dummy record for every existing image without a record."""
        has = np.zeros(len(split.image_ids), bool)
        has[rec_pos] = True
        empty = np.flatnonzero(~has & split.exists)
        dummies = [{
            "bbox": np.array(_DUMMY_BBOX),
            "joints_3d": np.zeros((self.num_joints, 3, 2), dtype=np.float32),
            "ann_id": -1,
            "score": 0.0,
            "area": 0.0,
            "image_id": int(split.image_ids[p]),
        } for p in empty.tolist()]
        merged_pos = np.concatenate([np.asarray(rec_pos, np.int64), empty])
        merged = labels + dummies
        order = np.argsort(merged_pos, kind="stable")
        return [merged[i] for i in order.tolist()], merged_pos[order].tolist()


def _extract_annotations(anns, num_joints):
    """Pull the fields the checks need out of the annotation dicts into arrays.

    An annotation with a missing or ill-typed field, or a keypoint list of the
    wrong length, is flagged ``malformed`` rather than raising.
    """
    n = len(anns)
    out = {
        "image_id": np.full(n, -1, np.int64),
        "ann_id": np.full(n, -1, np.int64),
        "category_id": np.full(n, -1, np.int64),
        "crowd": np.zeros(n, bool),
        "area": np.zeros(n, np.float64),
        "bbox": np.zeros((n, 4), np.float64),
        "kps": np.zeros((n, 3 * num_joints), np.float64),
        "has_kps": np.zeros(n, bool),
        "malformed": np.zeros(n, bool),
    }
    size = 3 * num_joints
    for i, ann in enumerate(anns):
        try:
            out["image_id"][i] = ann["image_id"]
            out["ann_id"][i] = ann["id"]
            out["category_id"][i] = ann["category_id"]
            out["crowd"][i] = bool(ann.get("iscrowd", 0))
            box = ann["bbox"]
            out["bbox"][i] = box
            out["area"][i] = ann["area"] if "area" in ann else box[2] * box[3]
            kps = ann.get("keypoints")
            if kps:
                if len(kps) != size:
                    raise ValueError("keypoint count")
                out["kps"][i] = kps
                out["has_kps"][i] = True
        except (KeyError, TypeError, ValueError, IndexError):
            out["malformed"][i] = True
    return out


def _centre_check(boxes, joints):
    """GluonCV's ``check_centers`` rule, vectorised; True where an instance is dropped.

    The keypoint sums are taken in float32 like GluonCV's per-instance code so
    borderline cases are decided the same way.
    """
    if not len(boxes):
        return np.zeros(0, bool)
    centre = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2.0, (boxes[:, 1] + boxes[:, 3]) / 2.0], 1)
    area = (boxes[:, 3] - boxes[:, 1]) * (boxes[:, 2] - boxes[:, 0])
    vis = joints[:, :, 0, 1]
    num = vis.sum(axis=1).astype(np.float64)
    kx = (joints[:, :, 0, 0] * (vis > 0)).sum(axis=1).astype(np.float64) / num
    ky = (joints[:, :, 1, 0] * (joints[:, :, 1, 1] > 0)).sum(axis=1).astype(np.float64) / num
    dist2 = (centre[:, 0] - kx) ** 2 + (centre[:, 1] - ky) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ks = np.exp(-2 * dist2 / area)
    return (num / 80.0 + 47 / 80.0) > ks
