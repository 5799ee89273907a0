"""The MSRA / Simple Baselines Gaussian heatmap codec (GluonCV's default).

Encoding is bit-compatible with GluonCV's ``SimplePoseGaussianTargetGenerator``
and decoding with ``get_final_preds``, but both are vectorised over the batch
and the joints (no Python loop over N or J).
"""
import numpy as np

from .base import HeatmapCodec, argmax_2d

__all__ = ["MSRAHeatmap"]


class MSRAHeatmap(HeatmapCodec):
    """Integer-centred Gaussian targets, argmax + quarter-offset decoding.

    Parameters
    ----------
    image_size : tuple of int
        ``(H, W)`` of the network input. Note: GluonCV's target generator takes
        ``(W, H)``; this class takes ``(H, W)`` like the presets.
    heatmap_size : tuple of int, optional
        ``(h, w)``; default ``image_size // 4``.
    sigma : float
        Gaussian sigma in heatmap pixels (GluonCV: 2 at 256x192, 1 at 128x96,
        3 at 384x288).

    Notes
    -----
    Encoding (per joint, as GluonCV): centre ``mu = int(x / stride + 0.5)``
    (truncation toward zero, so "round half up" for positive coordinates);
    window ``[int(mu - 3 sigma), int(mu + 3 sigma + 1))``; the weight is the
    visibility flag, set to 0 when the window lies entirely outside the map;
    the unnormalised Gaussian (peak exactly 1) is written only where the weight
    is > 0.5, clipped to the map. Gaussian values come from one precomputed
    float32 table built with the same expression as GluonCV, which is what
    makes the targets bit-identical.

    Non-integer ``3 * sigma`` (e.g. CPN's 1.4 and 1.7): GluonCV's generator
    takes the table cell from the window position, which puts the peak one
    cell up and left of ``mu`` when the fractional part of ``3 sigma`` is
    below 0.5 (and one cell off near the top/left border otherwise). Here the
    value of every pixel is the Gaussian of its offset from ``mu``, written
    where ``|offset| <= 3 sigma`` inside GluonCV's window (the weights are
    unchanged). Integer ``3 * sigma`` (every sigma GluonCV ships) is
    bit-identical to GluonCV.

    Decoding: per-map argmax (coordinates zeroed where the maximum is <= 0),
    then a quarter-pixel step toward the higher neighbour in x and in y when
    ``1 < x < w - 1`` and ``1 < y < h - 1`` (GluonCV's strict bounds, so the
    second row/column gets no step either), then the inverse crop affine.
    """

    name = "msra"

    def __init__(self, image_size=(256, 192), heatmap_size=None, sigma=2):
        super().__init__(image_size, heatmap_size, sigma)
        self._tmp_size = sigma * 3
        size = 2 * self._tmp_size + 1
        x = np.arange(0, size, 1, np.float32)
        y = x[:, np.newaxis]
        x0 = y0 = size // 2
        # same float32 expression as the reference so the table is bit-identical
        self._table = np.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * (sigma ** 2)))
        g = self._table.shape[0]
        self._window = np.arange(g)
        # for integer sigma the window [ul, br) is exactly as wide as the table
        self._exact_window = float(self._tmp_size).is_integer()
        if not self._exact_window:
            # a table centred on mu, indexed by pixel offset + radius (see Notes)
            self._radius = int(np.ceil(self._tmp_size))
            d = np.arange(-self._radius, self._radius + 1, dtype=np.float32)
            self._table = np.exp(-(d ** 2 + d[:, None] ** 2) / (2 * (sigma ** 2)))
        hh, ww = self.heatmap_size
        self._size_xy = np.array([ww, hh], dtype=np.int64)
        # precomputed flat offsets of the window cells and the largest upper-left
        # corner whose window still fits in the map (the unclipped fast path)
        self._cell_offsets = self._window[:, None] * ww + self._window[None, :]
        self._max_ul = self._size_xy - g
        self._flat_xy = np.array([1, ww], dtype=np.int64)

    def encode(self, joints, visibility):
        """Gaussian targets for joints given in the input frame.

        Parameters
        ----------
        joints : array-like
            ``(J, 2)`` or ``(N, J, 2)`` ``(x, y)`` in input-image pixels.
        visibility : array-like
            ``(J,)`` or ``(N, J)`` flags (0 = not labelled / not visible).

        Returns
        -------
        target : numpy.ndarray
            float32 ``(J, h, w)`` or ``(N, J, h, w)``.
        target_weight : numpy.ndarray
            float32 ``(J, 1, 1)`` or ``(N, J, 1, 1)``.
        """
        pts, weight, lead = self._as_batch(joints, visibility)
        hh, ww = self.heatmap_size
        m = len(pts)
        # int(v + 0.5) truncates toward zero, which np.trunc reproduces for negatives
        mu = np.trunc(pts / self.stride + 0.5)
        if self._exact_window:
            # integer 3*sigma: int(mu - 3s) and int(mu + 3s + 1) are exact integers
            ul = mu.astype(np.int64) - int(self._tmp_size)           # (m, 2) as (x, y)
            br = ul + self._table.shape[0]
        else:
            ul = np.trunc(mu - self._tmp_size).astype(np.int64)
            br = np.trunc(mu + self._tmp_size + 1).astype(np.int64)
        size = self._size_xy
        weight[((ul >= size) | (br < 0)).any(axis=1)] = 0        # window fully outside
        target = np.zeros((m, hh, ww), dtype=np.float32)
        active = np.flatnonzero(weight > 0.5)
        if active.size:
            g = self._table
            ul_a = ul[active]
            # window cell k (per axis) is map pixel ul + k and holds table entry k
            flat = (active * (hh * ww) + ul_a.dot(self._flat_xy))[:, None, None] \
                + self._cell_offsets
            if self._exact_window and ((ul_a >= 0) & (ul_a <= self._max_ul)).all():
                # common case: every window lies inside the map, no clipping needed
                target.reshape(-1)[flat] = g
            else:
                # clip to the map, and to br (narrower than the table only for
                # non-integer sigma at the border, as in the reference)
                pix = ul_a[:, :, None] + self._window                  # (K, 2, G)
                ok = (pix >= 0) & (pix < size[:, None]) & (pix < br[active][:, :, None])
                if self._exact_window:
                    mask = ok[:, 1, :, None] & ok[:, 0, None, :]
                    values = np.broadcast_to(g, mask.shape)[mask]
                else:
                    off = pix - mu[active].astype(np.int64)[:, :, None]     # (K, 2, G)
                    ok &= np.abs(off) <= self._tmp_size
                    mask = ok[:, 1, :, None] & ok[:, 0, None, :]
                    off = np.clip(off + self._radius, 0, 2 * self._radius)
                    values = g[off[:, 1, :, None], off[:, 0, None, :]][mask]
                target.reshape(-1)[flat[mask]] = values
        target = target.reshape(lead + (hh, ww))
        return target, weight.reshape(lead + (1, 1))

    def decode_heatmap(self, heatmaps):
        """Argmax + quarter offset, in the heatmap frame.

        Parameters
        ----------
        heatmaps : numpy.ndarray
            float32 ``(N, J, h, w)``.

        Returns
        -------
        coords, maxvals : numpy.ndarray
            float32 ``(N, J, 2)`` and ``(N, J, 1)``.
        """
        hm = self._prepare(heatmaps)
        n, j, h, w = hm.shape
        coords, maxvals, _ = argmax_2d(hm)
        px = coords[..., 0].astype(np.int64)
        py = coords[..., 1].astype(np.int64)
        inner = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
        if inner.any():
            flat = hm.reshape(-1)
            base = (np.arange(n * j).reshape(n, j) * (h * w) + py * w + px)[inner]
            dx = flat[base + 1] - flat[base - 1]
            dy = flat[base + w] - flat[base - w]
            step = np.stack([np.sign(dx), np.sign(dy)], axis=1).astype(np.float32)
            coords[inner] += step * np.float32(0.25)
        return coords, maxvals
