"""Wing loss for landmark regression (Feng et al., CVPR 2018)."""

import math
from typing import Any, Dict, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.losses import utils


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class WingLoss:
    """Wing loss of coordinates, MMPose's `WingLoss`.

    Per element, with `d = |target*w - output*w|`: `omega * log(1 + d / epsilon)` if
    d < omega, else `d - C` with `C = omega * (1 - log(1 + omega / epsilon))` (the pieces
    meet at omega). Summed over K and D, averaged over B, times `loss_weight`.

    Args:
        omega: width of the nonlinear part.
        epsilon: curvature of the nonlinear part.
        use_target_weight: weight keypoints by `target_weights`.
        loss_weight: factor on the loss.
    """

    def __init__(self, omega: float = 10.0, epsilon: float = 2.0,
                 use_target_weight: bool = False, loss_weight: float = 1.0):
        self.omega = utils.check_number("omega", omega, positive=True)
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
            output, target, target_weights, self.use_target_weight, "WingLoss")
        delta = tf.abs(target - output)
        offset = self.omega * (1.0 - math.log(1.0 + self.omega / self.epsilon))
        losses = tf.where(delta < self.omega,
                          self.omega * tf.math.log1p(delta / self.epsilon), delta - offset)
        per_sample = tf.reduce_sum(tf.reshape(losses, [tf.shape(losses)[0], -1]), axis=1)
        return tf.reduce_mean(per_sample) * self.loss_weight

    def get_config(self) -> Dict[str, Any]:
        return {"omega": self.omega, "epsilon": self.epsilon,
                "use_target_weight": self.use_target_weight, "loss_weight": self.loss_weight}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "WingLoss":
        return cls(**config)

    def __repr__(self) -> str:
        return utils.format_repr(self)
