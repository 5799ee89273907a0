"""What a registered pose model tells the rest of gluonpose about itself.

The engine, ``gluonpose eval``, the Predictor, the exporter, the quantiser and
the model-zoo page never ask *which* family a model is; they read its spec:

* input: default size ``(H, W)``, the multiple the sizes must respect, and the
  normalisation (``mean``/``std`` on RGB in [0, 1]);
* output: the stride of the heatmaps (input size / heatmap size);
* supervision: which network outputs are trained, each with its own target
  settings (codec name and sigma), loss and weight, and which output is
  decoded at inference;
* the default keypoint schema.

A family with one heatmap tensor (Simple Baselines, MobilePose, FastPose) uses
the default single :class:`SupervisedOutput`. Multi-stage families (stacked
hourglass, CPN) list one entry per supervised output, pointing at the
position of that output in the tuple the network returns.

Two kinds of contract exist, told apart by ``spec.kind``:

* :class:`TopDownSpec` (``'top_down'``): one person crop in, one heatmap per
  joint out;
* :class:`BottomUpSpec` (``'bottom_up'``): a whole image in, part heatmaps
  *and* part affinity fields (PAFs) out for every stage (OpenPose); it also
  carries the input channel order, the flip permutations of both kinds of
  map, the test scales and the per-parameter learning-rate multipliers
  (:class:`LrMultRule`, applied by :func:`apply_lr_mult`);
* :class:`AssociativeEmbeddingSpec` (also ``'bottom_up'``): a whole image in,
  detection heatmaps and tag maps per joint out of every hourglass stack.

Bottom-up specs name their grouping (``spec.grouping``: ``'paf'`` or
``'ae'``) and build their codec (``spec.make_codec()``), which owns the
targets of training and the grouping of inference.

This module sits below the engine and imports nothing from gluonpose.
"""
import re
from collections import OrderedDict, namedtuple

__all__ = ["SupervisedOutput", "TopDownSpec", "BottomUpSpec", "AssociativeEmbeddingSpec",
           "LrMultRule", "apply_lr_mult", "lr_mult_of", "IMAGENET_MEAN", "IMAGENET_STD"]

#: ImageNet normalisation used by GluonCV's pose presets
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_OutputFields = namedtuple("SupervisedOutput", ["name", "index", "weight", "codec", "sigma",
                                                "loss", "loss_kwargs"])


class SupervisedOutput(_OutputFields):
    """One trained output of a network.

    Parameters
    ----------
    name : str
        Label in logs and the training curves (``'heatmap'``, ``'stack1'``...).
    index : int or None
        Position in the tuple the network returns; ``None`` when the network
        returns a single array.
    weight : float, default 1
        Factor of this output's loss in the total loss.
    codec : str or None
        Target codec of this output; ``None`` uses the run's ``--codec``.
    sigma : float or None
        Gaussian sigma of this output's targets (heatmap pixels); ``None`` uses
        the run's ``--sigma``.
    loss : str or None
        Loss name (see :func:`gluonpose.loss.get_loss`); ``None`` uses the
        codec's own loss (weighted L2 for heatmaps, L1 for integral
        regression).
    loss_kwargs : dict or None
        Extra arguments of the loss (e.g. ``{'topk': 8}`` for OHKM).
    """

    __slots__ = ()

    def __new__(cls, name="heatmap", index=None, weight=1.0, codec=None, sigma=None, loss=None,
                loss_kwargs=None):
        return super().__new__(cls, str(name), None if index is None else int(index),
                               float(weight), codec, sigma, loss, dict(loss_kwargs or {}))


def _check_size(spec, input_size, what):
    h, w = int(input_size[0]), int(input_size[1])
    m = spec.size_multiple
    if h <= 0 or w <= 0 or h % m or w % m:
        raise ValueError("%s %d,%d: this %s model needs H and W that are positive "
                         "multiples of %d (e.g. %d,%d)"
                         % (what, h, w, spec.family, m, *spec.input_size))
    return h, w


