"""The one-call top-down pose Predictor.

``Predictor(...)(source)`` runs the whole top-down pipeline on an image path,
an array, a folder, a video or a webcam:

1. **decode** the frame to ``H x W x 3`` uint8 RGB (grayscale, RGBA and 16-bit
   inputs are normalised, see :mod:`gluonpose.inference.sources`);
2. **detect**: person boxes from a GluonCV detector, a COCO detection json,
   caller boxes, or the whole image (:mod:`gluonpose.inference.boxes`);
3. **crop** every box of the frame into one batch (the validation transform's
   affine, :class:`~gluonpose.data.transforms.crop.BatchCropper`);
4. **network**: one forward pass for all people of the frame (the plain and
   the mirrored crops together with ``flip_test``), split into chunks only
   above ``batch_size`` people;
5. **decode** heatmaps with either codec to original image coordinates;
6. **NMS**: rescore (mean confident-joint score x box score) and drop
   duplicates with OKS-NMS (:func:`gluonpose.utils.pose_nms.oks_nms`).

Per-stage wall times of the last frame are kept in
:attr:`Predictor.last_timings` (seconds); the network stage waits for the
result, so the times add up to the frame's latency.
"""
import os
import time
import warnings
from collections import OrderedDict

import mxnet as mx
import numpy as np

from ..data.schema import get_schema
from .boxes import get_box_provider
from .crop import BatchCropper
from .results import FrameResult, PersonPose, instance_scores, write_coco_results
from .sources import Frame, open_source, to_rgb_uint8

__all__ = ["Predictor", "STAGES"]

#: stage names of :attr:`Predictor.last_timings`, in pipeline order
STAGES = ("decode_image", "detect", "crop", "network", "decode_heatmaps", "nms")


def _load_net(model, pretrained, params_file, ctx, schema):
    """An initialised network on ``ctx``."""
    if isinstance(model, mx.gluon.Block):
        if params_file:
            _load_params(model, params_file, ctx, type(model).__name__)
        return model
    from ..model_zoo import get_model
    if params_file:
        net = get_model(model, num_joints=schema.num_joints)
        _load_params(net, params_file, ctx, model)
        return net
    if pretrained is None:
        pretrained = True
    if pretrained:
        return get_model(model, pretrained=pretrained, ctx=ctx, num_joints=schema.num_joints)
    net = get_model(model, num_joints=schema.num_joints)
    warnings.warn("Predictor: %s has random weights (pretrained=False and no params_file); "
                  "its keypoints are meaningless" % model, stacklevel=3)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    return net


def _load_params(net, params_file, ctx, model):
    """Load weights; a file of another model or joint count is one ``ValueError`` line."""
    path = _params_path(params_file)
    try:
        net.load_parameters(path, ctx=ctx)
    except (AssertionError, mx.base.MXNetError, KeyError, IndexError) as err:
        # MXNet's message lists every parameter over several lines: keep its first line
        why = next((line.strip() for line in str(err).splitlines() if line.strip()),
                   type(err).__name__)
        raise ValueError("%s: these weights do not fit %s (%s)"
                         % (params_file, model, why[:160])) from None


def _params_path(path):
    path = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if path.endswith(".ckpt.json"):         # a checkpoint manifest: its weights file
        path = path[:-len(".ckpt.json")] + ".params"
    if not os.path.isfile(path):
        raise FileNotFoundError("%s: params file not found" % path)
    return path


def _track(result, frame, tracker, smoother):
    """Set ``track_id`` on every person of a frame (and smooth their keypoints)."""
    ids = tracker.update(list(result), frame=frame.image, frame_index=frame.index)
    for person, track_id in zip(result, ids):
        person.track_id = int(track_id)
    if smoother is not None:
        for person in result:
            person.keypoints = smoother.smooth(person.track_id, person.keypoints).astype(
                person.keypoints.dtype)
        # a track the tracker dropped will not come back: free its filter
        for track_id in [t for t in smoother if t not in tracker.tracks]:
            smoother.drop(track_id)


