"""KL divergence between predicted and label SimCC distributions (RTMPose, SimCC)."""

from typing import Any, Dict, Optional, Sequence, Tuple

import gin
import keras
import tensorflow as tf

from kpose.models.losses import utils


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class KLDiscretLoss:
    """Discrete KL divergence of 1-D SimCC classifications, MMPose's `KLDiscretLoss`.

    For each axis (x, then y) the prediction becomes `log_softmax(pred * beta)` over the
    bins and the label, if `label_softmax`, `softmax(label * label_beta)`; the loss of a
    keypoint is the mean over bins of `label * (log(label) - log_pred)` (0 where the label
    is 0), times its weight (and `mask_weight` for the keypoints in `mask`). The sum over
    samples, keypoints and both axes is divided by K (not by B: MMPose's reduction).

    Args:
        beta: temperature applied to the predictions before the softmax.
        label_softmax: turn the labels into a distribution with a softmax first.
        label_beta: temperature of that label softmax.
        use_target_weight: weight keypoints by `target_weights`.
        mask: indices of keypoints whose loss is scaled by `mask_weight`, or None.
        mask_weight: factor on the masked keypoints' losses.
    """

    def __init__(self, beta: float = 1.0, label_softmax: bool = False,
                 label_beta: float = 10.0, use_target_weight: bool = True,
                 mask: Optional[Sequence[int]] = None, mask_weight: float = 1.0):
        self.beta = utils.check_number("beta", beta)
        self.label_softmax = bool(label_softmax)
        self.label_beta = utils.check_number("label_beta", label_beta)
        self.use_target_weight = bool(use_target_weight)
        if mask is not None:
            if (not isinstance(mask, (list, tuple))
                    or not all(isinstance(i, int) and not isinstance(i, bool) for i in mask)):
                raise ValueError(f"mask must be a list of keypoint indices or None, "
                                 f"received {mask!r}")
            mask = [int(i) for i in mask]
        self.mask = mask
        self.mask_weight = utils.check_number("mask_weight", mask_weight)

    def __call__(self, pred_simcc: Tuple[tf.Tensor, ...], gt_simcc: Tuple[tf.Tensor, ...],
                 target_weights: Optional[tf.Tensor] = None) -> tf.Tensor:
        """Computes the loss.

        Args:
            pred_simcc: (pred_x (B, K, Wx), pred_y (B, K, Wy)) logits.
            gt_simcc: (target_x (B, K, Wx), target_y (B, K, Wy)) labels.
            target_weights: (B, K) keypoint weights; needed if `use_target_weight`.

        Returns:
            Scalar float32 loss.
        """
        if not pred_simcc or len(pred_simcc) != len(gt_simcc):
            raise ValueError(f"pred_simcc and gt_simcc must have as many axes, received "
                             f"{len(pred_simcc)} and {len(gt_simcc)}")
        weights = None
        if self.use_target_weight:
            weights = utils.require_weights(target_weights, "KLDiscretLoss")
            if weights.shape.rank != 2:
                raise ValueError(f"target_weights must be (B, K), received shape "
                                 f"{weights.shape}")
        total = tf.constant(0.0, tf.float32)
        num_keypoints = None
        for pred, label in zip(pred_simcc, gt_simcc):
            pred = tf.cast(pred, tf.float32)
            label = tf.cast(label, tf.float32)
            if pred.shape.rank != 3:
                raise ValueError(f"SimCC predictions must be (B, K, W), received shape "
                                 f"{pred.shape}")
            num_keypoints = tf.shape(pred)[1]
            log_pred = tf.nn.log_softmax(pred * self.beta, axis=-1)
            if self.label_softmax:
                label = tf.nn.softmax(label * self.label_beta, axis=-1)
            kl = tf.reduce_mean(tf.math.xlogy(label, label) - label * log_pred, axis=-1)
            if weights is not None:
                kl = kl * weights
            if self.mask is not None:
                kl = kl * self._mask_factors(num_keypoints)
            total += tf.reduce_sum(kl)
        return total / tf.cast(num_keypoints, tf.float32)

    def _mask_factors(self, num_keypoints: tf.Tensor) -> tf.Tensor:
        # (K,) ones with mask_weight at the masked keypoints.
        hit = tf.reduce_any(tf.range(num_keypoints)[:, None] == tf.constant(self.mask)[None],
                            axis=1)
        return tf.where(hit, self.mask_weight, 1.0)

    def get_config(self) -> Dict[str, Any]:
        return {"beta": self.beta, "label_softmax": self.label_softmax,
                "label_beta": self.label_beta, "use_target_weight": self.use_target_weight,
                "mask": self.mask, "mask_weight": self.mask_weight}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "KLDiscretLoss":
        return cls(**config)

    def __repr__(self) -> str:
        return utils.format_repr(self)
