"""Frame sources for the Predictor: one image, an array, a folder, a video, a webcam.

Every source yields :class:`Frame` objects holding an ``H x W x 3`` uint8
**RGB** image, whatever the input was: grayscale ``(H, W)`` or ``(H, W, 1)``
is replicated to three channels, an alpha channel is dropped, 16-bit images
are scaled to 8 bits (``v / 257``, so an 8-bit image stored as 16 bits gives
back exactly the same pixels) and float images are read as ``[0, 1]`` when
their maximum is at most 1, otherwise as ``[0, 255]``.

Errors name the file (or argument) and say what is wrong in one line, so the
command line can print them as they are:

* a missing path -> :class:`FileNotFoundError`;
* a file that is not a decodable image -> :class:`ValueError`;
* a video or camera that cannot be opened -> :class:`RuntimeError`.

A folder skips unreadable files instead of stopping (one bad file in a
thousand should not lose the other results); the skipped paths and reasons
are kept in :attr:`FolderSource.skipped` and a warning names each one.
"""
import contextlib
import os
import re
import sys
import warnings

import cv2
import numpy as np

from ..data.transforms.image import to_rgb_uint8

__all__ = ["Frame", "ImageSource", "ArraySource", "FolderSource", "VideoSource",
           "open_source", "read_image", "to_rgb_uint8", "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS"]

#: file extensions a folder run picks up (lower case)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm",
                    ".pgm", ".pbm", ".jp2")
#: file extensions opened as videos
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".mpg", ".mpeg", ".wmv", ".webm",
                    ".flv", ".3gp", ".mjpg", ".mjpeg")

_WEBCAM = re.compile(r"^(?:webcam|camera|cam):(\d+)$", re.IGNORECASE)


class Frame:
    """One RGB frame and where it came from.

    Attributes
    ----------
    image : numpy.ndarray
        ``H x W x 3`` uint8 RGB.
    index : int
        Position in its source (0 for a single image).
    name : str
        File path, ``'<array>'``, or ``'<video path>#<frame index>'``.
    image_id : int or None
        COCO image id when the source knows one (a COCO-style file name such as
        ``000000001234.jpg`` gives 1234); the Predictor fills in the rest.
    file_name : str or None
        Base name of the image file (for matching a COCO annotation file).
    """

    __slots__ = ("image", "index", "name", "image_id", "file_name")

    def __init__(self, image, index=0, name="<array>", image_id=None, file_name=None):
        self.image = image
        self.index = int(index)
        self.name = name
        self.image_id = image_id
        self.file_name = file_name

    @property
    def size(self):
        """``(H, W)`` of the image."""
        return self.image.shape[:2]

    def __repr__(self):
        return "Frame(%r, index=%d, shape=%s)" % (self.name, self.index, self.image.shape)


# ----------------------------------------------------------------------------- pixels

def _coco_image_id(path):
    """1234 for ``.../000000001234.jpg`` (COCO's file naming), else None."""
    stem = os.path.splitext(os.path.basename(path))[0]
    digits = stem.rsplit("_", 1)[-1]          # COCO 2014: COCO_val2014_000000001234
    return int(digits) if digits.isdigit() else None


def read_image(path):
    """Read an image file as ``H x W x 3`` uint8 RGB.

    Grayscale, RGBA and 16-bit files are normalised like
    :func:`~gluonpose.data.transforms.image.to_rgb_uint8`.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file exists but is not an image OpenCV can decode.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError("%s: no such file" % path)
    # imread cannot open non-ASCII paths on some platforms; decoding the bytes always works
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise OSError("%s: cannot read (%s)" % (path, err.strerror or err)) from None
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise ValueError("%s: not a readable image (unknown format or corrupt file)" % path)
    return to_rgb_uint8(img, path, bgr=img.ndim == 3 and img.shape[2] >= 3)


# ----------------------------------------------------------------------------- sources

class _Source:
    """Iterable of :class:`Frame`; ``len()`` is the number of frames when known."""

    #: True for sources of one frame (an image or an array)
    single = False
    #: frames per second of a video (None otherwise)
    fps = None

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise TypeError("%s has no known length" % type(self).__name__)

    def close(self):
        """Release the underlying file or device (no-op by default)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ImageSource(_Source):
    """One image file; the file is read when iterated (errors as :func:`read_image`)."""

    single = True

    def __init__(self, path):
        self.path = os.fspath(path)
        if not os.path.isfile(self.path):
            raise FileNotFoundError("%s: no such file" % self.path)

    def __len__(self):
        return 1

    def __iter__(self):
        yield Frame(read_image(self.path), 0, self.path, _coco_image_id(self.path),
                    os.path.basename(self.path))


class ArraySource(_Source):
    """One in-memory image (numpy or ``mx.nd``), RGB channel order."""

    single = True

    def __init__(self, array, name="<array>", image_id=None):
        self.image = to_rgb_uint8(array, name)
        self.name = name
        self.image_id = image_id

    def __len__(self):
        return 1

    def __iter__(self):
        yield Frame(self.image, 0, self.name, self.image_id)


