import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.models.utils.real_nvp import RealNVP

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "fixtures", "goldens", "losses.npz")


def mmpose_state(data, case):
    """The flow's state dict as tools/dev/make_loss_goldens.py drew it."""
    config = json.loads(str(data["rle/configs"]))[case]
    rng = np.random.RandomState(config["seed"])
    state = {}
    for key, shape in zip(data["rle/state_keys"], data["rle/state_shapes"]):
        state[str(key)] = (rng.standard_normal(tuple(json.loads(str(shape)))) * 0.1
                           ).astype(np.float32)
    state["loc"], state["cov"] = np.array(config["loc"]), np.array(config["cov"])
    return state


def test_parameters_match_mmpose():
    flow = RealNVP(name="flow_model")
    # 6 scale + 6 translation nets of 2-64-64-2: MMPose's 53784 parameters.
    assert sum(int(np.prod(w.shape)) for w in flow.trainable_weights) == 53784
    names = [w.path for w in flow.non_trainable_weights]
    assert names == ["flow_model/loc", "flow_model/cov", "flow_model/mask"]
    assert "flow_model/s_5_4/kernel" in [w.path for w in flow.trainable_weights]
    np.testing.assert_array_equal(flow.mask.numpy(), [[0, 1], [1, 0]] * 3)


def test_initialisation_follows_mmpose():
    # Xavier-uniform kernels with gain 0.01, PyTorch's default U(+-1/sqrt(fan_in)) biases.
    keras.utils.set_random_seed(0)
    flow = RealNVP()
    for layer in flow.s[0] + flow.t[5]:
        fan_in, fan_out = layer.kernel.shape
        kernel_bound = 0.01 * np.sqrt(6.0 / (fan_in + fan_out))
        kernel = layer.kernel.numpy()
        assert np.abs(kernel).max() <= kernel_bound
        assert np.abs(kernel).max() > 0.5 * kernel_bound
        bias = layer.bias.numpy()
        assert np.abs(bias).max() <= 1 / np.sqrt(fan_in)
        if bias.size > 2:
            assert np.abs(bias).max() > 0.5 / np.sqrt(fan_in)


@pytest.mark.parametrize("case", ["default", "weighted_gaussian", "no_residual_sum"])
def test_log_prob_matches_mmpose(case):
    data = np.load(GOLDENS)
    flow = RealNVP()
    flow.load_state_dict(mmpose_state(data, case))
    got = flow.log_prob(data["rle/flow_x"])
    np.testing.assert_allclose(got, data[f"rle/{case}/log_prob"], rtol=1e-5, atol=1e-5)


def test_log_prob_is_a_density():
    # Integrates to ~1 over a grid (random weights, non-standard prior).
    data = np.load(GOLDENS)
    flow = RealNVP()
    flow.load_state_dict(mmpose_state(data, "weighted_gaussian"))
    step = 0.1
    grid = np.stack(np.meshgrid(np.arange(-8, 8, step), np.arange(-8, 8, step)), -1)
    prob = tf.exp(flow(grid.reshape(-1, 2).astype(np.float32)))
    np.testing.assert_allclose(tf.reduce_sum(prob) * step ** 2, 1.0, atol=0.01)


def test_bad_inputs_raise():
    flow = RealNVP()
    with pytest.raises(ValueError, match="received shape"):
        flow(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match="s.0.0.bias"):
        flow.load_state_dict({"s.0.0.weight": np.zeros((64, 2))})
    state = mmpose_state(np.load(GOLDENS), "default")
    state["extra"] = np.zeros(1)
    with pytest.raises(ValueError, match="extra"):
        flow.load_state_dict(state)


def test_config_and_saving_round_trip(tmp_path):
    assert_config_round_trip(RealNVP(name="flow_model"))
    x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    assert_saving_round_trip(RealNVP(), x, tmp_path)