def _chain(items, functions):
    """Apply ``functions`` in turn to every item, one item at a time (the sequential path)."""
    for item in items:
        for fn in functions:
            item = fn(item)
        yield item


class Predictor:
    """Top-down multi-person pose estimation in one call.

    A bottom-up model (``spec.kind == 'bottom_up'``, OpenPose) makes a
    :class:`~gluonpose.inference.bottom_up.BottomUpPredictor` instead: the same
    sources, results and drawing, no boxes.

    Parameters
    ----------
    model : str or mxnet.gluon.Block
        A model-zoo name or a network (initialised, ``(N, 3, H, W) -> (N, J,
        h, w)`` heatmaps).
    pretrained : bool, str or None
        Published weights (``True``), a hashtag (``'ccd24037'``), or random
        weights (``False``, for tests and timing). ``None`` (default):
        published weights unless ``params_file`` is given.
    params_file : str, optional
        A ``.params`` file (or a checkpoint ``.ckpt.json``) to load.
    ctx : mxnet.Context, optional
        Default ``mx.cpu()``.
    input_size : tuple of int or str, optional
        Network input ``(H, W)`` (``'256,192'`` also accepted); default the
        model spec's (256x192 for GluonCV's nets, 320x256 for alpha_pose).
    codec : {'msra', 'unbiased'} or HeatmapCodec
        Heatmap decoder.
    sigma : float, optional
        Codec sigma (the unbiased codec's blur); default the sigma the decoded
        output was trained with (its spec's, else 2).
    flip_test : bool
        Average with the mirrored crops' heatmaps (GluonCV's shift).
    detector : str or mxnet.gluon.Block, optional
        GluonCV detector (see :class:`~gluonpose.inference.boxes.DetectorBoxes`).
    det_file : str or list, optional
        COCO-format detections json (see
        :class:`~gluonpose.inference.boxes.DetectionFileBoxes`).
    ann_file : str, optional
        COCO annotation json mapping file names to image ids (with ``det_file``).
    boxes : array-like or callable, optional
        Default caller boxes for every frame (``box_format``), or a provider
        ``frame -> (boxes, scores)``. With no box source the whole image is one
        person.
    box_format : {'xyxy', 'xywh'}
        Format of caller boxes.
    box_thresh : float
        Detector score threshold (``detector`` only).
    det_score_thresh : float
        Detection-file score threshold.
    keypoint_thresh : float
        Joints above this confidence form the pose score (GluonCV's
        ``in_vis_thresh``, 0.2).
    oks_nms_thresh : float or None
        OKS-NMS threshold (0.9, Simple Baselines); ``None`` disables it.
    pose_nms : {None, 'none', 'oks', 'soft-oks', 'parametric'}
        Pose NMS per frame (:func:`gluonpose.utils.pose_nms.apply_pose_nms`);
        ``None``: ``'oks'`` when ``oks_nms_thresh`` is set, else ``'none'``.
        ``oks_nms_thresh`` is the threshold of ``'oks'`` (0.9 when ``None``).
        ``'parametric'`` (AlphaPose) merges duplicates and rescores them.
    schema : str or KeypointSchema
        Keypoint set: flip permutation, OKS sigmas, drawing (default: the
        model spec's, COCO-17 for GluonCV's nets).
    batch_size : int
        Most crops per forward pass; frames with more people run in chunks.
    mean, std : sequence of float, optional
        Input normalisation; default the model spec's (ImageNet's for
        GluonCV's nets, AlphaPose's mean without std for FastPose).
    hybridize : bool
        Hybridize the network (a ``HybridBlock`` only).
    progress : bool
        tqdm bar in :meth:`predict_source`.

    Attributes
    ----------
    last_timings : OrderedDict
        Seconds per stage (:data:`STAGES`) of the last frame.
    results : list of PersonPose
        Every pose predicted since construction (or :meth:`reset`), for
        :meth:`write_coco_results`.
    skipped : list of (str, str)
        Files the last folder run could not read, with the reason.

    Examples
    --------
    >>> pred = Predictor('simple_pose_resnet18_v1b', params_file='net.params',
    ...                  input_size=(128, 96))                       # doctest: +SKIP
    >>> people = pred('photo.jpg')                                   # doctest: +SKIP
    >>> people[0].keypoints.shape                                    # doctest: +SKIP
    (17, 3)
    >>> pred.write_coco_results('results.json')                      # doctest: +SKIP
    """

    def __new__(cls, model="simple_pose_resnet18_v1b", *args, **kwargs):
        # a bottom-up model (spec.kind == 'bottom_up') gets the box-free subclass
        if cls is Predictor:
            from ..model_zoo import spec_of
            spec = spec_of(model, model if isinstance(model, str) else None)
            if getattr(spec, "kind", "top_down") == "bottom_up":
                from .bottom_up import BottomUpPredictor
                cls = BottomUpPredictor
        return super().__new__(cls)

    def __init__(self, model="simple_pose_resnet18_v1b", pretrained=None, params_file=None,
                 ctx=None, input_size=None, codec="msra", sigma=None, flip_test=False,
                 detector=None, det_file=None, ann_file=None, boxes=None, box_format="xyxy",
                 box_thresh=0.5, det_score_thresh=0.0, keypoint_thresh=0.2,
                 oks_nms_thresh=0.9, schema=None, batch_size=64,
                 mean=None, std=None, hybridize=True, progress=True, pose_nms=None):
        from ..codecs import get_codec
        from ..engine.config import parse_size
        from ..model_zoo import spec_of
        self.ctx = ctx or mx.cpu()
        if schema is None:
            schema = spec_of(model, model if isinstance(model, str) else None).schema
        self.schema = get_schema(schema)
        self.net = _load_net(model, pretrained, params_file, self.ctx, self.schema)
        #: the model's contract: default input size and normalisation, decoded output
        self.spec = spec_of(self.net, model if isinstance(model, str) else None)
        self.input_size = parse_size(self.spec.input_size if input_size is None else input_size,
                                     "input_size")
        self.codec = get_codec(codec, image_size=self.input_size,
                               heatmap_size=self.spec.heatmap_size(self.input_size),
                               sigma=self.spec.decode_sigma(2.0) if sigma is None else sigma)
        mean = self.spec.mean if mean is None else mean
        std = self.spec.std if std is None else std
        self.flip_test = bool(flip_test)
        self.keypoint_thresh = float(keypoint_thresh)
        self.oks_nms_thresh = None if oks_nms_thresh is None else float(oks_nms_thresh)
        from ..utils.pose_nms import POSE_NMS_METHODS
        if pose_nms is not None and pose_nms not in POSE_NMS_METHODS:
            raise ValueError("pose_nms must be one of %s, got %r"
                             % (", ".join(POSE_NMS_METHODS), pose_nms))
        self.pose_nms = pose_nms or ("oks" if self.oks_nms_thresh is not None else "none")
        if int(batch_size) < 1:
            raise ValueError("batch_size must be >= 1, got %r" % (batch_size,))
        self.batch_size = int(batch_size)
        self.progress = bool(progress)
        self.cropper = BatchCropper(self.input_size, mean, std)
        self.boxes = get_box_provider(boxes=boxes, det_file=det_file, detector=detector,
                                      ann_file=ann_file, box_format=box_format,
                                      det_score_thresh=det_score_thresh,
                                      box_thresh=box_thresh, ctx=self.ctx)
        self._finish_init(model, hybridize)

    def _finish_init(self, model, hybridize):
        """What every predictor does last: hybridize, name, empty timings and results."""
        if hybridize and isinstance(self.net, mx.gluon.HybridBlock):
            self.net.hybridize()
        self.model_name = model if isinstance(model, str) else type(model).__name__
        self.last_timings = OrderedDict((s, 0.0) for s in STAGES)
        self.skipped = []
        self.reset()

    # ----------------------------------------------------------------------------- state
    def reset(self):
        """Forget accumulated results (and restart automatic image ids at 0)."""
        self.results = []
        self._file_names = {}
        self._next_id = 0

    def _image_id(self, frame):
        finder = getattr(self.boxes, "image_id", None)
        img_id = finder(frame) if finder is not None else frame.image_id
        if img_id is None:
            img_id = self._next_id
            self._next_id += 1
        return int(img_id)

    # ----------------------------------------------------------------------------- core
    def _forward(self, batch):
        """Heatmaps of a batch (numpy), with the flip test if enabled; one pass per chunk."""
        outs = []
        for start in range(0, batch.shape[0], self.batch_size):
            x = batch[start:start + self.batch_size]
            n = x.shape[0]
            if self.flip_test:
                hm = self.spec.decoded(self.net(mx.nd.concat(x, mx.nd.flip(x, axis=3), dim=0)))
                from ..codecs import flip_merge
                hm = flip_merge(hm[:n], hm[n:], self.schema.flip_index,
                                shift=self.spec.flip_shift)
            else:
                hm = self.spec.decoded(self.net(x))
            outs.append(hm.asnumpy())       # waits: the stage time is the real compute
        return outs[0] if len(outs) == 1 else np.concatenate(outs)

    def _run_frame(self, frame, boxes=None, scores=None, box_format="xyxy", decode_time=0.0):
        """Everything after decoding for one frame; returns a :class:`FrameResult`."""
        return self._infer(self._prepare(frame, boxes, scores, box_format, decode_time))

    def _prepare(self, frame, boxes=None, scores=None, box_format="xyxy", decode_time=0.0):
        """The work before the network: image id, person boxes and the crop batch.

        Split from :meth:`_infer` so the pipelined video path can prepare frame
        ``t + 1`` while the network runs on frame ``t``.
        """
        times = OrderedDict((s, 0.0) for s in STAGES)
        times["decode_image"] = decode_time
        clock = time.perf_counter
        t0 = clock()
        img_id = self._image_id(frame)
        if boxes is not None:
            from .boxes import FixedBoxes
            boxes, scores = FixedBoxes(boxes, scores, box_format)(frame)
        else:
            boxes, scores = self.boxes(frame)
        t1 = clock()
        times["detect"] = t1 - t0
        result = FrameResult([], img_id, frame.name, frame.index, frame.file_name)
        if frame.file_name:
            self._file_names[img_id] = frame.file_name
        batch = center = scale = None
        if len(boxes):
            batch, center, scale = self.cropper(frame.image, boxes, self.ctx)
            times["crop"] = clock() - t1
        return dict(frame=frame, times=times, result=result, boxes=boxes, scores=scores,
                    batch=batch, center=center, scale=scale)

    def _infer(self, state):
        """The network, heatmap decoding and pose NMS of a frame from :meth:`_prepare`."""
        clock = time.perf_counter
        times, result, boxes, scores = (state[k] for k in ("times", "result", "boxes", "scores"))
        if state["batch"] is not None:
            center, scale = state["center"], state["scale"]
            t2 = clock()
            heat = self._forward(state["batch"])
            t3 = clock()
            coords, maxvals = self.codec.decode(heat, center, scale)
            t4 = clock()
            pose_scores = instance_scores(maxvals, scores, self.keypoint_thresh)
            kpts = np.concatenate([coords, maxvals], axis=2).astype(np.float32)
            from ..utils.pose_nms import apply_pose_nms
            # crop-box area (the unscaled, aspect-fixed box), as gluonpose eval uses
            area = np.prod(scale.astype(np.float64) / 1.25, axis=1)
            keep, kpts, pose_scores = apply_pose_nms(
                self.pose_nms, kpts, pose_scores, area, boxes=boxes, sigmas=self.schema,
                oks_thresh=0.9 if self.oks_nms_thresh is None else self.oks_nms_thresh,
                rescore=lambda conf, k: instance_scores(conf, scores[k], self.keypoint_thresh))
            result.extend(PersonPose(kp, boxes[i].copy(), scores[i], sc, result.image_id)
                          for i, kp, sc in zip(keep.tolist(), kpts, pose_scores))
            times.update(network=t3 - t2, decode_heatmaps=t4 - t3, nms=clock() - t4)
        self.results.extend(result)
        self.last_timings = times
        return result

    # ----------------------------------------------------------------------------- API
    def predict(self, image, boxes=None, scores=None, box_format="xyxy", image_id=None):
        """Poses of one image.

        Parameters
        ----------
        image : str, numpy.ndarray or mxnet.nd.NDArray
            An image file, or an RGB array (any of the layouts and dtypes of
            :func:`~gluonpose.data.transforms.image.to_rgb_uint8`).
        boxes : array-like, optional
            ``(N, 4)`` person boxes for this image (overrides the predictor's
            box source); an empty array means nobody (empty result).
        scores : array-like, optional
            ``(N,)`` box scores (default 1).
        box_format : {'xyxy', 'xywh'}
        image_id : int, optional
            Id recorded in the results (default: from the file name, else a
            running number).

        Returns
        -------
        FrameResult
            The people, highest pose score first (a list of :class:`PersonPose`).
        """
        t0 = time.perf_counter()
        if isinstance(image, (str, os.PathLike)):
            src = open_source(image)
            if not src.single:
                src.close()
                raise ValueError("%s: predict() takes one image; use predict_source() (or "
                                 "call the predictor) for folders and videos" % os.fspath(image))
            frame = next(iter(src))
        else:
            frame = Frame(to_rgb_uint8(image), 0, "<array>")
        if image_id is not None:
            frame.image_id = int(image_id)
        return self._run_frame(frame, boxes, scores, box_format, time.perf_counter() - t0)

    def predict_source(self, source, max_frames=None, keep_images=False, progress=None,
                       track=False, smooth=False, tracker=None, smoother=None,
                       pipeline=False, queue_size=2, render=None):
        """Poses of every frame of a source, frame by frame (a generator).

        Parameters
        ----------
        source : str, int or array
            See :func:`~gluonpose.inference.sources.open_source`: an image, a
            folder, a video, ``'webcam:N'`` or an array.
        max_frames : int, optional
            Stop after this many frames (videos and cameras).
        keep_images : bool
            Attach the RGB frame to each result (for drawing).
        progress : bool, optional
            tqdm bar (default: the predictor's ``progress``).
        track : bool
            Give every person a ``track_id`` that persists across frames
            (:class:`~gluonpose.tracking.PoseTracker`, PoseFlow's defaults,
            on the predictor's schema; frame order is the source's).
        smooth : bool
            Also filter each track's keypoints over time
            (:class:`~gluonpose.tracking.TrackSmoother`, One-Euro; implies
            ``track``). The filter runs at the source's frame rate with
            ``beta=0.05``.
        tracker, smoother : optional
            Your own configured tracker / smoother (imply ``track`` / ``smooth``).
        pipeline : bool
            Overlap the stages of consecutive frames in threads
            (:class:`~gluonpose.inference.pipeline.ThreadedPipeline`): reading,
            detection and cropping of frame ``t + 1``, the network on frame
            ``t``, tracking of frame ``t - 1``, while the caller draws and
            writes what it was given. Same results, same order; an error in a
            stage raises :class:`~gluonpose.inference.pipeline.StageError`
            naming it.
        queue_size : int
            With ``pipeline``: frames each stage may queue ahead of the next
            (back-pressure: a slow caller blocks the reader).
        render : callable, optional
            ``render(result, image)`` called on every result, in order, as the
            last stage (``'draw'``): drawing and writing an annotated video
            overlap the other stages when ``pipeline`` is on.

        Yields
        ------
        FrameResult
            One per readable frame. Unreadable files of a folder are skipped
            (listed in :attr:`skipped`).
        """
        from tqdm import tqdm
        src = open_source(source, max_frames)
        try:
            total = len(src)
        except TypeError:
            total = None
        show = self.progress if progress is None else progress
        self.skipped = []
        if smooth and smoother is None:
            from ..tracking import TrackSmoother
            # beta 0.05 suits pixel coordinates: One-Euro's 0.007 lags more than it
            # removes on a 2-px jitter (tests/test_smoothing.py measures both)
            smoother = TrackSmoother(beta=0.05, freq=float(getattr(src, "fps", None) or 30.0))
        if (track or smoother is not None) and tracker is None:
            from ..tracking import PoseTracker
            tracker = PoseTracker(schema=self.schema)

        def timed_frames():
            frames = iter(src)
            while True:
                t0 = time.perf_counter()
                try:
                    frame = next(frames)
                except StopIteration:
                    return
                yield frame, time.perf_counter() - t0

        def network(state):
            return state["frame"], self._infer(state)

        def finish(pair):
            frame, result = pair
            if tracker is not None:
                _track(result, frame, tracker, smoother)
            if keep_images:
                result.image = frame.image
            return result

        stages = [("prepare", lambda item: self._prepare(item[0], decode_time=item[1])),
                  ("network", network), ("track", finish)]
        if render is not None:
            def draw(pair):
                render(pair[1], pair[0].image)
                return pair[1]
            # drawing needs the frame even when the caller did not ask to keep images
            stages[-1] = ("track", lambda pair: (pair[0], finish(pair)))
            stages.append(("draw", draw))
        if pipeline:
            from .pipeline import ThreadedPipeline
            stream = ThreadedPipeline(timed_frames(), stages, queue_size, source_name="read")
        else:
            stream = _chain(timed_frames(), [fn for _, fn in stages])
        try:
            with tqdm(total=total, desc="predict", unit="frame", disable=not show or src.single,
                      leave=False, dynamic_ncols=True) as bar:
                for result in stream:
                    bar.update(1)
                    yield result
        finally:
            if pipeline:
                stream.close()
            self.skipped = list(getattr(src, "skipped", []))
            src.close()

    def __call__(self, source, boxes=None, scores=None, box_format="xyxy"):
        """Poses of an image (a :class:`FrameResult`) or of a folder / video (a list of them).

        ``boxes`` applies to a single image only.
        """
        if isinstance(source, (np.ndarray, mx.nd.NDArray)):
            return self.predict(source, boxes, scores, box_format)
        src = open_source(source)
        if src.single:
            src.close()
            return self.predict(source, boxes, scores, box_format)
        if boxes is not None:
            raise ValueError("boxes= applies to one image; for folders and videos give the "
                             "Predictor boxes=, det_file= or detector=")
        return list(self.predict_source(src))

    def write_coco_results(self, path, category_id=1):
        """Write every accumulated pose as a COCO keypoint results json (atomically).

        Entries: ``image_id``, ``category_id``, ``keypoints`` (flat ``x, y,
        confidence``), ``score`` (pose score), plus ``person_box``,
        ``box_score`` and (for files) ``file_name``; ``pycocotools``'
        ``loadRes`` reads it. Returns ``path``.
        """
        return write_coco_results(path, self.results, category_id, self._file_names)

    def describe(self):
        """One line: model, input, codec, flip, box source."""
        return "%s, input %dx%d, %s%s, boxes: %s" % (
            self.model_name, self.input_size[0], self.input_size[1], self.codec.describe(),
            ", flip test" if self.flip_test else "", self.boxes.describe()
            if hasattr(self.boxes, "describe") else type(self.boxes).__name__)
