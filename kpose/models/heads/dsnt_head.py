"""Top-down DSNT head (Nibali et al., 2018): integral regression plus a heatmap loss."""

from typing import Any, Dict, Mapping, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.heads._regression_utils import coordinate_accuracy, regression_targets
from kpose.models.heads.integral_regression_head import IntegralRegressionHead
from kpose.models.losses.js_discret_loss import JSDiscretLoss
from kpose.models.losses.multiple_loss_wrapper import MultipleLossWrapper
from kpose.models.losses.smooth_l1_loss import SmoothL1Loss


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class DSNTHead(IntegralRegressionHead):
    """`IntegralRegressionHead` whose training also supervises the heatmaps, as MMPose's
    `DSNTHead`.

    The loss is MMPose's pair of losses: `loss([coords, heatmaps], [keypoint_labels,
    target heatmaps], keypoint_weights)` returns two values whose sum is `loss_kpt`.
    MMPose's integral recipes all use this head: IPR with `MultipleLossWrapper(
    [SmoothL1Loss(use_target_weight=True), KeypointMSELoss(use_target_weight=True)])`,
    DSNT and debias with `JSDiscretLoss(use_target_weight=True)` second (the default).
    From epoch `lambda_t` on (0-based, when `lambda_t > 0`) only the first (coordinate)
    loss counts; the trainer reports the epoch with `set_epoch` (MMPose reads it from its
    MessageHub).

    Layers, outputs and the other arguments are `IntegralRegressionHead`'s.

    Args:
        in_channels: channels of the last feature map (None: take what comes).
        lambda_t: epoch from which the heatmap loss is dropped; -1 (or 0) never.
        loss: the pair of losses as above; defaults to `MultipleLossWrapper(
            [SmoothL1Loss(use_target_weight=True), JSDiscretLoss(use_target_weight=True)])`.
        **kwargs: `IntegralRegressionHead` arguments (num_joints, deconvs, ...).
    """

    def __init__(self, in_channels: Optional[int] = None, *, lambda_t: int = -1,
                 loss: Optional[Any] = None, **kwargs):
        if loss is None:
            loss = MultipleLossWrapper([SmoothL1Loss(use_target_weight=True),
                                        JSDiscretLoss(use_target_weight=True)])
        num_losses = getattr(loss, "num_losses", 2)
        if num_losses != 2:
            raise ValueError(f"DSNTHead needs two losses (coordinates, heatmaps), received "
                             f"{loss!r}")
        super().__init__(in_channels, loss=loss, **kwargs)
        if not isinstance(lambda_t, int) or isinstance(lambda_t, bool):
            raise ValueError(f"lambda_t must be an int, received {lambda_t!r}")
        self.lambda_t = lambda_t
        # A variable, not a Python int, so that a traced train step sees each new epoch;
        # a plain tf.Variable is not a Keras weight (not saved, not counted).
        self._epoch = tf.Variable(0, trainable=False, dtype=tf.int64, name="epoch")

    def set_epoch(self, epoch: int) -> None:
        """Tells the head the current (0-based) training epoch, for `lambda_t`."""
        self._epoch.assign(int(epoch))

    def loss(self, outputs, targets: Mapping[str, Any]) -> Dict[str, tf.Tensor]:
        """Loss terms and training accuracy of a batch, as MMPose's `DSNTHead.loss`.

        Args:
            outputs: `(coords (B, K, 2), heatmaps (B, H, W, K))` from `call`.
            targets: dict with "keypoint_labels" (B, K, 2), "keypoint_weights" (B, K) and
                "heatmaps" (B, H, W, K), as `IntegralRegressionLabel` encodes them.

        Returns:
            {"loss_kpt": coordinate + heatmap loss, "acc_pose": scalar PCK@0.05 of the
            normalised coordinates on keypoints with weight > 0 (no gradient)}.
        """
        coords, heatmaps = outputs
        labels, weights = regression_targets(targets, type(self).__name__, ("heatmaps",))
        loss_coords, loss_heatmaps = self.loss_module(
            [coords, heatmaps], [labels, targets["heatmaps"]], weights)
        loss_kpt = loss_coords + loss_heatmaps
        if self.lambda_t > 0:
            loss_kpt = tf.where(self._epoch >= self.lambda_t, loss_coords, loss_kpt)
        return {"loss_kpt": loss_kpt, "acc_pose": coordinate_accuracy(coords, labels,
                                                                      weights)}

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["lambda_t"] = self.lambda_t
        return config
