"""Per-model transform presets (GluonCV's ``gluoncv.data.transforms.presets``)."""
from . import simple_pose
from .simple_pose import SimplePoseDefaultTrainTransform, SimplePoseDefaultValTransform

__all__ = ["simple_pose", "SimplePoseDefaultTrainTransform", "SimplePoseDefaultValTransform"]
