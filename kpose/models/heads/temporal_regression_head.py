"""Temporal regression head of VideoPose3D: root-relative 3D joints from TCN features."""

import gin
import keras

from kpose.models.heads._lifting_head import LiftingHead
from kpose.models.losses.mse_loss import MSELoss


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class TemporalRegressionHead(LiftingHead):
    """MMPose's `TemporalRegressionHead`: a kernel-1 conv (`conv`) from the last feature
    (B, T', C) to (B * T', K, 3) joints (B, K, 3 for one output frame).

    `loss(outputs, targets)` returns `loss_pose3d` (the loss module on
    `lifting_target_label` weighted by `lifting_target_weight`) and `mpjpe` (training
    MPJPE over weighted joints, logged only).

    Args:
        in_channels: feature channels C.
        num_joints: K.
        loss: called as `loss(pred, target, weights (B, K, 1))`; defaults to
            `MSELoss(use_target_weight=True)` as MMPose (its configs use `MPJPELoss()`).
        **kwargs: `keras.layers.Layer` arguments.
    """

    loss_names = ("loss_pose3d", "mpjpe")
    _loss_key = "loss_pose3d"
    _metric_key = "mpjpe"
    _weight_key = "lifting_target_weight"

    @staticmethod
    def _default_loss():
        return MSELoss(use_target_weight=True)
