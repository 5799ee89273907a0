"""Pose tracking: link the people of successive frames into tracks.

:class:`PoseTracker` is an online, PoseFlow-style tracker (box, joint-square
and optional ORB-correspondence IoUs, Hungarian matching), with an OKS-only
mode that needs nothing but keypoints. :mod:`.similarity` holds the
vectorised pairwise similarity matrices it is built on,
:mod:`.smoothing` the per-track One-Euro keypoint filter
(:class:`TrackSmoother`) and :mod:`.evaluate` the tracking metrics
(:func:`track_metrics`: MOTA, IDF1, identity switches through motmetrics).

This package sits beside :mod:`gluonpose.inference`: it reads poses (any
object with ``keypoints``) and never imports the predictor.
"""
from . import evaluate, similarity, smoothing
from .evaluate import track_metrics
from .similarity import box_iou, keypoint_box_iou, oks_matrix, pose_boxes
from .smoothing import OneEuroFilter, TrackSmoother
from .tracker import SIMILARITIES, PoseTracker, Track

__all__ = ["similarity", "smoothing", "evaluate", "PoseTracker", "Track", "SIMILARITIES",
           "box_iou", "keypoint_box_iou", "oks_matrix", "pose_boxes", "OneEuroFilter",
           "TrackSmoother", "track_metrics"]
