"""COCO-format keypoint datasets: person instances, detector boxes, whole images."""
from .bottom_up import COCOBottomUp
from .detection_boxes import COCODetectionKeyPoints
from .keypoints import SKIP_REASONS, COCOKeyPoints, decode_image

__all__ = ["COCOKeyPoints", "COCODetectionKeyPoints", "COCOBottomUp", "SKIP_REASONS",
           "decode_image"]
