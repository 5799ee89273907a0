"""Person boxes out of a detector's output, GluonCV's demo rule.

Shared by the GluonCV demo helpers: the crop helper
:func:`~gluonpose.data.transforms.pose.detector_to_simple_pose` and the
drawing helpers of :mod:`gluonpose.utils.viz` pick the same boxes.
"""
import numpy as np

__all__ = []


def _np(a):
    return None if a is None else np.asarray(a.asnumpy() if hasattr(a, "asnumpy") else a)


def _person_boxes(class_ids, bboxes, scores, box_thresh):
    """Boxes and scores of persons (class 0) with ``score >= box_thresh``, GluonCV's rule.

    Batched detector output ``(1, M, 4)`` / ``(1, M, 1)`` uses batch element 0;
    plain ``(M, 4)`` / ``(M,)`` arrays work too. Missing scores count as 1,
    missing class ids as persons.
    """
    if bboxes is None:
        return np.zeros((0, 4)), np.zeros(0)
    bx = _np(bboxes)
    batched = bx.ndim == 3

    def first(a):
        a = _np(a)
        return (a[0] if batched else a).reshape(-1)

    bx = (bx[0] if batched else bx).reshape(-1, 4).astype(np.float64)
    sc = np.ones(len(bx)) if scores is None else first(scores).astype(np.float64)
    keep = sc >= box_thresh
    if class_ids is not None:
        keep &= first(class_ids) == 0
    return bx[keep], sc[keep]
