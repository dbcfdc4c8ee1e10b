"""Per-epoch exponential decay that stops after `end` epochs (mmengine's ExponentialLR)."""

import gin
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kpose")
@gin.register
class EpochExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`base_lr * gamma ** min(epoch, end - 1)`: mmengine's
    `ExponentialLR(gamma, end=end, by_epoch=True)` (VideoPose3D's schedule in MMPose: gamma
    0.975, end 80). mmengine steps at the end of each epoch while the step count is below
    `end`, so the last decay happens entering epoch `end - 1`.

    Args:
        base_lr: rate of the first epoch.
        gamma: factor per epoch.
        end: epochs after which the rate stops changing.
        steps_per_epoch: optimizer steps per epoch (set by the trainer).
    """

    def __init__(self, base_lr: float = 1e-3, gamma: float = 0.975, end: int = 80,
                 steps_per_epoch: int = 1):
        if base_lr <= 0:
            raise ValueError(f"base_lr must be > 0, received {base_lr!r}")
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], received {gamma!r}")
        if end < 1 or steps_per_epoch < 1:
            raise ValueError(f"end and steps_per_epoch must be >= 1, received end={end!r}, "
                             f"steps_per_epoch={steps_per_epoch!r}")
        self.base_lr = float(base_lr)
        self.gamma = float(gamma)
        self.end = int(end)
        self.steps_per_epoch = int(steps_per_epoch)

    def __call__(self, step):
        epoch = ops.floor(ops.cast(step, "float32") / self.steps_per_epoch)
        return self.base_lr * ops.power(self.gamma, ops.minimum(epoch, self.end - 1))

    def get_config(self):
        return {"base_lr": self.base_lr, "gamma": self.gamma, "end": self.end,
                "steps_per_epoch": self.steps_per_epoch}
