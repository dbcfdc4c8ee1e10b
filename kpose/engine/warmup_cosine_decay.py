"""Linear warm-up, then cosine decay over the whole run."""

import gin
import keras

from kpose.engine._warmup_cosine import _check, _WarmupCosineSchedule


@keras.saving.register_keras_serializable(package="kpose")
@gin.register
class WarmupCosineDecay(_WarmupCosineSchedule):
    """Linear warm-up over iterations, then a cosine from `base_lr` at step 0 to `eta_min`.

    Equals mmengine's `LinearLR(start_factor=warmup_ratio, by_epoch=False, begin=0,
    end=warmup_steps)` plus `CosineAnnealingLR(eta_min=eta_min, begin=0, end=epochs,
    T_max=epochs, by_epoch=True, convert_to_iter_based=True)`: both run during the warm-up
    (mmengine chains them), which the fixture from mmengine checks step by step. `eta_min` is
    absolute, so linear LR scaling leaves it as it is (as mmengine's `eta_min` does).

    Args:
        base_lr: peak learning rate (the cosine's start).
        epochs: length of the run in epochs; the cosine reaches `eta_min` there.
        steps_per_epoch: optimizer steps in one epoch (set by the trainer).
        warmup_steps: warm-up iterations (0 disables warm-up; 1 is rejected as in mmengine).
        warmup_ratio: warm-up factor at step 0, rising linearly to 1 at `warmup_steps - 1`.
        eta_min: the floor of the cosine.
    """

    def __init__(
        self,
        base_lr: float = 5e-4,
        epochs: int = 210,
        steps_per_epoch: int = 1,
        warmup_steps: int = 500,
        warmup_ratio: float = 0.001,
        eta_min: float = 0.0,
    ):
        _check(base_lr, steps_per_epoch, epochs, 0, warmup_steps, warmup_ratio)
        if not 0 <= eta_min <= base_lr:
            raise ValueError(f"eta_min must be in [0, base_lr={base_lr}], received {eta_min}")
        self.base_lr = float(base_lr)
        self.epochs = int(epochs)
        self.steps_per_epoch = int(steps_per_epoch)
        self.warmup_steps = int(warmup_steps)
        self.warmup_ratio = float(warmup_ratio)
        self.eta_min = float(eta_min)
        self._setup(self.base_lr, self.steps_per_epoch, self.epochs, 0, self.warmup_steps,
                    self.warmup_ratio, self.eta_min)

    def get_config(self):
        return {
            "base_lr": self.base_lr,
            "epochs": self.epochs,
            "steps_per_epoch": self.steps_per_epoch,
            "warmup_steps": self.warmup_steps,
            "warmup_ratio": self.warmup_ratio,
            "eta_min": self.eta_min,
        }
