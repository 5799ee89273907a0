"""Flip test: mirror the heatmaps of a flipped input back and merge them.

The network sees the crop and its mirror image; the mirror's heatmaps are
flipped back along W, their left/right channels swapped with the keypoint
schema's ``flip_index``, optionally shifted, and averaged with the plain
output.

Why the shift: the input flip maps pixel ``x`` to ``W - 1 - x``, and the
heatmap flip maps cell ``k`` to ``w - 1 - k``. With stride ``s`` (cell ``k``
stands for pixel ``s * k``) the flipped-back map sits ``(s - 1) / s`` of a cell
(3/4 at stride 4) to the left of where it should; GluonCV (and Simple
Baselines) compensate by moving it one whole cell right.

GluonCV implements that move as ``out[..., 1:] = out[..., :-1]``, which leaves
column 0 untouched, so after the shift columns 0 and 1 hold the same values
(column 0 is *duplicated*). ``shift=True`` reproduces that exactly.
``shift='drop'`` is the non-duplicating variant: column 0 has no source after
the shift, so :func:`flip_heatmaps` fills it with zeros and :func:`flip_merge`
takes that column from the plain output alone instead of averaging.

``shift=f`` with a number ``0 < f < 1`` moves the map ``f`` of a cell right by
linear interpolation (``out[k] = (1 - f) map[k] + f map[k - 1]``, column 0
taking its own value for the missing ``map[-1]``): ``f = (s - 1) / s`` (0.75 at
stride 4) is the exact correction, what the references that flip without a
shift (stacked hourglass, CPN) get for free from their pixel-centre coordinate
convention. A model's spec says which shift its flip test uses
(``spec.flip_shift``).

Both functions accept numpy arrays and ``mx.nd.NDArray`` (results stay on the
input's context) and never modify their input (GluonCV's numpy path does: it
flips a view and swaps channels in place).
"""
import numpy as np

from .geometry import _flip_perm

__all__ = ["flip_heatmaps", "flip_merge"]

_SHIFTS = (False, True, "drop")


def _check_shift(shift):
    if isinstance(shift, (bool, np.bool_)) or shift in (0, 1):
        return bool(shift)
    if isinstance(shift, str) and shift == "drop":
        return shift
    if isinstance(shift, (float, np.floating)) and 0.0 < shift < 1.0:
        return float(shift)
    raise ValueError("shift must be False, True, 'drop' or a fraction of a cell in (0, 1), "
                     "got %r" % (shift,))


def _is_fraction(shift):
    return isinstance(shift, float) and not isinstance(shift, bool)


def flip_heatmaps(heatmaps, flip_index, shift=True):
    """Flip heatmaps of a mirrored input back to the original orientation.

    Parameters
    ----------
    heatmaps : numpy.ndarray or mxnet.nd.NDArray
        ``(N, J, h, w)`` output for the mirrored input.
    flip_index : array-like or KeypointSchema
        The schema's ``flip_index`` permutation (``schema.flip_index``); a
        schema or a GluonCV list of joint pairs is accepted too.
    shift : {True, False, 'drop'}
        ``True``: one-column right shift exactly as GluonCV's
        ``flip_heatmap(shift=True)`` (column 0 duplicated into column 1).
        ``'drop'``: same shift with column 0 zero-filled. ``False``: no shift.

    Returns
    -------
    numpy.ndarray or mxnet.nd.NDArray
        A new ``(N, J, h, w)`` array of the input's type.
    """
    shift = _check_shift(shift)
    if heatmaps.ndim != 4:
        raise ValueError("heatmaps must be (N, J, h, w), got %d dims" % heatmaps.ndim)
    perm = _flip_perm(heatmaps.shape[1], flip_index)
    if isinstance(heatmaps, np.ndarray):
        out = heatmaps[:, perm, :, ::-1]             # fancy index: a fresh array
        if _is_fraction(shift):
            left = np.concatenate([out[..., :1], out[..., :-1]], axis=-1)
            return np.ascontiguousarray((1 - shift) * out + shift * left, dtype=out.dtype)
        if shift:
            out = np.ascontiguousarray(out)
            out[..., 1:] = out[..., :-1].copy()
            if shift == "drop":
                out[..., 0] = 0
        return np.ascontiguousarray(out)
    import mxnet as mx
    ctx = heatmaps.context
    idx = mx.nd.array(perm, ctx=ctx, dtype=np.int64)
    out = mx.nd.flip(mx.nd.take(heatmaps, idx, axis=1), axis=3)
    if _is_fraction(shift):
        left = mx.nd.concat(out.slice_axis(axis=3, begin=0, end=1),
                            out.slice_axis(axis=3, begin=0, end=-1), dim=3)
        return (1 - shift) * out + shift * left
    if shift:
        first = out.slice_axis(axis=3, begin=0, end=1)
        if shift == "drop":
            first = mx.nd.zeros_like(first)
        out = mx.nd.concat(first, out.slice_axis(axis=3, begin=0, end=-1), dim=3)
    return out


def flip_merge(heatmaps, flipped_heatmaps, flip_index, shift=True):
    """Average the plain output with the flipped-back output of the mirror.

    Parameters
    ----------
    heatmaps : numpy.ndarray or mxnet.nd.NDArray
        ``(N, J, h, w)`` output for the plain input.
    flipped_heatmaps : numpy.ndarray or mxnet.nd.NDArray
        ``(N, J, h, w)`` output for the horizontally mirrored input (as the
        network produced it; this function flips it back).
    flip_index, shift
        As :func:`flip_heatmaps`. With ``shift=True`` the result equals
        GluonCV's ``(out + flip_heatmap(out_flip, pairs, shift=True)) / 2``.

    Returns
    -------
    numpy.ndarray or mxnet.nd.NDArray
        The merged ``(N, J, h, w)`` heatmaps.
    """
    shift = _check_shift(shift)
    back = flip_heatmaps(flipped_heatmaps, flip_index, shift)
    merged = (heatmaps + back) / 2
    if shift == "drop":
        # column 0 has no flipped source: keep the plain output there
        if isinstance(merged, np.ndarray):
            merged[..., 0] = heatmaps[..., 0]
        else:
            import mxnet as mx
            merged = mx.nd.concat(heatmaps.slice_axis(axis=3, begin=0, end=1),
                                  merged.slice_axis(axis=3, begin=1, end=None), dim=3)
    return merged
