"""OpenPose: multi-person pose from part confidence maps and part affinity fields.

Two bottom-up networks, both registered with a :class:`~gluonpose.model_zoo.spec.BottomUpSpec`:

``openpose_vgg19_coco`` -- :class:`OpenPoseVGG19`, the CMU network
    (Cao et al., "Realtime Multi-Person 2D Pose Estimation using Part Affinity
    Fields", CVPR 2017; the released COCO model). The first ten convolutions of
    VGG-19 (conv1_1 ... conv4_2, three 2x2 max poolings: stride 8), two 3x3
    adaptation convolutions (256, then 128 channels: the feature map ``F``),
    then ``num_stages`` stages of two branches each -- branch ``paf``
    (``L1``: part affinity fields, 38 channels = 19 limbs x (x, y)) and branch
    ``heat`` (``L2``: part confidence maps, 18 parts + background = 19
    channels). Stage 1 reads ``F`` (three 3x3 convs of 128, a 1x1 of 512, a
    1x1 to the outputs); stage ``t >= 2`` reads ``concat(paf, heat, F)`` (185
    channels) of the previous stage (five 7x7 convs of 128, a 1x1 of 128, a
    1x1 to the outputs). Every convolution has a bias, stride 1 and "same"
    padding, and a ReLU except the last of each branch. Initialisation:
    ``Normal(0, 0.01)`` weights and zero biases for everything after the VGG
    front, attached to the parameters so ``net.initialize()`` with any global
    initializer keeps it; the VGG front follows the global initializer unless
    ``pretrained_base`` loads ImageNet VGG-19 weights.

``openpose_mobilenet_light_coco`` -- :class:`OpenPoseLight`, the CPU network of
    Osokin, "Real-time 2D Multi-Person Pose Estimation on CPU: Lightweight
    OpenPose" (arXiv 1811.12004, 2018). Followed: a MobileNet v1 trunk cut
    after conv5_5, kept at stride 8 by giving conv4_2's depthwise convolution
    stride 1 and dilating the depthwise convolutions of conv5_1 ... conv5_5 by
    2; a CPM block (a 1x1 convolution to 128 channels, three depthwise-
    separable 3x3 convolutions with ELU added back to it as a residual, then
    a 3x3 convolution); an initial stage whose two heads share three 3x3
    convolutions of 128 (each head a 1x1 of 512 and a 1x1 to its outputs);
    ``num_refinement_stages`` refinement stages (default 1, the paper's
    speed/accuracy choice) that replace each 7x7 convolution with a residual
    block -- a 1x1 convolution, then a 3x3 and a dilation-2 3x3 convolution
    with batch norm, added to the 1x1's output -- five blocks of 128 shared
    by the two heads (each a 1x1 of 128 and a 1x1 to its outputs).
    A refinement stage reads ``concat(F, heat, paf)``, the order of the
    published implementation. Differences: the trunk's layers, slot for slot,
    are those of gluonpose's (and GluonCV's) ``mobilenet1.0`` classifier, so
    ``pretrained_base=True`` takes that file's first 69 ``features``
    children; every depthwise convolution of conv5_1 ... conv5_5 is dilated
    (the receptive field lost with conv4_2's stride is restored everywhere
    after it); the spec normalises like the ImageNet trunk (RGB, ImageNet
    mean and std) rather than with Osokin's ``(BGR - 128) / 256``; the new
    layers follow the global initializer.

Both networks return a **tuple** ``(paf_1, heat_1, paf_2, heat_2, ..., paf_S,
heat_S)`` -- position ``2 (t - 1)`` is stage ``t``'s PAFs ``(N, 38, H/8, W/8)``,
position ``2 t - 1`` its heatmaps ``(N, 19, H/8, W/8)`` -- and every one of them is
supervised (spec outputs ``stage<t>_paf`` / ``stage<t>_heat``, masked L2, weight
1); the last pair is decoded. Input sides must be multiples of 8.

Parameter names (structural, as ``save_parameters`` writes them)
    VGG-19 network: ``features.{0,2,5,7,10,12,14,16,19,21}`` = conv1_1 ...
    conv4_2, the indices of the VGG-19 ``features`` sequence of
    ``mxnet.gluon.model_zoo.vision`` (and of torchvision and the PyTorch
    reference's ``model0``); ``cpm.0`` / ``cpm.2`` = conv4_3_CPM / conv4_4_CPM
    (the reference's ``model0.23`` / ``model0.25``); ``stage<t>.paf.<i>`` /
    ``stage<t>.heat.<i>`` = the reference's ``model<t>_1.<i>`` / ``model<t>_2.<i>``
    (the same slot indices: convolutions at even ones). A converted PyTorch
    reference checkpoint is therefore a key rename.
    Light network: ``features.<i>`` as in ``mobilenet1.0``, ``cpm.*``, ``stage1.*``
    (initial stage), ``stage2.*`` ... (refinement stages).

Learning-rate multipliers
    The spec's ``lr_mult`` rules reproduce the reference's Caffe solver: the
    trunk, the CPM layers and stage 1 learn at x1 (weights) / x2 (biases),
    stages 2 and later at x4 / x8. For the light network the same rules apply
    (refinement stages x4 / x8); batch-norm ``gamma`` counts as a weight and
    ``beta`` as a bias. :func:`gluonpose.model_zoo.spec.apply_lr_mult` sets
    them on the parameters.

Cost (counted by :func:`gluonpose.utils.model_summary.model_summary`, 1 GFLOP =
1e9 multiply-adds) at 368x368: VGG-19 6 stages 52.31 M parameters (the
layer table's arithmetic, see ``tests/test_openpose_net.py``; ~52.3 M
published for the CMU model), 135.93 GFLOPs; light network with one refinement
stage 4.09 M parameters / 8.88 GFLOPs (published: 4.1 M, 9 GFLOPs).
"""
import re

