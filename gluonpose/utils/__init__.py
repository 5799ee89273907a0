"""Utilities: metrics, learning-rate schedules, drawing, export."""
from . import metrics, pose_nms
from .lr_scheduler import LRScheduler, LRSequential

__all__ = ["metrics", "pose_nms", "LRScheduler", "LRSequential"]
