"""The One Euro filter (Casiez, Roussel, Vogel, CHI 2012), vectorised over channels.

A first-order low-pass whose cutoff rises with the signal's speed: at rest it cuts hard
(``min_cutoff``, Hz), which removes jitter; when the signal moves, the cutoff grows by
``beta`` per unit of (smoothed) speed, which removes lag. ``d_cutoff`` smooths the speed
estimate itself. Timestamps may be irregular (a dropped camera frame is just a longer dt).
"""

from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff, dt: float):
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    def __init__(self, min_cutoff=1.0, beta: float = 0.0, d_cutoff: float = 1.0):
        if np.any(np.asarray(min_cutoff) <= 0) or d_cutoff <= 0 or beta < 0:
            raise ValueError("min_cutoff and d_cutoff must be > 0 Hz and beta >= 0")
        self.min_cutoff, self.beta, self.d_cutoff = np.asarray(min_cutoff, np.float64), float(beta), float(d_cutoff)
        self.reset()

    def reset(self, value=None, timestamp: float | None = None) -> None:
        """Forget the past; with ``value``, start from it at ``timestamp``."""
        self._x = None if value is None else np.array(value, np.float64)
        self._dx = None if value is None else np.zeros_like(self._x)
        self._t = timestamp

    def __call__(self, value, timestamp: float) -> np.ndarray:
        x = np.asarray(value, np.float64)
        if self._x is None or self._t is None:
            self.reset(x, timestamp)
            return x.copy()
        dt = timestamp - self._t
        if dt <= 0:  # a repeated or out-of-order timestamp: nothing new to smooth over
            return self._x.copy()
        speed = (x - self._x) / dt
        self._dx = self._dx + _alpha(self.d_cutoff, dt) * (speed - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        self._x = self._x + _alpha(cutoff, dt) * (x - self._x)
        self._t = timestamp
        return self._x.copy()