from mxnet import init
from mxnet.context import cpu
from mxnet.gluon import nn

from ..codecs.paf import PAF_LIMBS, PARTS
from ..nn import BatchNormCudnnOff
from .spec import IMAGENET_MEAN, IMAGENET_STD, BottomUpSpec, LrMultRule, SupervisedOutput

__all__ = ["OpenPoseVGG19", "OpenPoseLight", "get_openpose_vgg19", "get_openpose_light",
           "openpose_spec", "OPENPOSE_MODELS", "OPENPOSE18_PARTS", "OPENPOSE18_LIMBS",
           "OPENPOSE_MEAN", "OPENPOSE_STD", "OPENPOSE_LR_MULT", "VGG19_STORE_NAME",
           "flip_permutations", "load_vgg19_front"]

#: OpenPose's COCO part order (18 parts) and the background channel of the
#: heatmaps; the parts and limbs are the PAF codec's (one source of truth)
OPENPOSE18_PARTS = tuple(PARTS) + ("background",)

#: the 19 limbs (from part, to part) in PAF order: limb ``p`` is PAF channels 2p (x), 2p+1 (y)
OPENPOSE18_LIMBS = tuple(PAF_LIMBS)

#: OpenPose's ``x / 256 - 0.5`` on [0, 255] pixels, as mean/std on [0, 1] (with BGR order)
OPENPOSE_MEAN = (128.0 / 255,) * 3
OPENPOSE_STD = (256.0 / 255,) * 3

#: the reference solver's multipliers: stages >= 2 at x4 / x8, everything else x1 / x2
OPENPOSE_LR_MULT = (
    LrMultRule(r"(^|[._])stage([2-9]|[1-9][0-9]+)[._]", 4.0, 8.0),
    LrMultRule(r".", 1.0, 2.0),
)

#: model-store name of the ImageNet VGG-19 whose first ten convolutions ``pretrained_base`` loads
VGG19_STORE_NAME = "vgg19"


