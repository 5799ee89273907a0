"""Model zoo: ``get_model``, the registry, the model families and the model store."""
from .model_zoo import get_model, get_model_list, get_model_spec, get_pose_model_list, \
    register_model, spec_of
from .resnetv1b import ResNetV1b, get_resnet_v1b
from .simple_pose import SimplePoseResNet, get_simple_pose_resnet
from .mobilenet import MobileNet, MobileNetV2, MobileNetV3, get_mobilenet_trunk
from .mobile_pose import MobilePose, get_mobile_pose
from .fast_pose import AlphaPose, FastPose, FastPoseMobile, get_alphapose
from .se_resnet import SEResNet, get_se_resnet
from .cpn import CascadedPyramidNetwork, get_cpn
from .hourglass import HourglassNet, get_hourglass
from .openpose import OpenPoseLight, OpenPoseVGG19, get_openpose_light, get_openpose_vgg19
from .associative_embedding import AssociativeEmbeddingNet, get_associative_embedding
from .spec import (AssociativeEmbeddingSpec, BottomUpSpec, LrMultRule, SupervisedOutput,
                   TopDownSpec, apply_lr_mult)

__all__ = ["get_model", "get_model_list", "register_model", "get_model_spec", "spec_of",
           "get_pose_model_list", "TopDownSpec", "SupervisedOutput", "ResNetV1b", "get_resnet_v1b",
           "SimplePoseResNet", "get_simple_pose_resnet",
           "MobileNet", "MobileNetV2", "MobileNetV3", "get_mobilenet_trunk", "MobilePose",
           "get_mobile_pose",
           "FastPose", "AlphaPose", "FastPoseMobile", "get_alphapose", "SEResNet", "get_se_resnet",
           "CascadedPyramidNetwork", "get_cpn",
           "HourglassNet", "get_hourglass", "OpenPoseVGG19", "OpenPoseLight",
           "get_openpose_vgg19", "get_openpose_light", "AssociativeEmbeddingNet",
           "get_associative_embedding", "BottomUpSpec",
           "AssociativeEmbeddingSpec", "LrMultRule", "apply_lr_mult"]
