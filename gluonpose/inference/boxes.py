"""Person boxes for the top-down Predictor.

A box provider is called with a :class:`~gluonpose.inference.sources.Frame`
and returns ``(boxes, scores)``: float64 ``(N, 4)`` ``(xmin, ymin, xmax,
ymax)`` boxes in the frame's pixels and float64 ``(N,)`` scores. ``N = 0`` is
a frame with no people (an empty result downstream, not an error).

Providers:

* :class:`WholeImageBoxes` -- the whole frame is one person (cropped
  single-person photos, or when no detector is available);
* :class:`FixedBoxes` -- boxes the caller passes;
* :class:`DetectionFileBoxes` -- a COCO-format detection results json, looked
  up by image id (or by file name through a COCO annotation file);
* :class:`DetectorBoxes` -- a GluonCV detector (a block or a model-zoo name).

Box convention (GluonCV's, used by the whole package): a COCO ``[x, y, w, h]``
becomes ``(x, y, x + w - 1, y + h - 1)`` clipped to the image, the crop width
being ``xmax - xmin``.
"""
import os

import numpy as np

from ..data.mscoco.keypoints import xywh_to_xyxy_clipped

__all__ = ["WholeImageBoxes", "FixedBoxes", "DetectionFileBoxes", "DetectorBoxes",
           "parse_boxes", "get_box_provider"]

_EMPTY = (np.zeros((0, 4), np.float64), np.zeros((0,), np.float64))


def _as_boxes(boxes, scores, box_format, name="boxes"):
    boxes = np.asarray(boxes.asnumpy() if hasattr(boxes, "asnumpy") else boxes,
                       dtype=np.float64)
    if boxes.size == 0:
        return _EMPTY[0].copy(), _EMPTY[1].copy()
    if boxes.ndim == 1:
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError("%s: expected (N, 4) boxes, got shape %s" % (name, boxes.shape))
    if not np.isfinite(boxes).all():
        raise ValueError("%s: boxes must be finite numbers" % name)
    if box_format == "xywh":
        if (boxes[:, 2:] <= 0).any():
            raise ValueError("%s: box width and height must be > 0" % name)
    elif box_format == "xyxy":
        if (boxes[:, 2:] <= boxes[:, :2]).any():
            raise ValueError("%s: xyxy boxes need xmax > xmin and ymax > ymin" % name)
    else:
        raise ValueError("box_format must be 'xyxy' or 'xywh', got %r" % (box_format,))
    if scores is None:
        scores = np.ones(len(boxes), np.float64)
    else:
        scores = np.asarray(scores.asnumpy() if hasattr(scores, "asnumpy") else scores,
                            dtype=np.float64).reshape(-1)
        if scores.shape[0] != boxes.shape[0]:
            raise ValueError("%s: %d boxes but %d scores" % (name, len(boxes), len(scores)))
    return boxes, scores


def _to_xyxy(boxes, box_format, size):
    """Frame-clipped xyxy boxes; drops boxes that fall outside the frame."""
    h, w = size
    if box_format == "xywh":
        _, out = xywh_to_xyxy_clipped(boxes, w, h)
    else:
        out = np.minimum(np.maximum(boxes, 0), [w - 1, h - 1, w - 1, h - 1])
    keep = (out[:, 2] > out[:, 0]) & (out[:, 3] > out[:, 1])
    return out, keep


def parse_boxes(text):
    """``'x,y,w,h;x,y,w,h'`` (COCO order, pixels) -> float64 ``(N, 4)`` array.

    Raises
    ------
    ValueError
        Naming ``--boxes`` and the offending part.
    """
    parts = [p.strip() for p in str(text).replace("|", ";").split(";") if p.strip()]
    if not parts:
        raise ValueError("--boxes: no box given (expected x,y,w,h;x,y,w,h...)")
    out = []
    for part in parts:
        try:
            vals = [float(v) for v in part.replace(" ", ",").split(",") if v]
        except ValueError:
            raise ValueError("--boxes: %r is not four numbers x,y,w,h" % part) from None
        if len(vals) != 4:
            raise ValueError("--boxes: %r is not four numbers x,y,w,h" % part)
        if vals[2] <= 0 or vals[3] <= 0:
            raise ValueError("--boxes: %r has a width or height <= 0" % part)
        out.append(vals)
    return np.asarray(out, np.float64)


class WholeImageBoxes:
    """The whole frame as one person box with score 1."""

    def __call__(self, frame):
        h, w = frame.size
        return np.array([[0.0, 0.0, w - 1.0, h - 1.0]]), np.ones(1)

    def describe(self):
        return "whole image"


