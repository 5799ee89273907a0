"""Targets, losses and the training metric of a model, read from its spec.

The engine does not know model families. A spec lists the supervised outputs
of a network (one heatmap tensor for Simple Baselines; one per stack for a
stacked hourglass; GlobalNet levels and a RefineNet output for CPN), each
with its codec settings, loss and weight. :class:`Supervision` turns that
into what one training step needs:

* the target encoder for the data pipeline (one codec, or a
  :class:`~gluonpose.codecs.multi.TargetSet` so every output's targets come
  from the same augmentation of a sample);
* the weighted sum of the per-output losses, with each term kept for the log;
* the output and target pair the training metric reads (the decoded output).

Which supervision a model gets is read from ``spec.kind``
(:meth:`Supervision.for_spec`): :class:`Supervision` for top-down heatmap
models, :class:`BottomUpSupervision` for OpenPose's stages of PAFs and part
confidence maps. Both expose the same interface, and the class also tells the
engine which dataset and training transform feed it
(:meth:`Supervision.training_dataset`, :meth:`Supervision.train_transform`),
so the engine itself never asks which kind of model it trains.
"""
import mxnet as mx

from ..codecs import get_codec
from ..codecs.multi import TargetSet
from ..loss import get_loss
from ..utils.metrics import get_training_metric

__all__ = ["Supervision", "BottomUpSupervision", "AESupervision", "supervision_class"]


def supervision_class(spec):
    """The supervision class of a spec: by ``spec.kind``, then (bottom-up) ``spec.grouping``.

    :class:`Supervision` (top-down), :class:`BottomUpSupervision` (OpenPose's
    PAFs) or :class:`AESupervision` (Associative Embedding's tags).
    """
    kind = getattr(spec, "kind", "top_down")
    try:
        return _BY_KIND[kind](spec)
    except KeyError:
        raise ValueError("no training supervision for %s models" % kind.replace("_", "-")) \
            from None


class Supervision:
    """What a spec's supervised outputs mean for training.

    Parameters
    ----------
    spec : TopDownSpec
        (a bottom-up spec raises ``ValueError``: use :meth:`for_spec`, which
        gives a :class:`BottomUpSupervision`)
    image_size, heatmap_size : tuple of int
        ``(H, W)`` of the input and of the heatmaps.
    codec : str
        The run's codec (``--codec``), for outputs whose spec names none.
    sigma : float
        The run's Gaussian sigma, for outputs whose spec gives none.
    """

    #: whether ``--input-size S`` (one number, a square input) is accepted
    square_input = False

    def __init__(self, spec, image_size, heatmap_size, codec="msra", sigma=2):
        from .config import require_top_down
        require_top_down(spec, what="Supervision (use Supervision.for_spec)")
        self.spec = spec
        self.image_size = tuple(image_size)
        self.heatmap_size = tuple(heatmap_size)
        self.outputs = list(spec.outputs)
        self.names = [o.name for o in self.outputs]
        self.codecs = [get_codec(o.codec or codec, image_size=image_size,
                                 heatmap_size=heatmap_size,
                                 sigma=sigma if o.sigma is None else o.sigma)
                       for o in self.outputs]
        self.losses = [get_loss(o.loss or c.default_loss, **o.loss_kwargs)
                       for o, c in zip(self.outputs, self.codecs)]
        self.weights = [o.weight for o in self.outputs]
        self.decoded_position = spec.decode % len(self.outputs)
        #: the codec that decodes the network at inference
        self.codec = self.codecs[self.decoded_position]
        self.multi = len(self.outputs) > 1
        #: what the training transform calls ``encode`` on
        self.encoder = TargetSet(self.codecs) if self.multi else self.codecs[0]

    @staticmethod
    def for_spec(spec, image_size, heatmap_size, codec="msra", sigma=2):
        """The supervision of ``spec`` (top-down or bottom-up, by ``spec.kind``)."""
        return supervision_class(spec)(spec, image_size, heatmap_size, codec=codec, sigma=sigma)

    # -- what the engine builds around it ----------------------------------------------
    @staticmethod
    def net_kwargs(num_joints):
        """Model arguments that depend on the data (the number of heatmaps)."""
        return {"num_joints": int(num_joints)}

    @staticmethod
    def training_dataset(root, split):
        """The training set of ``split`` under ``root``: one item per person instance."""
        from ..data.mscoco import COCOKeyPoints
        return COCOKeyPoints(root, split, image_format="numpy")

    def train_transform(self, cfg, mean, std, schema, rng):
        """The training transform (augmentation from ``cfg``, targets from :attr:`encoder`).

        ``rng`` is the :class:`~gluonpose.engine.data.SampleRNG` the engine
        reseeds per item.
        """
        from ..data.transforms.presets.top_down import TopDownTrainTransform
        from .config import plain_number
        return TopDownTrainTransform(
            schema.num_joints, None, image_size=self.image_size, heatmap_size=self.heatmap_size,
            sigma=plain_number(cfg["sigma"]), mean=mean, std=std,
            random_flip=bool(cfg["random_flip"]), scale_factor=float(cfg["scale_factor"]),
            rotation_factor=float(cfg["rotation_factor"]),
            half_body_prob=float(cfg["half_body_prob"]), codec=self.encoder, schema=schema,
            rng=rng)

    def make_metric(self):
        """The training metric of the decoded output's target type."""
        return get_training_metric(self.codec.target_type)

    def loss(self, net_output, targets, weights):
        """Total loss ``(N,)`` and the per-output terms (before weighting).

        Parameters
        ----------
        net_output : NDArray or tuple of NDArray
            What the network returned for one device's batch.
        targets, weights : NDArray or list of NDArray
            One device's targets (a list with several outputs).
        """
        outs = self.spec.supervised(net_output)
        if not self.multi:
            targets, weights = [targets], [weights]
        terms = [fn(o.astype("float32", copy=False), t, w)
                 for fn, o, t, w in zip(self.losses, outs, targets, weights)]
        total = terms[0] * self.weights[0] if self.weights[0] != 1 else terms[0]
        for term, weight in zip(terms[1:], self.weights[1:]):
            total = total + term * weight
        return total, terms

    def metric_pair(self, net_output, targets):
        """``(target, output)`` of the decoded output, for the training metric."""
        if self.multi:
            targets = targets[self.decoded_position]
        return targets, self.spec.decoded(net_output)

    def describe(self):
        """Short text for logs: outputs, codecs, losses and weights."""
        return ", ".join("%s: %s %s x%g" % (n, c.describe(), o.loss or c.default_loss, w)
                         for n, c, o, w in zip(self.names, self.codecs, self.outputs,
                                               self.weights))


