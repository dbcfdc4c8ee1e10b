"""MPJPEVelocityJointLoss against MMPose 1.3.2 goldens (tests/fixtures/goldens/pose_lifting.npz)."""

import numpy as np
import pytest

from kpose.models.losses.mpjpe_velocity_joint_loss import MPJPEVelocityJointLoss
from keras_test_case import assert_config_round_trip
from lifting_goldens import load, section


@pytest.mark.parametrize("case", ["vel", "vel_w"])
def test_matches_mmpose(case):
    data, configs = load()
    inputs = section(data, "loss_in")
    loss = MPJPEVelocityJointLoss(**configs[f"loss_{case}"])
    value = loss(inputs["output"], inputs["target"], inputs["weight"])
    np.testing.assert_allclose(float(value), float(data[f"loss_{case}/value"]), rtol=1e-5)
    assert_config_round_trip(loss)


def test_a_constant_offset_costs_only_the_position_terms():
    target = np.random.default_rng(0).normal(size=(2, 4, 17, 3)).astype(np.float32)
    shifted = target + np.float32([0.3, 0.4, 0.0])  # 0.5 away, same velocities
    loss = MPJPEVelocityJointLoss(lambda_scale=0.0, lambda_3d_velocity=20.0)
    np.testing.assert_allclose(float(loss(shifted, target)), 0.5, rtol=1e-5)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="sequences"):
        MPJPEVelocityJointLoss()(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="lambda_scale"):
        MPJPEVelocityJointLoss(lambda_scale=None)
