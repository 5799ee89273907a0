"""Inference: the one-call :class:`Predictor` (top-down or box-free bottom-up) and its parts.

>>> from gluonpose.inference import Predictor                     # doctest: +SKIP
>>> people = Predictor(params_file='net.params', input_size=(128, 96))('photo.jpg')
"""
from .bottom_up import BottomUpPredictor, predict_bottom_up
from .boxes import (DetectionFileBoxes, DetectorBoxes, FixedBoxes, WholeImageBoxes,
                    get_box_provider, parse_boxes)
from .crop import BatchCropper, crop_people
from .predictor import STAGES, Predictor
from .results import FrameResult, PersonPose, instance_scores, write_coco_results
from .sources import (ArraySource, Frame, FolderSource, ImageSource, VideoSource, open_source,
                      read_image, to_rgb_uint8)

__all__ = ["Predictor", "BottomUpPredictor", "predict_bottom_up", "STAGES", "PersonPose",
           "FrameResult", "instance_scores", "write_coco_results", "BatchCropper", "crop_people",
           "WholeImageBoxes", "FixedBoxes",
           "DetectionFileBoxes", "DetectorBoxes", "get_box_provider", "parse_boxes", "Frame",
           "ImageSource", "ArraySource", "FolderSource", "VideoSource", "open_source",
           "read_image", "to_rgb_uint8"]
