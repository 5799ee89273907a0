"""Datasets, keypoint schemas and transforms."""
from . import mscoco, schema
from .mini import MINI_COCO_SPLIT, mini_coco, mini_coco_bottom_up, mini_coco_root
from .mscoco import COCODetectionKeyPoints, COCOKeyPoints
from .schema import COCO_PERSON, HALPE_26, HALPE_136, MPII, KeypointSchema, get_schema, \
    register_schema

__all__ = ["schema", "mscoco", "KeypointSchema", "COCO_PERSON", "MPII", "HALPE_26", "HALPE_136",
           "get_schema",
           "register_schema", "COCOKeyPoints", "COCODetectionKeyPoints", "mini_coco_root",
           "mini_coco", "mini_coco_bottom_up", "MINI_COCO_SPLIT"]
