"""PCKh (MPII): percentage of joints within a fraction of the head size."""
import numpy as np
from mxnet import metric as _mx_metric

from ...data.schema import get_schema

__all__ = ["pckh", "head_size_from_boxes", "PCKhAccuracy"]

#: MPII toolkit constant: the head segment is 0.6 times the head box diagonal.
MPII_SC_BIAS = 0.6


def _as_numpy(x, dtype=np.float64):
    x = x.asnumpy() if hasattr(x, "asnumpy") else x
    return np.asarray(x, dtype=dtype)


def head_size_from_boxes(head_boxes, sc_bias=MPII_SC_BIAS):
    """MPII head size: ``sc_bias`` times the diagonal of the annotated head box.

    Parameters
    ----------
    head_boxes : array-like
        ``(N, 4)`` head boxes ``(x1, y1, x2, y2)``.
    sc_bias : float
        0.6 in the MPII evaluation code.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` head sizes.
    """
    boxes = _as_numpy(head_boxes).reshape(-1, 4)
    return sc_bias * np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])


def _pckh_counts(pred, gt, visible, head_size, threshold):
    pred = _as_numpy(pred)
    gt = _as_numpy(gt)
    if (pred.ndim != 3 or gt.ndim != 3 or pred.shape[:2] != gt.shape[:2]
            or min(pred.shape[2], gt.shape[2]) < 2):
        raise ValueError("pckh expects pred and gt (N, J, 2), got %s and %s"
                         % (pred.shape, gt.shape))
    vis = _as_numpy(visible).reshape(pred.shape[:2]) > 0
    head = _as_numpy(head_size).reshape(-1)
    if head.shape[0] != pred.shape[0]:
        raise ValueError("head_size has %d entries for %d samples"
                         % (head.shape[0], pred.shape[0]))
    dist = np.linalg.norm(pred[..., :2] - gt[..., :2], axis=2) / head[:, None]
    # '<=' as in the MPII toolkit; a zero head size makes every error infinite (a miss)
    correct = (dist <= threshold) & vis
    return correct.sum(axis=0), vis.sum(axis=0)


def _summarise(correct, count, include):
    with np.errstate(invalid="ignore", divide="ignore"):
        per_joint = np.where(count > 0, correct / np.maximum(count, 1), np.nan)
    total = count[include].sum()
    mean = float(correct[include].sum() / total) if total > 0 else float("nan")
    return per_joint, mean


def pckh(pred, gt, visible, head_size, threshold=0.5, exclude=None):
    """PCKh of a set of predictions.

    A joint is correct when its distance to the ground truth is at most
    ``threshold * head_size``; only annotated (``visible > 0``) joints count.

    Parameters
    ----------
    pred, gt : array-like
        ``(N, J, 2)`` predicted and ground-truth ``(x, y)``.
    visible : array-like
        ``(N, J)``; > 0 where the joint is annotated (MPII: not "missing").
    head_size : array-like
        ``(N,)`` normaliser, e.g. :func:`head_size_from_boxes`.
    threshold : float
        0.5 for PCKh@0.5.
    exclude : sequence of int, optional
        Joints left out of the mean (MPII reports the mean without pelvis and
        thorax); they still get a per-joint value.

    Returns
    -------
    per_joint : numpy.ndarray
        ``(J,)`` fraction of correct joints (NaN for a joint never annotated).
    mean : float
        Correct / annotated over the included joints (weighted by the number
        of annotations, as the MPII toolkit and HRNet do).
    """
    correct, count = _pckh_counts(pred, gt, visible, head_size, threshold)
    include = np.ones(correct.shape[0], dtype=bool)
    if exclude is not None:
        include[np.asarray(list(exclude), dtype=np.int64)] = False
    return _summarise(correct, count, include)


class PCKhAccuracy(_mx_metric.EvalMetric):
    """Accumulating PCKh metric (MPII).

    Parameters
    ----------
    threshold : float
        Fraction of the head size, 0.5 for PCKh@0.5.
    schema : str or KeypointSchema
        Keypoint schema of the predictions (joint names for
        :meth:`get_per_joint` and for ``exclude``).
    exclude : sequence of str or int
        Joints left out of the mean; default pelvis and thorax (MPII's
        reported "Mean"). Names the schema does not have are skipped.
    name : str, optional
        Defaults to ``'PCKh@<threshold>'``.
    """

    def __init__(self, threshold=0.5, schema="mpii", exclude=("pelvis", "thorax"), name=None,
                 output_names=None, label_names=None):
        self.threshold = threshold
        self.schema = get_schema(schema)
        idx = []
        for item in exclude or ():
            if isinstance(item, str):
                if item in self.schema.keypoints:
                    idx.append(self.schema.index(item))
            else:
                idx.append(int(item))
        self._include = np.ones(self.schema.num_joints, dtype=bool)
        self._include[idx] = False
        self._correct = None
        self._count = None
        super().__init__(name or "PCKh@%g" % threshold, output_names=output_names,
                         label_names=label_names, threshold=threshold)

    def reset(self):
        """Clear the accumulated counts."""
        super().reset()
        j = self.schema.num_joints
        self._correct = np.zeros(j, dtype=np.int64)
        self._count = np.zeros(j, dtype=np.int64)

    reset_local = reset  # counts are not split into local/global

    def update(self, preds, gts, visible, head_size):
        """Accumulate one batch (arguments as in :func:`pckh`)."""
        correct, count = _pckh_counts(preds, gts, visible, head_size, self.threshold)
        if correct.shape[0] != self.schema.num_joints:
            raise ValueError("PCKhAccuracy: %d joints but schema %r has %d"
                             % (correct.shape[0], self.schema.name, self.schema.num_joints))
        self._correct += correct
        self._count += count
        self.sum_metric = int(self._correct[self._include].sum())
        self.num_inst = int(self._count[self._include].sum())

    def get_per_joint(self):
        """Per-joint PCKh as a dict ``{joint name: value}`` plus ``'Mean'``."""
        per_joint, mean = _summarise(self._correct, self._count, self._include)
        out = dict(zip(self.schema.keypoints, per_joint.tolist()))
        out["Mean"] = mean
        return out
