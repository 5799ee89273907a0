"""Stacked hourglass networks (Newell, Yang and Deng, ECCV 2016).

A stem brings the image to a quarter of its resolution with 256 channels; then
``num_stacks`` hourglasses follow one another. Each hourglass pools its input
``num_downsample`` times (2x2 max pooling), with a pre-activation residual unit
before and after each pooling and a residual skip branch kept at every
resolution, then comes back up by nearest-neighbour x2 up-sampling, adding the
skip branch at each level. Every stack predicts heatmaps (one per joint, stride
4) and every prediction is supervised (intermediate supervision); between
stacks the heatmaps and the stack's features are projected back to 256
channels by 1x1 convolutions and added to the stack's input.

The network returns a **tuple of** ``num_stacks`` heatmap arrays
``(N, num_joints, H/4, W/4)``; the spec (:data:`HOURGLASS_MODELS`) trains all
of them with equal weight and decodes the last one.

Layout and names follow the PyTorch reference (princeton-vl/pytorch_stacked_hourglass,
``models/posenet.py`` and ``models/layers.py``), so a converted checkpoint is a
rename of BN ``weight``/``bias`` to ``gamma``/``beta`` after stripping the
``model.module.`` prefix: ``pre.0.conv``, ``pre.0.bn``, ``pre.1.bn1``,
``pre.1.conv1.conv``, ... ``hgs.{i}.0.up1``, ``hgs.{i}.0.low2.low2.low2.low3``,
``features.{i}.0`` (residual), ``features.{i}.1.conv`` / ``.bn``, ``outs.{i}.conv``,
``merge_features.{i}.conv.conv``, ``merge_preds.{i}.conv.conv``. Every
convolution has a bias, as in the reference (also those followed by batch norm).
One difference: the reference creates a ``skip_layer`` convolution in every
residual unit and uses it only when the input and output widths differ; here it
exists only where it is used, so a converter drops the unused ``skip_layer.*``
tensors (e.g. of every 256 -> 256 unit).

Initialisation is the reference's, i.e. PyTorch's defaults (the reference sets
none of its own): every convolution weight and bias ``Uniform(+-sqrt(1 / fan_in))``
(PyTorch >= 1.0's ``kaiming_uniform_(a=sqrt(5))`` and bias rule), batch-norm scale
1 and shift 0. The initialisers are attached to the parameters, so
``net.initialize()`` with any global initializer (the training engine passes
``MSRAPrelu``) still gives the reference initialisation.

Input: RGB scaled to [0, 1] with no mean/std (the reference feeds ``image / 255``).
Sides must be multiples of ``4 * 2 ** num_downsample`` (64 for the default 4).
"""
import math

from mxnet import init
from mxnet.context import cpu
from mxnet.gluon import nn

from ..nn import BatchNormCudnnOff
from .spec import SupervisedOutput, TopDownSpec

__all__ = ["HourglassNet", "Hourglass", "PreActResidual", "ConvUnit", "get_hourglass",
           "get_hourglass_model", "hourglass_spec", "HOURGLASS_MODELS"]


def _fan_in_uniform(fan_in):
    """``Uniform(+-sqrt(1 / fan_in))``: PyTorch's default for conv weights and biases."""
    return init.Uniform(scale=math.sqrt(1.0 / fan_in))


def _norm(channels, norm_layer, norm_kwargs):
    return norm_layer(in_channels=channels, gamma_initializer=init.One(),
                      beta_initializer=init.Zero(), **(norm_kwargs or {}))


