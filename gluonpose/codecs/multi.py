"""Targets for several supervised outputs from one augmentation of a sample."""
import numpy as np

__all__ = ["TargetSet"]


class TargetSet:
    """Encode one sample's joints with several codecs at once.

    Multi-stage networks (stacked hourglass, CPN) supervise several outputs,
    each with its own target settings (CPN's four GlobalNet Gaussians and its
    RefineNet Gaussian). The training transform augments a sample once and
    calls :meth:`encode`, which runs every codec on the same joints; codecs
    with identical settings share one encoding instead of repeating it.

    Parameters
    ----------
    codecs : sequence of HeatmapCodec
        One codec per supervised output, in output order.
    """

    def __init__(self, codecs):
        self.codecs = list(codecs)
        if not self.codecs:
            raise ValueError("TargetSet needs at least one codec")
        keys = [self._key(c) for c in self.codecs]
        firsts = {}
        #: position of the first codec with the same settings, per output
        self._source = [firsts.setdefault(k, i) for i, k in enumerate(keys)]
        first = self.codecs[0]
        self.image_size = first.image_size
        self.heatmap_size = first.heatmap_size
        self.sigma = first.sigma

    @staticmethod
    def _key(codec):
        return (type(codec), codec.image_size, codec.heatmap_size, codec.sigma,
                codec.describe())

    def encode(self, joints, visibility):
        """``(targets, weights)``: tuples with one entry per codec."""
        done = {}
        targets, weights = [], []
        for i, src in enumerate(self._source):
            if src not in done:
                done[src] = self.codecs[src].encode(joints, visibility)
            target, weight = done[src]
            # a shared encoding is copied so in-place edits of one output's
            # target (a flip, a rotation) cannot leak into another's
            targets.append(target if src == i else np.array(target, copy=True))
            weights.append(weight if src == i else np.array(weight, copy=True))
        return tuple(targets), tuple(weights)

    def describe(self):
        """The codecs' descriptions joined with ``' + '``."""
        return " + ".join(c.describe() for c in self.codecs)

    def __len__(self):
        return len(self.codecs)
