"""OneEuroFilter: speed-adaptive low-pass smoothing of keypoint trajectories."""

import math
from typing import Any, Dict, Optional

import gin
import numpy as np


@gin.register
class OneEuroFilter:
    """The 1-Euro filter (Casiez et al., CHI 2012) over arrays, e.g. (K, 2) keypoints.

    An exponential smoother whose cutoff frequency rises with the signal's speed: slow
    movements (where jitter shows) are smoothed hard, fast ones follow with little lag.
    Every element is filtered independently.

    Args:
        min_cutoff: cutoff frequency (Hz) at zero speed; lower smooths more.
        beta: how fast the cutoff grows with speed; higher lags less on fast motion.
        d_cutoff: cutoff frequency (Hz) of the speed estimate.
        freq: sampling rate (frames per second) when `__call__` gets no timestamp.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0,
                 freq: float = 30.0) -> None:
        for name, value in (("min_cutoff", min_cutoff), ("d_cutoff", d_cutoff),
                            ("freq", freq)):
            if not (isinstance(value, (int, float)) and value > 0):
                raise ValueError(f"{name} must be a positive number, received {value!r}")
        if not (isinstance(beta, (int, float)) and beta >= 0):
            raise ValueError(f"beta must be a number >= 0, received {beta!r}")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.freq = float(freq)
        self.reset()

    def reset(self) -> None:
        """Forgets the past: the next sample passes through unchanged."""
        self._x: Optional[np.ndarray] = None
        self._dx: Optional[np.ndarray] = None
        self._t: Optional[float] = None

    @staticmethod
    def _alpha(cutoff, period: float):
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / period)

    def __call__(self, x: np.ndarray, timestamp: Optional[float] = None) -> np.ndarray:
        """Filters one sample.

        Args:
            x: the sample (any shape; the same every call until `reset`).
            timestamp: its time in seconds; None advances by `1 / freq`.

        Returns:
            The smoothed sample, float64, same shape as `x`.
        """
        x = np.asarray(x, np.float64)
        if self._x is None:
            self._x, self._dx = x.copy(), np.zeros_like(x)
            self._t = 0.0 if timestamp is None else float(timestamp)
            return x.copy()
        if x.shape != self._x.shape:
            raise ValueError(f"sample shape changed from {self._x.shape} to {x.shape}; "
                             "call reset() first")
        t = self._t + 1.0 / self.freq if timestamp is None else float(timestamp)
        period = t - self._t
        if period <= 0:
            raise ValueError(f"timestamps must increase, received {timestamp} after {self._t}")
        dx = (x - self._x) / period
        a_d = self._alpha(self.d_cutoff, period)
        self._dx = a_d * dx + (1.0 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        a = self._alpha(cutoff, period)
        self._x = a * x + (1.0 - a) * self._x
        self._t = t
        return self._x.copy()

    def get_config(self) -> Dict[str, Any]:
        return {"min_cutoff": self.min_cutoff, "beta": self.beta, "d_cutoff": self.d_cutoff,
                "freq": self.freq}
