"""Temporal smoothing of tracked keypoints with the One-Euro filter.

The One-Euro filter (Casiez, Roussel and Vogel, CHI 2012) is a first-order
low-pass filter whose cutoff frequency rises with the signal's speed::

    dx_hat = lowpass(d_cutoff)((x - x_hat_prev) / dt)
    cutoff = min_cutoff + beta * |dx_hat|
    x_hat  = lowpass(cutoff)(x)

with ``alpha = 1 / (1 + tau / dt)`` and ``tau = 1 / (2 pi cutoff)``.  A joint
that holds still is smoothed hard (``min_cutoff`` removes detector jitter),
a joint that moves fast is followed with little lag (``beta`` raises the
cutoff).  Every coordinate of every joint is an independent scalar filter;
here they are held in arrays so one call filters a whole pose.

``min_cutoff`` is in Hz and ``beta`` in 1 / (units of the signal): with pixel
coordinates a speed of 300 px/s and ``beta=0.007`` add 2.1 Hz to the cutoff.
"""
import math

import numpy as np

__all__ = ["one_euro_alpha", "OneEuroFilter", "TrackSmoother"]


def one_euro_alpha(cutoff, dt):
    """Smoothing factor of a first-order low-pass filter.

    Parameters
    ----------
    cutoff : float or numpy.ndarray
        Cutoff frequency in Hz (> 0).
    dt : float or numpy.ndarray
        Time since the previous sample in seconds (> 0).

    Returns
    -------
    float or numpy.ndarray
        ``alpha`` in (0, 1]: the weight of the new sample.
    """
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """A One-Euro filter over the ``(K, 2)`` coordinates of one track.

    Each of the ``2 K`` scalars is filtered independently, with its own
    state and its own time of last update, so a joint that is missing for
    some frames resumes with the true interval since it was last seen.

    Parameters
    ----------
    min_cutoff : float
        Cutoff (Hz) at zero speed; lower removes more jitter and adds lag.
    beta : float
        Cutoff increase per unit of speed (per px/s for pixel coordinates);
        higher follows fast motion with less lag.
    d_cutoff : float
        Cutoff (Hz) of the low-pass filter on the speed estimate.
    freq : float
        Sampling rate (Hz) used when a call gives no timestamp.
    """

    def __init__(self, min_cutoff=1.0, beta=0.007, d_cutoff=1.0, freq=30.0):
        if min_cutoff <= 0 or d_cutoff <= 0 or freq <= 0:
            raise ValueError("min_cutoff, d_cutoff and freq must be positive, got %r, %r, %r"
                             % (min_cutoff, d_cutoff, freq))
        if beta < 0:
            raise ValueError("beta must be >= 0, got %r" % beta)
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.freq = float(freq)
        self.reset()

    def reset(self):
        """Forget the state: the next sample passes through unchanged."""
        self._x = None          # (K, 2) filtered position
        self._dx = None         # (K, 2) filtered speed
        self._t = None          # (K,)   time of each joint's last update
        self._seen = None       # (K,)   whether the joint has been updated once
        self._clock = None      # time of the last call, for implicit timestamps

    def __call__(self, points, t=None, valid=None):
        """Filter one sample.

        Parameters
        ----------
        points : array_like
            ``(K, 2)`` coordinates.
        t : float, optional
            Timestamp in seconds; by default ``1 / freq`` after the previous
            call (0 for the first one).  Must increase from call to call.
        valid : array_like of bool, optional
            ``(K,)`` mask; joints that are not valid are returned unchanged
            and leave the state as it was.  Default: all valid.

        Returns
        -------
        numpy.ndarray
            ``(K, 2)`` float64 filtered coordinates.  A joint's first valid
            sample is returned as is.
        """
        x = np.asarray(points, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError("points must be (K, 2), got shape %s" % (x.shape,))
        k = x.shape[0]
        valid = np.ones(k, bool) if valid is None else np.asarray(valid, bool).reshape(-1)
        if valid.shape[0] != k:
            raise ValueError("valid has %d entries for %d joints" % (valid.shape[0], k))
        if self._x is None:
            self._x = np.zeros((k, 2))
            self._dx = np.zeros((k, 2))
            self._t = np.zeros(k)
            self._seen = np.zeros(k, bool)
        elif self._x.shape[0] != k:
            raise ValueError("this filter holds %d joints, got %d" % (self._x.shape[0], k))

        if t is None:
            t = 0.0 if self._clock is None else self._clock + 1.0 / self.freq
        t = float(t)
        if self._clock is not None and t <= self._clock:
            raise ValueError("timestamps must increase: %r after %r" % (t, self._clock))
        self._clock = t

        out = x.copy()
        # A joint's first valid sample seeds its state and passes through.
        first = valid & ~self._seen
        self._x[first] = x[first]
        self._dx[first] = 0.0
        upd = valid & self._seen
        if upd.any():
            dt = (t - self._t[upd])[:, None]                     # (M, 1)
            x_prev = self._x[upd]
            a_d = one_euro_alpha(self.d_cutoff, dt)
            dx = a_d * ((x[upd] - x_prev) / dt) + (1.0 - a_d) * self._dx[upd]
            a = one_euro_alpha(self.min_cutoff + self.beta * np.abs(dx), dt)
            # x_prev + a (x - x_prev) rather than a x + (1 - a) x_prev: the same
            # value, but exact in floating point when the joint holds still.
            x_hat = x_prev + a * (x[upd] - x_prev)
            self._x[upd] = x_hat
            self._dx[upd] = dx
            out[upd] = x_hat
        self._t[valid] = t
        self._seen |= valid
        return out


class TrackSmoother:
    """One :class:`OneEuroFilter` per track id.

    Parameters
    ----------
    min_cutoff, beta, d_cutoff, freq : float
        Passed to every :class:`OneEuroFilter`.
    score_threshold : float
        A joint is filtered when its third column (visibility or score) is
        above this; the others pass through and leave the state alone.
    """

    def __init__(self, min_cutoff=1.0, beta=0.007, d_cutoff=1.0, freq=30.0,
                 score_threshold=0.0):
        self.params = dict(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff, freq=freq)
        OneEuroFilter(**self.params)                 # validate the parameters now
        self.score_threshold = float(score_threshold)
        self._filters = {}

    def __contains__(self, track_id):
        return track_id in self._filters

    def __len__(self):
        return len(self._filters)

    def __iter__(self):
        """The track ids that have a filter (a snapshot)."""
        return iter(list(self._filters))

    def smooth(self, track_id, keypoints, t=None):
        """Smooth one track's pose for the current frame.

        Parameters
        ----------
        track_id : hashable
            Identity of the track; a new id starts a new filter.
        keypoints : array_like
            ``(K, 3)`` rows of ``x, y, score``.
        t : float, optional
            Timestamp in seconds, see :meth:`OneEuroFilter.__call__`.

        Returns
        -------
        numpy.ndarray
            ``(K, 3)`` float64: smoothed ``x, y`` and the scores unchanged.
        """
        kp = np.asarray(keypoints, dtype=np.float64)
        if kp.ndim != 2 or kp.shape[1] < 3:
            raise ValueError("keypoints must be (K, 3), got shape %s" % (kp.shape,))
        filt = self._filters.get(track_id)
        if filt is None:
            filt = self._filters[track_id] = OneEuroFilter(**self.params)
        out = kp.copy()
        out[:, :2] = filt(kp[:, :2], t=t, valid=kp[:, 2] > self.score_threshold)
        return out

    def drop(self, track_id):
        """Forget a finished track (no error when it is unknown)."""
        self._filters.pop(track_id, None)

    def reset(self):
        """Forget every track."""
        self._filters.clear()