def flip_permutations(parts=OPENPOSE18_PARTS, limbs=OPENPOSE18_LIMBS):
    """Flip-test permutations of the heatmap channels and of the limbs.

    A mirrored image swaps every ``left_*`` part with its ``right_*`` twin, and
    every limb with the limb joining the swapped parts.

    Returns
    -------
    heatmap : tuple of int
        Channel ``c`` of the flipped-back heatmaps is channel ``heatmap[c]``
        of the mirrored output.
    limb : tuple of int
        The same for limbs (PAF channel pairs; their x component also changes sign).
    """
    def twin(name):
        for a, b in (("left_", "right_"), ("right_", "left_")):
            if name.startswith(a):
                return b + name[len(a):]
        return name
    index = {name: i for i, name in enumerate(parts)}
    heatmap = tuple(index[twin(name)] for name in parts)
    limb_index = {pair: i for i, pair in enumerate(limbs)}
    limb = tuple(limb_index[(heatmap[a], heatmap[b])] for a, b in limbs)
    return heatmap, limb


def openpose_spec(num_stages, input_size=(368, 368), mean=OPENPOSE_MEAN, std=OPENPOSE_STD,
                  channel_order="bgr", test_scales=(1.0,)):
    """The :class:`BottomUpSpec` of an OpenPose network with ``num_stages`` stages.

    Outputs ``stage1_paf, stage1_heat, ...`` at positions ``0, 1, ...`` of the
    network's tuple, each trained with the ``'paf'`` codec's targets and the
    masked L2 loss at weight 1; the last stage's pair is decoded. Targets:
    Gaussian sigma 7 input pixels, limb half-width 1 cell (the reference's).

    Parameters
    ----------
    num_stages : int
        Stages (each a PAF and a heatmap output).
    input_size : tuple of int, default (368, 368)
    mean, std, channel_order
        Normalisation (default OpenPose's ``x / 256 - 0.5`` on BGR).
    test_scales : sequence of float, default (1.0,)
        Scales of the multi-scale test.
    """
    outputs = []
    for t in range(1, num_stages + 1):
        outputs.append(SupervisedOutput("stage%d_paf" % t, 2 * t - 2, weight=1.0, codec="paf",
                                        loss="masked_l2"))
        outputs.append(SupervisedOutput("stage%d_heat" % t, 2 * t - 1, weight=1.0,
                                        codec="paf", loss="masked_l2"))
    flip_heatmap, flip_paf = flip_permutations()
    return BottomUpSpec("openpose", input_size=input_size, mean=mean, std=std,
                        channel_order=channel_order, stride=8, size_multiple=8,
                        outputs=outputs, schema="openpose18", eval_schema="coco",
                        heatmap_channels=len(OPENPOSE18_PARTS),
                        paf_channels=2 * len(OPENPOSE18_LIMBS), flip_heatmap=flip_heatmap,
                        flip_paf=flip_paf, test_scales=test_scales, target_sigma=7.0,
                        limb_width=1.0, lr_mult=OPENPOSE_LR_MULT)


# ------------------------------------------------------------------------------------------
# layers


