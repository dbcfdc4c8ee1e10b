"""Adaptive wing loss for heatmap regression (Wang et al., ICCV 2019)."""

from typing import Any, Dict, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.losses import utils


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class AdaptiveWingLoss:
    """Adaptive wing loss on heatmaps, MMPose's `AdaptiveWingLoss`.

    With `delta = |target - output|` and the exponent `a = alpha - target`, each pixel
    costs `omega * log(1 + (delta / epsilon)**a)` below `theta` and the tangent line
    `A * delta - C` above it (A, C make the two pieces meet smoothly, per pixel). The
    result is the mean over all pixels, times `loss_weight`. Weights multiply both maps
    before the difference, as MMPose does (so they also shift the exponent).

    Args:
        alpha: exponent offset; must exceed the largest target value + 1 for a finite
            slope at delta = 0 (heatmaps in [0, 1] are fine with the default).
        omega: scale of the nonlinear part.
        epsilon: curvature.
        theta: threshold between the nonlinear and linear parts.
        use_target_weight: weight keypoints (or pixels) by `target_weights`.
        loss_weight: factor on the loss.
    """

    def __init__(self, alpha: float = 2.1, omega: float = 14.0, epsilon: float = 1.0,
                 theta: float = 0.5, use_target_weight: bool = False,
                 loss_weight: float = 1.0):
        self.alpha = utils.check_number("alpha", alpha)
        self.omega = utils.check_number("omega", omega, positive=True)
        self.epsilon = utils.check_number("epsilon", epsilon, positive=True)
        self.theta = utils.check_number("theta", theta, positive=True)
        self.use_target_weight = bool(use_target_weight)
        self.loss_weight = utils.check_number("loss_weight", loss_weight)

    def __call__(self, output: tf.Tensor, target: tf.Tensor,
                 target_weights: Optional[tf.Tensor] = None) -> tf.Tensor:
        """Computes the loss.

        Args:
            output: (B, H, W, K) predicted heatmaps.
            target: (B, H, W, K) target heatmaps.
            target_weights: (B, K) keypoint or (B, H, W, K) pixel weights; needed if
                `use_target_weight`.

        Returns:
            Scalar float32 loss.
        """
        output = tf.cast(output, tf.float32)
        target = tf.cast(target, tf.float32)
        if output.shape.rank != 4:
            raise ValueError(f"output must be (B, H, W, K), received shape {output.shape}")
        if self.use_target_weight:
            weights = utils.require_weights(target_weights, "AdaptiveWingLoss")
            if weights.shape.rank not in (2, 4):
                raise ValueError("target_weights must be (B, K) or (B, H, W, K), received "
                                 f"shape {weights.shape}")
            weights = utils.channels_last_weights(weights, 4)
            output, target = output * weights, target * weights
        return self._criterion(output, target) * self.loss_weight

    def _criterion(self, output: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
        delta = tf.abs(target - output)
        exponent = self.alpha - target
        ratio = self.theta / self.epsilon
        ratio_pow = tf.pow(ratio, exponent)
        slope = (self.omega / (1.0 + ratio_pow) * exponent
                 * tf.pow(ratio, exponent - 1.0) / self.epsilon)
        offset = self.theta * slope - self.omega * tf.math.log1p(ratio_pow)
        # Clamp the base of the unused branch so its gradient cannot turn into NaN.
        near = self.omega * tf.math.log1p(
            tf.pow(tf.minimum(delta, self.theta) / self.epsilon, exponent))
        losses = tf.where(delta < self.theta, near, slope * delta - offset)
        return tf.reduce_mean(losses)

    def get_config(self) -> Dict[str, Any]:
        return {"alpha": self.alpha, "omega": self.omega, "epsilon": self.epsilon,
                "theta": self.theta, "use_target_weight": self.use_target_weight,
                "loss_weight": self.loss_weight}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "AdaptiveWingLoss":
        return cls(**config)

    def __repr__(self) -> str:
        return utils.format_repr(self)