class TopDownSpec:
    """The contract of a top-down model (one person crop in, heatmaps out).

    Parameters
    ----------
    family : str
        Family name for the model-zoo page (``'simple_pose'``, ``'mobile_pose'``...).
    input_size : tuple of int, default (256, 192)
        Default network input ``(H, W)``.
    mean, std : sequence of float
        Per-channel normalisation of RGB values scaled to [0, 1].
    stride : int, default 4
        Input pixels per heatmap pixel.
    size_multiple : int, default 32
        Input H and W must be multiples of this for the network to give
        ``input / stride`` heatmaps (the total down-sampling of the trunk).
    outputs : sequence of SupervisedOutput, optional
        The trained outputs; default one heatmap tensor.
    decode : int, default -1
        Which entry of ``outputs`` is decoded at inference (the last).
    schema : str, default 'coco'
        Default keypoint schema.
    sigma : float or None
        Default Gaussian sigma of the targets; ``None`` lets the run decide
        (GluonCV's 2).
    flip_shift : bool, float or 'exact', default True
        Flip test: how the flipped-back heatmaps are shifted right before
        averaging. ``True``: one column, as Simple Baselines, GluonCV and
        AlphaPose do (a quarter cell too far at stride 4 in this library's
        coordinate convention, kept for parity with their numbers);
        ``'exact'``: ``(stride - 1) / stride`` of a cell by linear
        interpolation, the correction that the stacked hourglass and CPN
        references get from their pixel-centre convention when they flip
        without a shift (stored as that float); ``False``: none.
    """

    kind = "top_down"

    def __init__(self, family, input_size=(256, 192), mean=IMAGENET_MEAN, std=IMAGENET_STD,
                 stride=4, size_multiple=32, outputs=None, decode=-1, schema="coco",
                 sigma=None, flip_shift=True):
        self.family = str(family)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.stride = int(stride)
        self.size_multiple = int(size_multiple)
        self.outputs = tuple(outputs) if outputs else (SupervisedOutput(),)
        if not all(isinstance(o, SupervisedOutput) for o in self.outputs):
            raise TypeError("outputs must be SupervisedOutput entries")
        if len(self.outputs) > 1 and any(o.index is None for o in self.outputs):
            raise ValueError("a spec with several outputs must give each one's index")
        self.decode = int(decode)
        self.decoded_output = self.outputs[self.decode]
        self.schema = schema
        self.sigma = sigma
        if isinstance(flip_shift, str) and flip_shift == "exact":
            flip_shift = (self.stride - 1) / float(self.stride)
        self.flip_shift = float(flip_shift) if isinstance(flip_shift, float) \
            else bool(flip_shift)

    # -- sizes ---------------------------------------------------------------------------
    def check_input_size(self, input_size, what="input size"):
        """``(H, W)`` as ints, or a ``ValueError`` naming the allowed multiple."""
        return _check_size(self, input_size, what)

    def heatmap_size(self, input_size):
        """``(h, w)`` of the heatmaps for an input ``(H, W)`` (checked)."""
        h, w = self.check_input_size(input_size)
        return h // self.stride, w // self.stride

    # -- outputs -------------------------------------------------------------------------
    def supervised(self, net_output):
        """The arrays of the trained outputs, in ``outputs`` order."""
        if isinstance(net_output, (list, tuple)):
            return [net_output[o.index if o.index is not None else -1] for o in self.outputs]
        if len(self.outputs) != 1:
            raise ValueError("the network returned one array but its spec trains %d outputs"
                             % len(self.outputs))
        return [net_output]

    def decoded(self, net_output):
        """The array to decode at inference."""
        if isinstance(net_output, (list, tuple)):
            index = self.decoded_output.index
            return net_output[index if index is not None else -1]
        return net_output

    def decode_sigma(self, default=2.0):
        """The target sigma of the decoded output (the unbiased codec's blur).

        An output whose spec fixes its sigma (CPN's RefineNet: 1.4) was trained
        with that sigma whatever the run's ``--sigma``; other outputs follow
        ``default`` (the run's).
        """
        sigma = self.decoded_output.sigma
        return default if sigma is None else sigma

    @property
    def multi_output(self):
        """True when the network returns several arrays."""
        return len(self.outputs) > 1 or self.decoded_output.index is not None

    def describe(self):
        """A dict for the model-zoo page and records."""
        return {"kind": self.kind, "family": self.family, "input_size": list(self.input_size),
                "mean": list(self.mean), "std": list(self.std), "stride": self.stride,
                "size_multiple": self.size_multiple, "schema": self.schema,
                "flip_shift": self.flip_shift,
                "outputs": [o.name for o in self.outputs],
                "decoded": self.decoded_output.name}

    def __repr__(self):
        return ("TopDownSpec(family=%r, input_size=%s, stride=%d, outputs=%s, decoded=%r)"
                % (self.family, self.input_size, self.stride,
                   [o.name for o in self.outputs], self.decoded_output.name))