class FixedBoxes:
    """The same caller boxes for every frame.

    Parameters
    ----------
    boxes : array-like
        ``(N, 4)`` boxes.
    scores : array-like, optional
        ``(N,)`` box scores (default 1).
    box_format : {'xyxy', 'xywh'}
        ``(xmin, ymin, xmax, ymax)`` (GluonCV's detector output) or COCO's
        ``(x, y, w, h)``.
    """

    def __init__(self, boxes, scores=None, box_format="xyxy"):
        self.box_format = box_format
        self.boxes, self.scores = _as_boxes(boxes, scores, box_format)

    def __call__(self, frame):
        if not len(self.boxes):
            return _EMPTY[0].copy(), _EMPTY[1].copy()
        out, keep = _to_xyxy(self.boxes, self.box_format, frame.size)
        return out[keep], self.scores[keep]

    def describe(self):
        return "%d caller box(es)" % len(self.boxes)


class DetectionFileBoxes:
    """Boxes from a COCO-format detection results json.

    The file is a list of ``{'image_id', 'category_id', 'bbox': [x, y, w, h],
    'score'}`` (what ``COCOeval`` reads, and what detectors' COCO evaluation
    writes). Frames are matched by image id:

    * with ``ann_file`` (a COCO annotation json), a frame's file name is looked
      up in its ``images`` list to get the id (so any file naming works);
    * otherwise the id comes from the frame: a COCO-style file name
      (``000000001234.jpg`` -> 1234), or the frame index of a video.

    A frame with no (kept) detection gets no boxes: an empty result.

    Parameters
    ----------
    det_file : str or list of dict
        The json path (or the loaded list).
    score_thresh : float
        Keep detections with ``score >= score_thresh``.
    category_id : int or None
        Keep this category only (1, COCO's person); ``None`` keeps all.
    ann_file : str, optional
        COCO annotation json mapping file names to image ids.
    """

    def __init__(self, det_file, score_thresh=0.0, category_id=1, ann_file=None):
        from ..data.mscoco.detection_boxes import _load_detections
        self.name, ids, cats, xywh, scores = _load_detections(det_file)
        keep = scores >= float(score_thresh)
        if category_id is not None:
            keep &= cats == int(category_id)
        ids, xywh, scores = ids[keep], xywh[keep], scores[keep]
        order = np.argsort(ids, kind="stable")
        self._ids, self._xywh, self._scores = ids[order], xywh[order], scores[order]
        self.file_ids = None
        if ann_file is not None:
            self.file_ids = _file_name_ids(ann_file)

    def image_id(self, frame):
        """The image id used for ``frame`` (None when it has none)."""
        if self.file_ids is not None and frame.file_name is not None:
            found = self.file_ids.get(frame.file_name)
            if found is not None:
                return found
        return frame.image_id

    def __call__(self, frame):
        img_id = self.image_id(frame)
        if img_id is None:
            return _EMPTY[0].copy(), _EMPTY[1].copy()
        lo = np.searchsorted(self._ids, img_id, side="left")
        hi = np.searchsorted(self._ids, img_id, side="right")
        if hi <= lo:
            return _EMPTY[0].copy(), _EMPTY[1].copy()
        out, keep = _to_xyxy(self._xywh[lo:hi], "xywh", frame.size)
        return out[keep], self._scores[lo:hi][keep]

    def describe(self):
        return "detections from %s" % os.path.basename(str(self.name))


def _file_name_ids(ann_file):
    """``{file_name: image_id}`` from a COCO annotation json."""
    from ..data.mscoco.keypoints import _read_json
    data = _read_json(os.fspath(ann_file), "annotation file")
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, list):
        raise ValueError("%s: not a COCO annotation file (no 'images' list)" % ann_file)
    out = {}
    for img in images:
        if isinstance(img, dict) and "file_name" in img and "id" in img:
            out[os.path.basename(str(img["file_name"]))] = int(img["id"])
    return out


