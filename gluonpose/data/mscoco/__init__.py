"""COCO-format keypoint datasets: ground-truth instances and detector boxes."""
from .detection_boxes import COCODetectionKeyPoints
from .keypoints import SKIP_REASONS, COCOKeyPoints, decode_image

__all__ = ["COCOKeyPoints", "COCODetectionKeyPoints", "SKIP_REASONS", "decode_image"]
