"""Soft wing loss for landmark regression (Lin et al., TIP 2021)."""

import math
from typing import Any, Dict, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.losses import utils


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class SoftWingLoss:
    """Soft wing loss of coordinates, MMPose's `SoftWingLoss`.

    Per element, with `d = |target*w - output*w|`: `d` if d < omega1, else
    `omega2 * log(1 + d / epsilon) + B` with `B = omega1 - omega2 * log(1 + omega1 /
    epsilon)` (continuous at omega1). Summed over K and D, averaged over B, times
    `loss_weight`.

    Args:
        omega1: end of the linear part.
        omega2: scale of the logarithmic part.
        epsilon: curvature of the logarithmic part.
        use_target_weight: weight keypoints by `target_weights`.
        loss_weight: factor on the loss.
    """

    def __init__(self, omega1: float = 2.0, omega2: float = 20.0, epsilon: float = 0.5,
                 use_target_weight: bool = False, loss_weight: float = 1.0):
        self.omega1 = utils.check_number("omega1", omega1, positive=True)
        self.omega2 = utils.check_number("omega2", omega2, positive=True)
        self.epsilon = utils.check_number("epsilon", epsilon, positive=True)
        self.use_target_weight = bool(use_target_weight)
        self.loss_weight = utils.check_number("loss_weight", loss_weight)

    def __call__(self, output: tf.Tensor, target: tf.Tensor,
                 target_weights: Optional[tf.Tensor] = None) -> tf.Tensor:
        """Computes the loss.

        Args:
            output: (B, K, D) predicted coordinates.
            target: (B, K, D) target coordinates.
            target_weights: (B, K), (B, K, 1) or (B, K, D) weights; needed if
                `use_target_weight`.

        Returns:
            Scalar float32 loss.
        """
        output, target = utils.weighted_coordinates(
            output, target, target_weights, self.use_target_weight, "SoftWingLoss")
        delta = tf.abs(target - output)
        offset = self.omega1 - self.omega2 * math.log(1.0 + self.omega1 / self.epsilon)
        losses = tf.where(delta < self.omega1, delta,
                          self.omega2 * tf.math.log1p(delta / self.epsilon) + offset)
        per_sample = tf.reduce_sum(tf.reshape(losses, [tf.shape(losses)[0], -1]), axis=1)
        return tf.reduce_mean(per_sample) * self.loss_weight

    def get_config(self) -> Dict[str, Any]:
        return {"omega1": self.omega1, "omega2": self.omega2, "epsilon": self.epsilon,
                "use_target_weight": self.use_target_weight, "loss_weight": self.loss_weight}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "SoftWingLoss":
        return cls(**config)

    def __repr__(self) -> str:
        return utils.format_repr(self)