class _BottomUpTargets:
    """Encoder for :class:`BottomUpTrainTransform`: ``((heatmaps, pafs), mask)``.

    Wraps a :class:`~gluonpose.codecs.paf.PAFCodec` so a sample comes out as
    ``(img, (heatmaps, pafs), mask)``: the data loader then stacks it into
    ``[img, [heatmaps, pafs], mask]``, the ``(data, targets, weights)`` layout
    :func:`~gluonpose.engine.trainer.forward_backward` splits over devices.
    """

    def __init__(self, codec):
        self.codec = codec

    def encode(self, joints, input_size, mask=None):
        heat, paf, weight = self.codec.encode(joints, input_size, mask)
        return (heat, paf), weight

    def describe(self):
        return self.codec.describe()


class _ReverseChannels:
    """Reverse the channel axis of a transform's image (RGB -> BGR networks)."""

    def __init__(self, transform):
        self.transform = transform

    def __call__(self, *args):
        out = self.transform(*args)
        return (mx.nd.flip(out[0], axis=0),) + tuple(out[1:])


class BottomUpSupervision(Supervision):
    """The supervision of a bottom-up (OpenPose) spec: every stage, both branches.

    Every output of the spec (``stage1_paf``, ``stage1_heat``, ...) is trained
    on the same targets of one augmented image: the PAFs for the PAF outputs,
    the part confidence maps (background last) for the heatmap outputs, with
    the image's training mask (crowds, unlabelled people) as the per-pixel
    weight of the spec's loss (``masked_l2``,
    :class:`~gluonpose.loss.MaskedL2Loss`). The total is the weighted sum of
    the stage terms (the spec's weights, 1 for OpenPose), each term kept for
    the log. The training metric is :class:`~gluonpose.utils.metrics.PeakAccuracy`
    on the decoded (last) heatmap output.

    Parameters
    ----------
    spec : BottomUpSpec
    image_size, heatmap_size : tuple of int
        ``(S, S)`` (the training input is square) and ``(S / stride,) * 2``.
    codec, sigma
        Accepted for the common signature and not read: the targets are the
        spec's (``target_sigma`` in input pixels, ``limb_width`` in cells).
    """

    square_input = True

    def __init__(self, spec, image_size, heatmap_size, codec=None, sigma=None):
        if getattr(spec, "kind", "top_down") != "bottom_up":
            raise ValueError("BottomUpSupervision needs a bottom-up spec, got a %s one"
                             % getattr(spec, "kind", "top_down").replace("_", "-"))
        h, w = (int(v) for v in image_size)
        if h != w:
            raise ValueError("--input-size %d,%d: bottom-up training crops a square input; "
                             "give one size such as --input-size %d" % (h, w, spec.input_size[0]))
        self.spec = spec
        self.image_size = (h, w)
        self.heatmap_size = tuple(heatmap_size)
        self.outputs = list(spec.outputs)
        self.names = [o.name for o in self.outputs]
        self.branches = list(getattr(spec, "branches", ()))
        self.codec = spec.make_codec()
        if tuple(self.codec.heatmap_size(self.image_size)) != self.heatmap_size:
            raise ValueError("the targets of a %dx%d input are %dx%d, the network's maps "
                             "%dx%d" % ((h, w) + tuple(self.codec.heatmap_size(self.image_size))
                                        + self.heatmap_size))
        self.codecs = [self.codec] * len(self.outputs)
        self.losses = [get_loss(o.loss or "masked_l2", **o.loss_kwargs) for o in self.outputs]
        self.weights = [o.weight for o in self.outputs]
        self.decoded_position = spec.decode[1] if self.branches else spec.decode
        self.multi = True
        self.encoder = _BottomUpTargets(self.codec)

    @staticmethod
    def net_kwargs(num_joints):
        """None: the map counts are the spec's (18 parts + background, 19 limbs)."""
        return {}

    @staticmethod
    def training_dataset(root, split):
        """One item per image with a supervised person (OpenPose's thresholds)."""
        from ..data.mscoco.bottom_up import COCOBottomUp
        return COCOBottomUp(root, split, image_format="numpy")

    def train_transform(self, cfg, mean, std, schema, rng):
        """:class:`BottomUpTrainTransform` at the square input, targets from :attr:`encoder`.

        From ``cfg``: ``rotation_factor`` (max rotation, degrees) and
        ``random_flip`` (probability 0.5). The scale range (0.5 .. 1.1 of 0.6
        of the input for the main person) is OpenPose's; the centre jitter is
        its 40 pixels at 368 scaled with the input. Images are normalised in
        RGB with ``mean``/``std`` and reversed for a ``'bgr'`` network.
        """
        from ..data.transforms.presets.bottom_up import BottomUpTrainTransform
        size = self.image_size[0]
        transform = BottomUpTrainTransform(
            size, self.spec.stride, schema=schema,
            max_rotation=float(cfg["rotation_factor"]),
            center_perturb=40.0 * size / 368.0,
            flip_prob=0.5 if cfg["random_flip"] else 0.0,
            mean=mean, std=std, encoder=self.encoder, rng=rng)
        return _ReverseChannels(transform) if self.spec.bgr else transform

    def make_metric(self):
        """Peak accuracy of the decoded heatmap output (background left out)."""
        return get_training_metric("part_heatmap")

    def loss(self, net_output, targets, weights):
        """Total loss ``(N,)`` and the per-output terms (before weighting).

        ``targets`` is one device's ``[heatmaps, pafs]``, ``weights`` its mask
        ``(n, h, w)``.
        """
        heat, paf = targets
        outs = self.spec.supervised(net_output)
        terms = [fn(o.astype("float32", copy=False), paf if b == "paf" else heat, weights)
                 for fn, o, b in zip(self.losses, outs, self.branches)]
        total = terms[0] * self.weights[0] if self.weights[0] != 1 else terms[0]
        for term, weight in zip(terms[1:], self.weights[1:]):
            total = total + term * weight
        return total, terms

    def metric_pair(self, net_output, targets):
        """``(heatmap target, decoded heatmap output)``."""
        return targets[0], self.spec.decoded(net_output)[1]

    def describe(self):
        """Short text for logs: outputs, targets, losses and weights."""
        return ", ".join("%s: %s %s x%g" % (n, self.codec.describe(), o.loss or "masked_l2", w)
                         for n, o, w in zip(self.names, self.outputs, self.weights))


