"""MobileNet v1, v2 and v3 backbones, and the trunks the pose nets cut from them.

* v1 (Howard et al. 2017): a 3x3 stem, then 13 depthwise-3x3 / pointwise-1x1 pairs.
* v2 (Sandler et al. 2018): inverted residual bottlenecks with a linear projection.
* v3 (Howard et al. 2019): v2's bottleneck with squeeze-excitation and hard-swish.

Every child lives in one flat ``features`` sequence, in GluonCV's order and with
GluonCV's attribute names inside the residual units (``out``, ``expand``, ``conv1``,
``se``, ``conv2``...). Parameter-free activations occupy their own sequence slots
too, so the structural parameter names (``features.3.out.0.weight``,
``features.4.se.conv1.bias``, ``output.0.weight``...) are GluonCV's and its
ImageNet ``.params`` files load in either direction.

:func:`get_mobilenet_trunk` returns the convolutional trunk (pooling and
classifier dropped) that GluonCV's MobilePose keeps, for any of these bases and
for the ResNet V1b/V1d ones.
"""
import math

from mxnet.context import cpu
from mxnet.gluon import nn

__all__ = ["ReLU6", "HardSigmoid", "HardSwish", "MobileNet", "MobileNetV2", "MobileNetV3",
           "LinearBottleneck", "MobileNetV3Unit", "get_mobilenet", "get_mobilenet_v2",
           "get_mobilenet_v3", "get_mobilenet_trunk", "MOBILENET_TRUNKS", "mobilenet1_0",
           "mobilenet_v2_1_0", "mobilenet_v3_large", "mobilenet_v3_small"]


# ------------------------------------------------------------------------------------------
# activations (no parameters; kept as blocks because they hold sequence slots)


class ReLU6(nn.HybridBlock):
    """``min(max(x, 0), 6)``: ReLU capped at 6, robust under low-precision inference."""

    def hybrid_forward(self, F, x):
        return F.clip(x, 0, 6)


class HardSigmoid(nn.HybridBlock):
    """``relu6(x + 3) / 6``: a piecewise-linear sigmoid (MobileNetV3)."""

    def hybrid_forward(self, F, x):
        return F.clip(x + 3.0, 0, 6) / 6.0


class HardSwish(nn.HybridBlock):
    """``x * relu6(x + 3) / 6``: a piecewise-quadratic swish (MobileNetV3)."""

    def hybrid_forward(self, F, x):
        return x * (F.clip(x + 3.0, 0, 6) / 6.0)


def _activation(kind):
    if kind == "relu":
        return nn.Activation("relu")
    if kind == "relu6":
        return ReLU6()
    if kind == "hard_swish":
        return HardSwish()
    if kind == "hard_sigmoid":
        return HardSigmoid()
    raise ValueError("unknown activation %r" % (kind,))


def _conv_bn(seq, channels, kernel=1, stride=1, groups=1, act="relu", in_channels=0,
             norm=None):
    """Append conv (no bias) -> norm [-> activation] to ``seq``: two or three slots."""
    seq.add(nn.Conv2D(channels, kernel, stride, kernel // 2, groups=groups, use_bias=False,
                      in_channels=in_channels))
    seq.add(norm(channels))
    if act is not None:
        seq.add(_activation(act))


def _make_norm(norm_layer, norm_kwargs):
    kwargs = dict(norm_kwargs or {})

    def build(channels):
        return norm_layer(in_channels=channels, **kwargs)
    return build


class _Classifier(nn.HybridBlock):
    """Shared ``features -> output`` forward and the trunk cut."""

    #: children at the end of ``features`` that are not part of the pose trunk
    trunk_drop = 0

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))

    def trunk(self):
        """The part of ``features`` GluonCV's MobilePose keeps, as a HybridSequential.

        The slice shares the children (and so the parameters) of this network;
        its children are renumbered from 0, as in GluonCV.
        """
        return self.features[:-self.trunk_drop]


# ------------------------------------------------------------------------------------------
# v1


