"""Associative Embedding (Newell, Huang and Deng, NIPS 2017): bottom-up pose by tagging.

A stacked hourglass whose every stack predicts, for each of the ``K`` joints,
a detection heatmap and a ``D``-dimensional tag (embedding) map. Detections of
one person are grouped by their tags being close (the pull/push loss of
:class:`~gluonpose.loss.AssociativeEmbeddingLoss` trains that; the parser of
:class:`~gluonpose.codecs.ae.AECodec` groups).

The network follows the released PyTorch code of the paper's authors
(princeton-vl/pose-ae-train, ``models/posenet.py`` and ``models/layers.py``):

* its hourglass is built of **plain 3x3 convolutions with ReLU** instead of
  the residual units of the single-person hourglass, and widens by
  ``increase`` channels per level down (256 -> 384 -> 512 -> 640 -> 768);
* no batch norm anywhere (the reference's ``bn`` switch is off);
* a stem of 3x3 convolutions (after a 7x7/2) and one max pooling: stride 4.

Two deliberate differences:

* **Output channels.** The reference emits 68 channels per stack of which only
  34 (17 detections, 17 tags) are read by its loss and parser; here every
  stack emits exactly ``K * (1 + D)``: channels ``0 .. K-1`` are the
  detections, channel ``K + k * D + d`` is dimension ``d`` of joint ``k``'s
  tag (joint-major, the layout :class:`AssociativeEmbeddingSpec` documents).
  A converted reference checkpoint keeps the first ``K * (1 + D)`` rows of
  ``outs.{i}.conv.*`` and of ``merge_preds.{i}``'s input columns.
* **Batch norm (optional).** ``batch_norm=True`` puts a batch norm between
  every convolution of the stem, the hourglasses and the feature layers and
  its ReLU (conv, BN, ReLU; the reference's disabled switch would have put it
  after the ReLU). The CPU model ``ae_hourglass_2stack_light_coco`` uses it:
  without it the network trains from scratch far more slowly.

Parameter names follow the reference's module tree (``pre.{0,1,3,4}.conv``,
``features.{i}.0.up1.conv``, ``features.{i}.0.low2.low2.low1.conv``,
``features.{i}.{1,2}.conv``, ``outs.{i}.conv``, ``merge_features.{i}.conv.conv``,
``merge_preds.{i}.conv.conv``), so a converted checkpoint is a key rename.
Initialisation is the reference's (PyTorch's defaults: ``Uniform(+-sqrt(1 /
fan_in))`` for every convolution weight and bias; BN scale 1, shift 0),
attached to the parameters so that ``net.initialize()`` with any global
initializer gives it.

Input: RGB in [0, 1] with no mean or std (the reference feeds ``image / 255``).
Sides must be multiples of ``4 * 2 ** num_downsample`` (64 for 4).
"""
from mxnet.context import cpu
from mxnet.gluon import nn

from ..data.schema import COCO_PERSON
from ..nn import BatchNormCudnnOff
from .hourglass import ConvUnit, Hourglass, _Merge
from .spec import AssociativeEmbeddingSpec, SupervisedOutput

__all__ = ["AssociativeEmbeddingNet", "get_associative_embedding", "associative_embedding_spec",
           "ASSOCIATIVE_EMBEDDING_MODELS"]