class ConvUnit(nn.HybridBlock):
    """Convolution with bias, optionally followed by batch norm and ReLU.

    The reference's ``Conv`` layer: ``conv`` (k x k, padding ``(k - 1) / 2``),
    then ``bn`` if ``bn``, then ReLU if ``relu``.

    Parameters
    ----------
    channels : int
        Output channels.
    kernel_size : int
        Square kernel side (odd).
    in_channels : int
        Input channels.
    strides : int, default 1
    bn : bool, default False
        Add a batch norm after the convolution.
    relu : bool, default False
        Add a ReLU at the end.
    norm_layer : type, default BatchNormCudnnOff
    norm_kwargs : dict, optional
    **kwargs
        Passed to :class:`mxnet.gluon.HybridBlock`.
    """

    def __init__(self, channels, kernel_size, in_channels, strides=1, bn=False, relu=False,
                 norm_layer=BatchNormCudnnOff, norm_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        fan_in = in_channels * kernel_size * kernel_size
        self._relu = bool(relu)
        with self.name_scope():
            self.conv = nn.Conv2D(channels, kernel_size, strides=strides,
                                  padding=(kernel_size - 1) // 2, use_bias=True,
                                  in_channels=in_channels,
                                  weight_initializer=_fan_in_uniform(fan_in),
                                  bias_initializer=_fan_in_uniform(fan_in))
            self.bn = _norm(channels, norm_layer, norm_kwargs) if bn else None

    def hybrid_forward(self, F, x):
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self._relu:
            x = F.relu(x)
        return x


class PreActResidual(nn.HybridBlock):
    """Pre-activation bottleneck residual unit of the hourglass.

    ``out = conv3(relu(bn3(conv2(relu(bn2(conv1(relu(bn1(x)))))))) + skip(x)``
    with 1x1 ``conv1`` (``in_channels -> channels / 2``), 3x3 ``conv2``
    (``channels / 2 -> channels / 2``), 1x1 ``conv3`` (``channels / 2 -> channels``);
    ``skip`` is the identity when ``in_channels == channels``, else a 1x1
    convolution ``skip_layer``.

    Parameters
    ----------
    channels : int
        Output channels (even).
    in_channels : int
        Input channels.
    norm_layer : type, default BatchNormCudnnOff
    norm_kwargs : dict, optional
    **kwargs
        Passed to :class:`mxnet.gluon.HybridBlock`.
    """

    def __init__(self, channels, in_channels, norm_layer=BatchNormCudnnOff, norm_kwargs=None,
                 **kwargs):
        super().__init__(**kwargs)
        if channels % 2:
            raise ValueError("a residual unit needs an even width, got %d" % channels)
        mid = channels // 2
        with self.name_scope():
            self.bn1 = _norm(in_channels, norm_layer, norm_kwargs)
            self.conv1 = ConvUnit(mid, 1, in_channels)
            self.bn2 = _norm(mid, norm_layer, norm_kwargs)
            self.conv2 = ConvUnit(mid, 3, mid)
            self.bn3 = _norm(mid, norm_layer, norm_kwargs)
            self.conv3 = ConvUnit(channels, 1, mid)
            self.skip_layer = ConvUnit(channels, 1, in_channels) \
                if in_channels != channels else None

    def hybrid_forward(self, F, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        out = self.conv3(F.relu(self.bn3(out)))
        skip = x if self.skip_layer is None else self.skip_layer(x)
        return out + skip


#: the blocks an :class:`Hourglass` can be built of: ``(channels, in_channels, **norm) -> Block``
_UNITS = {
    "residual": PreActResidual,
    "conv": lambda channels, in_channels, **norm: ConvUnit(channels, 3, in_channels,
                                                           relu=True, **norm),
    "conv_bn": lambda channels, in_channels, **norm: ConvUnit(channels, 3, in_channels,
                                                              bn=True, relu=True, **norm),
}


class Hourglass(nn.HybridBlock):
    """One hourglass: ``depth`` poolings down, as many nearest x2 up-samplings back.

    ``out = up1(x) + upsample(low3(low2(low1(maxpool(x)))))`` where ``low2`` is
    an hourglass of ``depth - 1`` (a unit at depth 1); ``up1``, ``low1`` and
    ``low3`` are units: pre-activation residual units (the stacked hourglass)
    or plain 3x3 convolutions with ReLU (Associative Embedding).

    Parameters
    ----------
    depth : int
        Number of 2x2 max poolings (the reference's ``n``; 4 in the paper).
    channels : int
        Feature width at the top level.
    increase : int, default 0
        Width added at each level down (Associative Embedding uses 128; the
        single-person hourglass 0).
    norm_layer : type, default BatchNormCudnnOff
    norm_kwargs : dict, optional
    unit : {'residual', 'conv', 'conv_bn'}, default 'residual'
        The block at every level: :class:`PreActResidual` (stacked
        hourglass), or a :class:`ConvUnit` 3x3 convolution + ReLU without
        (``'conv'``, the Associative Embedding reference) or with
        (``'conv_bn'``: conv, BN, ReLU) batch norm.
    **kwargs
        Passed to :class:`mxnet.gluon.HybridBlock`.

    Notes
    -----
    H and W of the input must be divisible by ``2 ** depth``.
    """

    def __init__(self, depth, channels, increase=0, norm_layer=BatchNormCudnnOff,
                 norm_kwargs=None, unit="residual", **kwargs):
        super().__init__(**kwargs)
        if depth < 1:
            raise ValueError("an hourglass needs at least one down-sampling, got %d" % depth)
        if unit not in _UNITS:
            raise ValueError("unit must be one of %s, got %r" % (sorted(_UNITS), unit))
        low = channels + increase
        res = dict(norm_layer=norm_layer, norm_kwargs=norm_kwargs)

        def block(out_channels, in_channels):
            return _UNITS[unit](out_channels, in_channels, **res)
        with self.name_scope():
            self.up1 = block(channels, channels)
            self.pool1 = nn.MaxPool2D(pool_size=2, strides=2)
            self.low1 = block(low, channels)
            if depth > 1:
                self.low2 = Hourglass(depth - 1, low, increase, unit=unit, **res)
            else:
                self.low2 = block(low, low)
            self.low3 = block(channels, low)

    def hybrid_forward(self, F, x):
        up1 = self.up1(x)
        low = self.low3(self.low2(self.low1(self.pool1(x))))
        return up1 + F.UpSampling(low, scale=2, sample_type="nearest")


class HourglassNet(nn.HybridBlock):
    """Stacked hourglass network: a tuple of ``num_stacks`` heatmap arrays at stride 4.

    ===================  ===================================================  ===========
    stage                layers                                               output
    ===================  ===================================================  ===========
    ``pre``              7x7/2 conv 3 -> 64 + BN + ReLU; residual 64 -> 128;  256, H/4
                         2x2 max pool; residual 128 -> 128; residual
                         128 -> ``channels``
    ``hgs[i]``           :class:`Hourglass` (``num_downsample`` levels)       256, H/4
    ``features[i]``      residual; 1x1 conv + BN + ReLU                       256, H/4
    ``outs[i]``          1x1 conv -> ``num_joints`` (no BN/ReLU)              K, H/4
    ``merge_*[i]``       (i < num_stacks - 1) 1x1 convs of the heatmaps and   256, H/4
                         the features, added to the stack's input
    ===================  ===================================================  ===========

    Parameters
    ----------
    num_stacks : int, default 8
        Hourglasses (each supervised).
    num_joints : int, default 17
        Heatmap channels.
    channels : int, default 256
        Feature width (the reference's ``inp_dim``).
    num_downsample : int, default 4
        Poolings inside each hourglass; input sides must be multiples of
        ``4 * 2 ** num_downsample``.
    increase : int, default 0
        Width added per hourglass level (0 in the single-person hourglass).
    norm_layer : type, default BatchNormCudnnOff
        Norm block of every batch norm.
    norm_kwargs : dict, optional
        Extra arguments of ``norm_layer``.
    **kwargs
        Passed to :class:`mxnet.gluon.HybridBlock` (``prefix``, ``params``).

    Notes
    -----
    Cost (multiply-adds of convolutions, 17 joints, counted by
    :func:`gluonpose.utils.model_summary.model_summary`, 1 GFLOP = 1e9
    multiply-adds) at 256x256: 1 stack 3.43 M parameters / 5.15 GFLOPs, 2 stacks
    6.57 M / 8.34, 4 stacks 12.86 M / 14.71, 8 stacks 25.44 M / 27.46 (at
    256x192: 20.59 GFLOPs); batch-norm running statistics (0.12 M for 8 stacks)
    are not counted as parameters. The 8-stack MPII model (16 joints): 25.43 M,
    27.44 GFLOPs, beside the 25.59 M and 28 GFLOPs published for the PyTorch
    8-stack hourglass (bearpaw/pytorch-pose layout, as listed in the
    yuanyuanli85/Fast_Human_Pose_Estimation_Pytorch README). The princeton-vl
    state dict holds 7.4 M more values than that: the unused ``skip_layer``
    convolutions of its 256 -> 256 units (see the module docstring).
    """

    def __init__(self, num_stacks=8, num_joints=17, channels=256, num_downsample=4, increase=0,
                 norm_layer=BatchNormCudnnOff, norm_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        if num_stacks < 1:
            raise ValueError("num_stacks must be at least 1, got %r" % (num_stacks,))
        if num_downsample < 1:
            raise ValueError("num_downsample must be at least 1, got %r" % (num_downsample,))
        self.num_stacks = int(num_stacks)
        self.num_joints = int(num_joints)
        self.num_downsample = int(num_downsample)
        self.channels = int(channels)
        res = dict(norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        with self.name_scope():
            self.pre = nn.HybridSequential(prefix="pre_")
            with self.pre.name_scope():
                self.pre.add(ConvUnit(64, 7, 3, strides=2, bn=True, relu=True, **res),
                             PreActResidual(128, 64, **res),
                             nn.MaxPool2D(pool_size=2, strides=2),
                             PreActResidual(128, 128, **res),
                             PreActResidual(channels, 128, **res))
            self.hgs = nn.HybridSequential(prefix="hgs_")
            self.features = nn.HybridSequential(prefix="features_")
            self.outs = nn.HybridSequential(prefix="outs_")
            self.merge_features = nn.HybridSequential(prefix="merge_features_")
            self.merge_preds = nn.HybridSequential(prefix="merge_preds_")
            for i in range(self.num_stacks):
                # hgs[i] is a one-element sequence, as in the reference (hgs.{i}.0.*)
                hg = nn.HybridSequential(prefix="%d_" % i)
                with hg.name_scope():
                    hg.add(Hourglass(num_downsample, channels, increase, **res))
                self.hgs.add(hg)
                feature = nn.HybridSequential(prefix="%d_" % i)
                with feature.name_scope():
                    feature.add(PreActResidual(channels, channels, **res),
                                ConvUnit(channels, 1, channels, bn=True, relu=True, **res))
                self.features.add(feature)
                with self.outs.name_scope():
                    self.outs.add(ConvUnit(num_joints, 1, channels))
                if i < self.num_stacks - 1:
                    with self.merge_features.name_scope():
                        self.merge_features.add(_Merge(channels, channels))
                    with self.merge_preds.name_scope():
                        self.merge_preds.add(_Merge(channels, num_joints))

    def hybrid_forward(self, F, x):
        x = self.pre(x)
        preds = []
        for i in range(self.num_stacks):
            feature = self.features[i](self.hgs[i](x))
            pred = self.outs[i](feature)
            preds.append(pred)
            if i < self.num_stacks - 1:
                x = x + self.merge_preds[i](pred) + self.merge_features[i](feature)
        return tuple(preds)


class _Merge(nn.HybridBlock):
    """The reference's ``Merge``: a plain 1x1 convolution with bias, held as ``conv``."""

    def __init__(self, channels, in_channels, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.conv = ConvUnit(channels, 1, in_channels)

    def hybrid_forward(self, F, x):
        return self.conv(x)


#: input normalisation of the reference: RGB / 255, no mean or std
HOURGLASS_MEAN = (0.0, 0.0, 0.0)
HOURGLASS_STD = (1.0, 1.0, 1.0)


def hourglass_spec(num_stacks, input_size=(256, 256), schema="coco", num_downsample=4):
    """The :class:`TopDownSpec` of a stacked hourglass.

    Every stack is a supervised output (``stack0`` ... ``stack<n-1>``, weight 1,
    the run's codec, sigma and loss), the last is decoded. Flip test: the
    reference flips back with no shift, exact in its pixel-centre convention;
    in this library's (cell ``k`` at input ``4 k``) that is a 3/4-cell
    correction, ``flip_shift='exact'``.

    Parameters
    ----------
    num_stacks : int
    input_size : tuple of int, default (256, 256)
        Default ``(H, W)``.
    schema : str, default 'coco'
    num_downsample : int, default 4
        Sets the size multiple ``4 * 2 ** num_downsample``.

    Returns
    -------
    TopDownSpec
    """
    outputs = tuple(SupervisedOutput("stack%d" % i, i, weight=1.0) for i in range(num_stacks))
    return TopDownSpec("hourglass", input_size=input_size, mean=HOURGLASS_MEAN,
                       std=HOURGLASS_STD, stride=4, size_multiple=4 * 2 ** num_downsample,
                       outputs=outputs, decode=-1, schema=schema, flip_shift="exact")


#: registered name -> (num_stacks, num_joints, spec)
HOURGLASS_MODELS = {
    "hourglass_1stack": (1, 17, hourglass_spec(1)),
    "hourglass_2stack": (2, 17, hourglass_spec(2)),
    "hourglass_4stack": (4, 17, hourglass_spec(4)),
    "hourglass_8stack": (8, 17, hourglass_spec(8)),
    "hourglass_2stack_256x192": (2, 17, hourglass_spec(2, (256, 192))),
    "hourglass_8stack_256x192": (8, 17, hourglass_spec(8, (256, 192))),
    "hourglass_8stack_mpii": (8, 16, hourglass_spec(8, schema="mpii")),
}


def get_hourglass(num_stacks=8, pretrained=False, ctx=cpu(), root=None, num_joints=17,
                  num_downsample=4, pretrained_base=False, pretrained_ctx=None, model_name=None,
                  **kwargs):
    """Build a stacked hourglass network, optionally with published weights.

    Parameters
    ----------
    num_stacks : int, default 8
        Hourglasses, each supervised.
    pretrained : bool or str, default False
        ``True`` loads ``model_name`` from the model store, a string loads the
        weights with that hashtag. (No hourglass weights are published yet: the
        store raises its usual "not found" error.)
    ctx : Context or list of Context, default cpu()
        Where loaded parameters live.
    root : str, optional
        Model-store directory.
    num_joints : int, default 17
    num_downsample : int, default 4
        Poolings per hourglass (input sides multiples of ``4 * 2 ** num_downsample``;
        the registered specs assume 4).
    pretrained_base : bool or str, default False
        Accepted for the common factory signature and ignored: the hourglass has
        no separate ImageNet trunk, it is trained from scratch.
    pretrained_ctx : Context or list of Context, optional
        Accepted and ignored, as ``pretrained_base``.
    model_name : str, optional
        Model-store name for ``pretrained`` (default ``hourglass_<n>stack``).
    **kwargs
        Passed to :class:`HourglassNet` (``channels``, ``norm_layer``...).

    Returns
    -------
    HourglassNet
        Not initialised unless ``pretrained`` (as GluonCV's pose factories);
        ``net.initialize()`` gives the reference initialisation whatever the
        global initializer, because every parameter carries its own.
    """
    del pretrained_base, pretrained_ctx     # no ImageNet trunk to load
    net = HourglassNet(num_stacks=num_stacks, num_joints=num_joints,
                       num_downsample=num_downsample, **kwargs)
    if pretrained:
        from .model_store import get_model_file
        tag = pretrained if isinstance(pretrained, str) else None
        name = model_name or "hourglass_%dstack" % num_stacks
        net.load_parameters(get_model_file(name, tag=tag, root=root), ctx=ctx)
    return net


def get_hourglass_model(model_name, **kwargs):
    """Build a registered stacked hourglass by name (see :data:`HOURGLASS_MODELS`).

    ``num_joints`` and ``num_stacks`` may be overridden; the rest of ``kwargs``
    goes to :func:`get_hourglass`.
    """
    num_stacks, num_joints, _ = HOURGLASS_MODELS[model_name]
    kwargs.setdefault("num_stacks", num_stacks)
    kwargs.setdefault("num_joints", num_joints)
    return get_hourglass(model_name=model_name, **kwargs)


def _factory(model_name):
    num_stacks, num_joints, spec = HOURGLASS_MODELS[model_name]

    def build(**kwargs):
        return get_hourglass_model(model_name, **kwargs)
    build.__name__ = model_name
    build.__doc__ = ("Stacked hourglass, %d stack%s, %d joints (%s), default input %dx%d; "
                     "see :func:`get_hourglass`."
                     % (num_stacks, "" if num_stacks == 1 else "s", num_joints, spec.schema,
                        spec.input_size[0], spec.input_size[1]))
    return build


for _name in HOURGLASS_MODELS:
    globals()[_name] = _factory(_name)
    __all__.append(_name)
del _name
