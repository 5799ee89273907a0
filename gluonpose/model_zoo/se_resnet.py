"""SE-ResNet, the trunk of AlphaPose's FastPose (Fang et al., RMPE, ICCV 2017).

A ResNet V1b (stride on the 3x3 convolution of a bottleneck) whose first
bottleneck of every stage, the one with the projection shortcut, rescales its
residual branch with a squeeze-and-excitation gate of reduction 1 before the
addition (Hu, Shen and Sun, CVPR 2018).

Attribute names and child order are those of GluonCV's ``FastSEResNet`` and of
AlphaPose's ``SEResnet`` (``conv1``, ``bn1``, ``layer1.0.conv1``,
``layer1.0.se.fc.0``, ``layer1.0.downsample.0`` ...), so the structural names in
their weight files match. Apart from the ``se`` gates they are also the names of
the ImageNet ``resnet*_v1b`` files, which is how ``pretrained_base`` fills the
trunk (GluonCV's factory downloads that file but loads it into the wrong
network, leaving the trunk random; here it lands in the trunk).

Initialisation follows AlphaPose (old PyTorch defaults), as GluonCV does:
convolutions ``Uniform(+-sqrt(1 / fan_in))``, batch-norm scale uniform in
``[0, 1)`` and shift 0; the gates' dense layers use the global initializer.
"""
import math

import mxnet as mx
from mxnet import init
from mxnet.context import cpu
from mxnet.gluon import nn

from ..nn import SELayer

__all__ = ["SEResNet", "FastSEResNet", "SEBottleneck", "ZeroOneUniform", "get_se_resnet",
           "load_imagenet_resnet", "SE_RESNET_DEPTHS", "fan_in_uniform"]

#: depth -> bottlenecks per stage
SE_RESNET_DEPTHS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


@mx.init.register
class ZeroOneUniform(init.Initializer):
    """Samples uniformly from ``[0, scale)`` (PyTorch < 1.2's batch-norm weight init).

    Registered with mxnet under ``'zerooneuniform'`` so a hybridized graph that
    records it can be re-created.

    Parameters
    ----------
    scale : float, default 1
        Upper bound of the range.
    """

    def __init__(self, scale=1.0):
        super().__init__(scale=scale)
        self.scale = float(scale)

    def _init_weight(self, _, arr):
        mx.nd.random.uniform(0, self.scale, out=arr)


def fan_in_uniform(fan_in):
    """``Uniform(+-sqrt(1 / fan_in))``, PyTorch < 1.2's default for convolutions."""
    return init.Uniform(scale=math.sqrt(1.0 / fan_in))


def _conv(channels, kernel, in_channels, strides=1):
    return nn.Conv2D(channels, kernel, strides=strides, padding=kernel // 2, use_bias=False,
                     in_channels=in_channels,
                     weight_initializer=fan_in_uniform(in_channels * kernel * kernel))


def _norm(norm_layer, norm_kwargs, channels):
    return norm_layer(gamma_initializer=ZeroOneUniform(), beta_initializer=init.Zero(),
                      in_channels=channels, **(norm_kwargs or {}))