def _head_conv(seq, channels, kernel, in_channels, relu=True, dilation=1):
    """Append a biased "same" convolution with the reference's Normal(0.01) init [+ ReLU]."""
    seq.add(nn.Conv2D(channels, kernel, padding=dilation * (kernel // 2), dilation=dilation,
                      in_channels=in_channels, weight_initializer=init.Normal(0.01),
                      bias_initializer="zeros"))
    if relu:
        seq.add(nn.Activation("relu"))


class _TwoBranchStage(nn.HybridBlock):
    """A CMU stage: branches ``paf`` and ``heat``, each a plain conv sequence."""

    def __init__(self, first, in_channels, num_pafs, num_heatmaps, channels=128, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.paf = self._branch(first, in_channels, num_pafs, channels, "paf_")
            self.heat = self._branch(first, in_channels, num_heatmaps, channels, "heat_")

    @staticmethod
    def _branch(first, in_channels, out_channels, channels, prefix):
        seq = nn.HybridSequential(prefix=prefix)
        with seq.name_scope():
            if first:       # three 3x3 of 128, 1x1 of 512
                widths, kernel, last_hidden = 3, 3, 512
            else:           # five 7x7 of 128, 1x1 of 128
                widths, kernel, last_hidden = 5, 7, channels
            c = in_channels
            for _ in range(widths):
                _head_conv(seq, channels, kernel, c)
                c = channels
            _head_conv(seq, last_hidden, 1, c)
            _head_conv(seq, out_channels, 1, last_hidden, relu=False)
        return seq

    def hybrid_forward(self, F, x):
        return self.paf(x), self.heat(x)


#: VGG-19 up to conv4_2: output channels of each 3x3 convolution, 'M' = 2x2 max pooling
_VGG19_FRONT = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512)


def _vgg19_front():
    """conv1_1 ... conv4_2 with ReLUs and pools, slot for slot as VGG-19's ``features``."""
    seq = nn.HybridSequential(prefix="features_")
    with seq.name_scope():
        c = 3
        for v in _VGG19_FRONT:
            if v == "M":
                seq.add(nn.MaxPool2D(pool_size=2, strides=2))
            else:
                seq.add(nn.Conv2D(v, 3, padding=1, in_channels=c), nn.Activation("relu"))
                c = v
    return seq


class OpenPoseVGG19(nn.HybridBlock):
    """The CMU OpenPose network (see the module notes).

    Parameters
    ----------
    num_stages : int, default 6
        Two-branch stages, each supervised.
    num_heatmaps : int, default 19
        Heatmap channels (parts + background).
    num_pafs : int, default 38
        PAF channels (2 per limb).
    channels : int, default 128
        Width of the feature map ``F`` and of the stages.
    pretrained_base : bool or str, default False
        Load the ImageNet VGG-19 weights of the model store's ``vgg19`` entry
        (``True``, or a hashtag) into the first ten convolutions.
    pretrained_ctx : Context or list of Context, default cpu()
        Where those weights are loaded.
    root : str, optional
        Model-store directory.

    Outputs
    -------
    tuple of NDArray or Symbol
        ``(paf_1, heat_1, ..., paf_S, heat_S)``: ``(N, num_pafs, H/8, W/8)`` and
        ``(N, num_heatmaps, H/8, W/8)`` per stage.
    """

    def __init__(self, num_stages=6, num_heatmaps=19, num_pafs=38, channels=128,
                 pretrained_base=False, pretrained_ctx=cpu(), root=None, **kwargs):
        super().__init__(**kwargs)
        if num_stages < 1:
            raise ValueError("num_stages must be at least 1, got %r" % (num_stages,))
        self.num_stages = int(num_stages)
        with self.name_scope():
            self.features = _vgg19_front()
            self.cpm = nn.HybridSequential(prefix="cpm_")
            with self.cpm.name_scope():
                _head_conv(self.cpm, 256, 3, 512)
                _head_conv(self.cpm, channels, 3, 256)
            for t in range(1, self.num_stages + 1):
                in_channels = channels if t == 1 else num_pafs + num_heatmaps + channels
                setattr(self, "stage%d" % t,
                        _TwoBranchStage(t == 1, in_channels, num_pafs, num_heatmaps, channels,
                                        prefix="stage%d_" % t))
        if pretrained_base:
            load_vgg19_front(self.features, pretrained_base, pretrained_ctx, root)

    def hybrid_forward(self, F, x):
        feat = self.cpm(self.features(x))
        paf, heat = self.stage1(feat)
        outs = [paf, heat]
        for t in range(2, self.num_stages + 1):
            paf, heat = getattr(self, "stage%d" % t)(F.concat(paf, heat, feat, dim=1))
            outs += [paf, heat]
        return tuple(outs)


def load_vgg19_front(features, pretrained_base=True, ctx=cpu(), root=None):
    """Load ImageNet VGG-19 weights into the first ten convolutions of ``features``.

    The file is the model store's ``vgg19`` (:data:`VGG19_STORE_NAME`) entry, in
    either layout of ``mxnet.gluon.model_zoo.vision``'s VGG-19: structural names
    (``features.0.weight`` ... ``features.21.bias``) or the legacy global names
    (``vgg0_conv0_weight`` ... ``vgg0_conv9_bias``).

    Raises
    ------
    ValueError
        The store has no ``vgg19`` entry (gluonpose's built-in table lists
        none: add one to a mirror index, or pass a hashtag of a file placed in
        the cache), or the file lacks one of the ten convolutions.
    """
    from mxnet import nd
    from .model_store import ModelStoreError, get_model_file
    tag = pretrained_base if isinstance(pretrained_base, str) else None
    try:
        path = get_model_file(VGG19_STORE_NAME, tag=tag, root=root)
    except ModelStoreError:
        raise
    except ValueError as err:
        if tag is not None:
            raise
        raise ValueError("pretrained_base: the model store has no %r entry (%s); the VGG-19 "
                         "front of OpenPose needs ImageNet VGG-19 weights published under that "
                         "name (mxnet.gluon.model_zoo.vision layout), or pretrained_base=False"
                         % (VGG19_STORE_NAME, str(err).strip().splitlines()[0])) from None
    loaded = nd.load(path)
    ctx = ctx if isinstance(ctx, (list, tuple)) else [ctx]
    params = features._collect_params_with_prefix()
    convs = sorted({int(k.split(".")[0]) for k in params})
    for ordinal, slot in enumerate(convs):
        for kind in ("weight", "bias"):
            candidates = ["features.%d.%s" % (slot, kind)]
            candidates += [k for k in loaded
                           if re.fullmatch(r"vgg\d*_conv%d_%s" % (ordinal, kind), k)]
            key = next((k for k in candidates if k in loaded), None)
            if key is None:
                raise ValueError("%s has no %s of VGG-19 convolution %d (looked for %s)"
                                 % (path, kind, ordinal, candidates[0]))
            param = params["%d.%s" % (slot, kind)]
            if tuple(loaded[key].shape) != tuple(param.shape):
                raise ValueError("%s: %s has shape %s, VGG-19 conv %d needs %s"
                                 % (path, key, loaded[key].shape, ordinal, param.shape))
            param.initialize(ctx=ctx)
            param.set_data(loaded[key])


# ------------------------------------------------------------------------------------------
# lightweight network


def _mobilenet_v1_front(norm_layer, norm_kwargs, dilation=2):
    """MobileNet v1 up to conv5_5 at stride 8, slot for slot as ``mobilenet1.0``'s ``features``.

    Stem (conv, norm, ReLU), then conv2_1 ... conv5_5 as depthwise 3x3 / pointwise
    1x1 pairs (six slots each); conv4_2's depthwise convolution has stride 1
    instead of 2 and the five conv5 depthwise convolutions dilation ``dilation``.
    """
    norm_kwargs = dict(norm_kwargs or {})
    widths = (32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512)
    strides = (2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 1, 1)
    seq = nn.HybridSequential(prefix="features_")

    def conv_norm_relu(channels, kernel, stride, groups, in_channels, dil=1):
        seq.add(nn.Conv2D(channels, kernel, stride, dil * (kernel // 2), dilation=dil,
                          groups=groups, use_bias=False, in_channels=in_channels))
        seq.add(norm_layer(in_channels=channels, **norm_kwargs))
        seq.add(nn.Activation("relu"))

    with seq.name_scope():
        conv_norm_relu(widths[0], 3, strides[0], 1, 3)
        for i in range(1, len(widths)):
            c_in = widths[i - 1]
            conv_norm_relu(c_in, 3, strides[i], c_in, c_in, dil=dilation if i >= 7 else 1)
            conv_norm_relu(widths[i], 1, 1, 1, c_in)
    return seq


class _LightCPM(nn.HybridBlock):
    """1x1 to ``channels`` + ReLU, three dw-separable 3x3 (ELU) as a residual, 3x3 + ReLU."""

    def __init__(self, in_channels, channels=128, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.align = nn.Conv2D(channels, 1, in_channels=in_channels)
            self.trunk = nn.HybridSequential(prefix="trunk_")
            with self.trunk.name_scope():
                for _ in range(3):
                    self.trunk.add(nn.Conv2D(channels, 3, padding=1, groups=channels,
                                             use_bias=False, in_channels=channels),
                                   nn.ELU(),
                                   nn.Conv2D(channels, 1, use_bias=False, in_channels=channels),
                                   nn.ELU())
            self.conv = nn.Conv2D(channels, 3, padding=1, in_channels=channels)

    def hybrid_forward(self, F, x):
        x = F.relu(self.align(x))
        return F.relu(self.conv(x + self.trunk(x)))


def _light_head(hidden, out_channels, in_channels, prefix):
    seq = nn.HybridSequential(prefix=prefix)
    with seq.name_scope():
        seq.add(nn.Conv2D(hidden, 1, in_channels=in_channels), nn.Activation("relu"),
                nn.Conv2D(out_channels, 1, in_channels=hidden))
    return seq


class _InitialStage(nn.HybridBlock):
    """Three shared 3x3 convolutions, then a PAF head and a heatmap head (1x1 512, 1x1)."""

    def __init__(self, channels, num_pafs, num_heatmaps, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.trunk = nn.HybridSequential(prefix="trunk_")
            with self.trunk.name_scope():
                for _ in range(3):
                    self.trunk.add(nn.Conv2D(channels, 3, padding=1, in_channels=channels),
                                   nn.Activation("relu"))
            self.paf = _light_head(512, num_pafs, channels, "paf_")
            self.heat = _light_head(512, num_heatmaps, channels, "heat_")

    def hybrid_forward(self, F, x):
        x = self.trunk(x)
        return self.paf(x), self.heat(x)


class _RefinementBlock(nn.HybridBlock):
    """1x1 convolution + ReLU, plus a residual of 3x3 and dilation-2 3x3 (each with norm)."""

    def __init__(self, in_channels, channels, norm_layer, norm_kwargs, **kwargs):
        super().__init__(**kwargs)
        norm_kwargs = dict(norm_kwargs or {})
        with self.name_scope():
            self.initial = nn.Conv2D(channels, 1, in_channels=in_channels)
            self.trunk = nn.HybridSequential(prefix="trunk_")
            with self.trunk.name_scope():
                for dil in (1, 2):
                    self.trunk.add(nn.Conv2D(channels, 3, padding=dil, dilation=dil,
                                             use_bias=False, in_channels=channels),
                                   norm_layer(in_channels=channels, **norm_kwargs),
                                   nn.Activation("relu"))

    def hybrid_forward(self, F, x):
        x = F.relu(self.initial(x))
        return x + self.trunk(x)


class _RefinementStage(nn.HybridBlock):
    """Five residual blocks shared by a PAF head and a heatmap head (1x1 128, 1x1)."""

    def __init__(self, in_channels, channels, num_pafs, num_heatmaps, norm_layer, norm_kwargs,
                 **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.trunk = nn.HybridSequential(prefix="trunk_")
            with self.trunk.name_scope():
                c = in_channels
                for _ in range(5):
                    self.trunk.add(_RefinementBlock(c, channels, norm_layer, norm_kwargs))
                    c = channels
            self.paf = _light_head(channels, num_pafs, channels, "paf_")
            self.heat = _light_head(channels, num_heatmaps, channels, "heat_")

    def hybrid_forward(self, F, x):
        x = self.trunk(x)
        return self.paf(x), self.heat(x)


class OpenPoseLight(nn.HybridBlock):
    """Lightweight OpenPose on a MobileNet v1 trunk (see the module notes).

    Parameters
    ----------
    num_refinement_stages : int, default 1
        Refinement stages after the initial stage (0 keeps the initial stage only).
    num_heatmaps : int, default 19
    num_pafs : int, default 38
    channels : int, default 128
        Width of the CPM output and of the stages.
    trunk_dilation : int, default 2
        Dilation of the conv5_1 ... conv5_5 depthwise convolutions.
    pretrained_base : bool or str, default False
        Load the ImageNet ``mobilenet1.0`` weights (``True``, or a hashtag)
        into the trunk.
    pretrained_ctx : Context or list of Context, default cpu()
    root : str, optional
        Model-store directory.
    norm_layer : type, default :class:`~gluonpose.nn.BatchNormCudnnOff`
        Normalisation of the trunk and the refinement blocks.
    norm_kwargs : dict, optional

    Outputs
    -------
    tuple of NDArray or Symbol
        ``(paf_1, heat_1, ..., paf_S, heat_S)`` with ``S = 1 + num_refinement_stages``.
    """

    def __init__(self, num_refinement_stages=1, num_heatmaps=19, num_pafs=38, channels=128,
                 trunk_dilation=2, pretrained_base=False, pretrained_ctx=cpu(), root=None,
                 norm_layer=BatchNormCudnnOff, norm_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        if num_refinement_stages < 0:
            raise ValueError("num_refinement_stages must be >= 0, got %r"
                             % (num_refinement_stages,))
        self.num_stages = 1 + int(num_refinement_stages)
        with self.name_scope():
            self.features = _mobilenet_v1_front(norm_layer, norm_kwargs, trunk_dilation)
            self.cpm = _LightCPM(512, channels, prefix="cpm_")
            self.stage1 = _InitialStage(channels, num_pafs, num_heatmaps, prefix="stage1_")
            for t in range(2, self.num_stages + 1):
                setattr(self, "stage%d" % t,
                        _RefinementStage(channels + num_heatmaps + num_pafs, channels,
                                         num_pafs, num_heatmaps, norm_layer, norm_kwargs,
                                         prefix="stage%d_" % t))
        if pretrained_base:
            self._load_trunk(pretrained_base, pretrained_ctx, root, norm_layer, norm_kwargs)

    def _load_trunk(self, pretrained_base, ctx, root, norm_layer, norm_kwargs):
        """Copy the first ``len(features)`` children of the ImageNet ``mobilenet1.0``."""
        from .mobilenet import get_mobilenet
        base = get_mobilenet(1.0, pretrained=pretrained_base, ctx=ctx, root=root,
                             norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        source = base.features._collect_params_with_prefix()
        ctx = ctx if isinstance(ctx, (list, tuple)) else [ctx]
        for name, param in self.features._collect_params_with_prefix().items():
            param.initialize(ctx=ctx)
            param.set_data(source[name].data())

    def hybrid_forward(self, F, x):
        feat = self.cpm(self.features(x))
        paf, heat = self.stage1(feat)
        outs = [paf, heat]
        for t in range(2, self.num_stages + 1):
            paf, heat = getattr(self, "stage%d" % t)(F.concat(feat, heat, paf, dim=1))
            outs += [paf, heat]
        return tuple(outs)


# ------------------------------------------------------------------------------------------
# factories


def _load_published(net, name, pretrained, ctx, root):
    if pretrained:
        from .model_store import get_model_file
        tag = pretrained if isinstance(pretrained, str) else None
        net.load_parameters(get_model_file(name, tag=tag, root=root), ctx=ctx)
    return net


def get_openpose_vgg19(num_stages=6, pretrained=False, ctx=cpu(), root=None,
                       pretrained_base=False, pretrained_ctx=None, model_name=None, **kwargs):
    """Build the CMU OpenPose network, optionally with published weights.

    Parameters
    ----------
    num_stages : int, default 6
        Stages. The registered spec describes 6; a network with another count
        needs :func:`openpose_spec` ``(num_stages)`` as its contract.
    pretrained : bool or str, default False
        ``True`` loads ``model_name`` (default ``openpose_vgg19_coco``) from the
        model store, a string the weights with that hashtag. (None are
        published yet: the store raises its usual "not found" error.)
    ctx : Context or list of Context, default cpu()
        Where loaded parameters live.
    root : str, optional
        Model-store directory.
    pretrained_base : bool or str, default False
        Load ImageNet VGG-19 weights into conv1_1 ... conv4_2 from the store's
        ``vgg19`` entry. gluonpose's built-in table has none: this needs a
        mirror whose index lists ``vgg19``, or a hashtag of a file placed in
        the cache; otherwise a ``ValueError`` says so.
    pretrained_ctx : Context or list of Context, optional
        Where the trunk weights are loaded (default ``ctx``).
    model_name : str, optional
    **kwargs
        Passed to :class:`OpenPoseVGG19` (``num_heatmaps``, ``num_pafs``...).

    Returns
    -------
    OpenPoseVGG19
        Not initialised (except a loaded trunk) unless ``pretrained``.
    """
    net = OpenPoseVGG19(num_stages=num_stages,
                        pretrained_base=False if pretrained else pretrained_base,
                        pretrained_ctx=pretrained_ctx or ctx, root=root, **kwargs)
    return _load_published(net, model_name or "openpose_vgg19_coco", pretrained, ctx, root)


def get_openpose_light(num_refinement_stages=1, pretrained=False, ctx=cpu(), root=None,
                       pretrained_base=False, pretrained_ctx=None, model_name=None, **kwargs):
    """Build Lightweight OpenPose (MobileNet v1 trunk), optionally with published weights.

    Parameters
    ----------
    num_refinement_stages : int, default 1
        Refinement stages. The registered spec describes 1; another count
        needs :func:`openpose_spec` ``(1 + num_refinement_stages, ...)``.
    pretrained : bool or str, default False
        ``True`` loads ``model_name`` (default ``openpose_mobilenet_light_coco``)
        from the model store (none published yet), a string by hashtag.
    ctx : Context or list of Context, default cpu()
    root : str, optional
    pretrained_base : bool or str, default False
        Load GluonCV's ImageNet ``mobilenet1.0`` into the trunk.
    pretrained_ctx : Context or list of Context, optional
        Default ``ctx``.
    model_name : str, optional
    **kwargs
        Passed to :class:`OpenPoseLight`.

    Returns
    -------
    OpenPoseLight
        Not initialised (except a loaded trunk) unless ``pretrained``.
    """
    net = OpenPoseLight(num_refinement_stages=num_refinement_stages,
                        pretrained_base=False if pretrained else pretrained_base,
                        pretrained_ctx=pretrained_ctx or ctx, root=root, **kwargs)
    return _load_published(net, model_name or "openpose_mobilenet_light_coco", pretrained, ctx,
                           root)


#: registered name -> (factory, default arguments, spec)
OPENPOSE_MODELS = {
    # test scales of the CMU demo / reference evaluation (multi-scale, no flip)
    "openpose_vgg19_coco": (get_openpose_vgg19, {"num_stages": 6},
                            openpose_spec(6, test_scales=(0.5, 1.0, 1.5, 2.0))),
    "openpose_mobilenet_light_coco": (get_openpose_light, {"num_refinement_stages": 1},
                                      openpose_spec(2, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                                                    channel_order="rgb")),
}


def _factory(model_name):
    factory, defaults, spec = OPENPOSE_MODELS[model_name]

    def build(**kwargs):
        for key, value in defaults.items():
            kwargs.setdefault(key, value)
        kwargs.setdefault("model_name", model_name)
        return factory(**kwargs)
    build.__name__ = model_name.replace(".", "_")
    build.__doc__ = ("OpenPose (%s), %d stages, %d heatmap / %d PAF channels, default input "
                     "%dx%d; see :func:`%s`."
                     % (model_name, len(spec.outputs) // 2, spec.heatmap_channels,
                        spec.paf_channels, spec.input_size[0], spec.input_size[1],
                        factory.__name__))
    return build


for _name in OPENPOSE_MODELS:
    globals()[_name] = _factory(_name)
    __all__.append(_name)
del _name
