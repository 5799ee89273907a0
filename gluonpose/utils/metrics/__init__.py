"""Evaluation metrics: heatmap / coordinate accuracy (training), COCO keypoint AP, MPII PCKh."""
from .coco_keypoints import STAT_NAMES, COCOKeyPointsMetric, instance_scores
from .coordinate_accuracy import CoordinateAccuracy
from .heatmap_accuracy import HeatmapAccuracy, PeakAccuracy
from .pckh import PCKhAccuracy, head_size_from_boxes, pckh

__all__ = ["HeatmapAccuracy", "COCOKeyPointsMetric", "STAT_NAMES", "PCKhAccuracy", "pckh",
           "head_size_from_boxes", "instance_scores", "CoordinateAccuracy",
           "get_training_metric", "PeakAccuracy"]

_TRAINING_METRICS = {"heatmap": HeatmapAccuracy, "coordinate": CoordinateAccuracy,
                     "part_heatmap": PeakAccuracy}


def get_training_metric(target_type, **kwargs):
    """The training accuracy metric for a codec's ``target_type``.

    Parameters
    ----------
    target_type : str
        ``'heatmap'`` -> :class:`HeatmapAccuracy`, ``'coordinate'`` ->
        :class:`CoordinateAccuracy`, ``'part_heatmap'`` (multi-person confidence
        maps) -> :class:`PeakAccuracy`.
    **kwargs
        Constructor arguments of the metric.
    """
    try:
        cls = _TRAINING_METRICS[str(target_type).lower()]
    except KeyError:
        raise ValueError("unknown target type %r; known: %s"
                         % (target_type, ", ".join(sorted(_TRAINING_METRICS)))) from None
    return cls(**kwargs)
