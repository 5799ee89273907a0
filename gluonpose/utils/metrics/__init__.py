"""Evaluation metrics: heatmap accuracy (training), COCO keypoint AP, MPII PCKh."""
from .coco_keypoints import STAT_NAMES, COCOKeyPointsMetric, instance_scores
from .heatmap_accuracy import HeatmapAccuracy
from .pckh import PCKhAccuracy, head_size_from_boxes, pckh

__all__ = ["HeatmapAccuracy", "COCOKeyPointsMetric", "STAT_NAMES", "PCKhAccuracy", "pckh",
           "head_size_from_boxes", "instance_scores"]
