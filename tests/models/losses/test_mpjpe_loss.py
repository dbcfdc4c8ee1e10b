"""MPJPELoss against MMPose 1.3.2 goldens (tests/fixtures/goldens/pose_lifting.npz)."""

import numpy as np
import pytest
import tensorflow as tf

from kpose.models.losses.mpjpe_loss import MPJPELoss
from keras_test_case import assert_config_round_trip
from lifting_goldens import load, section

CASES = [("mpjpe", MPJPELoss), ("mpjpe_w", MPJPELoss)]


@pytest.mark.parametrize("case, cls", CASES)
def test_matches_mmpose(case, cls):
    data, configs = load()
    inputs = section(data, "loss_in")
    loss = cls(**configs[f"loss_{case}"])
    value = loss(inputs["output"], inputs["target"], inputs["weight"])
    np.testing.assert_allclose(float(value), float(data[f"loss_{case}/value"]), rtol=1e-5)
    assert_config_round_trip(loss)


def test_gradient_is_finite_where_weighted_joints_are_zero():
    out = tf.Variable(np.ones((2, 3, 3), np.float32))
    weights = np.zeros((2, 3, 1), np.float32)
    with tf.GradientTape() as tape:
        value = MPJPELoss(use_target_weight=True)(out, np.ones((2, 3, 3)), weights)
    grad = tape.gradient(value, out)
    assert float(value) == 0.0 and np.all(np.isfinite(grad.numpy()))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="loss_weight"):
        MPJPELoss(loss_weight="x")
    with pytest.raises(ValueError, match="target_weights"):
        MPJPELoss(use_target_weight=True)(np.zeros((1, 2, 3)), np.zeros((1, 2, 3)))
