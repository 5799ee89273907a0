"""Heatmap codecs: one object encodes training targets and decodes network output.

* :class:`MSRAHeatmap` — GluonCV's Gaussian targets and ``get_final_preds``
  decoding (bit-compatible), vectorised;
* :class:`UnbiasedHeatmap` — sub-pixel targets with DARK decoding;
* :func:`flip_heatmaps` / :func:`flip_merge` — flip test;
* :func:`~gluonpose.codecs.oracle.oracle_ap` — the AP a perfect network would
  reach through a codec (encode ground truth, decode, score with COCOeval).

All sizes are ``(H, W)``.
"""
from .base import HeatmapCodec, argmax_2d
from .flip import flip_heatmaps, flip_merge
from .msra import MSRAHeatmap
from .unbiased import UnbiasedHeatmap

__all__ = ["HeatmapCodec", "MSRAHeatmap", "UnbiasedHeatmap", "flip_heatmaps", "flip_merge",
           "argmax_2d", "get_codec", "oracle_ap"]

_CODECS = {"msra": MSRAHeatmap, "unbiased": UnbiasedHeatmap, "dark": UnbiasedHeatmap}


def get_codec(name, **kwargs):
    """Build a codec by name (``'msra'``, ``'unbiased'``/``'dark'``); instances pass through."""
    if isinstance(name, HeatmapCodec):
        return name
    try:
        cls = _CODECS[str(name).lower()]
    except KeyError:
        raise ValueError("unknown codec %r; known: %s" % (name, ", ".join(sorted(_CODECS)))) \
            from None
    return cls(**kwargs)


def oracle_ap(*args, **kwargs):
    """See :func:`gluonpose.codecs.oracle.oracle_ap` (imported lazily: it needs pycocotools)."""
    from .oracle import oracle_ap as _oracle_ap
    return _oracle_ap(*args, **kwargs)