class _AETargets:
    """Encoder for :class:`BottomUpTrainTransform`: ``((heatmaps, tag_refs), mask)``."""

    def __init__(self, codec):
        self.codec = codec

    def encode(self, joints, input_size, mask=None):
        heat, refs, weight = self.codec.encode(joints, input_size, mask)
        return (heat, refs), weight

    def describe(self):
        return self.codec.describe() if hasattr(self.codec, "describe") else repr(self.codec)


class AESupervision(BottomUpSupervision):
    """The supervision of an Associative Embedding spec: every stack, three terms.

    Every stack's output (detections then tags) is trained with
    :class:`~gluonpose.loss.AssociativeEmbeddingLoss` on the same targets of
    one augmented image: the detection heatmaps with the crowd mask, and the
    tag reference (per person, the flat indices of its labelled joints) for
    the pull/push terms. The total is the weighted sum over stacks (the
    spec's output weights) of ``w_det * det + w_pull * pull + w_push * push``
    (the spec's ``loss_weights``); the log keeps each stack's three terms
    before weighting (``loss_stack1_det``, ``loss_stack1_pull``, ...). The
    training metric is :class:`~gluonpose.utils.metrics.PeakAccuracy` on the
    decoded stack's detections.

    The training crop frames the whole image (``frame='image'``: the
    reference's centre and scale), with the reference's kind of jitter: scale
    x U(1 - f, 1 + f) for ``--scale-factor f`` (0.25 in the reference),
    rotation up to ``--rotation-factor`` degrees (30 in the reference),
    translation up to 40 pixels at 512 scaled with the input, and the flip of
    ``--random-flip``.
    """

    def __init__(self, spec, image_size, heatmap_size, codec=None, sigma=None):
        super().__init__(spec, image_size, heatmap_size, codec, sigma)
        from ..loss import AssociativeEmbeddingLoss
        det, pull, push = spec.loss_weights
        self.losses = [AssociativeEmbeddingLoss(num_joints=spec.num_joints, tag_dim=spec.tag_dim,
                                                detection_weight=det, pull_weight=pull,
                                                push_weight=push)
                       for _ in self.outputs]
        self.names = ["%s_%s" % (o.name, t) for o in self.outputs for t in ("det", "pull", "push")]
        self.decoded_position = spec.decode
        self.encoder = _AETargets(self.codec)

    @staticmethod
    def training_dataset(root, split):
        """One item per image with a person who has a labelled keypoint (the reference's).

        Crowds are masked; people without keypoints are neither supervised
        nor masked (Associative Embedding's data, unlike OpenPose's thresholds).
        """
        from ..data.mscoco.bottom_up import COCOBottomUp
        return COCOBottomUp(root, split, min_keypoints=1, min_area=0, mask_dropped=False,
                            image_format="numpy")

    def train_transform(self, cfg, mean, std, schema, rng):
        """:class:`BottomUpTrainTransform` framed on the whole image (see the class notes)."""
        from ..data.transforms.presets.bottom_up import BottomUpTrainTransform
        size = self.image_size[0]
        transform = BottomUpTrainTransform(
            size, self.spec.stride, schema=schema,
            scale_range=(1.0 - float(cfg["scale_factor"]), 1.0 + float(cfg["scale_factor"])),
            max_rotation=float(cfg["rotation_factor"]), center_perturb=40.0 * size / 512.0,
            flip_prob=0.5 if cfg["random_flip"] else 0.0, pad_value=0, mean=mean, std=std,
            encoder=self.encoder, frame="image", rng=rng)
        return _ReverseChannels(transform) if self.spec.bgr else transform

    def make_metric(self):
        """Peak accuracy of the decoded stack's detection heatmaps."""
        return get_training_metric("part_heatmap", ignore_last=0)

    def loss(self, net_output, targets, weights):
        """Total loss ``(N,)`` and the per-stack ``det, pull, push`` terms (before weighting).

        ``targets`` is one device's ``[heatmaps, tag_refs]``, ``weights`` its
        mask ``(n, h, w)``.
        """
        heat, refs = targets
        w_det, w_pull, w_push = self.spec.loss_weights
        total, terms = None, []
        for fn, out, weight in zip(self.losses, self.spec.supervised(net_output), self.weights):
            det, pull, push = fn.terms(out.astype("float32", copy=False), heat, weights, refs)
            terms += [det, pull, push]
            stack = (w_det * weight) * det + (w_pull * weight) * pull + (w_push * weight) * push
            total = stack if total is None else total + stack
        return total, terms

    def metric_pair(self, net_output, targets):
        """``(detection target, decoded detections)``."""
        return targets[0], self.spec.decoded(net_output)[0]

    def describe(self):
        """Short text for logs: stacks, targets, loss weights."""
        det, pull, push = self.spec.loss_weights
        return ", ".join("%s: %s ae(det x%g, pull x%g, push x%g) x%g"
                         % (o.name, self.encoder.describe(), det, pull, push, o.weight)
                         for o in self.outputs)


class _SupervisionByGrouping:
    """Bottom-up supervision picked by the spec's grouping codec."""

    _BY_GROUPING = {"paf": BottomUpSupervision, "ae": AESupervision}

    @classmethod
    def of(cls, spec):
        grouping = getattr(spec, "grouping", "paf")
        try:
            return cls._BY_GROUPING[grouping]
        except KeyError:
            raise ValueError("no training supervision for %r grouping" % grouping) from None


_BY_KIND = {"top_down": lambda spec: Supervision, "bottom_up": _SupervisionByGrouping.of}
