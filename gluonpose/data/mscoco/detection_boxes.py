"""Person boxes from a detector, in the keypoint dataset's record format.

COCO keypoint results are usually reported with ground-truth boxes; to
evaluate the full top-down pipeline the pose model runs on a person
detector's boxes instead. :class:`COCODetectionKeyPoints` turns a COCO-format
detection results file into the same ``(img, label, img_id)`` items as
:class:`~gluonpose.data.mscoco.keypoints.COCOKeyPoints`, so the same transforms
and evaluation code take either.
"""
import os

import numpy as np

from .keypoints import SKIP_REASONS, _COCOPersonBase, _read_json, xywh_to_xyxy_clipped

__all__ = ["COCODetectionKeyPoints"]


def _load_detections(det_file):
    """The detections as arrays; one ``ValueError`` naming the file and entry when malformed."""
    if isinstance(det_file, (str, os.PathLike)):
        name = os.fspath(det_file)
        dets = _read_json(name, "detection file")
    else:
        name, dets = "<detections>", det_file
    if not isinstance(dets, list):
        raise ValueError("detection file %s must hold a list of {image_id, category_id, bbox, "
                         "score} entries, found a %s" % (name, type(dets).__name__))
    n = len(dets)
    image_id = np.zeros(n, np.int64)
    category_id = np.zeros(n, np.int64)
    bbox = np.zeros((n, 4), np.float64)
    score = np.zeros(n, np.float64)
    for i, det in enumerate(dets):
        try:
            if not isinstance(det, dict):
                raise TypeError("not an object")
            missing = [k for k in ("image_id", "category_id", "bbox", "score") if k not in det]
            if missing:
                raise KeyError("no %s" % ", ".join(missing))
            if isinstance(det["bbox"], (str, bytes)) or len(det["bbox"]) != 4:
                raise ValueError("bbox is not [x, y, w, h]")
            image_id[i] = det["image_id"]
            category_id[i] = det["category_id"]
            bbox[i] = det["bbox"]
            score[i] = det["score"]
        except (KeyError, TypeError, ValueError) as err:
            msg = err.args[0] if err.args else type(err).__name__
            raise ValueError("detection file %s: entry %d is malformed (%s): %.200r"
                             % (name, i, msg, det)) from None
    if not np.isfinite(bbox).all() or not np.isfinite(score).all():
        bad = int(np.flatnonzero(~(np.isfinite(bbox).all(1) & np.isfinite(score)))[0])
        raise ValueError("detection file %s: entry %d has a non-finite bbox or score"
                         % (name, bad))
    return name, image_id, category_id, bbox, score


class COCODetectionKeyPoints(_COCOPersonBase):
    """Person detections over a COCO keypoint split, as keypoint-dataset records.

    Items are ``(img, label, img_id)`` like
    :class:`~gluonpose.data.mscoco.keypoints.COCOKeyPoints`; in ``label``,
    ``'bbox'`` is the detection turned into ``(xmin, ymin, xmax, ymax)`` with
    the same ``w - 1`` convention and clipping, ``'joints_3d'`` is all zero,
    ``'score'`` the detector's score, ``'ann_id'`` -1, ``'area'`` the
    detection's ``w * h`` and ``'image_id'`` the COCO image id. Records follow
    sorted image ids, then the detection file's order.

    Parameters
    ----------
    root : str
        Dataset root holding ``annotations/{split}.json`` and the images.
    splits : str or sequence of str, default ('person_keypoints_val2017',)
        Annotation files giving the images (paths, sizes), the keypoint schema
        and the ground truth for evaluation.
    det_file : str or list of dict
        COCO-format detection results: a json list of
        ``{'image_id', 'category_id', 'bbox': [x, y, w, h], 'score'}``
        (or that list itself).
    score_thresh : float, default 0.0
        Keep detections with ``score >= score_thresh``.
    category, schema, image_dir, image_format, strict
        As for :class:`~gluonpose.data.mscoco.keypoints.COCOKeyPoints`; only
        detections of the selected (person) category's id (1 on COCO) are kept.

    Raises
    ------
    FileNotFoundError
        ``det_file`` (or an annotation file) does not exist.
    ValueError
        ``det_file`` is not json, not a list of detections, has a malformed
        entry, or names an image id the splits do not have.
    """

    _unit = "detections"

    def __init__(self, root=os.path.join("~", ".mxnet", "datasets", "coco"),
                 splits=("person_keypoints_val2017",), det_file=None, score_thresh=0.0,
                 category=None, schema=None, image_dir=None, image_format="ndarray",
                 strict=False):
        if det_file is None:
            raise ValueError("det_file is required: a COCO-format detection results json")
        super().__init__(root, splits, category=category, schema=schema, image_dir=image_dir,
                         image_format=image_format, strict=strict)
        self._score_thresh = float(score_thresh)
        name, image_id, category_id, bbox, score = _load_detections(det_file)
        self.det_file = name

        # every detection must land on exactly one split's image; ids shared by
        # several splits go to the first, like a lookup in their union would
        owner = np.full(len(image_id), -1, np.int64)
        where = np.zeros(len(image_id), np.int64)
        for k, split in enumerate(self._splits):
            pos, known = split.locate(image_id)
            take = known & (owner < 0)
            owner[take], where[take] = k, pos[take]
        if (owner < 0).any():
            bad = np.flatnonzero(owner < 0)
            raise ValueError("detection file %s: image_id %d (entry %d%s) is not in %s"
                             % (name, image_id[bad[0]], bad[0],
                                ", and %d more entries" % (len(bad) - 1) if len(bad) > 1 else "",
                                ", ".join(s.path for s in self._splits)))
        for k, split in enumerate(self._splits):
            sel = np.flatnonzero(owner == k)
            self._load_split(split, where[sel], category_id[sel], bbox[sel], score[sel])
            split.release()
        self._log_summary()

    def _load_split(self, split, pos, category_id, xywh, score):
        code = np.full(len(pos), -1, np.int64)

        def reject(mask, reason):
            code[(code < 0) & mask] = SKIP_REASONS.index(reason)

        width, height, exists = split.at(pos)
        raw, box = xywh_to_xyxy_clipped(xywh, width, height)
        reject(category_id != split.category["id"], "other category")
        reject(score < self._score_thresh, "low score")
        reject((xywh[:, 2] <= 0) | (xywh[:, 3] <= 0) | (raw[:, 2] <= raw[:, 0])
               | (raw[:, 3] <= raw[:, 1]), "zero area")
        reject((box[:, 2] <= box[:, 0]) | (box[:, 3] <= box[:, 1]), "outside image")
        reject(~exists, "missing image")
        self._count(code)
        keep = np.flatnonzero(code < 0)
        self.num_clipped += int(np.any(box[keep] != raw[keep], axis=1).sum())
        keep = keep[np.argsort(pos[keep], kind="stable")]

        num_joints = self.num_joints
        boxes = box.tolist()
        labels = [{
            "bbox": tuple(np.float64(v) for v in boxes[i]),
            "joints_3d": np.zeros((num_joints, 3, 2), dtype=np.float32),
            "ann_id": -1,
            "score": float(score[i]),
            "area": float(xywh[i, 2] * xywh[i, 3]),
            "image_id": int(split.image_ids[pos[i]]),
        } for i in keep.tolist()]
        self._add_records(split, pos[keep], labels)
