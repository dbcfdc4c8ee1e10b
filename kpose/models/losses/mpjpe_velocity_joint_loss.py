"""MPJPE + scale-normalised MPJPE + velocity error, for sequences of 3D poses."""

from typing import Any, Dict, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.losses import utils
from kpose.models.losses._joint_distance import safe_norm, weighted


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class MPJPEVelocityJointLoss:
    """MMPose's `MPJPEVelocityJointLoss` (MotionBERT's training loss).

    `mpjpe + lambda_scale * n_mpjpe + lambda_3d_velocity * velocity_error`, times
    `loss_weight`, where n-MPJPE first scales each sequence's prediction by
    `mean_k(<target, output>) / mean_k(|output|^2)` (per frame) and the velocity error is
    the MPJPE of frame-to-frame differences along the frame axis (-3).

    Args:
        use_target_weight: multiply differences by `target_weights`.
        loss_weight: factor on the loss.
        lambda_scale: factor of the n-MPJPE term.
        lambda_3d_velocity: factor of the velocity term.
    """

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.0,
                 lambda_scale: float = 0.5, lambda_3d_velocity: float = 20.0):
        self.use_target_weight = bool(use_target_weight)
        self.loss_weight = utils.check_number("loss_weight", loss_weight)
        self.lambda_scale = utils.check_number("lambda_scale", lambda_scale)
        self.lambda_3d_velocity = utils.check_number("lambda_3d_velocity", lambda_3d_velocity)

    def __call__(self, output: Any, target: Any, target_weights: Optional[Any] = None):
        """Computes the loss.

        Args:
            output: (B, T, K, D) predicted joint sequences.
            target: (B, T, K, D) targets.
            target_weights: weights broadcastable to (B, T, K, D) and to the velocities
                (B, T - 1, K, D), e.g. (B, 1, K, 1); needed with `use_target_weight`.

        Returns:
            Scalar float32 loss.
        """
        output = tf.cast(output, tf.float32)
        target = tf.cast(target, tf.float32)
        if output.shape.rank is not None and output.shape.rank < 3:
            raise ValueError(f"MPJPEVelocityJointLoss needs (..., T, K, D) sequences, "
                             f"received output shape {output.shape}")
        norm_output = tf.reduce_mean(tf.reduce_sum(tf.square(output), -1, keepdims=True),
                                     axis=-2, keepdims=True)
        norm_target = tf.reduce_mean(tf.reduce_sum(target * output, -1, keepdims=True),
                                     axis=-2, keepdims=True)
        velocity_output = output[..., 1:, :, :] - output[..., :-1, :, :]
        velocity_target = target[..., 1:, :, :] - target[..., :-1, :, :]

        def mean_norm(diff):
            diff = weighted(diff, target_weights, self.use_target_weight,
                             "MPJPEVelocityJointLoss")
            return tf.reduce_mean(safe_norm(diff))

        mpjpe = mean_norm(output - target)
        n_mpjpe = mean_norm(norm_target / norm_output * output - target)
        velocity = mean_norm(velocity_output - velocity_target)
        loss = mpjpe + n_mpjpe * self.lambda_scale + velocity * self.lambda_3d_velocity
        return loss * self.loss_weight

    def get_config(self) -> Dict[str, Any]:
        return {"use_target_weight": self.use_target_weight, "loss_weight": self.loss_weight,
                "lambda_scale": self.lambda_scale,
                "lambda_3d_velocity": self.lambda_3d_velocity}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "MPJPEVelocityJointLoss":
        return cls(**config)

    def __repr__(self) -> str:
        return utils.format_repr(self)
