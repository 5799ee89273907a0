"""Cascaded Pyramid Network (Chen, Wang, Peng, Zhang, Yu and Sun, CVPR 2018).

A ResNet trunk gives four feature maps C2..C5 (strides 4, 8, 16, 32).

* **GlobalNet** (a feature pyramid): a lateral 1x1 conv to 256 channels (BN,
  ReLU) on every level; from C5 down, the coarser level is up-sampled x2,
  passed through a 1x1 conv + BN and added to the next lateral. Every level
  predicts heatmaps (1x1 conv 256 + BN + ReLU, 3x3 conv to K + BN) that are
  up-sampled to the heatmap size (stride 4).
* **RefineNet**: the level features go through 3 (C5), 2 (C4), 1 (C3) and 0
  (C2) bottlenecks (256 -> 128 -> 128 -> 256), are up-sampled to the heatmap
  size and concatenated (1024 channels); a last bottleneck to 256 channels and
  a 3x3 conv (+ BN) give the refined heatmaps.

The network returns a tuple of five ``(N, K, H/4, W/4)`` arrays:
``(global_p2, global_p3, global_p4, global_p5, refine)``; the refined maps
(the last) are decoded at inference.

Up-sampling
-----------
Bilinear with ``align_corners=True`` (what the PyTorch port uses), written as
``F.contrib.BilinearResize2D(x, scale_height=s, scale_width=s)``. The scale
form is used rather than ``like=`` because MXNet 1.9's ONNX converter only
handles the resize's ``'size'`` mode: with scales it emits an opset-13
``Resize`` (``linear``, ``align_corners``) whose output size is computed from
the input shape, so the graph keeps a dynamic batch and matches MXNet to float
rounding in onnxruntime (``tests/test_cpn.py`` and the registry test check it).
Every input size is a multiple of 32, so the x2/x4/x8 scales land exactly on
the level and heatmap sizes.

Training targets and losses (the :data:`CPN_MODELS` specs)
----------------------------------------------------------
The reference blurs a one-hot map with OpenCV Gaussian kernels 15, 11, 9, 7
(sigma 0, so sigma = 0.3 ((k - 1) / 2 - 1) + 0.8 = 2.6, 2.0, 1.7, 1.4); its
384x288 configuration uses kernels 23, 17, 13, 9 (sigma 3.8, 2.9, 2.3, 1.7).
The levels are paired as the PyTorch port pairs them: the widest Gaussian
supervises the coarsest level, **C5 <- 2.6, C4 <- 2.0, C3 <- 1.7, C2 <- 1.4**
(TensorFlow's official code feeds them in the opposite level order and calls
it a kept mistake); the RefineNet output gets the smallest, 1.4 (1.7 at
384x288). Here every target is the run's heatmap codec (``--codec``,
:class:`~gluonpose.codecs.MSRAHeatmap` by default; peak 1) at that sigma, all
built from the same augmentation of the sample. (MSRA targets at a sigma whose
``3 sigma`` is not an integer, as 1.4 and 1.7, are centred on the joint's cell;
GluonCV's generator puts them one cell up-left.)

Loss weights reproduce the PyTorch port's total
``sum_levels MSE_mean(global_l) / 2 + OHKM_8(refine)``:

* global level: :class:`~gluonpose.loss.WeightedL2Loss` already multiplies
  the squared error by ``1/2`` and averages it over joints and pixels (the
  trainer then over the batch), so its value *is* the reference's
  ``MSE_mean / 2``: spec weight **1.0** per level (0.5 would halve the global
  loss relative to the reference; TensorFlow's ``sum / 4 / 2`` would be 0.25);
* refine: :class:`~gluonpose.loss.OHKMLoss` with ``weight=2`` (plain squared
  error, no 1/2), ``topk=8``, spec weight 1.0: per sample, the mean of the 8
  largest per-joint map-mean squared errors, averaged over the batch.

Known differences from the references: joint weights are the codec's
(labelled and inside the map) for every output, whereas the reference zeroes
the *target* of labelled-but-occluded joints (v=1) in the global loss; the
targets peak at 1, not 255; each head's closing BatchNorm over the K maps
(both references have one) starts with gamma 0 (see :func:`_heatmap_head`) and
sits before the up-sampling (TensorFlow's order); the refine bottlenecks
have identity shortcuts where the depths match (the TensorFlow original and
ResNet; the PyTorch port projects every shortcut: ``refine_projection=True``).
Flip test: the reference averages the mirrored maps without a shift, which is
exact in its pixel-centre convention (cell ``k`` at input ``4 k + 1.5``). In
this library's convention (cell ``k`` at input ``4 k``, the targets' and the
decoders') the same merge puts the flipped-back half 3/4 of a cell left, so the
spec asks for the exact correction (``flip_shift='exact'``: 0.75 cell by
linear interpolation; ``tests/test_flip_shift.py`` measures all three).
"""
from mxnet import init
from mxnet.context import cpu
from mxnet.gluon import nn

