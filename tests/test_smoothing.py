"""One-Euro keypoint smoothing: exactness on constants, noise reduction on a
known path, bounded lag, pass-through rules, and agreement with a scalar loop."""
import math

import numpy as np
import pytest

from gluonpose.tracking.smoothing import OneEuroFilter, TrackSmoother, one_euro_alpha

FPS = 30.0


class _ScalarOneEuro:
    """Textbook scalar One-Euro filter, one instance per coordinate."""

    def __init__(self, min_cutoff, beta, d_cutoff):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x = self.dx = self.t = None

    @staticmethod
    def _alpha(cutoff, dt):
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x, t):
        if self.x is None:
            self.x, self.dx, self.t = x, 0.0, t
            return x
        dt = t - self.t
        a_d = self._alpha(self.d_cutoff, dt)
        self.dx = a_d * (x - self.x) / dt + (1 - a_d) * self.dx
        a = self._alpha(self.min_cutoff + self.beta * abs(self.dx), dt)
        self.x = a * x + (1 - a) * self.x
        self.t = t
        return self.x


def _circles(num_frames=300, k=17, seed=0):
    """Each joint runs its own circle (radius 10-30 px, period 3-6 s)."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_frames) / FPS
    phase = rng.uniform(0, 2 * np.pi, k)
    radius = rng.uniform(10, 30, k)
    omega = 2 * np.pi / rng.uniform(3, 6, k)
    ang = omega * t[:, None] + phase
    return np.stack([150 + radius * np.cos(ang), 100 + radius * np.sin(ang)], -1)


def _mean_error(a, b):
    return np.linalg.norm(a - b, axis=-1).mean()


def _jitter(a):
    """Mean |frame-to-frame acceleration| in px / frame^2."""
    return np.linalg.norm(np.diff(a, 2, axis=0), axis=-1).mean()


def test_constant_signal_is_exact_and_first_sample_passes():
    pts = np.random.default_rng(1).uniform(0, 300, (17, 2))
    f = OneEuroFilter()
    for i in range(50):
        out = f(pts)
        np.testing.assert_array_equal(out, pts)
    f = OneEuroFilter()
    np.testing.assert_array_equal(f(pts + 7.25), pts + 7.25)


def test_reduces_error_and_jitter_on_noisy_circles():
    clean = _circles()
    noisy = clean + np.random.default_rng(2).normal(0, 2.0, clean.shape)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05, d_cutoff=1.0, freq=FPS)
    out = np.stack([f(p) for p in noisy])
    err_raw, err_out = _mean_error(noisy, clean), _mean_error(out, clean)
    jit_raw, jit_out = _jitter(noisy), _jitter(out)
    print("mean error raw %.3f filtered %.3f; jitter raw %.3f filtered %.3f"
          % (err_raw, err_out, jit_raw, jit_out))
    assert err_out < 0.8 * err_raw
    assert jit_out < 0.5 * jit_raw


def test_step_lag_within_min_cutoff_bound():
    # After a step the input is constant, so each frame shrinks the error by
    # (1 - alpha) with alpha >= alpha(min_cutoff): |e_n| <= A (1 - a_min)^n.
    dt = 1.0 / FPS
    a_min = one_euro_alpha(1.0, dt)
    amp, tol = 100.0, 1.0
    bound = math.ceil(math.log(tol / amp) / math.log(1 - a_min))
    lags = {}
    for beta in (0.0, 0.007, 0.05):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta, freq=FPS)
        f(np.zeros((3, 2)))
        err = []
        for n in range(1, 3 * bound):
            out = f(np.full((3, 2), amp))
            err.append(np.abs(out - amp).max())
            assert err[-1] <= amp * (1 - a_min) ** n + 1e-9
        lags[beta] = 1 + int(np.argmax(np.asarray(err) < tol))
        assert lags[beta] <= bound
    assert lags[0.0] == bound                  # beta = 0 is a plain exponential
    assert lags[0.05] < lags[0.007] < lags[0.0]  # speed raises the cutoff


def test_ramp_lag_within_bound():
    # Constant velocity v: e_n = (1 - a_n)(e_{n-1} + v dt) stays below the
    # fixed point v dt (1 - a_min) / a_min of the beta = 0 filter.
    dt = 1.0 / FPS
    a_min = one_euro_alpha(1.0, dt)
    v = 600.0                                         # px / s: a fast swing
    bound = v * dt * (1 - a_min) / a_min
    f = OneEuroFilter(min_cutoff=1.0, beta=0.05, freq=FPS)
    lag = [v * i * dt - f(np.full((1, 2), v * i * dt))[0, 0] for i in range(90)]
    assert max(lag) <= bound + 1e-9
    assert lag[-1] < 0.25 * bound                    # adaptivity: much less than the bound


def test_invalid_joints_pass_through_and_keep_state():
    rng = np.random.default_rng(3)
    seq = rng.normal(100, 5, (20, 4, 2))
    valid = np.ones((20, 4), bool)
    valid[5:9, 1] = False
    valid[:3, 2] = False                              # joint 2 first seen at frame 3
    f = OneEuroFilter(beta=0.05)
    ref = [_ScalarOneEuro(1.0, 0.05, 1.0) for _ in range(8)]
    for i in range(20):
        out = f(seq[i], valid=valid[i])
        t = i / FPS
        for j in range(4):
            if not valid[i, j]:
                np.testing.assert_array_equal(out[j], seq[i, j])
                continue
            want = [ref[2 * j + c](seq[i, j, c], t) for c in range(2)]
            np.testing.assert_allclose(out[j], want, rtol=0, atol=1e-9)
        if i == 3:
            np.testing.assert_array_equal(out[2], seq[3, 2])   # first valid sample


def test_matches_scalar_loop_with_timestamps():
    rng = np.random.default_rng(4)
    k = 17
    t = np.cumsum(rng.uniform(0.02, 0.05, 60))              # irregular frame times
    seq = _circles(60, k, seed=5) + rng.normal(0, 3, (60, k, 2))
    f = OneEuroFilter(min_cutoff=0.7, beta=0.02, d_cutoff=1.3)
    ref = [[_ScalarOneEuro(0.7, 0.02, 1.3) for _ in range(2)] for _ in range(k)]
    for i in range(60):
        out = f(seq[i], t=t[i])
        want = [[ref[j][c](seq[i, j, c], t[i]) for c in range(2)] for j in range(k)]
        np.testing.assert_allclose(out, want, rtol=0, atol=1e-9)
    with pytest.raises(ValueError):
        f(seq[0], t=t[-1])                                    # time must increase


def test_track_smoother_per_track_state():
    rng = np.random.default_rng(6)
    sm = TrackSmoother(beta=0.05)
    a = np.concatenate([rng.uniform(0, 100, (17, 2)), np.ones((17, 1))], 1)
    b = a.copy()
    b[:, :2] += 50
    b[4, 2] = 0.0                                       # unlabelled joint
    np.testing.assert_array_equal(sm.smooth(1, a), a)
    np.testing.assert_array_equal(sm.smooth(2, b), b)
    f = OneEuroFilter(beta=0.05)
    f(a[:, :2])
    moved = a.copy()
    moved[:, :2] += 3
    out = sm.smooth(1, moved)
    np.testing.assert_allclose(out[:, :2], f(moved[:, :2]))
    np.testing.assert_array_equal(out[:, 2], moved[:, 2])
    b2 = b.copy()
    b2[:, :2] -= 2
    out = sm.smooth(2, b2)
    np.testing.assert_array_equal(out[4], b2[4])
    assert len(sm) == 2 and 1 in sm
    sm.drop(1)
    sm.drop(99)
    assert 1 not in sm
    np.testing.assert_array_equal(sm.smooth(1, moved), moved)  # fresh filter
    sm.reset()
    assert len(sm) == 0