class MobileNet(_Classifier):
    """MobileNet v1 ImageNet classifier.

    Parameters
    ----------
    multiplier : float, default 1.0
        Width multiplier applied to every layer's channels.
    classes : int, default 1000
        Outputs of the ``output`` Dense layer.
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
        Normalisation block after every convolution.
    norm_kwargs : dict, optional
        Extra arguments for every ``norm_layer``.
    name_prefix : str, default ``'mobilenet_'``
        Prefix of the ``collect_params()`` names (structural names do not depend on it).
    """

    trunk_drop = 2     # GlobalAvgPool2D, Flatten

    def __init__(self, multiplier=1.0, classes=1000, norm_layer=nn.BatchNorm, norm_kwargs=None,
                 name_prefix="mobilenet_", **kwargs):
        super().__init__(prefix=name_prefix, **kwargs)
        norm = _make_norm(norm_layer, norm_kwargs)
        width = [int(c * multiplier) for c in
                 (32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024)]
        strides = (2, 1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)   # stem, then 13 dw strides
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            with self.features.name_scope():
                _conv_bn(self.features, width[0], 3, strides[0], in_channels=3, norm=norm)
                for i in range(1, len(width)):
                    # depthwise 3x3 on the previous width, then pointwise to the next one
                    _conv_bn(self.features, width[i - 1], 3, strides[i], groups=width[i - 1],
                             in_channels=width[i - 1], norm=norm)
                    _conv_bn(self.features, width[i], 1, in_channels=width[i - 1], norm=norm)
                self.features.add(nn.GlobalAvgPool2D(), nn.Flatten())
            self.output = nn.Dense(classes, in_units=width[-1])
        self.trunk_channels = width[-1]


# ------------------------------------------------------------------------------------------
# v2


class LinearBottleneck(nn.HybridBlock):
    """MobileNetV2 inverted residual: 1x1 expand, 3x3 depthwise, linear 1x1 project.

    Parameters
    ----------
    in_channels, channels : int
        Input and output channels.
    t : int
        Expansion ratio; ``t == 1`` drops the expanding convolution.
    stride : int
        Stride of the depthwise convolution.
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
    norm_kwargs : dict, optional
    """

    def __init__(self, in_channels, channels, t, stride, norm_layer=nn.BatchNorm,
                 norm_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        norm = _make_norm(norm_layer, norm_kwargs)
        self.use_shortcut = stride == 1 and in_channels == channels
        hidden = in_channels * t
        with self.name_scope():
            self.out = nn.HybridSequential()
            with self.out.name_scope():
                if t != 1:
                    _conv_bn(self.out, hidden, 1, act="relu6", in_channels=in_channels,
                             norm=norm)
                _conv_bn(self.out, hidden, 3, stride, groups=hidden, act="relu6",
                         in_channels=hidden, norm=norm)
                # no activation after the projection: the "linear" bottleneck
                _conv_bn(self.out, channels, 1, act=None, in_channels=hidden, norm=norm)

    def hybrid_forward(self, F, x):
        out = self.out(x)
        return out + x if self.use_shortcut else out


#: MobileNetV2 stages: (expansion t, output channels c, repeats n, first stride s)
_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
              (6, 160, 3, 2), (6, 320, 1, 1))