# ------------------------------------------------------------------------------------------
# bottom-up contract


class LrMultRule(namedtuple("LrMultRule", ["pattern", "weight", "bias"])):
    """Learning-rate multipliers of the parameters whose name matches ``pattern``.

    Parameters
    ----------
    pattern : str
        Regular expression, searched (``re.search``) in the parameter name:
        either the structural name (``stage2.paf.0.weight``, what
        ``block._collect_params_with_prefix()`` gives) or the global name
        (``openposevgg190_stage2_paf_conv0_weight``, the keys of
        ``block.collect_params()``); the registered rules match both.
    weight : float
        Multiplier of a weight (any parameter that is not a bias; batch-norm
        ``gamma`` included).
    bias : float
        Multiplier of a bias (a name ending in ``bias``, or batch-norm ``beta``).
    """

    __slots__ = ()

    def __new__(cls, pattern, weight=1.0, bias=1.0):
        re.compile(pattern)                     # fail early on a bad expression
        return super().__new__(cls, str(pattern), float(weight), float(bias))


def _is_bias(name):
    return name.endswith(("bias", "beta"))


def lr_mult_of(name, rules):
    """The multiplier the first rule matching ``name`` gives, or ``None`` if none matches."""
    for rule in rules:
        rule = rule if isinstance(rule, LrMultRule) else LrMultRule(*rule)
        if re.search(rule.pattern, name):
            return rule.bias if _is_bias(name) else rule.weight
    return None


def apply_lr_mult(params, rules):
    """Set ``param.lr_mult`` of every parameter from ``rules`` (first match wins).

    Parameters
    ----------
    params : mxnet.gluon.Block or mapping of name -> Parameter
        A network (its structural parameter names are matched) or a
        ``ParameterDict`` / dict (its keys are matched).
    rules : sequence of LrMultRule (or ``(pattern, weight, bias)`` tuples), or a spec
        A spec with an ``lr_mult`` attribute stands for its rules.

    Returns
    -------
    collections.OrderedDict
        Name -> the multiplier set, for the parameters some rule matched
        (the others keep their ``lr_mult``). Parameters without gradient (batch
        norm running statistics) are set too; the optimiser never reads them.
    """
    rules = getattr(rules, "lr_mult", rules)
    if hasattr(params, "_collect_params_with_prefix"):
        params = params._collect_params_with_prefix()
    applied = OrderedDict()
    for name, param in params.items():
        mult = lr_mult_of(name, rules)
        if mult is not None:
            param.lr_mult = mult
            applied[name] = mult
    return applied


def _permutation(values, size, what):
    values = tuple(int(v) for v in values)
    if sorted(values) != list(range(size)):
        raise ValueError("%s must be a permutation of 0..%d, got %s" % (what, size - 1, values))
    return values


