"""Binary cross-entropy of per-keypoint (or per-label) classifications."""

from typing import Any, Dict, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.losses import utils

# PyTorch's binary_cross_entropy clamps each log at -100, so a probability of exactly 0
# or 1 costs 100, not infinity.
_LOG_FLOOR = -100.0


def _clamped_log(x: tf.Tensor) -> tf.Tensor:
    # The inner where keeps log(0) out of the graph, so its gradient is 0, not NaN.
    positive = x > 0
    return tf.maximum(tf.where(positive, tf.math.log(tf.where(positive, x, 1.0)), _LOG_FLOOR),
                      _LOG_FLOOR)


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class BCELoss:
    """Binary cross-entropy, MMPose's `BCELoss`.

    Args:
        use_target_weight: weight the elementwise losses by `target_weights`.
        loss_weight: factor on the loss.
        reduction: 'mean', 'sum' or 'none' (the elementwise losses).
        use_sigmoid: the outputs are already probabilities (MMPose's naming: the model
            applied the sigmoid); otherwise they are logits.
    """

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.0,
                 reduction: str = "mean", use_sigmoid: bool = False):
        self.use_target_weight = bool(use_target_weight)
        self.loss_weight = utils.check_number("loss_weight", loss_weight)
        self.reduction = utils.check_choice("reduction", reduction, utils.REDUCTIONS)
        self.use_sigmoid = bool(use_sigmoid)

    def __call__(self, output: tf.Tensor, target: tf.Tensor,
                 target_weights: Optional[tf.Tensor] = None) -> tf.Tensor:
        """Computes the loss.

        Args:
            output: (B, K) logits, or probabilities if `use_sigmoid`.
            target: (B, K) targets in [0, 1].
            target_weights: (B, K) or (B,) weights; needed if `use_target_weight`.

        Returns:
            Scalar float32 loss ((B, K) for reduction 'none').
        """
        output = tf.cast(output, tf.float32)
        target = tf.cast(target, tf.float32)
        if self.use_sigmoid:
            log_p = _clamped_log(output)
            log_not_p = _clamped_log(1.0 - output)
            loss = -(target * log_p + (1.0 - target) * log_not_p)
        else:
            loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
        if self.use_target_weight:
            weights = utils.require_weights(target_weights, "BCELoss")
            if weights.shape.rank == 1:
                weights = weights[:, None]
            loss = loss * weights
        if self.reduction == "mean":
            loss = tf.reduce_mean(loss)
        elif self.reduction == "sum":
            loss = tf.reduce_sum(loss)
        return loss * self.loss_weight

    def get_config(self) -> Dict[str, Any]:
        return {"use_target_weight": self.use_target_weight, "loss_weight": self.loss_weight,
                "reduction": self.reduction, "use_sigmoid": self.use_sigmoid}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "BCELoss":
        return cls(**config)

    def __repr__(self) -> str:
        return utils.format_repr(self)