class MobileNetV2(_Classifier):
    """MobileNetV2 ImageNet classifier.

    Parameters
    ----------
    multiplier : float, default 1.0
        Width multiplier; the last 1x1 conv keeps 1280 channels unless it is above 1.
    classes : int, default 1000
        Outputs of the 1x1 convolution classifier ``output.0``.
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
    norm_kwargs : dict, optional
    name_prefix : str, default ``'mobilenetv2_'``
    """

    trunk_drop = 1     # GlobalAvgPool2D

    def __init__(self, multiplier=1.0, classes=1000, norm_layer=nn.BatchNorm, norm_kwargs=None,
                 name_prefix="mobilenetv2_", **kwargs):
        super().__init__(prefix=name_prefix, **kwargs)
        norm = _make_norm(norm_layer, norm_kwargs)
        last = int(1280 * multiplier) if multiplier > 1.0 else 1280
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="features_")
            with self.features.name_scope():
                in_c = int(32 * multiplier)
                _conv_bn(self.features, in_c, 3, 2, act="relu6", in_channels=3, norm=norm)
                for t, c, n, s in _V2_STAGES:
                    c = int(c * multiplier)
                    for i in range(n):
                        self.features.add(LinearBottleneck(in_c, c, t, s if i == 0 else 1,
                                                           norm_layer, norm_kwargs))
                        in_c = c
                _conv_bn(self.features, last, 1, act="relu6", in_channels=in_c, norm=norm)
                self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.HybridSequential(prefix="output_")
            with self.output.name_scope():
                self.output.add(nn.Conv2D(classes, 1, use_bias=False, in_channels=last),
                                nn.Flatten())
        self.trunk_channels = last


# ------------------------------------------------------------------------------------------
# v3


def _round8(x):
    """Round channels *up* to a multiple of 8, GluonCV's rule (not the paper's nearest)."""
    return int(math.ceil(x / 8.0) * 8)