from ..nn import BatchNormCudnnOff
from .resnetv1b import RESNET_SPECS, get_resnet_v1b
from .spec import SupervisedOutput, TopDownSpec

__all__ = ["CascadedPyramidNetwork", "GlobalNet", "RefineNet", "CPNBottleneck", "get_cpn",
           "CPN_MODELS", "GLOBAL_SIGMAS", "cpn_spec"]

#: names of the supervised outputs, in the order the network returns them
OUTPUT_NAMES = ("global_p2", "global_p3", "global_p4", "global_p5", "refine")

#: per-level Gaussian sigmas (C2, C3, C4, C5) and the RefineNet sigma, by input size:
#: OpenCV's sigma of the reference's blur kernels, widest kernel on the coarsest level
GLOBAL_SIGMAS = {
    (256, 192): ((1.4, 1.7, 2.0, 2.6), 1.4),     # kernels 7, 9, 11, 15 (refine 7)
    (384, 288): ((1.7, 2.3, 2.9, 3.8), 1.7),     # kernels 9, 13, 17, 23 (refine 9)
}


def cpn_spec(input_size=(256, 192)):
    """The :class:`TopDownSpec` of a CPN trained at ``input_size`` (see the module notes)."""
    level_sigmas, refine_sigma = GLOBAL_SIGMAS[tuple(input_size)]
    outputs = [SupervisedOutput(name, i, weight=1.0, sigma=s)
               for i, (name, s) in enumerate(zip(OUTPUT_NAMES[:4], level_sigmas))]
    outputs.append(SupervisedOutput("refine", 4, weight=1.0, sigma=refine_sigma, loss="ohkm",
                                    loss_kwargs={"topk": 8, "weight": 2.0}))
    return TopDownSpec("cpn", input_size=input_size, stride=4, size_multiple=32,
                       outputs=outputs, decode=-1, flip_shift="exact",
                       sigma=refine_sigma)


def _upsample(F, x, factor):
    """Bilinear (align_corners) up-sampling by an integer factor; exports to ONNX Resize."""
    if factor == 1:
        return x
    return F.contrib.BilinearResize2D(x, scale_height=float(factor), scale_width=float(factor),
                                      align_corners=True)


def _conv_bn(channels, in_channels, kernel=1, relu=True, norm_layer=BatchNormCudnnOff,
             norm_kwargs=None, prefix=None):
    """conv (no bias) -> BN (-> ReLU) as one HybridSequential."""
    seq = nn.HybridSequential(prefix=prefix)
    with seq.name_scope():
        seq.add(nn.Conv2D(channels, kernel, padding=kernel // 2, use_bias=False,
                          in_channels=in_channels))
        seq.add(norm_layer(in_channels=channels, **(norm_kwargs or {})))
        if relu:
            seq.add(nn.Activation("relu"))
    return seq


#: initial scale of the BatchNorm that ends each heatmap head (see :func:`_heatmap_head`)
HEAD_GAMMA = 0.0