class SEBottleneck(nn.HybridBlock):
    """ResNet V1b bottleneck with an optional squeeze-and-excitation gate.

    ``relu(gate(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x))``
    where ``gate`` is the ``se`` block when ``use_se`` and the identity otherwise.

    Parameters
    ----------
    in_channels : int
        Input channels.
    planes : int
        Width of the 1x1 and 3x3 convolutions; the block outputs ``4 * planes``.
    strides : int, default 1
        Stride of the 3x3 convolution and of the projection shortcut.
    downsample : bool, default False
        Project the shortcut with a strided 1x1 convolution + norm
        (``downsample.0`` / ``downsample.1``).
    use_se : bool, default False
        Gate the residual branch with :class:`gluonpose.nn.SELayer` (reduction 1).
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
        Normalisation block.
    norm_kwargs : dict, optional
        Extra arguments of ``norm_layer``.
    """

    expansion = 4

    def __init__(self, in_channels, planes, strides=1, downsample=False, use_se=False,
                 norm_layer=nn.BatchNorm, norm_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        out_channels = planes * self.expansion
        with self.name_scope():
            self.conv1 = _conv(planes, 1, in_channels)
            self.bn1 = _norm(norm_layer, norm_kwargs, planes)
            self.conv2 = _conv(planes, 3, planes, strides)
            self.bn2 = _norm(norm_layer, norm_kwargs, planes)
            self.conv3 = _conv(out_channels, 1, planes)
            self.bn3 = _norm(norm_layer, norm_kwargs, out_channels)
            # se then downsample: the registration (and so file) order of GluonCV/AlphaPose
            self.se = SELayer(out_channels, reduction=1) if use_se else None
            if downsample:
                self.downsample = nn.HybridSequential(prefix="down_")
                with self.downsample.name_scope():
                    self.downsample.add(_conv(out_channels, 1, in_channels, strides))
                    self.downsample.add(_norm(norm_layer, norm_kwargs, out_channels))
            else:
                self.downsample = None

    def hybrid_forward(self, F, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


def _depth_of(architecture):
    """50 / 101 / 152 from an int or a name like ``'resnet101'`` or ``'resnet101_v1b'``."""
    if isinstance(architecture, int):
        depth = architecture
    else:
        name = str(architecture).lower().split("_")[0]
        for prefix in ("se_resnet", "seresnet", "resnet"):
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        depth = int(name) if name.isdigit() else None
    if depth not in SE_RESNET_DEPTHS:
        raise ValueError("SE-ResNet depth must be one of %s, got %r"
                         % (", ".join(map(str, SE_RESNET_DEPTHS)), architecture))
    return depth


class SEResNet(nn.HybridBlock):
    """SE-ResNet-50/101/152 trunk: stem and four stages, C5 at stride 32.

    No pooling or classifier: the network returns the ``(N, 2048, H/32, W/32)``
    features of ``layer4``.

    Parameters
    ----------
    architecture : int or str, default 101
        Depth, or a name such as ``'resnet101'`` / ``'resnet101_v1b'`` (GluonCV's
        ``FastSEResNet`` takes the name).
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
        Normalisation block of every norm layer (e.g. ``SyncBatchNorm``).
    norm_kwargs : dict, optional
        Extra arguments of ``norm_layer``.
    **kwargs
        Passed to :class:`mxnet.gluon.HybridBlock` (``prefix``, ``params``).
    """

    def __init__(self, architecture=101, norm_layer=nn.BatchNorm, norm_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        self.depth = _depth_of(architecture)
        self._norm_args = (norm_layer, norm_kwargs)
        with self.name_scope():
            self.conv1 = nn.Conv2D(64, 7, strides=2, padding=3, use_bias=False, in_channels=3,
                                   weight_initializer=fan_in_uniform(3 * 7 * 7))
            self.bn1 = _norm(norm_layer, norm_kwargs, 64)
            self.relu = nn.Activation("relu")
            self.maxpool = nn.MaxPool2D(pool_size=3, strides=2, padding=1)
            in_channels = 64
            for stage, blocks in enumerate(SE_RESNET_DEPTHS[self.depth], 1):
                planes = 64 * 2 ** (stage - 1)
                layer = self._make_stage(stage, in_channels, planes, blocks,
                                         strides=1 if stage == 1 else 2)
                setattr(self, "layer%d" % stage, layer)
                in_channels = planes * SEBottleneck.expansion
        self.out_channels = in_channels

    def _make_stage(self, stage, in_channels, planes, blocks, strides):
        norm_layer, norm_kwargs = self._norm_args
        layer = nn.HybridSequential(prefix="layer%d_" % stage)
        with layer.name_scope():
            # every stage of these depths changes width (or stride) at block 0, so
            # block 0 always projects its shortcut and carries the SE gate
            layer.add(SEBottleneck(in_channels, planes, strides, downsample=True, use_se=True,
                                   norm_layer=norm_layer, norm_kwargs=norm_kwargs))
            for _ in range(1, blocks):
                layer.add(SEBottleneck(planes * SEBottleneck.expansion, planes,
                                       norm_layer=norm_layer, norm_kwargs=norm_kwargs))
        return layer

    def stages(self):
        """The four residual stages, ``[layer1, layer2, layer3, layer4]``."""
        return [self.layer1, self.layer2, self.layer3, self.layer4]

    def hybrid_forward(self, F, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for layer in self.stages():
            x = layer(x)
        return x


#: GluonCV's name for the same trunk
FastSEResNet = SEResNet


def load_imagenet_resnet(trunk, base_name, tag=None, ctx=cpu(), root=None):
    """Copy a ResNet V1b ImageNet file into an :class:`SEResNet` trunk.

    Every trunk parameter except the SE gates (which ImageNet ResNets lack)
    takes the value of the parameter with the same structural name; the
    classifier ``fc`` is left out. The gates are initialised with the global
    default initializer. The file goes through the checksummed store
    (:func:`gluonpose.model_zoo.resnetv1b.get_resnet_v1b` with ``pretrained``).

    Parameters
    ----------
    trunk : SEResNet
    base_name : str
        ``'resnet50_v1b'``, ``'resnet101_v1b'`` or ``'resnet152_v1b'`` (same depth
        as ``trunk``).
    tag : str, optional
        Hashtag of the base weights (default: the published ones).
    ctx : Context or list of Context, default cpu()
    root : str, optional
        Model-store directory.

    Raises
    ------
    ValueError
        If the depths differ or the file's names do not cover the trunk.
    """
    from .resnetv1b import get_resnet_v1b
    if _depth_of(base_name) != trunk.depth:
        raise ValueError("%s does not fit an SE-ResNet-%d trunk" % (base_name, trunk.depth))
    # loading into the real ResNetV1b first checks the file strictly (every name, every shape)
    base = get_resnet_v1b(base_name, pretrained=tag or True, ctx=ctx, root=root)
    source = {k: v for k, v in base._collect_params_with_prefix().items()
              if not k.startswith("fc.")}
    target = trunk._collect_params_with_prefix()
    gates = {k for k in target if ".se." in k}
    if set(target) - gates != set(source):
        missing = sorted(set(target) - gates - set(source))
        extra = sorted(set(source) - set(target))
        raise ValueError("%s does not match the SE-ResNet trunk (missing %s, extra %s)"
                         % (base_name, missing[:5], extra[:5]))
    trunk.initialize(ctx=ctx, force_reinit=True)
    for key, param in source.items():
        if target[key].shape != param.shape:
            raise ValueError("%s: %s has shape %s in the trunk but %s in %s"
                             % (base_name, key, target[key].shape, param.shape, base_name))
        target[key].set_data(param.data(param.list_ctx()[0]))


def get_se_resnet(architecture=101, pretrained_base=False, ctx=cpu(), root=None,
                  norm_layer=nn.BatchNorm, norm_kwargs=None, **kwargs):
    """Build an SE-ResNet trunk, optionally filled with ImageNet ResNet V1b weights.

    Parameters
    ----------
    architecture : int or str, default 101
        50, 101 or 152 (or ``'resnet101_v1b'`` ...).
    pretrained_base : bool or str, default False
        ``True`` (or a hashtag) copies ``resnet{depth}_v1b``'s ImageNet weights into
        every non-SE parameter; the SE gates get the global default initializer.
    ctx : Context or list of Context, default cpu()
    root : str, optional
        Model-store directory.
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
    norm_kwargs : dict, optional
    **kwargs
        Passed to :class:`SEResNet`.

    Returns
    -------
    SEResNet
        Initialised when ``pretrained_base``; otherwise not (call ``initialize``;
        the convolutions and norms keep their AlphaPose initialisers).
    """
    trunk = SEResNet(architecture, norm_layer=norm_layer, norm_kwargs=norm_kwargs, **kwargs)
    if pretrained_base:
        tag = pretrained_base if isinstance(pretrained_base, str) else None
        load_imagenet_resnet(trunk, "resnet%d_v1b" % trunk.depth, tag=tag, ctx=ctx, root=root)
    return trunk
