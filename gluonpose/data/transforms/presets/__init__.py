"""Per-model transform presets (GluonCV's ``gluoncv.data.transforms.presets``)."""
from . import bottom_up, simple_pose, top_down
from .bottom_up import BottomUpTrainTransform, BottomUpValTransform
from .simple_pose import SimplePoseDefaultTrainTransform, SimplePoseDefaultValTransform
from .top_down import TopDownTrainTransform, TopDownValTransform

__all__ = ["simple_pose", "top_down", "SimplePoseDefaultTrainTransform",
           "SimplePoseDefaultValTransform", "TopDownTrainTransform", "TopDownValTransform",
           "bottom_up", "BottomUpTrainTransform", "BottomUpValTransform"]
