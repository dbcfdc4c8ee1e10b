"""TemporalRegressionHead (outputs checked against MMPose in tests/models/backbones/test_tcn.py)."""

import numpy as np
import pytest

from kpose.models.heads.temporal_regression_head import TemporalRegressionHead
from kpose.models.losses.mpjpe_loss import MPJPELoss
from kpose.models.losses.mse_loss import MSELoss
from keras_test_case import assert_config_round_trip, assert_saving_round_trip


def test_loss_terms_are_known_values():
    head = TemporalRegressionHead(4, 2, loss=MPJPELoss(use_target_weight=True))
    out = np.zeros((1, 2, 3), np.float32)
    targets = {"lifting_target_label": np.array([[[3, 4, 0], [0, 0, 2]]], np.float32),
               "lifting_target_weight": np.array([[1, 0]], np.float32)}
    terms = head.loss(out, targets)
    # Weighted MPJPE: mean over both joints of (5, 0); training MPJPE over weighted joints: 5.
    np.testing.assert_allclose(float(terms["loss_pose3d"]), 2.5)
    np.testing.assert_allclose(float(terms["mpjpe"]), 5.0)
    assert isinstance(TemporalRegressionHead(4, 2).loss_module, MSELoss)
    with pytest.raises(ValueError, match="lifting_target_weight"):
        head.loss(out, {"lifting_target_label": targets["lifting_target_label"]})


def test_one_pose_per_output_frame_and_round_trip(tmp_path):
    head = TemporalRegressionHead(6, 17)
    x = np.random.default_rng(0).normal(size=(2, 3, 6)).astype(np.float32)
    out = head((x,))
    assert tuple(out.shape) == (6, 17, 3)
    np.testing.assert_allclose(out.numpy()[1], (x[0, 1] @ head.conv.kernel.numpy()[0] +
                                               head.conv.bias.numpy()).reshape(17, 3),
                               rtol=1e-5, atol=1e-6)
    assert_config_round_trip(head)
    assert_saving_round_trip(head, x, tmp_path)
    with pytest.raises(ValueError, match="num_joints"):
        TemporalRegressionHead(6, 0)
    with pytest.raises(ValueError, match="expects 6"):
        head.build((None, 3, 5))
