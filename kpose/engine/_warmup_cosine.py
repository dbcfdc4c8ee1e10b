"""Shared arithmetic of the warm-up + cosine schedules (mmengine's LinearLR + CosineAnnealingLR)."""

import math

import keras
import numpy as np
from keras import ops


def _check(base_lr, steps_per_epoch, epochs, cosine_begin_epoch, warmup_steps, warmup_ratio):
    if base_lr <= 0:
        raise ValueError(f"base_lr must be > 0, received {base_lr}")
    if steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be >= 1, received {steps_per_epoch}")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, received {epochs}")
    if not 0 <= cosine_begin_epoch < epochs:
        raise ValueError(f"cosine_begin_epoch must be in [0, epochs={epochs}), received "
                         f"{cosine_begin_epoch}")
    # mmengine's LinearLR spans end - begin - 1 steps: one step would divide by zero there.
    if warmup_steps < 0 or warmup_steps == 1:
        raise ValueError(f"warmup_steps must be 0 or >= 2, received {warmup_steps}")
    if not 0 < warmup_ratio <= 1:
        raise ValueError(f"warmup_ratio must be in (0, 1], received {warmup_ratio}")


class _WarmupCosineSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up over iterations, then cosine annealing from an epoch to the end.

    Reproduces mmengine's chained schedulers `LinearLR(start_factor=warmup_ratio,
    by_epoch=False, end=warmup_steps)` and `CosineAnnealingLR(begin=cosine_begin_epoch,
    end=epochs, T_max=epochs - cosine_begin_epoch, by_epoch=True, convert_to_iter_based=True)`
    stepped after every iteration. mmengine computes both recursively; where only the cosine
    is active the recursion telescopes to `eta_min + (x_a - eta_min) * g(t) / g(a)`, with
    `g(t) = 1 + cos(pi * (t - begin) / T)` and `x_a` the rate when warm-up ends. While the
    warm-up runs (and may overlap the cosine), the rate is a table of the first
    `warmup_steps` values computed at construction by the same recursion, in float64. The
    rate is computed in float64 and returned as float32, so it matches mmengine within float32
    rounding at every step. After the last epoch the rate stays at its final value.
    """

    def _setup(self, base_lr, steps_per_epoch, epochs, cosine_begin_epoch, warmup_steps,
               warmup_ratio, eta_min):
        self._begin = int(cosine_begin_epoch * steps_per_epoch)
        self._end = int(epochs * steps_per_epoch)
        self._span = self._end - self._begin  # mmengine's T_max in iterations
        self._eta_min = float(eta_min)
        w = int(warmup_steps)
        self._warmup = w
        table = []
        x = float(base_lr)
        for t in range(w):
            # LinearLR first (mmengine steps the schedulers in list order), then the cosine.
            if t == 0:
                x *= warmup_ratio
            else:
                x *= 1.0 + (1.0 - warmup_ratio) / (
                    (w - 1) * warmup_ratio + (t - 1) * (1.0 - warmup_ratio))
            k = t - self._begin
            if 0 < k and t < self._end:
                x = (self._g(k) / self._g(k - 1)) * (x - self._eta_min) + self._eta_min
            table.append(x)
        self._table = np.asarray(table or [float(base_lr)], np.float64)
        # The rate once warm-up is over: the anchor of the closed form.
        self._anchor_value = float(self._table[-1])
        self._anchor = max(self._begin, w - 1)

    def _g(self, k):
        return 1.0 + math.cos(math.pi * k / self._span)

    def __call__(self, step):
        t = ops.cast(step, "float64")
        after_warmup = ops.convert_to_tensor(self._anchor_value, "float64")
        if self._end > max(self._warmup, self._begin):
            # Cosine part, clamped to the last iteration of the run.
            tc = ops.minimum(t, float(self._end - 1))
            g = 1.0 + ops.cos(math.pi * (tc - self._begin) / self._span)
            g_anchor = self._g(self._anchor - self._begin)
            cosine = self._eta_min + (self._anchor_value - self._eta_min) * g / g_anchor
            rest = ops.where(tc >= self._begin, cosine, after_warmup)
        else:  # the run ends inside the warm-up: nothing changes after the table
            rest = after_warmup
        if self._warmup > 0:
            index = ops.cast(ops.clip(t, 0, self._warmup - 1), "int32")
            warm = ops.take(ops.convert_to_tensor(self._table), index)
            rest = ops.where(t < self._warmup, warm, rest)
        return ops.cast(rest, "float32")
