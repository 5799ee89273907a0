"""Datasets, keypoint schemas and transforms."""
from . import schema
from .schema import COCO_PERSON, MPII, KeypointSchema, get_schema, register_schema

__all__ = ["schema", "KeypointSchema", "COCO_PERSON", "MPII", "get_schema", "register_schema"]