class _BottomUpInput:
    """What every bottom-up spec shares: input normalisation, sizes, stage outputs.

    Subclasses set ``mean``, ``std``, ``channel_order``, ``stride``,
    ``size_multiple``, ``family``, ``input_size`` and ``outputs``; they add
    ``grouping`` (the name of their grouping codec), :meth:`make_codec`,
    :meth:`decoded` and :meth:`channels_of`.
    """

    kind = "bottom_up"

    def _init_input(self, family, input_size, mean, std, channel_order, stride, size_multiple,
                    outputs, per):
        """Check and store what every bottom-up spec has (``per``: what an output is per)."""
        self.family = str(family)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.mean = tuple(float(v) for v in mean)
        self.std = tuple(float(v) for v in std)
        self.channel_order = str(channel_order).lower()
        if self.channel_order not in ("rgb", "bgr"):
            raise ValueError("channel_order must be 'rgb' or 'bgr', got %r" % (channel_order,))
        self.stride = int(stride)
        self.size_multiple = int(size_multiple)
        if not outputs:
            raise ValueError("a %s spec needs its outputs (one per %s)" % (self.family, per))
        self.outputs = tuple(outputs)
        if not all(isinstance(o, SupervisedOutput) for o in self.outputs):
            raise TypeError("outputs must be SupervisedOutput entries")
        if any(o.index is None for o in self.outputs):
            raise ValueError("every output of a %s spec needs its index" % self.family)

    # -- input ---------------------------------------------------------------------------
    @property
    def bgr(self):
        """True when the network takes its channels in BGR order."""
        return self.channel_order == "bgr"

    def normalise(self, rgb):
        """Normalised network input from RGB values in [0, 1], channels last.

        ``rgb`` is a numpy array ``(..., 3)``; the result has the network's
        channel order (reversed for ``'bgr'``).
        """
        out = (rgb - self.mean) / self.std
        return out[..., ::-1] if self.bgr else out

    # -- sizes ---------------------------------------------------------------------------
    def check_input_size(self, input_size, what="input size"):
        """``(H, W)`` as ints, or a ``ValueError`` naming the allowed multiple."""
        return _check_size(self, input_size, what)

    def heatmap_size(self, input_size):
        """``(h, w)`` of the output maps for an input ``(H, W)`` (checked)."""
        h, w = self.check_input_size(input_size)
        return h // self.stride, w // self.stride

    # -- outputs -------------------------------------------------------------------------
    def supervised(self, net_output):
        """The arrays of the trained outputs, in ``outputs`` order."""
        if not isinstance(net_output, (list, tuple)):
            raise ValueError("a bottom-up network returns a tuple of stage outputs")
        return [net_output[o.index] for o in self.outputs]

    @property
    def multi_output(self):
        """Always True: the network returns one array per stage (and branch)."""
        return True


