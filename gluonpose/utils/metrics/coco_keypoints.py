"""COCO keypoint AP through pycocotools, with an evaluation-protocol record."""
import datetime
import hashlib
import os
import warnings
from collections import OrderedDict

import numpy as np
from mxnet import metric as _mx_metric

from ...data.schema import COCO_PERSON, get_schema
from ..atomic import write_json
from ..pose_nms import apply_pose_nms, resolve_pose_nms

__all__ = ["COCOKeyPointsMetric", "STAT_NAMES", "instance_scores"]

#: names of ``COCOeval.stats`` for keypoints, spelled as GluonCV does ('Ap .5' sic)
STAT_NAMES = ("AP", "Ap .5", "AP .75", "AP (M)", "AP (L)",
              "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")
_SHORT_NAMES = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def instance_scores(maxvals, box_scores, in_vis_thresh=0.2):
    """Pose scores: mean joint confidence above ``in_vis_thresh`` x box score.

    GluonCV's / Simple Baselines' rescoring, shared by the COCO metric and the
    Predictor so both rank people the same way.

    Parameters
    ----------
    maxvals : array-like
        ``(N, J)`` or ``(N, J, 1)`` joint confidences.
    box_scores : array-like
        ``(N,)`` box scores.
    in_vis_thresh : float
        Joints whose confidence exceeds this count.

    Returns
    -------
    numpy.ndarray
        float64 ``(N,)``; 0 for a pose with no joint above the threshold.
    """
    conf = np.asarray(maxvals, np.float32)
    conf = conf.reshape(conf.shape[0], -1) if conf.size else conf.reshape(0, 0)
    box = np.asarray(box_scores, np.float32).reshape(-1)
    above = conf > in_vis_thresh
    count = above.sum(axis=1)
    # float64 sums of float32 values: what GluonCV's Python float accumulation gives
    total = np.where(above, conf, 0).astype(np.float64).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0) * box.astype(np.float64)


def _as_numpy(x):
    return x.asnumpy() if hasattr(x, "asnumpy") else np.asarray(x)


def _resolve_coco(dataset_or_coco):
    """A pycocotools ``COCO`` from a dataset (``.coco``), a COCO object or a json path."""
    if isinstance(dataset_or_coco, (str, os.PathLike)):
        from pycocotools.coco import COCO
        return COCO(os.fspath(dataset_or_coco))
    coco = getattr(dataset_or_coco, "coco", None)
    if coco is not None and hasattr(coco, "loadRes"):
        return coco
    if hasattr(dataset_or_coco, "loadRes") and hasattr(dataset_or_coco, "getImgIds"):
        return dataset_or_coco
    raise TypeError("COCOKeyPointsMetric needs a dataset with a .coco attribute, a "
                    "pycocotools COCO object or the path of a COCO annotation json; got %s"
                    % type(dataset_or_coco).__name__)


def _format_protocol(protocol):
    """``'gt boxes, flip, codec=msra, input 256x192, ...'`` from a protocol dict."""
    if not protocol:
        return "protocol not recorded"
    parts = []
    for key, value in protocol.items():
        low = key.lower()
        if low in ("box", "boxes", "box_source"):
            text = str(value)
            if text.lower() in ("gt", "ground truth", "groundtruth"):
                parts.append("gt boxes")
            elif text.lower() in ("det", "detector", "detections"):
                parts.append("det boxes")
            else:
                parts.append("boxes=%s" % text)
        elif low in ("flip", "flip_test"):
            parts.append("flip" if value else "no flip")
        elif low in ("input", "input_size", "image_size", "data_shape") \
                and isinstance(value, (list, tuple)) and len(value) == 2:
            parts.append("input %dx%d" % (int(value[0]), int(value[1])))
        else:
            parts.append("%s=%s" % (key, value))
    return ", ".join(parts)


