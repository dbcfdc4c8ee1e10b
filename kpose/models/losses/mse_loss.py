"""Mean squared error of regressed coordinates."""

from typing import Any, Dict, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.losses import utils


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class MSELoss:
    """MSE of coordinates, MMPose's regression `MSELoss` (not the heatmap one).

    `(output*w - target*w)**2` averaged over all elements, times `loss_weight`.

    Args:
        use_target_weight: weight keypoints by `target_weights`.
        loss_weight: factor on the loss.
    """

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.0):
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
            output, target, target_weights, self.use_target_weight, "MSELoss")
        return tf.reduce_mean(tf.math.squared_difference(output, target)) * self.loss_weight

    def get_config(self) -> Dict[str, Any]:
        return {"use_target_weight": self.use_target_weight, "loss_weight": self.loss_weight}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "MSELoss":
        return cls(**config)

    def __repr__(self) -> str:
        return utils.format_repr(self)