class _Unit(nn.HybridBlock):
    """conv (no bias) -> norm [-> activation], children ``conv``, ``bn``, ``act``."""

    def __init__(self, channels, kernel, stride=1, groups=1, act="relu", in_channels=0,
                 norm=None, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.conv = nn.Conv2D(channels, kernel, stride, kernel // 2, groups=groups,
                                  use_bias=False, in_channels=in_channels)
            self.bn = norm(channels)
            self.act = _activation(act) if act is not None else None

    def hybrid_forward(self, F, x):
        x = self.bn(self.conv(x))
        return x if self.act is None else self.act(x)


class _SqueezeExcite(nn.HybridBlock):
    """Channel gate: global pool, 1x1 conv + ReLU, 1x1 conv + hard sigmoid, multiply.

    Children ``conv1``/``conv2`` (with bias) as GluonCV names them.
    """

    def __init__(self, channels, ratio=4, **kwargs):
        super().__init__(**kwargs)
        mid = _round8(channels // ratio)
        with self.name_scope():
            self.pool = nn.GlobalAvgPool2D()
            self.conv1 = nn.Conv2D(mid, 1, in_channels=channels)
            self.act1 = nn.Activation("relu")
            self.conv2 = nn.Conv2D(channels, 1, in_channels=mid)
            self.act2 = HardSigmoid()

    def hybrid_forward(self, F, x):
        gate = self.act2(self.conv2(self.act1(self.conv1(self.pool(x)))))
        return F.broadcast_mul(x, gate)


class MobileNetV3Unit(nn.HybridBlock):
    """MobileNetV3 bottleneck: [1x1 expand] -> kxk depthwise -> [SE] -> linear 1x1.

    The expansion exists only when the hidden width differs from the output
    width (GluonCV's rule); the identity shortcut only when stride is 1 and the
    input and output widths match.

    Parameters
    ----------
    in_channels, hidden, channels : int
        Input, expanded and output channels.
    kernel : int
        Depthwise kernel (3 or 5).
    act : str
        ``'relu'`` or ``'hard_swish'``.
    use_se : bool
        Add a squeeze-excitation gate after the depthwise conv.
    stride : int, default 1
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
    norm_kwargs : dict, optional
    """

    def __init__(self, in_channels, hidden, channels, kernel, act, use_se, stride=1,
                 norm_layer=nn.BatchNorm, norm_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        norm = _make_norm(norm_layer, norm_kwargs)
        self.use_shortcut = stride == 1 and in_channels == channels
        with self.name_scope():
            # registration order expand, conv1, se, conv2 = GluonCV's traversal order
            self.expand = (_Unit(hidden, 1, act=act, in_channels=in_channels, norm=norm)
                           if hidden != channels else None)
            self.conv1 = _Unit(hidden, kernel, stride, groups=hidden, act=act,
                               in_channels=hidden, norm=norm)
            self.se = _SqueezeExcite(hidden) if use_se else None
            self.conv2 = _Unit(channels, 1, act=None, in_channels=hidden, norm=norm)

    def hybrid_forward(self, F, x):
        out = x if self.expand is None else self.expand(x)
        out = self.conv1(out)
        if self.se is not None:
            out = self.se(out)
        out = self.conv2(out)
        return out + x if self.use_shortcut else out


#: per bottleneck: (kernel, expanded width, output width, squeeze-excite, activation, stride)
_V3_CONFIGS = {
    "large": dict(units=(
        (3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2),
        (3, 72, 24, False, "relu", 1), (5, 72, 40, True, "relu", 2),
        (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
        (3, 240, 80, False, "hard_swish", 2), (3, 200, 80, False, "hard_swish", 1),
        (3, 184, 80, False, "hard_swish", 1), (3, 184, 80, False, "hard_swish", 1),
        (3, 480, 112, True, "hard_swish", 1), (3, 672, 112, True, "hard_swish", 1),
        (5, 672, 160, True, "hard_swish", 2), (5, 960, 160, True, "hard_swish", 1),
        (5, 960, 160, True, "hard_swish", 1)), squeeze=960, expand=1280),
    "small": dict(units=(
        (3, 16, 16, True, "relu", 2), (3, 72, 24, False, "relu", 2),
        (3, 88, 24, False, "relu", 1), (5, 96, 40, True, "hard_swish", 2),
        (5, 240, 40, True, "hard_swish", 1), (5, 240, 40, True, "hard_swish", 1),
        (5, 120, 48, True, "hard_swish", 1), (5, 144, 48, True, "hard_swish", 1),
        (5, 288, 96, True, "hard_swish", 2), (5, 576, 96, True, "hard_swish", 1),
        (5, 576, 96, True, "hard_swish", 1)), squeeze=576, expand=1280),
}


class MobileNetV3(_Classifier):
    """MobileNetV3 (large or small) ImageNet classifier.

    ``features`` = stem (conv, norm, hard-swish), the bottlenecks, then the
    1x1 squeeze conv + norm + hard-swish, global pool, 1x1 expand conv (no norm)
    + hard-swish and dropout; ``output`` = 1x1 conv with bias + flatten.

    Parameters
    ----------
    variant : {'large', 'small'}
    multiplier : float, default 1.0
        Width multiplier (widths rounded up to multiples of 8).
    classes : int, default 1000
    final_drop : float, default 0.2
        Dropout before the classifier; 0 removes the slot (as in GluonCV).
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
        Used for every norm layer (GluonCV applies it only to the stem and the
        last one; the parameters are the same either way).
    norm_kwargs : dict, optional
    name_prefix : str, default ``'mobilenetv3_'``
    """

    trunk_drop = 4     # GlobalAvgPool2D, 1x1 expand conv, HardSwish, Dropout

    def __init__(self, variant="large", multiplier=1.0, classes=1000, final_drop=0.2,
                 norm_layer=nn.BatchNorm, norm_kwargs=None, name_prefix="mobilenetv3_",
                 **kwargs):
        super().__init__(prefix=name_prefix, **kwargs)
        if variant not in _V3_CONFIGS:
            raise ValueError("MobileNetV3 variant must be 'large' or 'small', got %r"
                             % (variant,))
        if final_drop <= 0:
            # without the dropout slot the trunk cut would take the expand conv too
            self.trunk_drop = 3
        cfg = _V3_CONFIGS[variant]
        norm = _make_norm(norm_layer, norm_kwargs)
        squeeze = _round8(multiplier * cfg["squeeze"])
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            with self.features.name_scope():
                in_c = _round8(multiplier * 16)
                _conv_bn(self.features, in_c, 3, 2, act="hard_swish", in_channels=3, norm=norm)
                for kernel, hidden, out_c, use_se, act, stride in cfg["units"]:
                    out_c = _round8(multiplier * out_c)
                    self.features.add(MobileNetV3Unit(
                        in_c, _round8(multiplier * hidden), out_c, kernel, act, use_se, stride,
                        norm_layer, norm_kwargs))
                    in_c = out_c
                _conv_bn(self.features, squeeze, 1, act="hard_swish", in_channels=in_c,
                         norm=norm)
                self.features.add(nn.GlobalAvgPool2D())
                self.features.add(nn.Conv2D(cfg["expand"], 1, use_bias=False,
                                            in_channels=squeeze))
                self.features.add(HardSwish())
                if final_drop > 0:
                    self.features.add(nn.Dropout(final_drop))
            self.output = nn.HybridSequential(prefix="output_")
            with self.output.name_scope():
                self.output.add(nn.Conv2D(classes, 1, in_channels=cfg["expand"]), nn.Flatten())
        self.trunk_channels = squeeze


# ------------------------------------------------------------------------------------------
# factories


def _load_pretrained(net, name, pretrained, ctx, root):
    if pretrained:
        from .model_store import get_model_file
        tag = pretrained if isinstance(pretrained, str) else None
        net.load_parameters(get_model_file(name, tag=tag, root=root), ctx=ctx)
    return net


_FACTORY_DOC = """Build {what}, optionally with GluonCV's ImageNet weights.

    Parameters
    ----------
    {first}pretrained : bool or str, default False
        ``True`` loads the published ``{store}`` weights, a string selects them by hashtag.
    ctx : Context or list of Context, default cpu()
        Where the loaded parameters live.
    root : str, optional
        Model-store cache directory (see :func:`gluonpose.model_zoo.model_store.get_model_file`).
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
        Normalisation block (e.g. :class:`~gluonpose.nn.BatchNormCudnnOff`).
    norm_kwargs : dict, optional
        Extra arguments for every ``norm_layer``.
    **kwargs
        Passed to :class:`{cls}` (``classes``...).

    Returns
    -------
    {cls}
        Not initialised unless ``pretrained`` (as in GluonCV).
    """


def _suffix(multiplier):
    # GluonCV's store names: 1.0, 0.75, 0.5, 0.25
    return "%.2f" % multiplier if multiplier in (0.75, 0.25) else "%.1f" % multiplier


def get_mobilenet(multiplier=1.0, pretrained=False, ctx=cpu(), root=None,
                  norm_layer=nn.BatchNorm, norm_kwargs=None, **kwargs):
    net = MobileNet(multiplier, norm_layer=norm_layer, norm_kwargs=norm_kwargs, **kwargs)
    return _load_pretrained(net, "mobilenet" + _suffix(multiplier), pretrained, ctx, root)


def get_mobilenet_v2(multiplier=1.0, pretrained=False, ctx=cpu(), root=None,
                     norm_layer=nn.BatchNorm, norm_kwargs=None, **kwargs):
    net = MobileNetV2(multiplier, norm_layer=norm_layer, norm_kwargs=norm_kwargs, **kwargs)
    return _load_pretrained(net, "mobilenetv2_" + _suffix(multiplier), pretrained, ctx, root)


def get_mobilenet_v3(variant="large", pretrained=False, ctx=cpu(), root=None,
                     norm_layer=nn.BatchNorm, norm_kwargs=None, **kwargs):
    net = MobileNetV3(variant, norm_layer=norm_layer, norm_kwargs=norm_kwargs, **kwargs)
    return _load_pretrained(net, "mobilenetv3_" + variant, pretrained, ctx, root)


get_mobilenet.__doc__ = _FACTORY_DOC.format(
    what="MobileNet v1", store="mobilenet<multiplier>", cls="MobileNet",
    first="multiplier : float, default 1.0\n        Width multiplier.\n    ")
get_mobilenet_v2.__doc__ = _FACTORY_DOC.format(
    what="MobileNetV2", store="mobilenetv2_<multiplier>", cls="MobileNetV2",
    first="multiplier : float, default 1.0\n        Width multiplier.\n    ")
get_mobilenet_v3.__doc__ = _FACTORY_DOC.format(
    what="MobileNetV3", store="mobilenetv3_<variant>", cls="MobileNetV3",
    first="variant : {'large', 'small'}, default 'large'\n    ")


def mobilenet1_0(**kwargs):
    """``mobilenet1.0``; see :func:`get_mobilenet`."""
    return get_mobilenet(1.0, **kwargs)


def mobilenet_v2_1_0(**kwargs):
    """``mobilenetv2_1.0``; see :func:`get_mobilenet_v2`."""
    return get_mobilenet_v2(1.0, **kwargs)


def mobilenet_v3_large(**kwargs):
    """``mobilenetv3_large``; see :func:`get_mobilenet_v3`."""
    return get_mobilenet_v3("large", **kwargs)


def mobilenet_v3_small(**kwargs):
    """``mobilenetv3_small``; see :func:`get_mobilenet_v3`."""
    return get_mobilenet_v3("small", **kwargs)


#: registry name -> factory of the ImageNet classifier (the trunk's source)
MOBILENET_TRUNKS = {
    "mobilenet1.0": mobilenet1_0,
    "mobilenetv2_1.0": mobilenet_v2_1_0,
    "mobilenetv3_large": mobilenet_v3_large,
    "mobilenetv3_small": mobilenet_v3_small,
}


def get_mobilenet_trunk(base_name, pretrained=False, ctx=cpu(), root=None,
                        norm_layer=nn.BatchNorm, norm_kwargs=None):
    """The convolutional trunk of a backbone, as GluonCV's MobilePose cuts it.

    Parameters
    ----------
    base_name : str
        ``'mobilenet1.0'``, ``'mobilenetv2_1.0'``, ``'mobilenetv3_large'``,
        ``'mobilenetv3_small'`` or a ResNet V1b/V1d name such as ``'resnet18_v1b'``.
    pretrained : bool or str, default False
        Load the backbone's ImageNet weights first (``True`` or a hashtag).
    ctx : Context or list of Context, default cpu()
        Where those weights are loaded.
    root : str, optional
        Model-store cache directory.
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
        Normalisation block of the backbone (GluonCV's MobilePose uses plain
        batch norm; :class:`~gluonpose.nn.BatchNormCudnnOff` has the same parameters).
    norm_kwargs : dict, optional
        Extra arguments for every ``norm_layer``.

    Returns
    -------
    trunk : mxnet.gluon.nn.HybridSequential
        Stride-32 feature extractor. For a MobileNet, the base's ``features``
        minus pooling/classifier tail (children renumbered from 0: mobilenet1.0
        drops 2, v2 drops 1, v3 drops 4). For a ResNet, its eight children
        ``conv1, bn1, relu, maxpool, layer1..layer4`` at indices 0..7.
        Uninitialised unless ``pretrained``.
    channels : int
        Output channels of the trunk: 1024, 1280, 960, 576; 512 or 2048 for ResNets.

    Raises
    ------
    ValueError
        For a base this function does not know.
    """
    if base_name in MOBILENET_TRUNKS:
        base = MOBILENET_TRUNKS[base_name](pretrained=pretrained, ctx=ctx, root=root,
                                           norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        return base.trunk(), base.trunk_channels
    from .resnetv1b import RESNET_SPECS, get_resnet_v1b
    if base_name in RESNET_SPECS:
        base = get_resnet_v1b(base_name, pretrained=pretrained, ctx=ctx, root=root,
                              norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        trunk = nn.HybridSequential(prefix="")
        trunk.add(*base.trunk())
        return trunk, 512 * RESNET_SPECS[base_name][0].expansion
    raise ValueError("no trunk for base %r; choose from %s"
                     % (base_name, ", ".join(list(MOBILENET_TRUNKS) + list(RESNET_SPECS))))

