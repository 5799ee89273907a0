"""FastPose, AlphaPose's top-down network (Fang et al., RMPE, ICCV 2017), and a light variant.

``preact`` trunk (C5 at stride 32) -> ``shuffle1`` pixel shuffle x2 -> ``duc1`` ->
``duc2`` (each a 3x3 conv + BN + ReLU + pixel shuffle x2) -> ``conv_out`` 3x3 conv
with bias: one heatmap per joint at stride 4. Every up-sampling step is a
convolution and a reshape, so the head exports to ONNX and quantises to INT8.

* :class:`FastPose` (alias :class:`AlphaPose`) on an SE-ResNet trunk: GluonCV's
  ``alpha_pose_resnet101_v1b_coco`` (320x256 input) and AlphaPose's FastPose
  SE-ResNet-50 (256x192). Children carry GluonCV's and AlphaPose's names
  (``preact.layer1.0.se.fc.0.weight``, ``duc1.conv.weight``, ``conv_out.bias``...),
  so their weight files load unchanged (AlphaPose's after conversion of the
  PyTorch tensors to an ``.params`` file under the same names).
* :class:`FastPoseMobile` on a MobileNetV3 trunk for CPUs (our design; see the
  class).

Inputs are AlphaPose-normalised: RGB / 255 minus ``(0.406, 0.457, 0.480)``,
no division by a standard deviation (see the specs below).

Differences from GluonCV's ``get_alphapose``: ``pretrained_base=True`` fills the
trunk with the ImageNet ResNet (GluonCV loads it into a throw-away network), the
two DUC norm layers follow ``norm_layer`` (GluonCV always uses plain batch norm,
which leaves them unsynchronised in multi-GPU training; the parameters are the
same), and ``pretrained_base`` defaults to ``False`` as everywhere in gluonpose.
"""
import warnings

from mxnet import init
from mxnet.context import cpu
from mxnet.gluon import nn

from ..nn import DUC, PixelShuffle2D
from .se_resnet import SE_RESNET_DEPTHS, ZeroOneUniform, fan_in_uniform, get_se_resnet
from .spec import TopDownSpec

__all__ = ["FastPose", "AlphaPose", "FastPoseMobile", "get_alphapose", "get_fast_pose",
           "FAST_POSE_MODELS", "ALPHAPOSE_MEAN", "ALPHAPOSE_STD", "alpha_pose_resnet101_v1b_coco",
           "alpha_pose_resnet50_v1b_coco", "alpha_pose_mobilenetv3_large_coco",
           "alpha_pose_mobilenetv3_small_coco", "alpha_pose_mobilenetv3_large_halpe136"]

#: AlphaPose's normalisation: RGB in [0, 1] minus these means, std 1
ALPHAPOSE_MEAN = (0.406, 0.457, 0.480)
ALPHAPOSE_STD = (1.0, 1.0, 1.0)


def _spec(input_size, schema="coco"):
    return TopDownSpec("fast_pose", input_size=input_size, mean=ALPHAPOSE_MEAN,
                       std=ALPHAPOSE_STD, stride=4, size_multiple=32, schema=schema)


