"""Pose estimators: `keras.Model`s that train with `fit` and decode in `predict`."""

from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
from kpose.models.estimators.pose_lifter import PoseLifter
from kpose.models.estimators.bottomup_pose_estimator import BottomupPoseEstimator, flatten_instances

__all__ = ["TopdownPoseEstimator", "PoseLifter", "BottomupPoseEstimator", "flatten_instances"]
