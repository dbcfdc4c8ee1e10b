"""Trajectory regression head of VideoPose3D: the root's 3D position from TCN features."""

import gin
import keras

from kpose.models.heads._lifting_head import LiftingHead
from kpose.models.losses.mpjpe_loss import MPJPELoss


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class TrajectoryRegressionHead(LiftingHead):
    """MMPose's `TrajectoryRegressionHead`: a kernel-1 conv (`conv`) from the last feature
    (B, T', C) to (B * T', K, 3) (K = 1: the root's trajectory).

    `loss(outputs, targets)` returns `loss_traj` (the loss module on
    `lifting_target_label` weighted by `trajectory_weights`) and `mpjpe_traj` (logged).

    Args:
        in_channels: feature channels C.
        num_joints: K (1 for the root trajectory).
        loss: called as `loss(pred, target, weights (B, K, 1))`; defaults to
            `MPJPELoss(use_target_weight=True)` as MMPose.
        **kwargs: `keras.layers.Layer` arguments.
    """

    loss_names = ("loss_traj", "mpjpe_traj")
    _loss_key = "loss_traj"
    _metric_key = "mpjpe_traj"
    _weight_key = "trajectory_weights"

    @staticmethod
    def _default_loss():
        return MPJPELoss(use_target_weight=True)
