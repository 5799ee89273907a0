"""Draw keypoints and skeletons with OpenCV.

Links come from a keypoint schema (``schema.skeleton``), so any keypoint set
draws without code changes. :func:`cv_plot_keypoints` keeps GluonCV's
signature for its OpenCV drawer.
"""
import cv2
import numpy as np

__all__ = ["draw_keypoints", "cv_plot_keypoints"]


def _colors(n):
    """``n`` RGB colours along the cyan-to-magenta ramp (GluonCV draws links that way)."""
    t = np.linspace(0.0, 1.0, max(n, 1))
    return [(int(255 * v), int(255 * (1 - v)), 255) for v in t]


def draw_keypoints(img, coords, confidence=None, schema="coco", keypoint_thresh=0.2, boxes=None,
                   scale=1.0, thickness=2, radius=2):
    """Draw people's skeletons on an RGB image.

    Parameters
    ----------
    img : numpy.ndarray or mxnet.nd.NDArray
        ``H x W x 3`` uint8 RGB image (not modified; a copy is returned).
    coords : array-like
        ``(N, J, 2)`` keypoints in image coordinates.
    confidence : array-like, optional
        ``(N, J)`` or ``(N, J, 1)`` scores; joints at or below
        ``keypoint_thresh`` are not drawn (nor links touching them).
    schema : KeypointSchema or str
        Gives the links (``skeleton``).
    keypoint_thresh : float
    boxes : array-like, optional
        ``(N, 4)`` ``(xmin, ymin, xmax, ymax)`` person boxes to outline.
    scale : float
        Multiply coordinates (and boxes) by this (drawing on a resized image).
    thickness, radius : int
        Line width and joint dot radius in pixels.

    Returns
    -------
    numpy.ndarray
        The annotated RGB uint8 image.
    """
    from ..data.schema import get_schema
    schema = get_schema(schema)
    out = np.ascontiguousarray(img.asnumpy() if hasattr(img, "asnumpy") else img).copy()
    pts = np.asarray(coords, dtype=np.float64).reshape(-1, schema.num_joints, 2) * scale
    if confidence is None:
        conf = np.ones(pts.shape[:2])
    else:
        conf = np.asarray(confidence, dtype=np.float64).reshape(pts.shape[:2])
    links = schema.skeleton
    colors = _colors(len(links))
    if boxes is not None:
        for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 4) * scale:
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            cv2.rectangle(out, (x0, y0), (x1, y1), (0, 200, 0), 1, cv2.LINE_AA)
    for person, score in zip(pts, conf):
        ok = score > keypoint_thresh
        for (a, b), color in zip(links, colors):
            if ok[a] and ok[b]:
                pa = tuple(int(round(v)) for v in person[a])
                pb = tuple(int(round(v)) for v in person[b])
                cv2.line(out, pa, pb, color, thickness, cv2.LINE_AA)
        for j in np.flatnonzero(ok):
            cv2.circle(out, tuple(int(round(v)) for v in person[j]), radius, (255, 255, 0), -1,
                       cv2.LINE_AA)
    return out


def cv_plot_keypoints(img, coords, confidence, class_ids=None, bboxes=None, scores=None,
                      box_thresh=0.5, keypoint_thresh=0.2, scale=1.0, schema="coco", **kwargs):
    """GluonCV-style entry point: skeletons of the persons whose box score passes.

    Parameters follow ``gluoncv.utils.viz.cv_plot_keypoints``: batch element 0
    of ``class_ids``/``bboxes``/``scores`` (when given) selects the persons
    (class 0 with score > ``box_thresh``) and their boxes are drawn. Returns
    the annotated image.
    """
    coords = np.asarray(coords.asnumpy() if hasattr(coords, "asnumpy") else coords)
    confidence = np.asarray(confidence.asnumpy() if hasattr(confidence, "asnumpy")
                            else confidence)
    boxes = None
    if bboxes is not None and scores is not None and class_ids is not None:
        def first(a):
            a = np.asarray(a.asnumpy() if hasattr(a, "asnumpy") else a)
            return a[0] if a.ndim == 3 else a
        cls, sc, bx = first(class_ids).reshape(-1), first(scores).reshape(-1), first(bboxes)
        keep = (cls == 0) & (sc > box_thresh)
        boxes = bx.reshape(-1, 4)[keep]
    return draw_keypoints(img, coords, confidence, schema=schema,
                          keypoint_thresh=keypoint_thresh, boxes=boxes, scale=scale)
