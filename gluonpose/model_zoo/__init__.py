"""Model zoo: ``get_model``, the registry, the model families and the model store."""
from .model_zoo import get_model, get_model_list, register_model
from .resnetv1b import ResNetV1b, get_resnet_v1b
from .simple_pose import SimplePoseResNet, get_simple_pose_resnet

__all__ = ["get_model", "get_model_list", "register_model", "ResNetV1b", "get_resnet_v1b",
           "SimplePoseResNet", "get_simple_pose_resnet"]
