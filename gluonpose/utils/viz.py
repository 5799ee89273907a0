"""Draw keypoints and skeletons with OpenCV or matplotlib.

Links come from a keypoint schema (``schema.skeleton``), so any keypoint set
draws without code changes; link ``k`` of ``L`` gets colour ``cool(k / (L-1))``
(cyan to magenta, as GluonCV). :func:`cv_plot_keypoints` (OpenCV, returns the
image) and :func:`plot_keypoints` (matplotlib, returns the axes) keep
GluonCV's signatures, so GluonCV demo code runs unchanged.
"""
import cv2
import numpy as np

from ..data.transforms.boxes import _np, _person_boxes

__all__ = ["draw_keypoints", "cv_plot_keypoints", "plot_keypoints"]


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
    """GluonCV's ``cv_plot_keypoints``: skeletons and person boxes with OpenCV.

    Parameters follow ``gluoncv.utils.viz.cv_plot_keypoints``: ``coords``
    ``(N, J, 2)``, ``confidence`` ``(N, J, 1)``; of the detector output
    (batch element 0 of ``class_ids``/``bboxes``/``scores``, when given) the
    boxes of class 0 with ``score >= box_thresh`` are outlined; ``scale``
    multiplies coordinates (drawing on a resized frame). Returns the annotated
    RGB image (a copy; the input is not modified).
    """
    coords = np.asarray(coords.asnumpy() if hasattr(coords, "asnumpy") else coords)
    confidence = np.asarray(confidence.asnumpy() if hasattr(confidence, "asnumpy")
                            else confidence)
    boxes, _ = _person_boxes(class_ids, bboxes, scores, box_thresh)
    return draw_keypoints(img, coords, confidence, schema=schema,
                          keypoint_thresh=keypoint_thresh, boxes=boxes, scale=scale)


def plot_keypoints(img, coords, confidence, class_ids=None, bboxes=None, scores=None,
                   box_thresh=0.5, keypoint_thresh=0.2, schema="coco", ax=None,
                   reverse_rgb=False, linewidth=3.0, fontsize=12, **kwargs):
    """Draw skeletons (and person boxes) with matplotlib, GluonCV's ``plot_keypoints``.

    Parameters
    ----------
    img : numpy.ndarray or mxnet.nd.NDArray
        ``H x W x 3`` RGB image.
    coords : array-like
        ``(N, J, 2)`` keypoints in image coordinates.
    confidence : array-like
        ``(N, J, 1)`` (or ``(N, J)``) joint scores; links whose two ends are
        above ``keypoint_thresh`` are drawn.
    class_ids, bboxes, scores : array-like, optional
        Detector output as GluonCV gives it (batch element 0 is used):
        boxes of class 0 with ``score >= box_thresh`` are outlined.
    box_thresh, keypoint_thresh : float
    schema : str or KeypointSchema
        Gives the links (COCO's 16 by default, the ones GluonCV draws).
    ax : matplotlib.axes.Axes, optional
        Draw here (default: a new figure from ``pyplot``).
    reverse_rgb : bool
        The image is BGR.
    linewidth, fontsize : float
        Line width of links and boxes; size of the box labels.
    **kwargs
        Accepted for GluonCV compatibility (``plot_bbox`` options); unused.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib import cm
    from ..data.schema import get_schema
    schema = get_schema(schema)
    if ax is None:
        import matplotlib.pyplot as plt
        ax = plt.figure().add_subplot(1, 1, 1)
    image = _np(img)
    if reverse_rgb:
        image = image[:, :, ::-1]
    ax.imshow(image.astype(np.uint8))
    pts = _np(coords).astype(np.float64).reshape(-1, schema.num_joints, 2)
    conf = _np(confidence).astype(np.float64).reshape(pts.shape[:2])
    boxes, box_scores = _person_boxes(class_ids, bboxes, scores, box_thresh)
    import matplotlib.patches as patches
    for box, score in zip(boxes, box_scores):
        ax.add_patch(patches.Rectangle((box[0], box[1]), box[2] - box[0], box[3] - box[1],
                                       fill=False, edgecolor=(0.0, 0.8, 0.0),
                                       linewidth=linewidth))
        ax.text(box[0], box[1] - 2, "person %.3f" % score, fontsize=fontsize, color="white",
                bbox=dict(facecolor=(0.0, 0.8, 0.0), alpha=0.5))
    links = np.asarray(schema.skeleton, np.int64).reshape(-1, 2)
    shades = np.linspace(0, 1, max(len(links), 1))
    visible = conf > keypoint_thresh
    for person, ok in zip(pts, visible):
        for (a, b), shade in zip(links, shades):
            if ok[a] and ok[b]:
                ax.plot(person[[a, b], 0], person[[a, b], 1], linewidth=linewidth, alpha=0.7,
                        color=cm.cool(shade))
        ax.scatter(person[ok, 0], person[ok, 1], s=20, zorder=3)
    ax.set_axis_off()
    return ax