class FolderSource(_Source):
    """The image files of a folder (not recursive), in sorted file-name order.

    Unreadable files are skipped with a warning and listed in
    :attr:`skipped` as ``(path, reason)``; see the module notes.

    Raises
    ------
    FileNotFoundError
        The folder does not exist.
    ValueError
        It holds no file with an image extension.
    """

    def __init__(self, folder, extensions=IMAGE_EXTENSIONS):
        self.folder = os.fspath(folder)
        if not os.path.isdir(self.folder):
            raise FileNotFoundError("%s: no such folder" % self.folder)
        ext = tuple(e.lower() for e in extensions)
        self.files = sorted(os.path.join(self.folder, f) for f in os.listdir(self.folder)
                            if f.lower().endswith(ext)
                            and os.path.isfile(os.path.join(self.folder, f)))
        if not self.files:
            raise ValueError("%s: the folder has no image files (%s)"
                             % (self.folder, ", ".join(ext[:5]) + ", ..."))
        self.skipped = []

    def __len__(self):
        return len(self.files)

    def __iter__(self):
        self.skipped = []
        for index, path in enumerate(self.files):
            try:
                img = read_image(path)
            except (OSError, ValueError) as err:
                self.skipped.append((path, str(err)))
                warnings.warn("skipped %s" % err, stacklevel=2)
                continue
            yield Frame(img, index, path, _coco_image_id(path), os.path.basename(path))


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence OpenCV/FFmpeg's own log lines (written to fd 2) while a capture opens.

    A failed open prints e.g. ``[ WARN:0] ... can't open camera by index`` or
    ``moov atom not found`` before our one-line error; the error we raise says
    the same, once.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):        # no real fd 2 (embedded interpreters)
        yield
        return
    level = None
    try:
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    except AttributeError:
        pass
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        if level is not None:
            cv2.utils.logging.setLogLevel(level)


class VideoSource(_Source):
    """A video file or a camera (``cv2.VideoCapture``), frame by frame.

    Parameters
    ----------
    source : str or int
        Video file path, or a camera index (a webcam is the same reader).
    max_frames : int, optional
        Stop after this many frames (a webcam never ends by itself).

    Raises
    ------
    FileNotFoundError
        A video path that does not exist.
    RuntimeError
        OpenCV cannot open the file or the camera.
    """

    def __init__(self, source, max_frames=None):
        self.is_camera = isinstance(source, (int, np.integer))
        if self.is_camera:
            self.name = "webcam:%d" % int(source)
            with _quiet_native_stderr():
                self._cap = cv2.VideoCapture(int(source))
            if not self._cap.isOpened():
                self._cap.release()
                raise RuntimeError("%s: cannot open camera %d (no such device, or it is in "
                                   "use)" % (self.name, int(source)))
        else:
            self.name = os.fspath(source)
            if not os.path.isfile(self.name):
                raise FileNotFoundError("%s: no such file" % self.name)
            with _quiet_native_stderr():
                self._cap = cv2.VideoCapture(self.name)
            if not self._cap.isOpened():
                self._cap.release()
                raise RuntimeError("%s: cannot open as a video (unknown container/codec or "
                                   "corrupt file)" % self.name)
        self.max_frames = None if max_frames is None else int(max_frames)
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else None
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = count if count > 0 and not self.is_camera else None
        self.size = (int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                     int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)))

    def __len__(self):
        known = [n for n in (self.frame_count, self.max_frames) if n is not None]
        if not known:
            raise TypeError("the length of %s is not known" % self.name)
        return min(known)

    def __iter__(self):
        index = 0
        while self.max_frames is None or index < self.max_frames:
            ok, frame = self._cap.read()
            if not ok or frame is None:
                break
            yield Frame(to_rgb_uint8(frame, self.name, bgr=frame.ndim == 3), index,
                        "%s#%d" % (self.name, index), index)
            index += 1

    def close(self):
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __del__(self):
        try:
            self.close()
        except Exception:   # pragma: no cover - interpreter shutdown
            pass


def open_source(source, max_frames=None):
    """The frame source for ``source``.

    Parameters
    ----------
    source : str, os.PathLike, int, numpy.ndarray or mxnet.nd.NDArray
        * an array: one RGB image;
        * ``'webcam:N'`` (also ``camera:N``) or an int ``N``: camera ``N``;
        * a folder: its image files (:class:`FolderSource`);
        * a file with a video extension (:data:`VIDEO_EXTENSIONS`): a video;
        * any other file: an image.
    max_frames : int, optional
        Frame limit for videos and cameras.

    Returns
    -------
    ImageSource, ArraySource, FolderSource or VideoSource
    """
    if isinstance(source, _Source):
        return source
    if isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        return VideoSource(int(source), max_frames)
    if isinstance(source, np.ndarray) or hasattr(source, "asnumpy"):
        return ArraySource(source)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError("source must be an image path, a folder, a video, 'webcam:N' or an "
                        "image array; got %s" % type(source).__name__)
    path = os.fspath(source)
    cam = _WEBCAM.match(path)
    if cam:
        return VideoSource(int(cam.group(1)), max_frames)
    if os.path.isdir(path):
        return FolderSource(path)
    if not os.path.exists(path):
        raise FileNotFoundError("%s: no such file or folder" % path)
    if path.lower().endswith(VIDEO_EXTENSIONS):
        return VideoSource(path, max_frames)
    return ImageSource(path)
