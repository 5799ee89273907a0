"""Training-time accuracy of heatmap predictions (argmax distance, PCK-like)."""
import numpy as np
from mxnet import metric as _mx_metric

__all__ = ["HeatmapAccuracy", "PeakAccuracy", "PerDeviceAccuracy"]


def _as_numpy(x):
    return x.asnumpy() if hasattr(x, "asnumpy") else np.asarray(x)


def _argmax_xy(heatmaps):
    """``(N, J, 2)`` float32 ``(x, y)`` of each map's first maximum and ``(N, J)`` maxima."""
    n, j, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, j, h * w)
    idx = flat.argmax(axis=2)
    maxval = np.take_along_axis(flat, idx[..., None], axis=2)[..., 0]
    xy = np.stack([idx % w, idx // w], axis=-1).astype(np.float32)
    return xy, maxval


class PerDeviceAccuracy(_mx_metric.EvalMetric):
    """Base of the training accuracies: per-device lists of labels and outputs.

    A subclass gives ``_element(label, pred) -> (sum of per-joint accuracies,
    number of joints with a label)`` for one device's batch; the running sums
    (``sum_metric``/``num_inst`` and their ``global_`` twins, which the engine
    restores on resume) are kept here.
    """

    def update(self, labels, preds):
        """Accumulate one batch.

        Parameters
        ----------
        labels : list of NDArray or numpy.ndarray
            Targets, one element per device (heatmaps ``(N, J, h, w)`` or
            normalised coordinates ``(N, J, 2)``, by subclass).
        preds : list of NDArray or numpy.ndarray
            Network outputs, same order.
        """
        if not isinstance(labels, (list, tuple)):
            labels = [labels]
        if not isinstance(preds, (list, tuple)):
            preds = [preds]
        if len(labels) != len(preds):
            raise ValueError("%s: %d labels but %d predictions"
                             % (type(self).__name__, len(labels), len(preds)))
        for label, pred in zip(labels, preds):
            acc_sum, count = self._element(label, pred)
            self.sum_metric += acc_sum
            self.num_inst += count
            self.global_sum_metric += acc_sum
            self.global_num_inst += count

    def _element(self, label, pred):
        raise NotImplementedError


class HeatmapAccuracy(PerDeviceAccuracy):
    """Fraction of joints whose predicted argmax lies near the target argmax.

    For each heatmap the argmax of the prediction and of the label are
    compared; their distance, with x measured in units of ``w / 10`` and y in
    units of ``h / 10``, must be below ``threshold``. The accuracy of a joint is
    taken over the valid samples of an update element (one device batch), and
    the metric is the mean over all (element, joint) pairs that had at least
    one valid sample — GluonCV's averaging, kept in both modes so numbers stay
    comparable with published training logs.

    Parameters
    ----------
    axis : int, default 1
        Kept for API compatibility (the joint axis is always 1).
    name : str
        Metric name.
    hm_type : str
        Only ``'gaussian'`` is supported.
    threshold : float
        Distance threshold in units of a tenth of the heatmap size.
    gluoncv_compat : bool, default False
        ``True`` reproduces ``gluoncv.utils.metrics.HeatmapAccuracy`` exactly,
        including two known defects (see Notes).
    output_names, label_names : list of str, optional
        As in :class:`mxnet.metric.EvalMetric`.
    ignore_labels : optional
        Accepted for GluonCV compatibility and ignored (GluonCV ignores it too).

    Notes
    -----
    Default mode (``gluoncv_compat=False``):

    * x is normalised by ``w / 10`` and y by ``h / 10``;
    * a joint is ignored when its label heatmap has no positive value
      (``max <= 0``: invisible or outside the crop), wherever its peak is;
    * a prediction whose heatmap has no positive value counts as a miss.

    GluonCV mode (``gluoncv_compat=True``):

    * the normaliser is swapped: x is divided by ``h / 10`` and y by
      ``w / 10`` (inherited from the Microsoft code, HRNet issue #6). For a
      64x48 map an x error of 3 px counts as correct, a y error of 3 px not;
    * a joint counts only if the label argmax has ``x > 1`` **and** ``y > 1``,
      which drops zero heatmaps but also real joints on the first two rows or
      columns;
    * a non-positive prediction is placed at ``(0, 0)``.
    """

    def __init__(self, axis=1, name="heatmap_accuracy", hm_type="gaussian", threshold=0.5,
                 gluoncv_compat=False, output_names=None, label_names=None,
                 ignore_labels=None):
        if hm_type != "gaussian":
            raise NotImplementedError("HeatmapAccuracy supports hm_type='gaussian' only")
        super().__init__(name, output_names=output_names, label_names=label_names,
                         axis=axis, hm_type=hm_type, threshold=threshold,
                         gluoncv_compat=gluoncv_compat, has_global_stats=True)
        self.axis = axis
        self.hm_type = hm_type
        self.threshold = threshold
        self.gluoncv_compat = bool(gluoncv_compat)
        self.ignore_labels = ignore_labels

    def _element(self, label, pred):
        """(sum of per-joint accuracies, number of joints with a valid sample)."""
        label = _as_numpy(label)
        pred = _as_numpy(pred)
        if pred.ndim != 4 or label.shape != pred.shape:
            raise ValueError("HeatmapAccuracy expects label and pred of the same (N, J, h, w) "
                             "shape, got %s and %s" % (label.shape, pred.shape))
        h, w = pred.shape[2], pred.shape[3]
        pred_xy, pred_max = _argmax_xy(pred)
        label_xy, label_max = _argmax_xy(label)
        if self.gluoncv_compat:
            pred_xy *= (pred_max > 0)[..., None]
            label_xy *= (label_max > 0)[..., None]
            valid = (label_xy[..., 0] > 1) & (label_xy[..., 1] > 1)
            norm = np.array([h, w], dtype=np.float64) / 10     # swapped on purpose
            hit_allowed = True
        else:
            valid = label_max > 0
            norm = np.array([w, h], dtype=np.float64) / 10
            hit_allowed = pred_max > 0
        # normalise each point first, then subtract, as GluonCV does, so ties at the
        # threshold round identically in compat mode
        diff = pred_xy / norm - label_xy / norm
        dist = np.sqrt(diff[..., 0] * diff[..., 0] + diff[..., 1] * diff[..., 1])
        correct = (dist < self.threshold) & valid & hit_allowed
        num_valid = valid.sum(axis=0)                                  # (J,)
        has = num_valid > 0
        acc = correct.sum(axis=0)[has] / num_valid[has]
        return float(acc.sum()), int(has.sum())


class PeakAccuracy(PerDeviceAccuracy):
    """Fraction of labelled parts whose predicted peak lands on a labelled part.

    The training accuracy of multi-person (bottom-up) confidence maps, where
    a map holds one Gaussian per person and comparing two argmaxes (as
    :class:`HeatmapAccuracy` does) would depend on which of several equal
    peaks comes first. For every sample and part channel whose target has a
    peak (``max > threshold``), the prediction's argmax is a hit when the
    *target* there exceeds ``threshold``, i.e. when it lies on some person's
    part (with OpenPose's sigma of 7 input pixels and ``threshold=0.5``,
    within about 8 input pixels of it). The metric is hits / labelled
    ``(sample, part)`` pairs.

    Parameters
    ----------
    threshold : float, default 0.5
        Target value that counts as "on a part".
    ignore_last : int, default 1
        Trailing channels left out (OpenPose's background map).
    name : str
        Metric name.
    """

    def __init__(self, threshold=0.5, ignore_last=1, name="heatmap_accuracy",
                 output_names=None, label_names=None):
        super().__init__(name, output_names=output_names, label_names=label_names,
                         threshold=threshold, ignore_last=ignore_last, has_global_stats=True)
        self.threshold = float(threshold)
        self.ignore_last = int(ignore_last)

    def _element(self, label, pred):
        label = _as_numpy(label)
        pred = _as_numpy(pred)
        if pred.ndim != 4 or label.shape != pred.shape:
            raise ValueError("PeakAccuracy expects label and pred of the same (N, C, h, w) "
                             "shape, got %s and %s" % (label.shape, pred.shape))
        if self.ignore_last:
            label = label[:, :-self.ignore_last]
            pred = pred[:, :-self.ignore_last]
        n, c = pred.shape[:2]
        flat_pred = pred.reshape(n, c, -1)
        flat_label = label.reshape(n, c, -1)
        idx = flat_pred.argmax(axis=2)
        at_peak = np.take_along_axis(flat_label, idx[..., None], axis=2)[..., 0]
        valid = flat_label.max(axis=2) > self.threshold
        hits = (at_peak > self.threshold) & valid
        return float(hits.sum()), int(valid.sum())