class AssociativeEmbeddingNet(nn.HybridBlock):
    """Stacked hourglass with detection and tag heads: a tuple of ``num_stacks`` arrays.

    Every array is ``(N, K * (1 + D), H/4, W/4)``: ``K`` detection heatmaps,
    then ``K * D`` tag channels (joint ``k``'s tag dimension ``d`` at channel
    ``K + k * D + d``). Every stack is supervised.

    ===================  ===================================================  ===========
    stage                layers (every 3x3/7x7 conv: + ReLU)                  output
    ===================  ===================================================  ===========
    ``pre``              7x7/2 conv 3 -> 64; 3x3 conv 64 -> 128; 2x2 max      C, H/4
                         pool; 3x3 conv 128 -> 128; 3x3 conv 128 -> C
    ``features[i]``      :class:`Hourglass` of plain 3x3 conv units           C, H/4
                         (``num_downsample`` levels, ``+increase`` per
                         level); two 3x3 convs C -> C
    ``outs[i]``          1x1 conv C -> K (1 + D) (no ReLU)                    K(1+D), H/4
    ``merge_*[i]``       (i < num_stacks - 1) 1x1 convs of the prediction     C, H/4
                         and the features, added to the stack's input
    ===================  ===================================================  ===========

    Parameters
    ----------
    num_stacks : int, default 4
        Hourglasses, each supervised.
    num_joints : int, default 17
        ``K``.
    tag_dim : int, default 1
        ``D``, the dimension of a tag.
    channels : int, default 256
        ``C``, the feature width (the reference's ``inp_dim``).
    increase : int, default 128
        Width added at each hourglass level down.
    num_downsample : int, default 4
        Poolings inside each hourglass; input sides must be multiples of
        ``4 * 2 ** num_downsample``.
    batch_norm : bool, default False
        Batch norm after every convolution that has a ReLU (conv, BN, ReLU);
        the reference has none.
    norm_layer : type, default BatchNormCudnnOff
        Norm block when ``batch_norm``.
    norm_kwargs : dict, optional
        Extra arguments of ``norm_layer``.
    **kwargs
        Passed to :class:`mxnet.gluon.HybridBlock` (``prefix``, ``params``).

    Notes
    -----
    Cost (17 joints, D = 1; counted by
    :func:`gluonpose.utils.model_summary.model_summary`, 1 GFLOP = 1e9
    multiply-adds of convolutions) at the registered input sizes:

    * ``ae_hourglass_4stack_coco`` (4 stacks, C 256, increase 128, no BN) at
      512x512: 138.83 M parameters (138,832,776, the layer table's arithmetic,
      see ``tests/test_associative_embedding.py``), 221.21 GFLOPs; the
      reference's 34 unused output channels hold 61,064 more (138.89 M);
    * ``ae_hourglass_2stack_light_coco`` (2 stacks, C 128, increase 32, BN)
      at 256x256: 9.97 M parameters (BN scale and shift included, running
      statistics not), 8.20 GFLOPs; one training step (forward, backward,
      Adam) at batch 4 takes about 1.7 s on two CPU cores with MXNet 1.9.

    About a third of the light model's cost is the stem (the 3x3 convolution
    64 -> 128 at half resolution alone is 1.2 GFLOPs), which the reference
    design fixes whatever ``channels`` is.
    """

    def __init__(self, num_stacks=4, num_joints=17, tag_dim=1, channels=256, increase=128,
                 num_downsample=4, batch_norm=False, norm_layer=BatchNormCudnnOff,
                 norm_kwargs=None, **kwargs):
        super().__init__(**kwargs)
        if num_stacks < 1:
            raise ValueError("num_stacks must be at least 1, got %r" % (num_stacks,))
        if num_downsample < 1:
            raise ValueError("num_downsample must be at least 1, got %r" % (num_downsample,))
        if num_joints < 1 or tag_dim < 1:
            raise ValueError("num_joints and tag_dim must be positive, got %r and %r"
                             % (num_joints, tag_dim))
        self.num_stacks = int(num_stacks)
        self.num_joints = int(num_joints)
        self.tag_dim = int(tag_dim)
        self.num_downsample = int(num_downsample)
        self.channels = int(channels)
        self.batch_norm = bool(batch_norm)
        out_channels = self.num_joints * (1 + self.tag_dim)
        norm = dict(norm_layer=norm_layer, norm_kwargs=norm_kwargs)

        def conv(out, kernel, inp, strides=1):
            # every convolution of the trunk has a ReLU, and BN in front of it if asked
            return ConvUnit(out, kernel, inp, strides=strides, bn=self.batch_norm, relu=True,
                            **norm)
        with self.name_scope():
            # pre.2 is the pooling, so the convolutions sit at 0, 1, 3, 4 as in the reference
            self.pre = nn.HybridSequential(prefix="pre_")
            with self.pre.name_scope():
                self.pre.add(conv(64, 7, 3, strides=2), conv(128, 3, 64),
                             nn.MaxPool2D(pool_size=2, strides=2),
                             conv(128, 3, 128), conv(channels, 3, 128))
            self.features = nn.HybridSequential(prefix="features_")
            self.outs = nn.HybridSequential(prefix="outs_")
            self.merge_features = nn.HybridSequential(prefix="merge_features_")
            self.merge_preds = nn.HybridSequential(prefix="merge_preds_")
            unit = "conv_bn" if self.batch_norm else "conv"
            for i in range(self.num_stacks):
                feature = nn.HybridSequential(prefix="%d_" % i)
                with feature.name_scope():
                    feature.add(Hourglass(num_downsample, channels, increase, unit=unit, **norm),
                                conv(channels, 3, channels), conv(channels, 3, channels))
                self.features.add(feature)
                with self.outs.name_scope():
                    self.outs.add(ConvUnit(out_channels, 1, channels))
                if i < self.num_stacks - 1:
                    with self.merge_features.name_scope():
                        self.merge_features.add(_Merge(channels, channels))
                    with self.merge_preds.name_scope():
                        self.merge_preds.add(_Merge(channels, out_channels))

    def hybrid_forward(self, F, x):
        x = self.pre(x)
        preds = []
        for i in range(self.num_stacks):
            feature = self.features[i](x)
            pred = self.outs[i](feature)
            preds.append(pred)
            if i < self.num_stacks - 1:
                # the next stack starts from its predecessor's input plus what it saw and said
                x = x + self.merge_preds[i](pred) + self.merge_features[i](feature)
        return tuple(preds)


#: the reference's input normalisation: RGB / 255, no mean or std
AE_MEAN = (0.0, 0.0, 0.0)
AE_STD = (1.0, 1.0, 1.0)


