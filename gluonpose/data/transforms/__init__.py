"""Pose transforms: affine/flip helpers (:mod:`.pose`) and presets (:mod:`.presets`)."""
from . import pose, presets
from .pose import (affine_transform, affine_transform_points, bbox_to_center_scale,
                   box_to_center_scale, boxes_to_center_scale, flip_index_from_pairs,
                   flip_joints, flip_joints_3d, get_affine_transform,
                   get_affine_transform_batch, half_body_center_scale, transform_preds_batch)

__all__ = ["pose", "presets", "affine_transform", "affine_transform_points",
           "bbox_to_center_scale", "box_to_center_scale", "boxes_to_center_scale",
           "flip_index_from_pairs", "flip_joints", "flip_joints_3d", "get_affine_transform",
           "get_affine_transform_batch", "half_body_center_scale", "transform_preds_batch"]