def _heatmap_head(num_joints, in_channels, norm_layer=BatchNormCudnnOff, norm_kwargs=None):
    """3x3 conv (no bias) to the K heatmaps, then BatchNorm over them.

    Both references end every head with a BatchNorm over the K maps. The conv
    sees 9 x 256 non-negative (post-ReLU) inputs: without the normalisation one
    early Adam step, which moves every weight by about the learning rate in
    the same direction, moves the heatmaps by O(1) and kills the ReLUs before
    it (measured: a from-scratch run stalls at the predict-zero loss). With it
    the heatmaps' scale is one learned ``gamma`` per joint, started at
    :data:`HEAD_GAMMA` = 0 so every head starts by predicting 0 (the BN
    ``beta``), as a zero-initialised last BN starts a ResNet block as the
    identity. On 16 bundled people, 60 Adam steps at 4e-3 from scratch reached
    heatmap accuracy 0.96 with gamma 0, 0.71 with 0.03, 0.28 with 0.1 and
    0.01 with 1, and 0.02 with a biased conv and no BN.
    """
    seq = nn.HybridSequential(prefix="")
    seq.add(nn.Conv2D(num_joints, 3, padding=1, use_bias=False, in_channels=in_channels))
    seq.add(norm_layer(in_channels=num_joints, gamma_initializer=init.Constant(HEAD_GAMMA),
                       **(norm_kwargs or {})))
    return seq