def associative_embedding_spec(num_stacks, input_size=(512, 512), num_joints=17, tag_dim=1,
                               num_downsample=4):
    """The :class:`AssociativeEmbeddingSpec` of a COCO network with ``num_stacks`` stacks.

    Every stack is a supervised output (``stack1`` ... ``stack<n>``, position
    ``0 .. n-1`` of the network's tuple, the ``'ae'`` loss); the last is
    decoded. Flip test: the COCO left/right permutation of
    :data:`gluonpose.data.schema.COCO_PERSON`, for detections and tags alike.

    Parameters
    ----------
    num_stacks : int
    input_size : tuple of int, default (512, 512)
    num_joints : int, default 17
    tag_dim : int, default 1
    num_downsample : int, default 4
        Sets the size multiple ``4 * 2 ** num_downsample``.

    Returns
    -------
    AssociativeEmbeddingSpec
    """
    outputs = tuple(SupervisedOutput("stack%d" % (i + 1), index=i, loss="ae")
                    for i in range(num_stacks))
    flip = tuple(int(c) for c in COCO_PERSON.flip_index) \
        if num_joints == COCO_PERSON.num_joints else None
    return AssociativeEmbeddingSpec("associative_embedding", input_size=input_size,
                                    mean=AE_MEAN, std=AE_STD, stride=4,
                                    size_multiple=4 * 2 ** num_downsample, outputs=outputs,
                                    num_joints=num_joints, tag_dim=tag_dim, schema="coco",
                                    eval_schema="coco", flip_heatmap=flip)


def get_associative_embedding(num_stacks=4, pretrained=False, ctx=cpu(), root=None,
                              num_joints=17, tag_dim=1, pretrained_base=False,
                              pretrained_ctx=None, model_name=None, **kwargs):
    """Build an Associative Embedding network, optionally with published weights.

    Parameters
    ----------
    num_stacks : int, default 4
        Hourglasses, each supervised. A count other than the registered
        model's needs :func:`associative_embedding_spec` ``(num_stacks)`` as
        its contract.
    pretrained : bool or str, default False
        ``True`` loads ``model_name`` (default ``ae_hourglass_4stack_coco``)
        from the model store, a string the weights with that hashtag. (None
        are published yet: the store raises its usual "not found" error.)
    ctx : Context or list of Context, default cpu()
        Where loaded parameters live.
    root : str, optional
        Model-store directory.
    num_joints : int, default 17
    tag_dim : int, default 1
    pretrained_base : bool or str, default False
        Accepted for the common factory signature and ignored: the network has
        no ImageNet trunk, it is trained from scratch.
    pretrained_ctx : Context or list of Context, optional
        Accepted and ignored, as ``pretrained_base``.
    model_name : str, optional
        Model-store name for ``pretrained``.
    **kwargs
        Passed to :class:`AssociativeEmbeddingNet` (``channels``, ``increase``,
        ``batch_norm``...).

    Returns
    -------
    AssociativeEmbeddingNet
        Not initialised unless ``pretrained``; ``net.initialize()`` gives the
        reference initialisation whatever the global initializer.
    """
    del pretrained_base, pretrained_ctx     # no ImageNet trunk to load
    net = AssociativeEmbeddingNet(num_stacks=num_stacks, num_joints=num_joints, tag_dim=tag_dim,
                                  **kwargs)
    if pretrained:
        from .model_store import get_model_file
        tag = pretrained if isinstance(pretrained, str) else None
        name = model_name or "ae_hourglass_%dstack_coco" % num_stacks
        net.load_parameters(get_model_file(name, tag=tag, root=root), ctx=ctx)
    return net


#: registered name -> (default arguments of :func:`get_associative_embedding`, spec)
ASSOCIATIVE_EMBEDDING_MODELS = {
    # the reference: 4 stacks of 256 features widening by 128, no batch norm, 512x512
    "ae_hourglass_4stack_coco": (
        {"num_stacks": 4, "channels": 256, "increase": 128, "batch_norm": False},
        associative_embedding_spec(4, (512, 512))),
    # a CPU-sized variant: narrower, 2 stacks, batch norm (trains from scratch much faster)
    "ae_hourglass_2stack_light_coco": (
        {"num_stacks": 2, "channels": 128, "increase": 32, "batch_norm": True},
        associative_embedding_spec(2, (256, 256))),
}


def _factory(model_name):
    defaults, spec = ASSOCIATIVE_EMBEDDING_MODELS[model_name]

    def build(**kwargs):
        for key, value in defaults.items():
            kwargs.setdefault(key, value)
        kwargs.setdefault("model_name", model_name)
        return get_associative_embedding(**kwargs)
    build.__name__ = model_name
    build.__doc__ = ("Associative Embedding (%s): %d stacks of %d features, %s batch norm, "
                     "default input %dx%d; see :func:`get_associative_embedding`."
                     % (model_name, defaults["num_stacks"], defaults["channels"],
                        "with" if defaults["batch_norm"] else "no",
                        spec.input_size[0], spec.input_size[1]))
    return build


for _name in ASSOCIATIVE_EMBEDDING_MODELS:
    globals()[_name] = _factory(_name)
    __all__.append(_name)
del _name
