"""ResNet V1b and V1d backbones.

V1b ("ResNet-B") puts the stride of a bottleneck on its 3x3 convolution; V1d
("ResNet-D", Bag of Tricks) also replaces the 7x7 stem with three 3x3 convs and
downsamples shortcuts with an average pool before a stride-1 1x1 conv.

Attribute names and child order are those of GluonCV's ``resnetv1b`` module, so
the structural parameter names (``conv1.weight``, ``layer2.0.downsample.0.weight``,
``fc.bias``...) written by ``save_parameters`` match GluonCV's published ImageNet
files and load in either direction.
"""
from functools import partial

from mxnet.context import cpu
from mxnet.gluon import nn

__all__ = ["ResNetV1b", "BasicBlockV1b", "BottleneckV1b", "get_resnet_v1b", "RESNET_SPECS",
           "resnet18_v1b", "resnet34_v1b", "resnet50_v1b", "resnet101_v1b", "resnet152_v1b",
           "resnet50_v1d", "resnet101_v1d", "resnet152_v1d"]


def _norm(norm_layer, norm_kwargs, channels, zero_gamma=False):
    kwargs = dict(norm_kwargs or {})
    if zero_gamma:
        kwargs["gamma_initializer"] = "zeros"
    return norm_layer(in_channels=channels, **kwargs)


