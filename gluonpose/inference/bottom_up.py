"""Box-free prediction with bottom-up (OpenPose) models: one image in, every person out.

:class:`BottomUpPredictor` is what :class:`~gluonpose.inference.predictor.Predictor`
becomes for a model whose spec is a
:class:`~gluonpose.model_zoo.spec.BottomUpSpec`: the same sources (images,
folders, video, webcam), results and drawing, with
:func:`~gluonpose.engine.bottom_up_forward.predict_bottom_up` (the test
protocol shared with ``gluonpose eval``, documented there) in place of the
person detector and the crops. The protocol's functions are re-exported here.
"""
import warnings
from collections import OrderedDict

import mxnet as mx
import numpy as np

from ..engine.bottom_up_forward import (bottom_up_inputs, bottom_up_maps, default_paf_codec,
                                        input_height, keypoint_boxes, parse_scales,
                                        predict_bottom_up)
from .predictor import STAGES, Predictor, _params_path
from .results import FrameResult, PersonPose

__all__ = ["predict_bottom_up", "bottom_up_maps", "bottom_up_inputs", "default_paf_codec",
           "BottomUpPredictor", "input_height", "parse_scales", "keypoint_boxes"]


def _load_bottom_up_net(model, pretrained, params_file, ctx):
    if isinstance(model, mx.gluon.Block):
        if params_file:
            model.load_parameters(_params_path(params_file), ctx=ctx)
        return model
    from ..model_zoo import get_model
    if params_file:
        net = get_model(model)
        net.load_parameters(_params_path(params_file), ctx=ctx)
        return net
    if pretrained is None:
        pretrained = True
    if pretrained:
        return get_model(model, pretrained=pretrained, ctx=ctx)
    net = get_model(model)
    warnings.warn("Predictor: %s has random weights (pretrained=False and no params_file); "
                  "its keypoints are meaningless" % model, stacklevel=3)
    net.initialize(mx.init.Xavier(), ctx=ctx)
    return net


class _NoBoxes:
    """Placeholder box source of a bottom-up predictor (people come from grouping)."""

    def describe(self):
        return "none (bottom-up grouping)"


