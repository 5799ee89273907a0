"""Training-time accuracy of soft-argmax coordinates (integral regression)."""
import numpy as np
from ...codecs.integral import soft_argmax_normalized
from .heatmap_accuracy import PerDeviceAccuracy

__all__ = ["CoordinateAccuracy"]


def _as_numpy(x):
    return x.asnumpy() if hasattr(x, "asnumpy") else np.asarray(x)


class CoordinateAccuracy(PerDeviceAccuracy):
    """Fraction of joints whose soft-argmax lies near the target coordinate.

    The coordinate counterpart of
    :class:`~gluonpose.utils.metrics.HeatmapAccuracy` for
    :class:`~gluonpose.codecs.IntegralRegression` targets. Labels are
    normalised coordinates (``x / W - 0.5``, ``y / H - 0.5``); predictions are
    the network's maps, decoded with the sigmoid soft-argmax in the same
    units (or ``(N, J, 2)`` coordinates, used as they are).

    The threshold matches HeatmapAccuracy's: there a joint is correct when its
    distance, with x in units of ``w / 10`` and y of ``h / 10``, is below
    ``threshold`` (0.5); a heatmap error ``dx`` cells is ``dx / w`` in
    normalised units, so here a joint is correct when
    ``10 * sqrt(du**2 + dv**2) < threshold``, i.e. a normalised distance below
    0.05 for the default.

    A joint is labelled when both target coordinates lie in ``[-0.5, 0.5)``
    (the codec writes :data:`~gluonpose.codecs.integral.INVALID_TARGET`, -1,
    for unlabelled joints and joints outside the crop). Averaging as
    HeatmapAccuracy: per joint over the labelled samples of an update element
    (one device batch), then the mean over (element, joint) pairs with at least
    one labelled sample.

    Parameters
    ----------
    threshold : float
        Distance threshold in tenths of the map size (HeatmapAccuracy's units).
    norm : str
        Map normalisation of the soft-argmax, ``'sigmoid'``.
    name : str
        Metric name.
    output_names, label_names : list of str, optional
        As in :class:`mxnet.metric.EvalMetric`.
    """

    def __init__(self, threshold=0.5, norm="sigmoid", name="coordinate_accuracy",
                 output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         threshold=threshold, norm=norm, has_global_stats=True)
        self.threshold = threshold
        self.norm = norm

    def _element(self, label, pred):
        """(sum of per-joint accuracies, number of joints with a labelled sample)."""
        label = _as_numpy(label).astype(np.float64)
        pred = _as_numpy(pred)
        if pred.ndim == 4:
            pred, _ = soft_argmax_normalized(pred, self.norm)
        if label.ndim != 3 or label.shape[-1] != 2 or pred.shape != label.shape:
            raise ValueError("CoordinateAccuracy expects (N, J, 2) labels and (N, J, h, w) maps "
                             "or (N, J, 2) coordinates, got %s and %s"
                             % (label.shape, pred.shape))
        valid = ((label >= -0.5) & (label < 0.5)).all(axis=2)            # (N, J)
        diff = pred.astype(np.float64) - label
        dist = 10.0 * np.sqrt(diff[..., 0] * diff[..., 0] + diff[..., 1] * diff[..., 1])
        correct = (dist < self.threshold) & valid
        num_valid = valid.sum(axis=0)                                   # (J,)
        has = num_valid > 0
        acc = correct.sum(axis=0)[has] / num_valid[has]
        return float(acc.sum()), int(has.sum())
