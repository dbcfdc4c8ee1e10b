"""Mean squared error between predicted and target heatmaps."""

from typing import Any, Dict, Optional

import gin
import keras
import tensorflow as tf


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class KeypointMSELoss:
    """Masked mean squared error of heatmaps, MMPose's `KeypointMSELoss`.

    The reduction is a plain mean over all B*H*W*K elements of `(output - target)**2 *
    mask` (no 0.5 factor, masked elements still count in the denominator), times
    `loss_weight`.

    A plain Python class rather than `keras.losses.Loss`: it takes keypoint weights and a
    mask next to the target, which Keras' `(y_true, y_pred, sample_weight)` call cannot.

    Args:
        use_target_weight: weight each keypoint's squared error by its `target_weights`.
            (MMPose 1.3.2 applies given weights even when this is False; every MMPose
            heatmap config sets it True, where both agree.)
        skip_empty_channel: leave out target channels that are zero everywhere (no
            keypoint in the image).
        loss_weight: factor on the loss.
    """

    def __init__(self, use_target_weight: bool = False, skip_empty_channel: bool = False,
                 loss_weight: float = 1.0):
        if not isinstance(loss_weight, (int, float)) or isinstance(loss_weight, bool):
            raise ValueError(f"loss_weight must be a number, received {loss_weight!r}")
        self.use_target_weight = bool(use_target_weight)
        self.skip_empty_channel = bool(skip_empty_channel)
        self.loss_weight = float(loss_weight)

    def __call__(self, output: tf.Tensor, target: tf.Tensor,
                 target_weights: Optional[tf.Tensor] = None,
                 mask: Optional[tf.Tensor] = None) -> tf.Tensor:
        """Computes the loss.

        Args:
            output: (B, H, W, K) predicted heatmaps.
            target: (B, H, W, K) target heatmaps.
            target_weights: (B, K) keypoint weights or (B, H, W, K) pixel weights; used
                when `use_target_weight` is True.
            mask: pixel mask broadcastable to (B, H, W, K), e.g. (B, H, W, 1), or None.

        Returns:
            Scalar float32 loss.
        """
        # float32 whatever the model's compute dtype, so mixed precision keeps a stable loss.
        output = tf.cast(output, tf.float32)
        target = tf.cast(target, tf.float32)
        if output.shape.rank != 4:
            raise ValueError(f"output must be (B, H, W, K), received shape {output.shape}")
        full_mask = None
        if mask is not None:
            mask = tf.convert_to_tensor(mask)
            if mask.shape.rank != 4:
                raise ValueError(f"mask must be 4-D (B, H, W, K or 1), received shape "
                                 f"{mask.shape}")
            full_mask = tf.cast(mask, output.dtype)
        if self.use_target_weight and target_weights is not None:
            weights = tf.cast(target_weights, output.dtype)
            if weights.shape.rank == 2:
                weights = weights[:, None, None, :]
            elif weights.shape.rank != 4:
                raise ValueError("target_weights must be (B, K) or (B, H, W, K), received "
                                 f"shape {weights.shape}")
            full_mask = weights if full_mask is None else full_mask * weights
        if self.skip_empty_channel:
            nonempty = tf.reduce_any(target != 0, axis=(1, 2), keepdims=True)
            nonempty = tf.cast(nonempty, output.dtype)
            full_mask = nonempty if full_mask is None else full_mask * nonempty
        squared = tf.math.squared_difference(output, target)
        if full_mask is not None:
            squared = squared * full_mask
        return tf.reduce_mean(squared) * self.loss_weight

    def get_config(self) -> Dict[str, Any]:
        return {
            "use_target_weight": self.use_target_weight,
            "skip_empty_channel": self.skip_empty_channel,
            "loss_weight": self.loss_weight,
        }

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "KeypointMSELoss":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"KeypointMSELoss({args})"
