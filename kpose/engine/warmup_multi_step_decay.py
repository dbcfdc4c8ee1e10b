"""Linear warm-up followed by step decay at epoch milestones (MMPose's default schedule)."""

from typing import Sequence

import gin
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kpose")
@gin.register
class WarmupMultiStepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """MMPose's `LinearLR` warm-up (per iteration) then `MultiStepLR` (per epoch).

    The rate at step `t` is `base_lr * gamma ** (number of milestones <= epoch)`, multiplied
    during warm-up by a factor rising linearly from `warmup_ratio` at step 0 to 1 at step
    `warmup_steps - 1`, as mmengine's `LinearLR(start_factor=warmup_ratio, end=warmup_steps)`
    does (checked against it by a golden fixture).

    Args:
        base_lr: learning rate after warm-up, before any decay.
        milestones: epochs at which the rate is multiplied by `gamma`.
        steps_per_epoch: optimizer steps in one epoch (set by the trainer).
        gamma: decay factor at each milestone.
        warmup_steps: number of warm-up iterations (0 disables warm-up).
        warmup_ratio: factor applied at step 0.
    """

    def __init__(
        self,
        base_lr: float = 5e-4,
        milestones: Sequence[int] = (170, 200),
        steps_per_epoch: int = 1,
        gamma: float = 0.1,
        warmup_steps: int = 500,
        warmup_ratio: float = 0.001,
    ):
        if base_lr <= 0:
            raise ValueError(f"base_lr must be > 0, received {base_lr}")
        if steps_per_epoch < 1:
            raise ValueError(f"steps_per_epoch must be >= 1, received {steps_per_epoch}")
        if list(milestones) != sorted(milestones):
            raise ValueError(f"milestones must be increasing, received {milestones}")
        if not 0 < warmup_ratio <= 1:
            raise ValueError(f"warmup_ratio must be in (0, 1], received {warmup_ratio}")
        self.base_lr = float(base_lr)
        self.milestones = [int(m) for m in milestones]
        self.steps_per_epoch = int(steps_per_epoch)
        self.gamma = float(gamma)
        self.warmup_steps = int(warmup_steps)
        self.warmup_ratio = float(warmup_ratio)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        epoch = ops.floor(step / self.steps_per_epoch)
        passed = ops.zeros_like(step)
        for milestone in self.milestones:
            passed = passed + ops.cast(epoch >= milestone, "float32")
        lr = self.base_lr * ops.power(self.gamma, passed)
        if self.warmup_steps > 0:
            # mmengine's LinearLR(end=W) reaches the full rate at iteration W - 1.
            span = max(self.warmup_steps - 1, 1)
            progress = ops.minimum(step, span) / span
            lr = lr * (self.warmup_ratio + (1.0 - self.warmup_ratio) * progress)
        return lr

    def get_config(self):
        return {
            "base_lr": self.base_lr,
            "milestones": list(self.milestones),
            "steps_per_epoch": self.steps_per_epoch,
            "gamma": self.gamma,
            "warmup_steps": self.warmup_steps,
            "warmup_ratio": self.warmup_ratio,
        }
