"""Simple Baselines for human pose estimation (Xiao, Wu and Wei, ECCV 2018).

A ResNet trunk, three stride-2 transposed convolutions and a 1x1 conv that
predicts one heatmap per joint at a quarter of the input resolution.

The children are named and ordered as in GluonCV's ``SimplePoseResNet``
(``resnet.0`` ... ``resnet.7``, ``deconv_layers.0`` ... ``deconv_layers.8``,
``final_layer``), so GluonCV's published ``.params`` files load unchanged. Unlike
GluonCV, every child is created inside the block's name scope, which makes the
``collect_params()`` names stable across instances too.
"""
from mxnet import init
from mxnet.context import cpu
from mxnet.gluon import nn

from ..nn import BatchNormCudnnOff
from .resnetv1b import RESNET_SPECS, get_resnet_v1b
from .spec import TopDownSpec

__all__ = ["SimplePoseResNet", "get_simple_pose_resnet", "SIMPLE_POSE_BASES", "SPEC"]

#: one heatmap tensor at stride 4, 256x192 ImageNet-normalised input
SPEC = TopDownSpec("simple_pose", input_size=(256, 192), stride=4, size_multiple=32)

#: padding and output padding that make a stride-2 transposed conv double H and W
_DECONV_PADDING = {4: (1, 0), 3: (1, 1), 2: (0, 0)}

#: the base networks GluonCV publishes simple-pose weights for
SIMPLE_POSE_BASES = ("resnet18_v1b", "resnet50_v1b", "resnet101_v1b", "resnet152_v1b",
                     "resnet50_v1d", "resnet101_v1d", "resnet152_v1d")


class SimplePoseResNet(nn.HybridBlock):
    """ResNet trunk + deconvolution head, the "Simple Baselines" pose network.

    Parameters
    ----------
    base_name : str, default 'resnet50_v1b'
        Backbone, one of ``gluonpose.model_zoo.resnetv1b.RESNET_SPECS``.
    pretrained_base : bool or str, default False
        Load the backbone's ImageNet weights (``True``, or a hashtag).
    pretrained_ctx : Context or list of Context, default cpu()
        Where those weights are loaded.
    num_joints : int, default 17
        Heatmap channels.
    num_deconv_layers : int, default 3
        Transposed convolutions in the head; each doubles the resolution.
    num_deconv_filters : sequence of int, default (256, 256, 256)
        Channels of each transposed convolution.
    num_deconv_kernels : sequence of int, default (4, 4, 4)
        Kernel size of each transposed convolution: 2, 3 or 4.
    final_conv_kernel : int, default 1
        Kernel of the last convolution (1 or 3).
    deconv_with_bias : bool, default False
        Give the transposed convolutions a bias.
    root : str, optional
        Model-store directory for the backbone weights.
    **kwargs
        Passed to :class:`mxnet.gluon.HybridBlock` (``prefix``, ``params``).
    """

    def __init__(self, base_name="resnet50_v1b", pretrained_base=False, pretrained_ctx=cpu(),
                 num_joints=17, num_deconv_layers=3, num_deconv_filters=(256, 256, 256),
                 num_deconv_kernels=(4, 4, 4), final_conv_kernel=1, deconv_with_bias=False,
                 root=None, **kwargs):
        super().__init__(**kwargs)
        if base_name not in RESNET_SPECS:
            raise ValueError("base_name %r is not a ResNet V1b/V1d; choose from %s"
                             % (base_name, ", ".join(RESNET_SPECS)))
        if not (len(num_deconv_filters) == len(num_deconv_kernels) == num_deconv_layers):
            raise ValueError("num_deconv_layers=%d but %d filters and %d kernels were given"
                             % (num_deconv_layers, len(num_deconv_filters),
                                len(num_deconv_kernels)))
        if final_conv_kernel not in (1, 3):
            raise ValueError("final_conv_kernel must be 1 or 3, got %r" % (final_conv_kernel,))
        self.num_joints = num_joints
        base = get_resnet_v1b(base_name, pretrained=pretrained_base, ctx=pretrained_ctx,
                              root=root, norm_layer=BatchNormCudnnOff)
        with self.name_scope():
            self.resnet = base.trunk_block()
            in_channels = 512 * RESNET_SPECS[base_name][0].expansion
            self.deconv_layers = self._make_deconv_layers(
                in_channels, num_deconv_filters, num_deconv_kernels, deconv_with_bias)
            self.final_layer = nn.Conv2D(
                num_joints, final_conv_kernel, strides=1,
                padding=1 if final_conv_kernel == 3 else 0,
                in_channels=num_deconv_filters[-1],
                weight_initializer=init.Normal(0.001), bias_initializer=init.Zero())

    @staticmethod
    def _make_deconv_layers(in_channels, filters, kernels, use_bias):
        layers = nn.HybridSequential(prefix="deconv_")
        with layers.name_scope():
            for channels, kernel in zip(filters, kernels):
                if kernel not in _DECONV_PADDING:
                    raise ValueError("deconvolution kernel must be 2, 3 or 4, got %r" % (kernel,))
                padding, output_padding = _DECONV_PADDING[kernel]
                layers.add(nn.Conv2DTranspose(
                    channels, kernel, strides=2, padding=padding, output_padding=output_padding,
                    use_bias=use_bias, in_channels=in_channels,
                    weight_initializer=init.Normal(0.001), bias_initializer=init.Zero()))
                layers.add(BatchNormCudnnOff(gamma_initializer=init.One(),
                                             beta_initializer=init.Zero(),
                                             in_channels=channels))
                layers.add(nn.Activation("relu"))
                in_channels = channels
        return layers

    def hybrid_forward(self, F, x):
        return self.final_layer(self.deconv_layers(self.resnet(x)))


def get_simple_pose_resnet(base_name, pretrained=False, ctx=cpu(), root=None, **kwargs):
    """Build a Simple Baselines network, optionally with published weights.

    Parameters
    ----------
    base_name : str
        Backbone name, e.g. ``'resnet18_v1b'``.
    pretrained : bool or str, default False
        ``True`` loads ``simple_pose_<base_name>`` from the model store, a string
        loads the weights with that hashtag (e.g. ``'ccd24037'``, the 128x96 model).
    ctx : Context or list of Context, default cpu()
        Where loaded parameters live.
    root : str, optional
        Model-store directory; defaults as in
        :func:`gluonpose.model_zoo.model_store.get_model_file`.
    **kwargs
        Passed to :class:`SimplePoseResNet`.

    Returns
    -------
    SimplePoseResNet
        As in GluonCV, not initialised unless ``pretrained``; call
        ``net.initialize()`` (the head keeps its Normal(0.001) initialisers).
    """
    net = SimplePoseResNet(base_name, root=root, **kwargs)
    if pretrained:
        from .model_store import get_model_file
        tag = pretrained if isinstance(pretrained, str) else None
        net.load_parameters(get_model_file("simple_pose_" + base_name, tag=tag, root=root),
                            ctx=ctx)
    return net


def _factory(base_name):
    def build(**kwargs):
        return get_simple_pose_resnet(base_name, **kwargs)
    build.__name__ = "simple_pose_" + base_name
    build.__doc__ = ("Simple Baselines on %s; see :func:`get_simple_pose_resnet`."
                     % base_name)
    return build


for _base in SIMPLE_POSE_BASES:
    globals()["simple_pose_" + _base] = _factory(_base)
    __all__.append("simple_pose_" + _base)
del _base
