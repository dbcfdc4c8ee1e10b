"""Top-down regression head of RLE (Li et al., 2021): coordinates and their sigmas."""

from typing import Any, Dict, Mapping

import gin
import keras
import tensorflow as tf

from kpose.models.heads._regression_utils import coordinate_accuracy, regression_targets
from kpose.models.heads.regression_head import RegressionHead
from kpose.models.losses.rle_loss import RLELoss

# sigmoid(x) in float32 is exactly 1 for x > ~17 and underflows for x < ~-88; clipping
# there keeps the logit finite (the regions where the loss's gradient is ~0 anyway).
_SIGMA_MIN = 1e-30
_SIGMA_MAX = 1.0 - 2.0 ** -24


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class RLEHead(RegressionHead):
    """Regresses K normalised coordinates and their scales (sigmas), as MMPose's `RLEHead`.

    One fully connected layer `fc` maps the flattened last feature to K * 4 values per
    sample: (x, y, sigma_x, sigma_y). Training uses `RLELoss` (residual log-likelihood
    with a RealNVP flow); the loss is a layer with weights, kept as the `loss_module`
    sublayer so that they are trained and saved with the head (MMPose's
    `head.loss_module.flow_model.*`).

    Output: (B, K, 4), sigmas already passed through the sigmoid. MMPose's `forward`
    returns raw sigma logits and applies the sigmoid in `predict` before the flip
    average and decoding; here the sigmoid is part of `call`, so that the estimator's flip
    average and `RegressionLabel.batch_decode` (scores `mean(1 - sigma)`) see MMPose's
    predict-time values. `loss` turns the sigmas back into logits for `RLELoss`, which
    applies the sigmoid itself as MMPose's does (equal up to float rounding).

    Args: as `RegressionHead`; `loss` defaults to `RLELoss(use_target_weight=True)` and is
    called as `loss(pred_coords, sigma_logits, target, target_weights)`.
    """

    _values_per_joint = 4

    @staticmethod
    def _default_loss():
        return RLELoss(use_target_weight=True)

    def build(self, input_shape):
        super().build(input_shape)
        # Create the flow's weights now, so they exist for saving and counting before
        # the first loss call.
        if isinstance(self.loss_module, keras.layers.Layer) and not self.loss_module.built:
            self.loss_module.build(None)

    def call(self, feats, training=None):
        """Computes coordinates and sigmas.

        Args:
            feats: sequence of features (the last is used), or one feature.
            training: unused.

        Returns:
            (B, K, 4): normalised (x, y) and sigmoid sigmas (sigma_x, sigma_y).
        """
        raw = super().call(feats, training=training)
        return keras.ops.concatenate(
            [raw[..., :2], keras.ops.sigmoid(raw[..., 2:])], axis=-1)

    def loss(self, outputs, targets: Mapping[str, Any]) -> Dict[str, tf.Tensor]:
        """Loss terms and training accuracy of a batch, as MMPose's `RLEHead.loss`.

        Args:
            outputs: (B, K, 4) from `call`.
            targets: dict with "keypoint_labels" (B, K, 2) and "keypoint_weights" (B, K).

        Returns:
            {"loss_kpt": scalar RLE loss, "acc_pose": scalar PCK@0.05 of the normalised
            coordinates on keypoints with weight > 0 (no gradient)}.
        """
        labels, weights = regression_targets(targets, type(self).__name__)
        outputs = tf.cast(outputs, tf.float32)
        coords = outputs[..., :2]
        sigma = tf.clip_by_value(outputs[..., 2:4], _SIGMA_MIN, _SIGMA_MAX)
        sigma_logits = tf.math.log(sigma) - tf.math.log1p(-sigma)
        loss_kpt = self.loss_module(coords, sigma_logits, labels, weights[..., None])
        return {"loss_kpt": loss_kpt, "acc_pose": coordinate_accuracy(coords, labels,
                                                                      weights)}