class BasicBlockV1b(nn.HybridBlock):
    """Two 3x3 convolutions with an identity (or projected) shortcut; expansion 1."""

    expansion = 1

    def __init__(self, in_channels, planes, strides=1, dilation=1, downsample=None,
                 previous_dilation=1, norm_layer=nn.BatchNorm, norm_kwargs=None,
                 last_gamma=False, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.conv1 = nn.Conv2D(planes, 3, strides, padding=dilation, dilation=dilation,
                                   use_bias=False, in_channels=in_channels)
            self.bn1 = _norm(norm_layer, norm_kwargs, planes)
            self.relu1 = nn.Activation("relu")
            self.conv2 = nn.Conv2D(planes, 3, 1, padding=previous_dilation,
                                   dilation=previous_dilation, use_bias=False, in_channels=planes)
            self.bn2 = _norm(norm_layer, norm_kwargs, planes, zero_gamma=last_gamma)
            self.relu2 = nn.Activation("relu")
        # registered last, as GluonCV does, so the file's traversal order matches
        self.downsample = downsample

    def hybrid_forward(self, F, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + shortcut)


class BottleneckV1b(nn.HybridBlock):
    """1x1 reduce, 3x3 (carrying the stride), 1x1 expand; expansion 4."""

    expansion = 4

    def __init__(self, in_channels, planes, strides=1, dilation=1, downsample=None,
                 previous_dilation=1, norm_layer=nn.BatchNorm, norm_kwargs=None,
                 last_gamma=False, **kwargs):
        super().__init__(**kwargs)
        out_channels = planes * self.expansion
        with self.name_scope():
            self.conv1 = nn.Conv2D(planes, 1, use_bias=False, in_channels=in_channels)
            self.bn1 = _norm(norm_layer, norm_kwargs, planes)
            self.relu1 = nn.Activation("relu")
            self.conv2 = nn.Conv2D(planes, 3, strides, padding=dilation, dilation=dilation,
                                   use_bias=False, in_channels=planes)
            self.bn2 = _norm(norm_layer, norm_kwargs, planes)
            self.relu2 = nn.Activation("relu")
            self.conv3 = nn.Conv2D(out_channels, 1, use_bias=False, in_channels=planes)
            self.bn3 = _norm(norm_layer, norm_kwargs, out_channels, zero_gamma=last_gamma)
            self.relu3 = nn.Activation("relu")
        self.downsample = downsample

    def hybrid_forward(self, F, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu3(out + shortcut)


class ResNetV1b(nn.HybridBlock):
    """ResNet V1b/V1d for ImageNet classification, the trunk of the pose nets.

    Parameters
    ----------
    block : type
        :class:`BasicBlockV1b` or :class:`BottleneckV1b`.
    layers : sequence of int
        Number of blocks in each of the four stages.
    classes : int, default 1000
        Outputs of the classifier ``fc``.
    dilated : bool, default False
        Keep stride 8 by dilating stages 3 and 4 instead of striding them.
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
        Normalisation block (the pose nets pass :class:`~gluonpose.nn.BatchNormCudnnOff`).
    norm_kwargs : dict, optional
        Extra arguments for every ``norm_layer``.
    last_gamma : bool, default False
        Start the last norm layer of each block with gamma 0 (zero-init residual).
    use_global_stats : bool, default False
        Freeze batch-norm statistics (sets ``use_global_stats`` in ``norm_kwargs``).
    deep_stem : bool, default False
        Three 3x3 convolutions instead of the 7x7 stem (V1c/V1d).
    stem_width : int, default 32
        Channels of the first two deep-stem convolutions.
    avg_down : bool, default False
        Average-pool before a stride-1 1x1 projection in the shortcut (V1d).
    final_drop : float, default 0.0
        Dropout before the classifier.
    """

    def __init__(self, block, layers, classes=1000, dilated=False, norm_layer=nn.BatchNorm,
                 norm_kwargs=None, last_gamma=False, deep_stem=False, stem_width=32,
                 avg_down=False, final_drop=0.0, use_global_stats=False, name_prefix="",
                 **kwargs):
        super().__init__(prefix=name_prefix, **kwargs)
        norm_kwargs = dict(norm_kwargs or {})
        if use_global_stats:
            norm_kwargs["use_global_stats"] = True
        self._norm = partial(_norm, norm_layer, norm_kwargs)
        self._block_kwargs = dict(norm_layer=norm_layer, norm_kwargs=norm_kwargs,
                                  last_gamma=last_gamma)
        self._avg_down = avg_down
        self.inplanes = stem_width * 2 if deep_stem else 64
        with self.name_scope():
            if deep_stem:
                self.conv1 = nn.HybridSequential(prefix="conv1_")
                with self.conv1.name_scope():
                    self.conv1.add(nn.Conv2D(stem_width, 3, 2, 1, use_bias=False, in_channels=3),
                                   self._norm(stem_width), nn.Activation("relu"),
                                   nn.Conv2D(stem_width, 3, 1, 1, use_bias=False,
                                             in_channels=stem_width),
                                   self._norm(stem_width), nn.Activation("relu"),
                                   nn.Conv2D(stem_width * 2, 3, 1, 1, use_bias=False,
                                             in_channels=stem_width))
            else:
                self.conv1 = nn.Conv2D(64, 7, 2, 3, use_bias=False, in_channels=3)
            self.bn1 = self._norm(self.inplanes)
            self.relu = nn.Activation("relu")
            self.maxpool = nn.MaxPool2D(pool_size=3, strides=2, padding=1)
            self.layer1 = self._make_layer(1, block, 64, layers[0])
            self.layer2 = self._make_layer(2, block, 128, layers[1], strides=2)
            stride3, dil3 = (1, 2) if dilated else (2, 1)
            stride4, dil4 = (1, 4) if dilated else (2, 1)
            self.layer3 = self._make_layer(3, block, 256, layers[2], strides=stride3,
                                           dilation=dil3)
            self.layer4 = self._make_layer(4, block, 512, layers[3], strides=stride4,
                                           dilation=dil4)
            self.avgpool = nn.GlobalAvgPool2D()
            self.flat = nn.Flatten()
            self.drop = nn.Dropout(final_drop) if final_drop > 0.0 else None
            self.fc = nn.Dense(classes, in_units=512 * block.expansion)

    def _shortcut(self, stage, out_channels, strides):
        seq = nn.HybridSequential(prefix="down%d_" % stage)
        with seq.name_scope():
            if self._avg_down:
                # A 1x1/1 pool for stride 1 is a no-op, but it keeps the conv at
                # index 1 in every stage, as in GluonCV's V1d files.
                seq.add(nn.AvgPool2D(pool_size=strides, strides=strides, ceil_mode=True,
                                     count_include_pad=False))
                seq.add(nn.Conv2D(out_channels, 1, 1, use_bias=False, in_channels=self.inplanes))
            else:
                seq.add(nn.Conv2D(out_channels, 1, strides, use_bias=False,
                                  in_channels=self.inplanes))
            seq.add(self._norm(out_channels))
        return seq

    def _make_layer(self, stage, block, planes, blocks, strides=1, dilation=1):
        out_channels = planes * block.expansion
        downsample = None
        if strides != 1 or self.inplanes != out_channels:
            downsample = self._shortcut(stage, out_channels, strides)
        layer = nn.HybridSequential(prefix="layers%d_" % stage)
        with layer.name_scope():
            # the first block of a dilated stage uses half the stage's dilation
            first_dilation = 1 if dilation in (1, 2) else 2
            layer.add(block(self.inplanes, planes, strides, dilation=first_dilation,
                            downsample=downsample, previous_dilation=dilation,
                            **self._block_kwargs))
            self.inplanes = out_channels
            for _ in range(1, blocks):
                layer.add(block(self.inplanes, planes, dilation=dilation,
                                previous_dilation=dilation, **self._block_kwargs))
        return layer

    def features(self, x):
        """Stem and the four stages, without pooling or classifier."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def hybrid_forward(self, F, x):
        x = self.flat(self.avgpool(self.features(x)))
        if self.drop is not None:
            x = self.drop(x)
        return self.fc(x)

    def trunk(self):
        """The children up to stage 4 in forward order (what the pose nets keep)."""
        return [self.conv1, self.bn1, self.relu, self.maxpool,
                self.layer1, self.layer2, self.layer3, self.layer4]

    def trunk_block(self):
        """The trunk as one ``HybridSequential`` holding those children by reference.

        Pose nets keep it as their ``resnet`` child, so its parameters are
        ``resnet.0`` ... ``resnet.7`` (GluonCV's structural names); ImageNet's
        pool and classifier are left behind.
        """
        seq = nn.HybridSequential(prefix="")
        for child in self.trunk():
            seq.add(child)
        return seq


#: name -> (block, stage depths, variant options)
RESNET_SPECS = {
    "resnet18_v1b": (BasicBlockV1b, (2, 2, 2, 2), {}),
    "resnet34_v1b": (BasicBlockV1b, (3, 4, 6, 3), {}),
    "resnet50_v1b": (BottleneckV1b, (3, 4, 6, 3), {}),
    "resnet101_v1b": (BottleneckV1b, (3, 4, 23, 3), {}),
    "resnet152_v1b": (BottleneckV1b, (3, 8, 36, 3), {}),
    "resnet50_v1d": (BottleneckV1b, (3, 4, 6, 3), {"deep_stem": True, "avg_down": True}),
    "resnet101_v1d": (BottleneckV1b, (3, 4, 23, 3), {"deep_stem": True, "avg_down": True}),
    "resnet152_v1d": (BottleneckV1b, (3, 8, 36, 3), {"deep_stem": True, "avg_down": True}),
}


def get_resnet_v1b(name, pretrained=False, ctx=cpu(), root=None, **kwargs):
    """Build a registered ResNet V1b/V1d, optionally with ImageNet weights.

    Parameters
    ----------
    name : str
        One of :data:`RESNET_SPECS`, e.g. ``'resnet50_v1d'``.
    pretrained : bool or str, default False
        ``True`` loads the published weights, a string selects them by hashtag.
    ctx : Context or list of Context, default cpu()
        Where the loaded parameters live.
    root : str, optional
        Model-store cache directory (see :func:`gluonpose.model_zoo.model_store.get_model_file`).
    **kwargs
        Passed to :class:`ResNetV1b` (``norm_layer``, ``norm_kwargs``, ``last_gamma`` ...).

    Returns
    -------
    ResNetV1b
        Not initialised unless ``pretrained`` (as in GluonCV).
    """
    block, layers, variant = RESNET_SPECS[name]
    options = dict(variant)
    options.update(kwargs)
    options.setdefault("name_prefix", name.split("_")[-1].replace("v1", "resnetv1") + "_")
    net = ResNetV1b(block, layers, **options)
    if pretrained:
        from .model_store import get_model_file
        tag = pretrained if isinstance(pretrained, str) else None
        net.load_parameters(get_model_file(name, tag=tag, root=root), ctx=ctx)
    return net


def _factory(name):
    def build(**kwargs):
        return get_resnet_v1b(name, **kwargs)
    build.__name__ = name
    build.__doc__ = "%s backbone; see :func:`get_resnet_v1b` for the arguments." % name
    return build


resnet18_v1b = _factory("resnet18_v1b")
resnet34_v1b = _factory("resnet34_v1b")
resnet50_v1b = _factory("resnet50_v1b")
resnet101_v1b = _factory("resnet101_v1b")
resnet152_v1b = _factory("resnet152_v1b")
resnet50_v1d = _factory("resnet50_v1d")
resnet101_v1d = _factory("resnet101_v1d")
resnet152_v1d = _factory("resnet152_v1d")