class FastPose(nn.HybridBlock):
    """FastPose: a stride-32 trunk and a pixel-shuffle (DUC) head, heatmaps at stride 4.

    Channels for the SE-ResNet trunk (C5 = 2048): shuffle 2048 -> 512 at /16;
    ``duc1`` 512 -> 1024 -> shuffle -> 256 at /8; ``duc2`` 256 -> ``4 * conv_dim``
    -> shuffle -> ``conv_dim`` at /4; ``conv_out`` ``conv_dim`` -> ``num_joints``.

    Parameters
    ----------
    preact : mxnet.gluon.HybridBlock
        Trunk returning ``in_channels`` channels at stride 32 (e.g.
        :class:`~gluonpose.model_zoo.se_resnet.SEResNet`).
    num_joints : int, default 17
        Heatmap channels.
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
        Norm block of the two DUCs.
    norm_kwargs : dict, optional
        Extra arguments of ``norm_layer``.
    in_channels : int, optional
        Channels of the trunk output, a multiple of 4 (default: the trunk's
        ``out_channels``, else 2048).
    duc1_planes : int, default 1024
        Convolution width of ``duc1`` (a multiple of 4); it hands
        ``duc1_planes / 4`` channels at stride 8 to ``duc2``.
    conv_dim : int, default 128
        Channels at stride 4 (``duc2`` convolves to ``4 * conv_dim``); AlphaPose's
        ``CONV_DIM``: 128, or 256 in its Halpe-136 configuration.
    **kwargs
        Passed to :class:`mxnet.gluon.HybridBlock` (``prefix``, ``params``).

    Notes
    -----
    Head initialisation is AlphaPose's (PyTorch < 1.2 defaults), as in GluonCV:
    convolutions ``Uniform(+-sqrt(1 / fan_in))`` (``conv_out``'s bias too), DUC
    batch-norm scale uniform in ``[0, 1)``.
    """

    def __init__(self, preact, num_joints=17, norm_layer=nn.BatchNorm, norm_kwargs=None,
                 in_channels=None, duc1_planes=1024, conv_dim=128, **kwargs):
        super().__init__(**kwargs)
        if in_channels is None:
            in_channels = getattr(preact, "out_channels", 2048)
        if in_channels % 4:
            raise ValueError("the trunk's %d output channels are not divisible by 4, the "
                             "first pixel shuffle's factor**2" % in_channels)
        self.num_joints = int(num_joints)
        self.conv_dim = int(conv_dim)
        shuffled, duc1_out = in_channels // 4, duc1_planes // 4
        conv_init, gamma_init, out_init, out_bias_init = self._head_initializers()
        # the trunk is built by the caller (GluonCV's AlphaPose takes it the same way)
        self.preact = preact
        with self.name_scope():
            self.shuffle1 = PixelShuffle2D(2)
            self.duc1 = DUC(duc1_planes, 2, in_channels=shuffled, norm_layer=norm_layer,
                            norm_kwargs=norm_kwargs, conv_initializer=conv_init(shuffled),
                            gamma_initializer=gamma_init())
            self.duc2 = DUC(4 * self.conv_dim, 2, in_channels=duc1_out, norm_layer=norm_layer,
                            norm_kwargs=norm_kwargs, conv_initializer=conv_init(duc1_out),
                            gamma_initializer=gamma_init())
            self.conv_out = nn.Conv2D(self.num_joints, 3, padding=1, in_channels=self.conv_dim,
                                      weight_initializer=out_init(self.conv_dim),
                                      bias_initializer=out_bias_init(self.conv_dim))

    @staticmethod
    def _head_initializers():
        """Factories ``(duc conv(in), duc gamma(), conv_out weight(in), conv_out bias(in))``."""
        return ((lambda c: fan_in_uniform(c * 9)), ZeroOneUniform,
                (lambda c: fan_in_uniform(c * 9)), (lambda c: fan_in_uniform(c * 9)))

    def hybrid_forward(self, F, x):
        x = self.shuffle1(self.preact(x))
        return self.conv_out(self.duc2(self.duc1(x)))


#: GluonCV's name for the same network
AlphaPose = FastPose


