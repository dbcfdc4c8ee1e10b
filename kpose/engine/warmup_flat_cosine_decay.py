"""Linear warm-up, a flat stretch, then cosine decay to the end (RTMPose's schedule)."""

import gin
import keras

from kpose.engine._warmup_cosine import _check, _WarmupCosineSchedule


@keras.saving.register_keras_serializable(package="kpose")
@gin.register
class WarmupFlatCosineDecay(_WarmupCosineSchedule):
    """RTMPose's schedule: warm-up over iterations, flat, cosine from `cosine_begin_epoch`.

    Equals mmengine's `LinearLR(start_factor=warmup_ratio, by_epoch=False, begin=0,
    end=warmup_steps)` followed by `CosineAnnealingLR(eta_min=base_lr * eta_min_ratio,
    begin=cosine_begin_epoch, end=epochs, T_max=epochs - cosine_begin_epoch, by_epoch=True,
    convert_to_iter_based=True)`, checked step by step against mmengine (golden fixture).
    RTMPose-m on COCO: `base_lr=4e-3, epochs=420, cosine_begin_epoch=210, warmup_steps=1000,
    warmup_ratio=1e-5, eta_min_ratio=0.05`. The floor follows `base_lr`, so it scales with it
    under the trainer's linear LR scaling (as mmengine's `eta_min_ratio` does).

    Args:
        base_lr: learning rate after warm-up, before the cosine.
        epochs: length of the run in epochs; the cosine reaches its floor there.
        cosine_begin_epoch: epoch at which the cosine starts.
        steps_per_epoch: optimizer steps in one epoch (set by the trainer).
        warmup_steps: warm-up iterations (0 disables warm-up; 1 is rejected as in mmengine).
        warmup_ratio: factor applied at step 0, rising linearly to 1 at `warmup_steps - 1`.
        eta_min_ratio: the floor as a fraction of `base_lr`.
    """

    def __init__(
        self,
        base_lr: float = 4e-3,
        epochs: int = 420,
        cosine_begin_epoch: int = 210,
        steps_per_epoch: int = 1,
        warmup_steps: int = 1000,
        warmup_ratio: float = 1e-5,
        eta_min_ratio: float = 0.05,
    ):
        _check(base_lr, steps_per_epoch, epochs, cosine_begin_epoch, warmup_steps, warmup_ratio)
        if not 0 <= eta_min_ratio <= 1:
            raise ValueError(f"eta_min_ratio must be in [0, 1], received {eta_min_ratio}")
        self.base_lr = float(base_lr)
        self.epochs = int(epochs)
        self.cosine_begin_epoch = int(cosine_begin_epoch)
        self.steps_per_epoch = int(steps_per_epoch)
        self.warmup_steps = int(warmup_steps)
        self.warmup_ratio = float(warmup_ratio)
        self.eta_min_ratio = float(eta_min_ratio)
        self._setup(self.base_lr, self.steps_per_epoch, self.epochs, self.cosine_begin_epoch,
                    self.warmup_steps, self.warmup_ratio, self.base_lr * self.eta_min_ratio)

    def get_config(self):
        return {
            "base_lr": self.base_lr,
            "epochs": self.epochs,
            "cosine_begin_epoch": self.cosine_begin_epoch,
            "steps_per_epoch": self.steps_per_epoch,
            "warmup_steps": self.warmup_steps,
            "warmup_ratio": self.warmup_ratio,
            "eta_min_ratio": self.eta_min_ratio,
        }