class DetectorBoxes:
    """Person boxes from a GluonCV-style detector.

    The detector gets the frame resized so its short side is ``short`` (the
    long side at most ``max_size``), normalised with ImageNet mean/std, as
    GluonCV's ``presets.{yolo,ssd,rcnn}.load_test`` prepare it; it must return
    GluonCV's ``(class_ids (1, M, 1), scores (1, M, 1), boxes (1, M, 4))``.
    Detections of ``person_class`` with ``score >= thresh`` are kept (ids < 0
    are padding) and their boxes scaled back to the frame.

    Parameters
    ----------
    detector : str or mxnet.gluon.Block
        A block, or a GluonCV model-zoo name (e.g. ``'yolo3_mobilenet1.0_coco'``),
        built with its pretrained weights and reset to the person class only
        (GluonCV's demo does the same).
    ctx : mxnet.Context
    thresh : float
        Minimum detection score.
    person_class : int
        Class index of "person" in the detector's output (0 for GluonCV's COCO
        detectors and after ``reset_class(['person'])``).
    short, max_size : int
        Detector input size (GluonCV's demo: 512 / 1024).

    Raises
    ------
    RuntimeError
        ``detector`` is a name and gluoncv is not installed or the weights
        cannot be fetched (the message suggests ``--det-file`` / ``--boxes``).
    """

    def __init__(self, detector, ctx=None, thresh=0.5, person_class=0, short=512,
                 max_size=1024, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)):
        import mxnet as mx
        self.ctx = ctx or mx.cpu()
        self.name = detector if isinstance(detector, str) else type(detector).__name__
        if isinstance(detector, str):
            detector = _gluoncv_detector(detector, self.ctx)
        self.net = detector
        self.thresh = float(thresh)
        self.person_class = int(person_class)
        self.short, self.max_size = int(short), int(max_size)
        self.mean = np.asarray(mean, np.float32).reshape(1, 1, 3)
        self.std = np.asarray(std, np.float32).reshape(1, 1, 3)

    def _resize(self, img):
        h, w = img.shape[:2]
        ratio = min(self.short / min(h, w), self.max_size / max(h, w))
        nh, nw = max(int(round(h * ratio)), 1), max(int(round(w * ratio)), 1)
        import cv2
        resized = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        return resized, (w / nw, h / nh)

    def __call__(self, frame):
        import mxnet as mx
        resized, (fx, fy) = self._resize(frame.image)
        x = ((resized.astype(np.float32) / 255 - self.mean) / self.std).transpose(2, 0, 1)
        ids, scores, boxes = self.net(mx.nd.array(x[None], ctx=self.ctx))
        ids = ids[0].asnumpy().reshape(-1)
        scores = scores[0].asnumpy().reshape(-1).astype(np.float64)
        boxes = boxes[0].asnumpy().reshape(-1, 4).astype(np.float64)
        keep = (ids == self.person_class) & (scores >= self.thresh) & (ids >= 0)
        boxes = boxes[keep] * np.array([fx, fy, fx, fy])
        out, ok = _to_xyxy(boxes, "xyxy", frame.size)
        return out[ok], scores[keep][ok]

    def describe(self):
        return "detector %s" % self.name


def _gluoncv_detector(name, ctx):
    hint = "; pass person boxes with --det-file (COCO detections json) or --boxes instead"
    try:
        from gluoncv import model_zoo as gcv_zoo
    except ImportError:
        raise RuntimeError("--detector %s: gluoncv is not installed%s" % (name, hint)) from None
    try:
        net = gcv_zoo.get_model(name, pretrained=True, ctx=ctx)
    except ValueError as err:
        raise RuntimeError("--detector %s: not a GluonCV model (%s)%s"
                           % (name, str(err).splitlines()[0][:120], hint)) from None
    except Exception as err:  # download errors come in many types (URLError, OSError, ...)
        raise RuntimeError("--detector %s: cannot load its pretrained weights (%s)%s"
                           % (name, str(err).splitlines()[0][:120] if str(err) else
                              type(err).__name__, hint)) from None
    if hasattr(net, "reset_class"):
        net.reset_class(["person"], reuse_weights=["person"])
    return net


def get_box_provider(boxes=None, det_file=None, detector=None, ann_file=None,
                     box_format="xyxy", det_score_thresh=0.0, box_thresh=0.5, ctx=None):
    """The provider for one set of options (at most one source of boxes).

    ``boxes`` > ``det_file`` > ``detector`` > whole image. Passing more than
    one is an error (it would be ambiguous which one is used).
    """
    given = [n for n, v in (("boxes", boxes), ("det_file", det_file), ("detector", detector))
             if v is not None]
    if len(given) > 1:
        raise ValueError("give only one source of person boxes, got %s" % " and ".join(given))
    if boxes is not None:
        return boxes if callable(boxes) else FixedBoxes(boxes, box_format=box_format)
    if det_file is not None:
        return DetectionFileBoxes(det_file, score_thresh=det_score_thresh, ann_file=ann_file)
    if detector is not None:
        return DetectorBoxes(detector, ctx=ctx, thresh=box_thresh)
    return WholeImageBoxes()
