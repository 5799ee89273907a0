"""Pose tracking: link the people of successive frames into tracks.

:class:`PoseTracker` is an online, PoseFlow-style tracker (box, joint-square
and optional ORB-correspondence IoUs, Hungarian matching), with an OKS-only
mode that needs nothing but keypoints. :mod:`.similarity` holds the
vectorised pairwise similarity matrices it is built on,
:mod:`.smoothing` the per-track One-Euro keypoint filter
(:class:`TrackSmoother`) and :mod:`.evaluate` the tracking metrics
(:func:`track_metrics`: MOTA, IDF1, identity switches through motmetrics),
:mod:`.io` the PoseTrack-like per-frame json of results and ground truth
(:func:`write_track_json`, :func:`read_track_json`) and :mod:`.cli` the
``gluonpose eval-track`` command.

This package sits beside :mod:`gluonpose.inference`: it reads poses (any
object with ``keypoints``) and never imports the predictor.
"""
from . import evaluate, io, similarity, smoothing
from .evaluate import track_metrics
from .io import read_track_json, write_track_json
from .similarity import box_iou, keypoint_box_iou, oks_matrix, pose_boxes
from .smoothing import OneEuroFilter, TrackSmoother
from .tracker import MOTIONS, SIMILARITIES, PoseTracker, Track

__all__ = ["similarity", "smoothing", "evaluate", "io", "PoseTracker", "Track", "SIMILARITIES",
           "MOTIONS", "box_iou", "keypoint_box_iou", "oks_matrix", "pose_boxes",
           "OneEuroFilter", "TrackSmoother", "track_metrics", "read_track_json",
           "write_track_json"]
