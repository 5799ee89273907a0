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
"""
from ..codecs import get_codec
from ..codecs.multi import TargetSet
from ..loss import get_loss
from ..utils.metrics import get_training_metric

__all__ = ["Supervision"]


class Supervision:
    """What a spec's supervised outputs mean for training.

    Parameters
    ----------
    spec : TopDownSpec
        (a bottom-up spec raises ``ValueError``: its targets are not supported yet)
    image_size, heatmap_size : tuple of int
        ``(H, W)`` of the input and of the heatmaps.
    codec : str
        The run's codec (``--codec``), for outputs whose spec names none.
    sigma : float
        The run's Gaussian sigma, for outputs whose spec gives none.
    """

    def __init__(self, spec, image_size, heatmap_size, codec="msra", sigma=2):
        from .config import require_top_down
        require_top_down(spec, what="the training engine")
        self.spec = spec
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