class BottomUpSpec(_BottomUpInput):
    """The contract of a bottom-up model (whole image in, part and limb maps out).

    Written for the OpenPose family: every stage predicts part affinity fields
    (``paf_channels`` = 2 per limb, x then y) and part confidence maps
    (``heatmap_channels``, the parts plus a background channel), all of them
    supervised, the last stage's pair decoded.

    Parameters
    ----------
    family : str
        Family name for the model-zoo page (``'openpose'``).
    input_size : tuple of int, default (368, 368)
        Default (training) input ``(H, W)``; at test time any size whose sides
        are multiples of ``size_multiple`` (images are padded to one).
    mean, std : sequence of float
        Per-channel normalisation of **RGB** values scaled to [0, 1], given
        in R, G, B order as in :class:`TopDownSpec`.
    channel_order : {'rgb', 'bgr'}, default 'rgb'
        The order in which the network receives the normalised channels.
        ``'bgr'`` (OpenPose's Caffe heritage): normalise in RGB with
        ``mean``/``std``, then reverse the channel axis. OpenPose's ``x / 256 -
        0.5`` on BGR pixel values in [0, 255] is ``mean = 128/255`` and
        ``std = 256/255`` on every channel with ``channel_order='bgr'``.
    stride : int, default 8
        Input pixels per output-map pixel.
    size_multiple : int, default 8
        Input H and W must be multiples of this.
    outputs : sequence of SupervisedOutput
        One per stage and branch, each with its ``index`` in the tuple the
        network returns (required).
    branches : sequence of {'paf', 'heatmap'}, optional
        What each entry of ``outputs`` predicts; by default read from the
        output names (``..._paf`` / ``..._heat``).
    decode : tuple of int, optional
        Positions in ``outputs`` of the PAF and the heatmap output decoded at
        inference; default the last of each branch.
    schema : str, default 'openpose18'
        The model's own part order (OpenPose's 18 parts + background).
    eval_schema : str, default 'coco'
        The keypoint schema results are converted to for evaluation.
    heatmap_channels, paf_channels : int
        Channels of the two kinds of output (19 and 38 for OpenPose COCO).
    flip_heatmap : sequence of int, optional
        Flip test: channel ``c`` of the flipped-back heatmaps is channel
        ``flip_heatmap[c]`` of the mirrored output (left/right parts swapped).
    flip_paf : sequence of int, optional
        The same for limbs (one entry per limb, ``paf_channels // 2``); the
        x component of every flipped-back PAF is negated
        (:meth:`paf_flip_channels` gives the channel permutation and signs).
    test_scales : sequence of float, default (1.0,)
        Image scales of the published multi-scale test, relative to
        ``input_size[0]`` (the image height is resized to ``s * H``).
    target_sigma : float or None
        Gaussian sigma of the part confidence maps, **in input pixels**
        (OpenPose: 7).
    limb_width : float or None
        Half width of a limb's PAF, in output-map cells (OpenPose: 1).
    lr_mult : sequence of LrMultRule
        Learning-rate multipliers by parameter name (see :func:`apply_lr_mult`).
    """

    grouping = "paf"

    def __init__(self, family, input_size=(368, 368), mean=IMAGENET_MEAN, std=IMAGENET_STD,
                 channel_order="rgb", stride=8, size_multiple=8, outputs=None, branches=None,
                 decode=None, schema="openpose18", eval_schema="coco", heatmap_channels=19,
                 paf_channels=38, flip_heatmap=None, flip_paf=None, test_scales=(1.0,),
                 target_sigma=None, limb_width=None, lr_mult=()):
        self._init_input(family, input_size, mean, std, channel_order, stride, size_multiple,
                         outputs, "stage and branch")
        if branches is None:
            branches = [_branch_of(o.name) for o in self.outputs]
        self.branches = tuple(str(b) for b in branches)
        if len(self.branches) != len(self.outputs) or \
                not set(self.branches) <= {"paf", "heatmap"}:
            raise ValueError("branches must give 'paf' or 'heatmap' for each output, got %s"
                             % (self.branches,))
        if decode is None:
            decode = tuple(max(i for i, b in enumerate(self.branches) if b == want)
                           for want in ("paf", "heatmap"))
        self.decode = tuple(int(d) % len(self.outputs) for d in decode)
        if tuple(self.branches[d] for d in self.decode) != ("paf", "heatmap"):
            raise ValueError("decode must point at a PAF output, then a heatmap output")
        #: the decoded ``(paf, heatmap)`` SupervisedOutput pair
        self.decoded_outputs = tuple(self.outputs[d] for d in self.decode)
        self.schema = schema
        self.eval_schema = eval_schema
        self.heatmap_channels = int(heatmap_channels)
        self.paf_channels = int(paf_channels)
        if self.paf_channels % 2:
            raise ValueError("paf_channels must be even (x, y per limb), got %d"
                             % self.paf_channels)
        self.flip_heatmap = (None if flip_heatmap is None else
                             _permutation(flip_heatmap, self.heatmap_channels, "flip_heatmap"))
        self.flip_paf = (None if flip_paf is None else
                         _permutation(flip_paf, self.paf_channels // 2, "flip_paf"))
        self.test_scales = tuple(float(s) for s in test_scales)
        self.target_sigma = None if target_sigma is None else float(target_sigma)
        self.limb_width = None if limb_width is None else float(limb_width)
        self.lr_mult = tuple(r if isinstance(r, LrMultRule) else LrMultRule(*r)
                             for r in lr_mult)

    # -- outputs -------------------------------------------------------------------------
    def channels_of(self, output):
        """Channels of an output (a SupervisedOutput of this spec, or its position)."""
        pos = output if isinstance(output, int) else self.outputs.index(output)
        return self.paf_channels if self.branches[pos] == "paf" else self.heatmap_channels

    def decoded(self, net_output):
        """The ``(paf, heatmap)`` arrays decoded at inference."""
        if not isinstance(net_output, (list, tuple)):
            raise ValueError("a bottom-up network returns a tuple of stage outputs")
        return tuple(net_output[o.index] for o in self.decoded_outputs)

    @property
    def has_flip(self):
        """True when the spec carries the flip permutations of the flip test."""
        return self.flip_heatmap is not None and self.flip_paf is not None

    def make_codec(self):
        """The :class:`~gluonpose.codecs.paf.PAFCodec` this model was trained for.

        Its targets (``target_sigma`` input pixels, ``limb_width`` cells;
        OpenPose's 7 and 1 when unset) and its grouping at test time.
        """
        from ..codecs.paf import PAFCodec
        return PAFCodec(stride=self.stride,
                        sigma=7.0 if self.target_sigma is None else self.target_sigma,
                        limb_width=1.0 if self.limb_width is None else self.limb_width)

    def paf_flip_channels(self):
        """``(permutation, signs)`` of the PAF channels for the flip test.

        Channel ``c`` of the flipped-back PAFs is ``signs[c] *`` channel
        ``permutation[c]`` of the mirrored output: limbs swapped by
        ``flip_paf`` and every x component negated. ``None`` without
        ``flip_paf``.
        """
        if self.flip_paf is None:
            return None
        perm, signs = [], []
        for src in self.flip_paf:
            perm += [2 * src, 2 * src + 1]
            signs += [-1.0, 1.0]
        return tuple(perm), tuple(signs)

    def describe(self):
        """A dict for the model-zoo page and records."""
        return {"kind": self.kind, "family": self.family, "input_size": list(self.input_size),
                "mean": list(self.mean), "std": list(self.std),
                "channel_order": self.channel_order, "stride": self.stride,
                "size_multiple": self.size_multiple, "schema": self.schema,
                "eval_schema": self.eval_schema, "heatmap_channels": self.heatmap_channels,
                "paf_channels": self.paf_channels,
                "outputs": [o.name for o in self.outputs],
                "decoded": [o.name for o in self.decoded_outputs],
                "test_scales": list(self.test_scales),
                "flip_heatmap": None if self.flip_heatmap is None else list(self.flip_heatmap),
                "flip_paf": None if self.flip_paf is None else list(self.flip_paf),
                "target_sigma": self.target_sigma, "limb_width": self.limb_width,
                "lr_mult": [list(r) for r in self.lr_mult]}

    def __repr__(self):
        return ("BottomUpSpec(family=%r, input_size=%s, channel_order=%r, stride=%d, "
                "outputs=%s, decoded=%s)"
                % (self.family, self.input_size, self.channel_order, self.stride,
                   [o.name for o in self.outputs], tuple(o.name for o in self.decoded_outputs)))


class AssociativeEmbeddingSpec(_BottomUpInput):
    """The contract of an Associative Embedding model (heatmaps and tags per joint).

    Every stack of the network returns one array ``(N, K * (1 + D), h, w)``:
    channels ``0 .. K-1`` are the detection heatmaps of the ``K`` joints,
    channels ``K + k * D + d`` dimension ``d`` of joint ``k``'s tag (embedding)
    map. Every stack is supervised with the detection + pull/push loss
    (:class:`~gluonpose.loss.AssociativeEmbeddingLoss`); the last is decoded by
    the parser of :class:`~gluonpose.codecs.ae.AECodec`.

    Parameters
    ----------
    family : str
        Family name for the model-zoo page (``'associative_embedding'``).
    input_size : tuple of int, default (512, 512)
        Default (training) input ``(H, W)``; at test time the image's longer
        side is resized to ``H`` and padded to a multiple of ``size_multiple``.
    mean, std : sequence of float
        Per-channel normalisation of RGB values in [0, 1] (the reference
        feeds ``image / 255``: mean 0, std 1).
    channel_order : {'rgb', 'bgr'}
    stride : int, default 4
    size_multiple : int, default 64
        Stride times ``2 ** depth`` of the hourglass (4 x 16).
    outputs : sequence of SupervisedOutput
        One per stack, each with its ``index`` (required).
    decode : int, default -1
        Position in ``outputs`` of the stack decoded at inference.
    num_joints : int, default 17
    tag_dim : int, default 1
        Dimension ``D`` of a tag.
    schema, eval_schema : str, default 'coco'
    flip_heatmap : sequence of int, optional
        Flip test: channel ``c`` of the flipped-back maps is channel
        ``flip_heatmap[c]`` of the mirrored output (detections and tags alike).
    test_scales : sequence of float, default (1.0,)
        Scales of the default test, relative to ``input_size[0]``.
    multi_scales : sequence of float, default (2.0, 1.0, 0.5)
        The reference's multi-scale test (tags are read at scale 1).
    target_sigma : float, default 2.0
        Gaussian sigma of the detection targets, in output-map cells.
    max_people : int, default 30
        People per image in the tag reference (and found by the parser).
    loss_weights : tuple of float, default (1.0, 1e-3, 1e-3)
        Weights of the detection, pull and push terms.
    lr_mult : sequence of LrMultRule
    """

    grouping = "ae"

    def __init__(self, family="associative_embedding", input_size=(512, 512), mean=(0.0, 0.0, 0.0),
                 std=(1.0, 1.0, 1.0), channel_order="rgb", stride=4, size_multiple=64,
                 outputs=None, decode=-1, num_joints=17, tag_dim=1, schema="coco",
                 eval_schema="coco", flip_heatmap=None, test_scales=(1.0,),
                 multi_scales=(2.0, 1.0, 0.5), target_sigma=2.0, max_people=30,
                 loss_weights=(1.0, 1e-3, 1e-3), lr_mult=()):
        self._init_input(family, input_size, mean, std, channel_order, stride, size_multiple,
                         outputs, "stack")
        self.decode = int(decode) % len(self.outputs)
        #: the decoded stack, as a one-entry tuple (the layout of the other specs)
        self.decoded_outputs = (self.outputs[self.decode],)
        self.num_joints = int(num_joints)
        self.tag_dim = int(tag_dim)
        if self.num_joints <= 0 or self.tag_dim <= 0:
            raise ValueError("num_joints and tag_dim must be positive, got %d and %d"
                             % (self.num_joints, self.tag_dim))
        self.schema = schema
        self.eval_schema = eval_schema
        self.flip_heatmap = (None if flip_heatmap is None else
                             _permutation(flip_heatmap, self.num_joints, "flip_heatmap"))
        self.test_scales = tuple(float(s) for s in test_scales)
        self.multi_scales = tuple(float(s) for s in multi_scales)
        self.target_sigma = float(target_sigma)
        self.max_people = int(max_people)
        self.loss_weights = tuple(float(w) for w in loss_weights)
        if len(self.loss_weights) != 3:
            raise ValueError("loss_weights are (detection, pull, push), got %s"
                             % (self.loss_weights,))
        self.lr_mult = tuple(r if isinstance(r, LrMultRule) else LrMultRule(*r)
                             for r in lr_mult)

    @property
    def heatmap_channels(self):
        """Detection channels: one per joint."""
        return self.num_joints

    @property
    def tag_channels(self):
        """Tag channels: ``num_joints * tag_dim``."""
        return self.num_joints * self.tag_dim

    def channels_of(self, output):
        """Channels of every stack's output: detections then tags."""
        return self.heatmap_channels + self.tag_channels

    def decoded(self, net_output):
        """``(detections (N, K, h, w), tags (N, K * D, h, w))`` of the decoded stack.

        Works on NDArrays and Symbols alike (the exporter traces it).
        """
        if not isinstance(net_output, (list, tuple)):
            raise ValueError("an associative embedding network returns a tuple of stack outputs")
        out = net_output[self.decoded_outputs[0].index]
        k = self.num_joints
        return (out.slice_axis(axis=1, begin=0, end=k),
                out.slice_axis(axis=1, begin=k, end=k + self.tag_channels))

    @property
    def has_flip(self):
        """True when the spec carries the joints' flip permutation."""
        return self.flip_heatmap is not None

    def make_codec(self):
        """The :class:`~gluonpose.codecs.ae.AECodec` of this model (targets and parser)."""
        from ..codecs.ae import AECodec
        return AECodec(stride=self.stride, sigma=self.target_sigma, num_joints=self.num_joints,
                       max_people=self.max_people, tag_dim=self.tag_dim)

    def describe(self):
        """A dict for the model-zoo page and records."""
        return {"kind": self.kind, "family": self.family, "grouping": self.grouping,
                "input_size": list(self.input_size), "mean": list(self.mean),
                "std": list(self.std), "channel_order": self.channel_order,
                "stride": self.stride, "size_multiple": self.size_multiple,
                "schema": self.schema, "eval_schema": self.eval_schema,
                "num_joints": self.num_joints, "tag_dim": self.tag_dim,
                "outputs": [o.name for o in self.outputs],
                "decoded": [o.name for o in self.decoded_outputs],
                "test_scales": list(self.test_scales), "multi_scales": list(self.multi_scales),
                "flip_heatmap": None if self.flip_heatmap is None else list(self.flip_heatmap),
                "target_sigma": self.target_sigma, "max_people": self.max_people,
                "loss_weights": list(self.loss_weights),
                "lr_mult": [list(r) for r in self.lr_mult]}

    def __repr__(self):
        return ("AssociativeEmbeddingSpec(family=%r, input_size=%s, stride=%d, outputs=%s, "
                "decoded=%r, tag_dim=%d)"
                % (self.family, self.input_size, self.stride, [o.name for o in self.outputs],
                   self.decoded_outputs[0].name, self.tag_dim))


def _branch_of(name):
    if name.endswith("paf"):
        return "paf"
    if name.endswith(("heat", "heatmap")):
        return "heatmap"
    raise ValueError("cannot tell whether output %r is a PAF or a heatmap; pass branches="
                     % (name,))
