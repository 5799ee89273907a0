"""Annotated outputs of the Predictor: images (OpenCV or matplotlib) and videos.

Every file is written through :mod:`gluonpose.utils.atomic`: a video is
encoded into a temporary file that replaces the target only once the last
frame is in, so an interrupted run never leaves a truncated video under the
final name.
"""
import os

import cv2
import numpy as np

from ..utils.atomic import atomic_path

__all__ = ["draw_result", "save_annotated_image", "AnnotatedVideo", "BACKENDS",
           "identity_colour"]

#: drawing back-ends: OpenCV (``cv_plot_keypoints``) or matplotlib (``plot_keypoints``)
BACKENDS = ("cv", "mpl")


def draw_result(image, result, schema="coco", keypoint_thresh=0.2):
    """The frame with every person's skeleton and box drawn (OpenCV); RGB uint8."""
    from ..utils.viz import cv_plot_keypoints
    from ..data.schema import get_schema
    schema = get_schema(schema)
    coords, conf, boxes, _ = result.arrays(schema.num_joints)
    if not len(coords):
        return image.copy()
    ids = [getattr(p, "track_id", None) for p in result]
    tracked = [i for i, t in enumerate(ids) if t is not None]
    drawn = cv_plot_keypoints(image, coords, conf,
                              bboxes=np.delete(boxes, tracked, axis=0) if tracked else boxes,
                              box_thresh=-np.inf, keypoint_thresh=keypoint_thresh,
                              schema=schema)
    for i in tracked:                   # each identity in its own colour, with its id
        colour = identity_colour(ids[i])
        x0, y0, x1, y1 = (int(round(v)) for v in boxes[i])
        cv2.rectangle(drawn, (x0, y0), (x1, y1), colour, 2)
        cv2.putText(drawn, "id %d" % ids[i], (x0 + 2, max(y0 - 4, 12)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    return drawn


def identity_colour(track_id):
    """A fixed RGB colour per track id (golden-ratio hue steps, so neighbours differ)."""
    hue = int((int(track_id) * 0.618033988749895 % 1.0) * 180)
    hsv = np.uint8([[[hue, 220, 255]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])


def _check_backend(backend):
    if backend not in BACKENDS:
        raise ValueError("--show-backend: %r is not one of %s" % (backend, ", ".join(BACKENDS)))


def save_annotated_image(path, image, result, schema="coco", backend="cv", keypoint_thresh=0.2):
    """Write ``image`` with its poses drawn to ``path`` (format from the extension).

    ``backend='cv'`` draws with :func:`~gluonpose.utils.viz.cv_plot_keypoints`
    at the image's own size; ``'mpl'`` with
    :func:`~gluonpose.utils.viz.plot_keypoints` on a matplotlib figure of the
    same pixel size. Returns ``path``.
    """
    _check_backend(backend)
    if backend == "cv":
        drawn = draw_result(image, result, schema, keypoint_thresh)
        ext = os.path.splitext(path)[1] or ".png"
        ok, data = cv2.imencode(ext, cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
        if not ok:
            raise ValueError("%s: OpenCV cannot write this image format" % path)
        with atomic_path(path) as tmp:
            data.tofile(tmp)
        return path
    from matplotlib.figure import Figure
    from ..data.schema import get_schema
    from ..utils.viz import plot_keypoints
    schema = get_schema(schema)
    h, w = image.shape[:2]
    dpi = 100
    # a hair over the pixel size: matplotlib truncates width * dpi (253 / 100 * 100 -> 252)
    fig = Figure(figsize=((w + 0.25) / dpi, (h + 0.25) / dpi), dpi=dpi)
    ax = fig.add_axes([0, 0, 1, 1])
    coords, conf, boxes, scores = result.arrays(schema.num_joints)
    plot_keypoints(image, coords, conf, bboxes=boxes, scores=scores, box_thresh=-np.inf,
                   keypoint_thresh=keypoint_thresh, schema=schema, ax=ax, linewidth=2,
                   fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)
    return path


class AnnotatedVideo:
    """Write annotated frames to a video file, atomically (a context manager).

    Parameters
    ----------
    path : str
        ``.mp4`` (``mp4v``) or ``.avi`` (``MJPG``).
    fps : float
    schema, keypoint_thresh
        As :func:`draw_result`.
    """

    _FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG"}

    def __init__(self, path, fps, schema="coco", keypoint_thresh=0.2):
        self.path = path
        ext = os.path.splitext(path)[1].lower()
        if ext not in self._FOURCC:
            raise ValueError("%s: annotated videos are written as %s"
                             % (path, ", ".join(sorted(self._FOURCC))))
        self.fourcc = cv2.VideoWriter_fourcc(*self._FOURCC[ext])
        self.fps = float(fps or 25.0)
        self.schema = schema
        self.keypoint_thresh = keypoint_thresh
        self.frames = 0
        self._ctx = None
        self._writer = None

    def __enter__(self):
        self._ctx = atomic_path(self.path)
        self._tmp = self._ctx.__enter__()
        return self

    def write(self, image, result):
        """Draw ``result`` on the RGB ``image`` and append it."""
        if self._writer is None:
            h, w = image.shape[:2]
            self._writer = cv2.VideoWriter(self._tmp, self.fourcc, self.fps, (w, h))
            if not self._writer.isOpened():
                raise RuntimeError("%s: OpenCV cannot write this video format here" % self.path)
            self._size = (h, w)
        if image.shape[:2] != self._size:      # a camera may change mode: keep one size
            image = cv2.resize(image, self._size[::-1])
        drawn = draw_result(image, result, self.schema, self.keypoint_thresh)
        self._writer.write(cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
        self.frames += 1

    def __exit__(self, *exc):
        if self._writer is not None:
            self._writer.release()
        if exc[0] is None and self.frames == 0:
            err = RuntimeError("%s: the source gave no frame to write" % self.path)
            self._ctx.__exit__(RuntimeError, err, None)     # removes the temporary file
            raise err
        return self._ctx.__exit__(*exc)
