"""TrajectoryRegressionHead: MMPose's defaults, loss on trajectory weights, round trip."""

import numpy as np

from kpose.models.heads.trajectory_regression_head import TrajectoryRegressionHead
from kpose.models.losses.mpjpe_loss import MPJPELoss
from keras_test_case import assert_config_round_trip, assert_saving_round_trip


def test_default_loss_and_terms(tmp_path):
    head = TrajectoryRegressionHead(4, 1)
    assert isinstance(head.loss_module, MPJPELoss) and head.loss_module.use_target_weight
    targets = {"lifting_target_label": np.array([[[0, 3, 4]], [[1, 0, 0]]], np.float32),
               "trajectory_weights": np.array([[0.5], [1.0]], np.float32)}
    terms = head.loss(np.zeros((2, 1, 3), np.float32), targets)
    np.testing.assert_allclose(float(terms["loss_traj"]), (2.5 + 1.0) / 2)
    np.testing.assert_allclose(float(terms["mpjpe_traj"]), 3.0)
    x = np.random.default_rng(0).normal(size=(2, 1, 4)).astype(np.float32)
    assert tuple(head(x).shape) == (2, 1, 3)
    assert_config_round_trip(head)
    assert_saving_round_trip(head, x, tmp_path)
