"""Heatmap codecs: one object encodes training targets and decodes network output.

* :class:`MSRAHeatmap` — GluonCV's Gaussian targets and ``get_final_preds``
  decoding (bit-compatible), vectorised;
* :class:`UnbiasedHeatmap` — sub-pixel targets with DARK decoding;
* :class:`IntegralRegression` — normalised coordinate targets with
  sigmoid soft-argmax decoding (AlphaPose's integral regression; trained with
  :class:`gluonpose.loss.IntegralL1Loss`);
* :func:`flip_heatmaps` / :func:`flip_merge` — flip test;
* :class:`~gluonpose.codecs.paf.PAFCodec` — OpenPose's bottom-up codec:
  part confidence maps and part affinity fields for a whole image, decoded by
  the grouping (peaks, limb scores, assembly) into people; its layout
  constants and flip/scale merging live in :mod:`~gluonpose.codecs.paf`.
  It is not a :class:`HeatmapCodec` (no crop, other signatures), so
  :func:`get_codec` does not build it;
* :mod:`~gluonpose.codecs.geometry` — the crop geometry (centre/scale, affine,
  flip permutation) the codecs and the data transforms share.

The codecs are the lowest layer: they import nothing else from gluonpose. The
oracle AP of a codec (an evaluation on a dataset) is
:func:`gluonpose.utils.oracle.oracle_ap`.

All sizes are ``(H, W)``.
"""
from .ae import AECodec
from .base import HeatmapCodec, argmax_2d
from .flip import flip_heatmaps, flip_merge
from .integral import IntegralRegression
from .msra import MSRAHeatmap
from .paf import PAFCodec, coco_to_openpose, openpose_to_coco
from .unbiased import UnbiasedHeatmap

__all__ = ["HeatmapCodec", "MSRAHeatmap", "UnbiasedHeatmap", "IntegralRegression",
           "flip_heatmaps", "flip_merge", "argmax_2d", "get_codec", "PAFCodec",
           "coco_to_openpose", "openpose_to_coco", "AECodec"]

_CODECS = {"msra": MSRAHeatmap, "unbiased": UnbiasedHeatmap, "dark": UnbiasedHeatmap,
           "integral": IntegralRegression}


def get_codec(name, **kwargs):
    """Build a codec by name (``'msra'``, ``'unbiased'``/``'dark'``, ``'integral'``);
    instances pass through."""
    if isinstance(name, HeatmapCodec):
        return name
    try:
        cls = _CODECS[str(name).lower()]
    except KeyError:
        raise ValueError("unknown codec %r; known: %s" % (name, ", ".join(sorted(_CODECS)))) \
            from None
    return cls(**kwargs)

