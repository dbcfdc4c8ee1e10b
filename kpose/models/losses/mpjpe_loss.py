"""MPJPE loss: mean Euclidean distance between predicted and target joints."""

from typing import Any, Dict, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.losses import utils
from kpose.models.losses._joint_distance import safe_norm, weighted


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class MPJPELoss:
    """Mean per-joint position error as a loss, as MMPose's `MPJPELoss`.

    `mean(||(output - target) * w||_2)` over every joint (and frame), times `loss_weight`.

    Args:
        use_target_weight: multiply the differences by `target_weights`.
        loss_weight: factor on the loss.
    """

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.0):
        self.use_target_weight = bool(use_target_weight)
        self.loss_weight = utils.check_number("loss_weight", loss_weight)

    def __call__(self, output: Any, target: Any, target_weights: Optional[Any] = None):
        """Computes the loss.

        Args:
            output: (..., K, D) predicted joints, e.g. (B, K, 3).
            target: target joints of the same shape.
            target_weights: weights broadcastable to the joints, e.g. (B, K, 1); needed
                with `use_target_weight`.

        Returns:
            Scalar float32 loss.
        """
        diff = tf.cast(output, tf.float32) - tf.cast(target, tf.float32)
        diff = weighted(diff, target_weights, self.use_target_weight, "MPJPELoss")
        return tf.reduce_mean(safe_norm(diff)) * self.loss_weight

    def get_config(self) -> Dict[str, Any]:
        return {"use_target_weight": self.use_target_weight, "loss_weight": self.loss_weight}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "MPJPELoss":
        return cls(**config)

    def __repr__(self) -> str:
        return utils.format_repr(self)