class BottomUpPredictor(Predictor):
    """:class:`Predictor` for bottom-up models: no person detector, no boxes.

    ``Predictor(model=...)`` returns one of these when the model's spec has
    ``kind == 'bottom_up'``; the source handling (images, arrays, folders,
    videos, webcams), results, COCO json and drawing are the Predictor's.
    Each frame runs :func:`predict_bottom_up`. A person's ``box`` is the
    bounding box of its found joints, ``box_score`` 1 and ``score`` the
    codec's person score.

    Parameters
    ----------
    model, pretrained, params_file, ctx, mean, std, hybridize, progress
        As for :class:`Predictor`.
    input_size : int or str, optional
        Image height at scale 1 (``'368'``; ``'H,W'`` takes H); default the spec's.
    scales : sequence of float or str, optional
        Test scales; default ``spec.test_scales``.
    flip_test : bool
        Average with the mirrored image's maps.
    codec : PAFCodec or AECodec, optional
        Grouping; ``None``, the spec's ``grouping`` (``'paf'``, ``'ae'``) or
        the top-down default ``'msra'`` give the spec's own codec
        (``spec.make_codec()``).
    keypoint_thresh : float
        Drawing threshold of the joints.
    schema : None or 'coco'
        Results are COCO-17.
    detector, det_file, ann_file, boxes, pose_nms
        Not applicable: refused when set. ``oks_nms_thresh``, ``sigma``,
        ``box_format``, ``box_thresh``, ``det_score_thresh`` and
        ``batch_size`` are accepted and ignored (the grouping makes each
        person once).
    """

    def __init__(self, model, pretrained=None, params_file=None, ctx=None, input_size=None,
                 codec=None, sigma=None, flip_test=False, detector=None, det_file=None,
                 ann_file=None, boxes=None, box_format="xyxy", box_thresh=0.5,
                 det_score_thresh=0.0, keypoint_thresh=0.2, oks_nms_thresh=0.9, schema=None,
                 batch_size=64, mean=None, std=None, hybridize=True, progress=True,
                 pose_nms=None, scales=None):
        from ..data.schema import get_schema
        from ..model_zoo import spec_of
        for name, value in (("detector", detector), ("det_file", det_file),
                            ("ann_file", ann_file), ("boxes", boxes)):
            if value is not None:
                raise ValueError("%s: %s is a bottom-up model, it finds people without "
                                 "boxes; drop %s" % (name, model if isinstance(model, str)
                                                     else type(model).__name__, name))
        if pose_nms not in (None, "none"):
            raise ValueError("pose_nms=%r: a bottom-up model's grouping makes each person "
                             "once; pose NMS does not apply" % (pose_nms,))
        self.ctx = ctx or mx.cpu()
        self.net = _load_bottom_up_net(model, pretrained, params_file, self.ctx)
        self.spec = spec_of(self.net, model if isinstance(model, str) else None)
        if getattr(self.spec, "kind", None) != "bottom_up":
            raise ValueError("BottomUpPredictor needs a bottom-up model")
        if schema not in (None, self.spec.eval_schema) and \
                getattr(schema, "name", None) != self.spec.eval_schema:
            raise ValueError("schema=%r: a bottom-up model's results are %s keypoints"
                             % (schema, self.spec.eval_schema))
        self.schema = get_schema(self.spec.eval_schema)
        self.input_size = input_height(input_size, self.spec)
        self.scales = parse_scales(scales, self.spec)
        default = self.spec.make_codec()
        if isinstance(codec, type(default)):
            self.codec = codec
        elif codec in (None, self.spec.grouping, "msra"):
            self.codec = default
        else:
            raise ValueError("codec=%r: a bottom-up model decodes with its own %s codec"
                             % (codec, type(default).__name__))
        self.mean = self.spec.mean if mean is None else tuple(mean)
        self.std = self.spec.std if std is None else tuple(std)
        self.flip_test = bool(flip_test)
        if self.flip_test and not self.spec.has_flip:
            raise ValueError("flip_test: %s has no flip permutations" % self.spec.family)
        self.keypoint_thresh = float(keypoint_thresh)
        self.oks_nms_thresh = None
        self.pose_nms = "none"
        self.batch_size = int(batch_size)
        self.progress = bool(progress)
        self.boxes = _NoBoxes()
        self._finish_init(model, hybridize)

    def _prepare(self, frame, boxes=None, scores=None, box_format="xyxy", decode_time=0.0):
        if boxes is not None:
            raise ValueError("boxes=: a bottom-up model finds people without boxes")
        times = OrderedDict((s, 0.0) for s in STAGES)
        times["decode_image"] = decode_time
        img_id = self._image_id(frame)
        result = FrameResult([], img_id, frame.name, frame.index, frame.file_name)
        if frame.file_name:
            self._file_names[img_id] = frame.file_name
        return dict(frame=frame, times=times, result=result)

    def _infer(self, state):
        times, result = state["times"], state["result"]
        kpts, person_scores = predict_bottom_up(
            self.net, self.spec, state["frame"].image, self.scales, self.flip_test, self.codec,
            self.ctx, self.input_size, self.mean, self.std, timings=times)
        order = np.argsort(-person_scores, kind="stable")
        kpts, person_scores = kpts[order], person_scores[order]
        boxes = keypoint_boxes(kpts)
        result.extend(PersonPose(kp, box, 1.0, sc, result.image_id)
                      for kp, box, sc in zip(kpts, boxes, person_scores.tolist()))
        self.results.extend(result)
        self.last_timings = times
        return result

    def describe(self):
        """One line: model, input height, scales, codec, flip."""
        return "%s, bottom-up, input height %d, scales %s, %s%s, boxes: none" % (
            self.model_name, self.input_size, ",".join("%g" % s for s in self.scales),
            self.codec.describe(), ", flip test" if self.flip_test else "")