class FastPoseMobile(FastPose):
    """Light FastPose for CPUs: MobileNetV3 trunk, re-sized DUC head.

    This network is our design. AlphaPose has no MobileNet model (an open
    AlphaPose issue, #1010, shows that swapping the backbone fails at the first
    pixel shuffle, whose DUC expects 2048 channels); here the DUC widths follow
    the trunk instead of adding a channel adapter.

    Channel arithmetic (C = trunk channels at stride 32: 960 for MobileNetV3-Large,
    576 for Small; defaults ``duc1_planes=256``, ``conv_dim=128``):

    ======================  ===================================  =========
    step                    channels                             stride
    ======================  ===================================  =========
    trunk (``preact``)      C = 960 / 576                        32
    ``shuffle1``            C / 4 = 240 / 144                    16
    ``duc1`` conv3x3        C / 4 -> 256, BN, ReLU               16
    ``duc1`` shuffle        256 / 4 = 64                         8
    ``duc2`` conv3x3        64 -> 4 * conv_dim = 512, BN, ReLU   8
    ``duc2`` shuffle        conv_dim = 128                       4
    ``conv_out`` 3x3        conv_dim -> num_joints (bias)        4
    ======================  ===================================  =========

    Cost at 256x192 (multiply-adds of convolutions and dense layers, counted by
    :func:`gluonpose.utils.model_summary.model_summary`; 17 joints):

    * Large: 3.84 M parameters, 0.603 GMACs = trunk 0.210 + head 0.393
      (``duc1`` 0.106, ``duc2`` 0.226, ``conv_out`` 0.060);
    * Small: 1.57 M parameters, 0.404 GMACs = trunk 0.054 + head 0.350
      (``duc1`` 0.064, ``duc2`` 0.226, ``conv_out`` 0.060);
    * Large, Halpe-136 (``conv_dim=256``, 136 joints): 4.43 M parameters,
      1.732 GMACs (``duc2`` 0.453, ``conv_out`` 0.963).

    ``duc2`` dominates: it runs at stride 8 with ``4 * conv_dim`` outputs. For
    comparison, FastPose SE-ResNet-50 costs 40.6 M parameters and 5.89 GMACs, and
    GluonCV's MobilePose (MobileNetV3-Large) 4.77 M and 0.39 GMACs at 256x192.

    Parameters
    ----------
    base_name : str, default 'mobilenetv3_large'
        Trunk, any base of :func:`gluonpose.model_zoo.mobilenet.get_mobilenet_trunk`
        (``'mobilenetv3_large'``, ``'mobilenetv3_small'``...).
    num_joints : int, default 17
    conv_dim : int, default 128
        Channels at stride 4 (256 for the Halpe-136 model).
    duc1_planes : int, default 256
        Convolution width of ``duc1``.
    pretrained_base : bool or str, default False
        Load the trunk's ImageNet weights (``True`` or a hashtag).
    pretrained_ctx : Context or list of Context, default cpu()
        Where those weights are loaded.
    root : str, optional
        Model-store directory.
    norm_layer : type, default mxnet.gluon.nn.BatchNorm
        Norm block of the trunk and the head.
    norm_kwargs : dict, optional
    **kwargs
        Passed to :class:`mxnet.gluon.HybridBlock`.

    Notes
    -----
    Meant to be trained from scratch or from an ImageNet trunk: everything but
    ``conv_out`` follows the global initializer given to ``initialize`` (the
    factory uses He-normal); ``conv_out`` starts from ``Normal(0.001)`` weights and
    zero bias (AlphaPose's own head init), the DUC norms from scale 1, shift 0.
    """

    def __init__(self, base_name="mobilenetv3_large", num_joints=17, conv_dim=128,
                 duc1_planes=256, pretrained_base=False, pretrained_ctx=cpu(), root=None,
                 norm_layer=nn.BatchNorm, norm_kwargs=None, **kwargs):
        from .mobilenet import get_mobilenet_trunk
        trunk, channels = get_mobilenet_trunk(base_name, pretrained=pretrained_base,
                                              ctx=pretrained_ctx, root=root,
                                              norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        super().__init__(trunk, num_joints, norm_layer=norm_layer, norm_kwargs=norm_kwargs,
                         in_channels=channels, duc1_planes=duc1_planes, conv_dim=conv_dim,
                         **kwargs)
        self.base_name = base_name

    @staticmethod
    def _head_initializers():
        # the global initializer for the DUC convs; AlphaPose's Normal(0.001) for conv_out
        return ((lambda c: None), init.One, (lambda c: init.Normal(0.001)),
                (lambda c: init.Zero()))


#: registered name -> (trunk, dataset, num_joints, conv_dim, spec)
FAST_POSE_MODELS = {
    "alpha_pose_resnet101_v1b_coco": ("resnet101_v1b", "coco", 17, 128, _spec((320, 256))),
    "alpha_pose_resnet50_v1b_coco": ("resnet50_v1b", "coco", 17, 128, _spec((256, 192))),
    "alpha_pose_mobilenetv3_large_coco": ("mobilenetv3_large", "coco", 17, 128,
                                          _spec((256, 192))),
    "alpha_pose_mobilenetv3_small_coco": ("mobilenetv3_small", "coco", 17, 128,
                                          _spec((256, 192))),
    "alpha_pose_mobilenetv3_large_halpe136": ("mobilenetv3_large", "halpe136", 136, 256,
                                              _spec((256, 192), schema="halpe136")),
}


def _default_norm(num_gpus):
    """GluonCV's choice: SyncBatchNorm across ``num_gpus`` devices when > 1, else BatchNorm."""
    if num_gpus is not None and int(num_gpus) > 1:
        from mxnet.gluon.contrib.nn import SyncBatchNorm
        return SyncBatchNorm, {"use_global_stats": False, "num_devices": int(num_gpus)}
    return nn.BatchNorm, {"use_global_stats": False}


def _initialize_rest(net, default_init, ctx):
    """Initialise every parameter not loaded yet (a pretrained trunk keeps its values)."""
    with warnings.catch_warnings():
        # mxnet warns once per already-initialised parameter and skips it: what we want
        warnings.filterwarnings("ignore", message=".*already initialized.*")
        net.initialize(default_init, ctx=ctx)


def get_alphapose(name="resnet101_v1b", dataset="coco", num_joints=17, pretrained=False,
                  pretrained_base=False, ctx=cpu(), root=None, norm_layer=None,
                  norm_kwargs=None, num_gpus=None, conv_dim=128, pretrained_ctx=None,
                  **kwargs):
    """Build a FastPose network, initialised, optionally with published weights.

    Parameters
    ----------
    name : str, default 'resnet101_v1b'
        Trunk: ``'resnet50_v1b'``, ``'resnet101_v1b'``, ``'resnet152_v1b'`` (SE-ResNet,
        :class:`FastPose`) or a MobileNet base such as ``'mobilenetv3_large'``
        (:class:`FastPoseMobile`).
    dataset : str, default 'coco'
        Part of the store name ``alpha_pose_<name>_<dataset>``.
    num_joints : int, default 17
    pretrained : bool or str, default False
        ``True`` loads ``alpha_pose_<name>_<dataset>`` from the model store, a string
        the weights with that hashtag.
    pretrained_base : bool or str, default False
        Without ``pretrained``: fill the trunk with its ImageNet weights (the SE
        gates of an SE-ResNet, which ImageNet ResNets lack, stay random).
    ctx : Context or list of Context, default cpu()
        Where the parameters live.
    root : str, optional
        Model-store directory (see :func:`gluonpose.model_zoo.model_store.get_model_file`).
    norm_layer : type, optional
        Norm block; default from ``num_gpus`` as in GluonCV.
    norm_kwargs : dict, optional
        Extra arguments of ``norm_layer``.
    num_gpus : int, optional
        More than one selects ``SyncBatchNorm`` over that many devices.
    conv_dim : int, default 128
        Channels at stride 4.
    pretrained_ctx : Context or list of Context, optional
        Where the ImageNet trunk is loaded (default ``ctx``); the keyword the other
        pose factories take, so the training engine builds every family alike.
    **kwargs
        Passed to :class:`FastPose` / :class:`FastPoseMobile` (``duc1_planes``...).

    Returns
    -------
    FastPose
        Initialised, as GluonCV's ``get_alphapose`` returns it: the SE-ResNet
        models with AlphaPose's initialisers (global default ``Uniform(0.07)`` for
        the SE dense layers), the light models with He-normal except ``conv_out``.
    """
    if norm_layer is None:
        norm_layer, default_kwargs = _default_norm(num_gpus)
        norm_kwargs = dict(default_kwargs, **(norm_kwargs or {}))
    base_pretrained = pretrained_base if not pretrained else False
    base_ctx = ctx if pretrained_ctx is None else pretrained_ctx
    if name.startswith("resnet"):
        depth = int(name[len("resnet"):].split("_")[0])
        if depth not in SE_RESNET_DEPTHS or not name.endswith("_v1b"):
            raise ValueError("FastPose trunks are resnet{50,101,152}_v1b, got %r" % name)
        preact = get_se_resnet(depth, pretrained_base=base_pretrained, ctx=base_ctx, root=root,
                               norm_layer=norm_layer, norm_kwargs=norm_kwargs)
        net = FastPose(preact, num_joints, norm_layer=norm_layer, norm_kwargs=norm_kwargs,
                       conv_dim=conv_dim, **kwargs)
        default_init = init.Uniform()
    else:
        net = FastPoseMobile(name, num_joints, conv_dim=conv_dim,
                             pretrained_base=base_pretrained, pretrained_ctx=base_ctx, root=root,
                             norm_layer=norm_layer, norm_kwargs=norm_kwargs, **kwargs)
        # He-normal (fan-out), what MobileNetV3 is usually trained from scratch with
        default_init = init.Xavier(rnd_type="gaussian", factor_type="out", magnitude=2)
    if pretrained:
        from .model_store import get_model_file
        tag = pretrained if isinstance(pretrained, str) else None
        net.load_parameters(get_model_file("alpha_pose_%s_%s" % (name, dataset), tag=tag,
                                           root=root), ctx=ctx)
    else:
        _initialize_rest(net, default_init, ctx)
    return net


def get_fast_pose(model_name, **kwargs):
    """Build a registered FastPose model by name (see :data:`FAST_POSE_MODELS`).

    ``num_joints`` and ``conv_dim`` may be overridden; the rest of ``kwargs`` goes
    to :func:`get_alphapose`.
    """
    base, dataset, num_joints, conv_dim, _ = FAST_POSE_MODELS[model_name]
    kwargs.setdefault("num_joints", num_joints)
    kwargs.setdefault("conv_dim", conv_dim)
    return get_alphapose(base, dataset, **kwargs)


def _factory(model_name):
    base, dataset, num_joints, conv_dim, spec = FAST_POSE_MODELS[model_name]

    def build(**kwargs):
        return get_fast_pose(model_name, **kwargs)
    build.__name__ = model_name
    build.__doc__ = ("FastPose on %s, %d %s joints, %dx%d input, conv_dim %d; see "
                     ":func:`get_alphapose` for the arguments."
                     % (base, num_joints, dataset, spec.input_size[0], spec.input_size[1],
                        conv_dim))
    return build


alpha_pose_resnet101_v1b_coco = _factory("alpha_pose_resnet101_v1b_coco")
alpha_pose_resnet50_v1b_coco = _factory("alpha_pose_resnet50_v1b_coco")
alpha_pose_mobilenetv3_large_coco = _factory("alpha_pose_mobilenetv3_large_coco")
alpha_pose_mobilenetv3_small_coco = _factory("alpha_pose_mobilenetv3_small_coco")
alpha_pose_mobilenetv3_large_halpe136 = _factory("alpha_pose_mobilenetv3_large_halpe136")
