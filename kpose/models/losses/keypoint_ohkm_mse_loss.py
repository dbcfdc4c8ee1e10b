"""Heatmap MSE that keeps only the hardest keypoints of each sample."""

from typing import Any, Dict, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.losses import utils


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class KeypointOHKMMSELoss:
    """MSE with online hard keypoint mining, MMPose's `KeypointOHKMMSELoss`.

    Each keypoint's loss is the mean over H*W of `(output*w - target*w)**2`; per sample,
    the `topk` largest keypoint losses are averaged, then the samples are averaged, times
    `loss_weight`. (Weights multiply both maps before the difference, as MMPose does.)

    Args:
        use_target_weight: weight each keypoint by its `target_weights`.
        topk: number of hardest keypoints kept per sample; at most K.
        loss_weight: factor on the loss.
    """

    def __init__(self, use_target_weight: bool = False, topk: int = 8,
                 loss_weight: float = 1.0):
        if not isinstance(topk, int) or isinstance(topk, bool) or topk <= 0:
            raise ValueError(f"topk must be a positive integer, received {topk!r}")
        self.use_target_weight = bool(use_target_weight)
        self.topk = topk
        self.loss_weight = utils.check_number("loss_weight", loss_weight)

    def __call__(self, output: tf.Tensor, target: tf.Tensor,
                 target_weights: Optional[tf.Tensor] = None) -> tf.Tensor:
        """Computes the loss.

        Args:
            output: (B, H, W, K) predicted heatmaps.
            target: (B, H, W, K) target heatmaps.
            target_weights: (B, K) keypoint weights; needed if `use_target_weight`.

        Returns:
            Scalar float32 loss.
        """
        output = tf.cast(output, tf.float32)
        target = tf.cast(target, tf.float32)
        if output.shape.rank != 4:
            raise ValueError(f"output must be (B, H, W, K), received shape {output.shape}")
        num_keypoints = output.shape[-1]
        if num_keypoints is not None and num_keypoints < self.topk:
            raise ValueError(f"topk ({self.topk}) must not exceed the number of keypoints, "
                             f"received {num_keypoints} keypoints")
        if self.use_target_weight:
            weights = utils.require_weights(target_weights, "KeypointOHKMMSELoss")
            if weights.shape.rank != 2:
                raise ValueError("target_weights must be (B, K), received shape "
                                 f"{weights.shape}")
            weights = weights[:, None, None, :]
            output, target = output * weights, target * weights
        per_keypoint = tf.reduce_mean(tf.math.squared_difference(output, target), axis=(1, 2))
        hardest = tf.math.top_k(per_keypoint, k=self.topk, sorted=False).values
        return tf.reduce_mean(tf.reduce_sum(hardest, axis=1) / self.topk) * self.loss_weight

    def get_config(self) -> Dict[str, Any]:
        return {"use_target_weight": self.use_target_weight, "topk": self.topk,
                "loss_weight": self.loss_weight}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "KeypointOHKMMSELoss":
        return cls(**config)

    def __repr__(self) -> str:
        return utils.format_repr(self)