class COCOKeyPointsMetric(_mx_metric.EvalMetric):
    """COCO keypoint AP/AR (OKS) evaluated by pycocotools.

    Drop-in for ``gluoncv.utils.metrics.COCOKeyPointsMetric`` (same
    arguments, same ``update``/``get`` and same json entries), plus optional
    OKS-NMS, custom keypoint schemas and a recorded evaluation protocol.

    Parameters
    ----------
    dataset_or_coco : dataset, pycocotools.coco.COCO or str
        Ground truth: a dataset with a ``.coco`` attribute, a COCO object or
        the path of a COCO keypoint annotation json.
    save_prefix : str
        Prefix of the results json.
    use_time : bool
        Append ``_%Y_%m_%d_%H_%M_%S`` to the file name.
    cleanup : bool
        Delete the results (and protocol) json when the metric is deleted.
    in_vis_thresh : float
        Joints whose confidence exceeds this enter the instance score.
    data_shape : tuple of int, optional
        ``(height, width)``; validated and unused (as in GluonCV).
    oks_nms : float, optional
        When set, greedy OKS-NMS with this threshold (e.g. 0.9, Simple
        Baselines) runs per image before evaluation. GluonCV has none.
    pose_nms : {None, 'none', 'oks', 'soft-oks', 'parametric'}
        Per-image pose NMS (:func:`gluonpose.utils.pose_nms.apply_pose_nms`);
        ``None`` follows ``oks_nms``. ``'parametric'`` (AlphaPose) merges
        duplicates and rescores the merged poses; ``'soft-oks'`` keeps every
        pose with a decayed score. The method is stored in the protocol record.
    schema : str or KeypointSchema, optional
        Keypoint schema giving the OKS sigmas; default COCO-17.
    protocol : dict, optional
        How the predictions were made (box source, flip, codec, input size,
        split, model, weights, ...). Stored in ``<results>.protocol.json`` and
        shown by :meth:`summary`, so every AP carries its protocol.

    Notes
    -----
    Instance score (GluonCV / Simple Baselines rescoring): the mean of the
    joint confidences above ``in_vis_thresh`` (0 if none) times the box
    score. Joint confidences are written as the third keypoint value.

    ``COCOeval`` counts every ground-truth person of the annotation file,
    including ones the dataset may have filtered out.
    """

    def __init__(self, dataset_or_coco, save_prefix="coco_keypoints", use_time=True,
                 cleanup=False, in_vis_thresh=0.2, data_shape=None, oks_nms=None, schema=None,
                 protocol=None, pose_nms=None):
        super().__init__("COCOMeanAP")
        self.dataset = dataset_or_coco
        self.coco = _resolve_coco(dataset_or_coco)
        self._img_ids = sorted(self.coco.getImgIds())
        self.schema = COCO_PERSON if schema is None else get_schema(schema)
        self._category_id = self._find_category()
        self._cleanup = cleanup
        self._in_vis_thresh = in_vis_thresh
        if isinstance(data_shape, (tuple, list)):
            if len(data_shape) != 2:
                raise ValueError("data_shape must be (height, width)")
        elif not data_shape:
            data_shape = None
        else:
            raise ValueError("data_shape must be None or a tuple of int (height, width)")
        self._data_shape = data_shape
        self._pose_nms, self._oks_nms = resolve_pose_nms(pose_nms, oks_nms)
        self.protocol = OrderedDict(protocol or {})
        if self._pose_nms != "none":
            # the AP depends on it: it belongs in the summary line too
            self.protocol.setdefault("pose_nms", self._pose_nms if self._oks_nms is None
                                     else "%s(%g)" % (self._pose_nms, self._oks_nms))
        stamp = datetime.datetime.now().strftime("_%Y_%m_%d_%H_%M_%S") if use_time else ""
        self._filename = os.path.abspath(os.path.expanduser(save_prefix) + stamp + ".json")
        folder = os.path.dirname(self._filename)
        # fail now rather than after a full validation pass
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise RuntimeError("cannot write results json to %r" % folder)
        self._coco_eval = None

    def _find_category(self):
        cats = self.coco.loadCats(self.coco.getCatIds()) if self.coco.dataset.get(
            "categories") else []
        if not cats:
            return 1
        chosen = cats[0] if len(cats) == 1 else next(
            (c for c in cats if c.get("name") == "person"), cats[0])
        names = chosen.get("keypoints")
        if names and len(names) != self.schema.num_joints:
            raise ValueError("annotation category %r has %d keypoints but schema %r has %d"
                             % (chosen.get("name"), len(names), self.schema.name,
                                self.schema.num_joints))
        return int(chosen["id"])

    @property
    def results_file(self):
        """Absolute path of the results json."""
        return self._filename

    @property
    def protocol_file(self):
        """Absolute path of the protocol record written next to the results."""
        return os.path.splitext(self._filename)[0] + ".protocol.json"

    def __del__(self):
        if getattr(self, "_cleanup", False):
            for path in (self._filename, self.protocol_file):
                try:
                    if os.path.exists(path):
                        os.remove(path)
                except OSError as err:
                    warnings.warn(str(err))

    def reset(self):
        """Forget all accumulated predictions."""
        super().reset()
        self._results = []
        self._areas = []
        self._boxes = []
        self._box_scores = []
        self._recorded_ids = {}
        self._stats = None

    # pylint: disable=arguments-differ
    def update(self, preds, maxvals, score, imgid, *args, area=None, boxes=None, **kwargs):
        """Add a batch of instance predictions.

        Parameters
        ----------
        preds : NDArray or numpy.ndarray
            ``(N, J, 2)`` keypoint ``(x, y)`` in image coordinates.
        maxvals : NDArray or numpy.ndarray
            ``(N, J, 1)`` joint confidences.
        score : NDArray or numpy.ndarray
            ``(N,)`` box (detection) scores; 1 for ground-truth boxes.
        imgid : NDArray or numpy.ndarray
            ``(N,)`` COCO image ids.
        area : array-like, optional
            ``(N,)`` object areas for OKS-NMS (e.g. the crop box area). When
            absent, the area of the keypoints' bounding box is used.
        boxes : array-like, optional
            ``(N, 4)`` person boxes ``(x0, y0, x1, y1)``: parametric pose NMS
            sizes its radii by them (else by ``sqrt(area)``).
        """
        kpt = _as_numpy(preds).astype(np.float32)
        num, num_joints = kpt.shape[0], kpt.shape[1]
        if num_joints != self.schema.num_joints:
            raise ValueError("predictions have %d joints but schema %r has %d"
                             % (num_joints, self.schema.name, self.schema.num_joints))
        conf = _as_numpy(maxvals).astype(np.float32).reshape(num, num_joints)
        box_score = _as_numpy(score).astype(np.float32).reshape(num)
        ids = _as_numpy(imgid).reshape(num).astype(np.int64)
        rescore = instance_scores(conf, box_score, self._in_vis_thresh)
        flat = np.concatenate([kpt, conf[..., None]], axis=2).reshape(num, -1).tolist()
        if area is None:
            extent = kpt.max(axis=1) - kpt.min(axis=1)
            area = extent[:, 0].astype(np.float64) * extent[:, 1]
        area = np.broadcast_to(_as_numpy(area).astype(np.float64).reshape(-1), (num,))
        for i in range(num):
            self._results.append({"image_id": int(ids[i]), "category_id": self._category_id,
                                  "keypoints": flat[i], "score": float(rescore[i])})
            self._recorded_ids[int(ids[i])] = True
        self._areas.extend(area.tolist())
        self._box_scores.extend(box_score.astype(np.float64).tolist())
        if boxes is None:
            # without a box, a square of the object's area
            side = np.sqrt(np.maximum(area, 0))[:, None]
            boxes = np.concatenate([np.zeros((num, 2)), np.tile(side, (1, 2))], axis=1)
        self._boxes.extend(np.asarray(_as_numpy(boxes), np.float64).reshape(num, 4).tolist())

    def _final_results(self):
        """Accumulated results, after per-image pose NMS when enabled."""
        if self._pose_nms == "none" or not self._results:
            return list(self._results)
        j = self.schema.num_joints
        ids = np.array([r["image_id"] for r in self._results])
        kpts = np.array([r["keypoints"] for r in self._results]).reshape(-1, j, 3)
        scores = np.array([r["score"] for r in self._results])
        areas, boxes = np.asarray(self._areas), np.asarray(self._boxes)
        box_scores = np.asarray(self._box_scores)
        changed = self._pose_nms in ("soft-oks", "parametric")
        kept = {}
        for img in np.unique(ids):
            idx = np.flatnonzero(ids == img)
            # merged poses are rescored like every other: mean joint score x box score
            keep, new_kpts, new_scores = apply_pose_nms(
                self._pose_nms, kpts[idx], scores[idx], areas[idx], boxes=boxes[idx],
                sigmas=self.schema, oks_thresh=self._oks_nms,
                rescore=lambda conf, k, idx=idx: instance_scores(
                    conf, box_scores[idx[k]], self._in_vis_thresh))
            for k, kp, sc in zip(idx[keep].tolist(), new_kpts, new_scores):
                kept[k] = dict(self._results[k], keypoints=kp.ravel().tolist(),
                               score=float(sc)) if changed else self._results[k]
        return [kept[i] for i in sorted(kept)]

    def _write_protocol(self, num_results, stats):
        record = OrderedDict([
            ("protocol", dict(self.protocol)),
            ("results_file", os.path.basename(self._filename)),
            ("results_sha1", self._results_sha1()),
            ("num_results", num_results),
            ("num_images_with_results", len({r["image_id"] for r in self._results})),
            ("num_gt_images", len(self._img_ids)),
            ("in_vis_thresh", self._in_vis_thresh),
            ("pose_nms", self._pose_nms),
            ("oks_nms", self._oks_nms),
            ("schema", self.schema.name),
            ("kpt_oks_sigmas", self.schema.sigmas.tolist()),
            ("stats", OrderedDict(zip(STAT_NAMES, [float(s) for s in stats]))),
        ])
        write_json(self.protocol_file, record)

    def _results_sha1(self):
        digest = hashlib.sha1()
        with open(self._filename, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def _evaluate(self, results):
        from pycocotools.cocoeval import COCOeval

        unknown = sorted({r["image_id"] for r in results} - set(self._img_ids))
        if unknown:
            raise ValueError("%d predicted image ids are not in the annotation file, e.g. %s"
                             % (len(unknown), unknown[:5]))
        dets = self.coco.loadRes(self._filename)
        coco_eval = COCOeval(self.coco, dets, "keypoints")
        coco_eval.params.useSegm = None
        coco_eval.params.kpt_oks_sigmas = self.schema.sigmas.copy()
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
        self._coco_eval = coco_eval
        return np.asarray(coco_eval.stats, dtype=np.float64)

    def get(self):
        """Write the results, run ``COCOeval`` and return the statistics.

        Returns
        -------
        name_value : OrderedDict
            ``AP, Ap .5, AP .75, AP (M), AP (L), AR, AR .5, AR .75, AR (M),
            AR (L)`` (GluonCV's names).
        ap : float
            ``name_value['AP']``.
        """
        results = self._final_results()
        write_json(self._filename, results)
        if results:
            stats = self._evaluate(results)
        else:
            # pycocotools' loadRes fails on an empty list; there is nothing to score.
            why = ("pose NMS (%s) dropped all %d" % (self._pose_nms, len(self._results))
                   if self._results else "update() never called or called with empty batches")
            warnings.warn("COCOKeyPointsMetric: no predictions to score (%s); reporting AP = 0"
                          % why)
            self._coco_eval = None
            stats = np.zeros(len(STAT_NAMES))
        self._stats = stats
        self._write_protocol(len(results), stats)
        name_value = OrderedDict((n, float(v)) for n, v in zip(STAT_NAMES, stats))
        return name_value, name_value["AP"]

    def summary(self):
        """One line with the main statistics and the protocol, e.g.

        ``AP 0.712 AP50 0.912 AP75 0.786 APm 0.681 APl 0.773 AR 0.744 AR50 ...
        [gt boxes, flip, codec=msra, input 256x192, split=val2017, ...]``.

        Runs :meth:`get` first if it has not been run.
        """
        if self._stats is None:
            self.get()
        values = " ".join("%s %.3f" % (n, v) for n, v in zip(_SHORT_NAMES, self._stats))
        return "%s [%s]" % (values, _format_protocol(self.protocol))