class CPNBottleneck(nn.HybridBlock):
    """1x1 -> 3x3 -> 1x1 residual unit with BN and ReLU (RefineNet's block).

    Parameters
    ----------
    in_channels : int
    planes : int, default 128
        Channels of the 1x1 and 3x3 convs; the block outputs ``planes * expansion``.
    expansion : int, default 2
    project : bool or None
        Projection shortcut (1x1 conv + BN); ``None``: only when the depths differ.
    norm_layer, norm_kwargs
        Normalisation block and its extra arguments.
    """

    def __init__(self, in_channels, planes=128, expansion=2, project=None,
                 norm_layer=BatchNormCudnnOff, norm_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        out_channels = planes * expansion
        if project is None:
            project = in_channels != out_channels
        with self.name_scope():
            self.body = nn.HybridSequential(prefix="")
            self.body.add(_conv_bn(planes, in_channels, 1, True, norm_layer, norm_kwargs),
                          _conv_bn(planes, planes, 3, True, norm_layer, norm_kwargs),
                          _conv_bn(out_channels, planes, 1, False, norm_layer, norm_kwargs))
            self.downsample = (_conv_bn(out_channels, in_channels, 1, False, norm_layer,
                                        norm_kwargs, prefix="down_") if project else None)

    def hybrid_forward(self, F, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.Activation(self.body(x) + shortcut, act_type="relu")


class GlobalNet(nn.HybridBlock):
    """Feature pyramid over C2..C5 with a heatmap prediction per level.

    Called with ``(c2, c3, c4, c5)``; returns ``(f2, f3, f4, f5, p2, p3, p4, p5)``:
    the 256-channel level features (RefineNet's input) and the level heatmaps,
    all up-sampled to C2's size.

    Parameters
    ----------
    in_channels : sequence of int
        Channels of C2..C5 (256, 512, 1024, 2048 for a bottleneck ResNet).
    num_joints : int
    channels : int, default 256
    norm_layer, norm_kwargs
        Normalisation block and its extra arguments.
    """

    def __init__(self, in_channels=(256, 512, 1024, 2048), num_joints=17, channels=256,
                 norm_layer=BatchNormCudnnOff, norm_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        levels = len(in_channels)
        self._levels = levels
        with self.name_scope():
            # index i is level C(i+2); upsamples[i] carries level i+1 down into level i
            self.laterals = nn.HybridSequential(prefix="lateral_")
            self.upsamples = nn.HybridSequential(prefix="upsample_")
            self.predicts = nn.HybridSequential(prefix="predict_")
            with self.laterals.name_scope():
                for c in in_channels:
                    self.laterals.add(_conv_bn(channels, c, 1, True, norm_layer, norm_kwargs))
            with self.upsamples.name_scope():
                for _ in range(levels - 1):
                    self.upsamples.add(_conv_bn(channels, channels, 1, False, norm_layer,
                                                norm_kwargs))
            with self.predicts.name_scope():
                for _ in range(levels):
                    head = nn.HybridSequential()
                    with head.name_scope():
                        head.add(_conv_bn(channels, channels, 1, True, norm_layer, norm_kwargs),
                                 _heatmap_head(num_joints, channels, norm_layer,
                                               norm_kwargs))
                    self.predicts.add(head)

    def hybrid_forward(self, F, *levels):
        feats = [None] * self._levels
        top = self._levels - 1
        feats[top] = self.laterals[top](levels[top])
        for i in range(top - 1, -1, -1):
            down = self.upsamples[i](_upsample(F, feats[i + 1], 2))
            feats[i] = self.laterals[i](levels[i]) + down
        preds = [_upsample(F, self.predicts[i](feats[i]), 2 ** i) for i in range(self._levels)]
        return tuple(feats) + tuple(preds)


class RefineNet(nn.HybridBlock):
    """Bottleneck cascades per level, concatenation at C2's size, final prediction.

    Called with the GlobalNet features ``(f2, f3, f4, f5)``; returns the
    refined ``(N, K, h, w)`` heatmaps at ``f2``'s size.

    Parameters
    ----------
    num_joints : int
    channels : int, default 256
        Channels of each level feature.
    depths : sequence of int, default (0, 1, 2, 3)
        Bottlenecks on C2, C3, C4, C5.
    planes : int, default 128
        Inner channels of the bottlenecks (expansion 2, so ``channels = 2 * planes``).
    projection : bool, default False
        Projection shortcuts in the level bottlenecks too (the PyTorch port).
    norm_layer, norm_kwargs
        Normalisation block and its extra arguments.
    """

    def __init__(self, num_joints=17, channels=256, depths=(0, 1, 2, 3), planes=128,
                 projection=False, norm_layer=BatchNormCudnnOff, norm_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        if channels != 2 * planes:
            raise ValueError("RefineNet: channels (%d) must be 2 * planes (%d)"
                             % (channels, planes))
        self._levels = len(depths)
        block = dict(planes=planes, expansion=2, norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        with self.name_scope():
            self.cascades = nn.HybridSequential(prefix="cascade_")
            with self.cascades.name_scope():
                for depth in depths:
                    chain = nn.HybridSequential()
                    with chain.name_scope():
                        for _ in range(depth):
                            chain.add(CPNBottleneck(channels, project=projection or None,
                                                    **block))
                    self.cascades.add(chain)
            self.final = CPNBottleneck(channels * self._levels, project=True, **block)
            self.predict = _heatmap_head(num_joints, channels, norm_layer, norm_kwargs)

    def hybrid_forward(self, F, *feats):
        ups = [_upsample(F, self.cascades[i](feats[i]), 2 ** i) for i in range(self._levels)]
        return self.predict(self.final(F.concat(*ups, dim=1)))


class CascadedPyramidNetwork(nn.HybridBlock):
    """ResNet trunk + GlobalNet + RefineNet; returns five heatmap tensors.

    Parameters
    ----------
    base_name : str, default 'resnet50_v1b'
        Backbone, a bottleneck ResNet of ``gluonpose.model_zoo.resnetv1b.RESNET_SPECS``
        (V1b or V1d, 50 layers or more).
    pretrained_base : bool or str, default False
        Load the backbone's ImageNet weights (``True``, or a hashtag).
    pretrained_ctx : Context or list of Context, default cpu()
        Where those weights are loaded.
    num_joints : int, default 17
        Heatmap channels.
    channels : int, default 256
        Width of the pyramid.
    refine_depths : sequence of int, default (0, 1, 2, 3)
        RefineNet bottlenecks on C2, C3, C4, C5.
    refine_projection : bool, default False
        Projection shortcuts in every RefineNet bottleneck (PyTorch-port layout).
    root : str, optional
        Model-store directory for the backbone weights.
    **kwargs
        Passed to :class:`mxnet.gluon.HybridBlock` (``prefix``, ``params``).

    Outputs
    -------
    tuple of NDArray or Symbol
        ``(global_p2, global_p3, global_p4, global_p5, refine)``, each
        ``(N, num_joints, H / 4, W / 4)``.
    """

    def __init__(self, base_name="resnet50_v1b", pretrained_base=False, pretrained_ctx=cpu(),
                 num_joints=17, channels=256, refine_depths=(0, 1, 2, 3),
                 refine_projection=False, root=None, **kwargs):
        super().__init__(**kwargs)
        if base_name not in RESNET_SPECS or RESNET_SPECS[base_name][0].expansion != 4:
            raise ValueError("base_name %r is not a bottleneck ResNet V1b/V1d; choose from %s"
                             % (base_name, ", ".join(k for k, v in RESNET_SPECS.items()
                                                     if v[0].expansion == 4)))
        self.num_joints = num_joints
        base = get_resnet_v1b(base_name, pretrained=pretrained_base, ctx=pretrained_ctx,
                              root=root, norm_layer=BatchNormCudnnOff)
        with self.name_scope():
            # stem x4, layer1..layer4 at resnet.0 .. resnet.7, as in the Simple Baselines net
            self.resnet = base.trunk_block()
            self.global_net = GlobalNet((256, 512, 1024, 2048), num_joints, channels,
                                        prefix="global_")
            self.refine_net = RefineNet(num_joints, channels, tuple(refine_depths),
                                        planes=channels // 2, projection=refine_projection,
                                        prefix="refine_")

    def hybrid_forward(self, F, x):
        levels = []
        for i in range(len(self.resnet)):
            x = self.resnet[i](x)
            if i >= 4:                       # outputs of layer1..layer4: C2..C5
                levels.append(x)
        out = self.global_net(*levels)
        feats, preds = out[:4], out[4:]
        return tuple(preds) + (self.refine_net(*feats),)


#: registered name -> (backbone, spec)
CPN_MODELS = {
    "cpn_resnet50_v1b": ("resnet50_v1b", cpn_spec((256, 192))),
    "cpn_resnet101_v1b": ("resnet101_v1b", cpn_spec((256, 192))),
    "cpn_resnet50_v1b_384x288": ("resnet50_v1b", cpn_spec((384, 288))),
    "cpn_resnet101_v1b_384x288": ("resnet101_v1b", cpn_spec((384, 288))),
}


def get_cpn(base_name="resnet50_v1b", pretrained=False, ctx=cpu(), root=None,
            model_name=None, **kwargs):
    """Build a Cascaded Pyramid Network, optionally with published weights.

    Parameters
    ----------
    base_name : str, default 'resnet50_v1b'
        Backbone name.
    pretrained : bool or str, default False
        ``True`` loads ``model_name`` (default ``cpn_<base_name>``) from the
        model store, a string the weights with that hashtag.
    ctx : Context or list of Context, default cpu()
        Where loaded parameters live.
    root : str, optional
        Model-store directory.
    model_name : str, optional
        Model-store name of the weights.
    **kwargs
        Passed to :class:`CascadedPyramidNetwork`.

    Returns
    -------
    CascadedPyramidNetwork
        Not initialised unless ``pretrained``; call ``net.initialize()`` (the
        BatchNorm closing each heatmap head keeps its gamma-0 initialiser).
    """
    net = CascadedPyramidNetwork(base_name, root=root, **kwargs)
    if pretrained:
        from .model_store import get_model_file
        tag = pretrained if isinstance(pretrained, str) else None
        net.load_parameters(get_model_file(model_name or "cpn_" + base_name, tag=tag,
                                           root=root), ctx=ctx)
    return net


def _factory(model_name):
    base, spec = CPN_MODELS[model_name]

    def build(**kwargs):
        kwargs.setdefault("model_name", model_name)
        return get_cpn(base, **kwargs)
    build.__name__ = model_name
    build.__doc__ = ("CPN on %s, default input %dx%d; see :func:`get_cpn` for the arguments."
                     % (base, spec.input_size[0], spec.input_size[1]))
    return build


for _name in CPN_MODELS:
    globals()[_name] = _factory(_name)
    __all__.append(_name)
del _name
