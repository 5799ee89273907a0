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

This module sits below the engine and imports nothing from gluonpose.
"""
from collections import namedtuple

__all__ = ["SupervisedOutput", "TopDownSpec", "IMAGENET_MEAN", "IMAGENET_STD"]

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
    flip_shift : bool, default True
        Flip test: shift the flipped-back heatmaps one column right before
        averaging (Simple Baselines / GluonCV / AlphaPose do; the stacked
        hourglass reference does not).
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
        self.flip_shift = bool(flip_shift)

    # -- sizes ---------------------------------------------------------------------------
    def check_input_size(self, input_size, what="input size"):
        """``(H, W)`` as ints, or a ``ValueError`` naming the allowed multiple."""
        h, w = int(input_size[0]), int(input_size[1])
        m = self.size_multiple
        if h <= 0 or w <= 0 or h % m or w % m:
            raise ValueError("%s %d,%d: this %s model needs H and W that are positive "
                             "multiples of %d (e.g. %d,%d)"
                             % (what, h, w, self.family, m, *self.input_size))
        return h, w

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
