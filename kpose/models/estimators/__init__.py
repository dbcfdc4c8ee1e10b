"""Pose estimators: `keras.Model`s that train with `fit` and decode in `predict`."""

from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
from kpose.models.estimators.pose_lifter import PoseLifter

__all__ = ["TopdownPoseEstimator", "PoseLifter"]
