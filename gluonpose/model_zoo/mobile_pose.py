"""MobilePose: a light backbone trunk and a DUC (pixel-shuffle) up-sampling head.

GluonCV's pose network for mobile devices: the stride-32 trunk of a MobileNet
(v1, v2, v3) or a ResNet V1b, a 1x1 conv to 256 channels, three DUC blocks that
each double the resolution (3x3 conv -> BN -> ReLU -> pixel shuffle), and a
1x1 conv (no bias) to one heatmap per joint at stride 4.

The children are named and ordered as in GluonCV (``features``, ``upsampling.0``
... ``upsampling.4``; a MobileNet trunk sits at ``features.0``, a ResNet trunk's
eight children at ``features.0`` ... ``features.7``), so GluonCV's published
``.params`` files load unchanged. Every operation is a convolution, batch norm or
reshape, so the network quantises and exports to ONNX as a whole.
"""
from mxnet import init
from mxnet.context import cpu
from mxnet.gluon import nn

from ..nn import DUC
from .mobilenet import MOBILENET_TRUNKS, get_mobilenet_trunk
from .resnetv1b import RESNET_SPECS
from .spec import TopDownSpec

__all__ = ["MobilePose", "get_mobile_pose", "MOBILE_POSE_BASES", "SPEC"]

#: one heatmap tensor at stride 4, 256x192 ImageNet-normalised input
SPEC = TopDownSpec("mobile_pose", input_size=(256, 192), stride=4, size_multiple=32)

#: the base networks GluonCV publishes MobilePose weights for
MOBILE_POSE_BASES = ("resnet18_v1b", "resnet50_v1b", "mobilenet1.0", "mobilenetv2_1.0",
                     "mobilenetv3_large", "mobilenetv3_small")


class MobilePose(nn.HybridBlock):
    """Backbone trunk + 1x1 conv + three DUC blocks + 1x1 heatmap conv.

    Parameters
    ----------
    base_name : str
        Backbone: a MobileNet (``'mobilenet1.0'``, ``'mobilenetv2_1.0'``,
        ``'mobilenetv3_large'``, ``'mobilenetv3_small'``) or a ResNet V1b/V1d.
    base_attrs : sequence of str, optional
        Accepted for GluonCV compatibility and ignored: the trunk is determined
        by ``base_name`` (see :func:`~gluonpose.model_zoo.mobilenet.get_mobilenet_trunk`).
    num_joints : int, default 17
        Heatmap channels.
    pretrained_base : bool or str, default False
        Load the backbone's ImageNet weights (``True``, or a hashtag).
    pretrained_ctx : Context or list of Context, default cpu()
        Where those weights are loaded.
    root : str, optional
        Model-store directory for the backbone weights.
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
        Normalisation of the trunk (GluonCV's MobilePose uses plain batch norm
        there; the DUC blocks always use :class:`~gluonpose.nn.BatchNormCudnnOff`).
    norm_kwargs : dict, optional
        Extra arguments for the trunk's ``norm_layer``.
    **kwargs
        Passed to :class:`mxnet.gluon.HybridBlock` (``prefix``, ``params``).
    """

    def __init__(self, base_name, base_attrs=None, num_joints=17, pretrained_base=False,
                 pretrained_ctx=cpu(), root=None, norm_layer=nn.BatchNorm, norm_kwargs=None,
                 **kwargs):
        super().__init__(**kwargs)
        if base_name not in MOBILENET_TRUNKS and base_name not in RESNET_SPECS:
            raise ValueError("MobilePose base %r is not supported; choose from %s"
                             % (base_name, ", ".join(list(MOBILENET_TRUNKS) + list(RESNET_SPECS))))
        self.num_joints = num_joints
        with self.name_scope():
            trunk, channels = get_mobilenet_trunk(base_name, pretrained=pretrained_base,
                                                  ctx=pretrained_ctx, root=root,
                                                  norm_layer=norm_layer, norm_kwargs=norm_kwargs)
            self.features = nn.HybridSequential()
            if base_name in RESNET_SPECS:
                # GluonCV adds the ResNet's children one by one: features.0 ... features.7
                self.features.add(*trunk)
            else:
                # ... but a MobileNet's feature slice as a single child: features.0.<i>
                self.features.add(trunk)
            self.upsampling = nn.HybridSequential()
            with self.upsampling.name_scope():
                self.upsampling.add(
                    nn.Conv2D(256, 1, use_bias=False, in_channels=channels),
                    # 256 -> 512 -> shuffle 128 -> 256 -> 64 -> 128 -> 32, x8 resolution
                    DUC(512, 2, in_channels=256),
                    DUC(256, 2, in_channels=128),
                    DUC(128, 2, in_channels=64),
                    nn.Conv2D(num_joints, 1, use_bias=False, in_channels=32,
                              weight_initializer=init.Normal(0.001)))

    def hybrid_forward(self, F, x):
        return self.upsampling(self.features(x))


def get_mobile_pose(base_name, pretrained=False, ctx=cpu(), root=None, **kwargs):
    """Build a MobilePose network, optionally with published weights.

    Parameters
    ----------
    base_name : str
        Backbone name, e.g. ``'mobilenetv3_small'`` (see :data:`MOBILE_POSE_BASES`).
    pretrained : bool or str, default False
        ``True`` loads ``mobile_pose_<base_name>`` from the model store, a
        string loads the weights with that hashtag.
    ctx : Context or list of Context, default cpu()
        Where loaded parameters live.
    root : str, optional
        Model-store directory; defaults as in
        :func:`gluonpose.model_zoo.model_store.get_model_file`.
    **kwargs
        Passed to :class:`MobilePose` (``num_joints``, ``pretrained_base``,
        ``pretrained_ctx``...).

    Returns
    -------
    MobilePose
        As in GluonCV, not initialised unless ``pretrained``; call
        ``net.initialize()`` (the last conv keeps its Normal(0.001) initialiser).
    """
    net = MobilePose(base_name, root=root, **kwargs)
    if pretrained:
        from .model_store import get_model_file
        tag = pretrained if isinstance(pretrained, str) else None
        net.load_parameters(get_model_file("mobile_pose_" + base_name, tag=tag, root=root),
                            ctx=ctx)
    return net


def _factory(base_name):
    def build(**kwargs):
        return get_mobile_pose(base_name, **kwargs)
    build.__name__ = "mobile_pose_" + base_name.replace(".", "_")
    build.__doc__ = "MobilePose on %s; see :func:`get_mobile_pose`." % base_name
    return build


# python names use '_' where the registry/store names use '.' (mobile_pose_mobilenet1_0)
for _base in MOBILE_POSE_BASES:
    _fn = _factory(_base)
    globals()[_fn.__name__] = _fn
    __all__.append(_fn.__name__)
del _base, _fn
