"""Jensen-Shannon divergence between predicted and target heatmaps (DSNT)."""

from typing import Any, Dict, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.losses import utils

# MMPose adds this inside the log so that empty bins give log(1e-24), not -inf.
_LOG_EPSILON = 1e-24


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class JSDiscretLoss:
    """Discrete JS divergence of normalised heatmaps, MMPose's `JSDiscretLoss`.

    With `m = (p + q) / 2`, each pixel costs `(KL(p || m) + KL(q || m)) / 2` (pointwise
    `p * (log p - log(m + 1e-24))`, 0 where p is 0); the sum over everything is divided
    by B if `size_average`. Weights multiply both maps first.

    Args:
        use_target_weight: weight keypoints (or samples) by `target_weights`.
        size_average: divide the summed loss by the batch size.
    """

    def __init__(self, use_target_weight: bool = True, size_average: bool = True):
        self.use_target_weight = bool(use_target_weight)
        self.size_average = bool(size_average)

    def __call__(self, pred_hm: tf.Tensor, gt_hm: tf.Tensor,
                 target_weights: Optional[tf.Tensor] = None) -> tf.Tensor:
        """Computes the loss.

        Args:
            pred_hm: (B, H, W, K) predicted heatmaps, each summing to 1.
            gt_hm: (B, H, W, K) target heatmaps.
            target_weights: (B, K) keypoint or (B,) sample weights; needed if
                `use_target_weight`.

        Returns:
            Scalar float32 loss.
        """
        pred_hm = tf.cast(pred_hm, tf.float32)
        gt_hm = tf.cast(gt_hm, tf.float32)
        if pred_hm.shape.rank is None or pred_hm.shape.rank < 2:
            raise ValueError(f"pred_hm must be (B, H, W, K), received shape {pred_hm.shape}")
        if self.use_target_weight:
            weights = utils.require_weights(target_weights, "JSDiscretLoss")
            weights = utils.channels_last_weights(weights, pred_hm.shape.rank)
            pred_hm, gt_hm = pred_hm * weights, gt_hm * weights
        mean = 0.5 * (pred_hm + gt_hm)
        js = 0.5 * (self._kl(pred_hm, mean) + self._kl(gt_hm, mean))
        loss = tf.reduce_sum(js)
        if self.size_average:
            loss = loss / tf.cast(tf.shape(gt_hm)[0], tf.float32)
        return loss

    @staticmethod
    def _kl(p: tf.Tensor, q: tf.Tensor) -> tf.Tensor:
        return tf.math.xlogy(p, p) - p * tf.math.log(q + _LOG_EPSILON)

    def get_config(self) -> Dict[str, Any]:
        return {"use_target_weight": self.use_target_weight, "size_average": self.size_average}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "JSDiscretLoss":
        return cls(**config)

    def __repr__(self) -> str:
        return utils.format_repr(self)
