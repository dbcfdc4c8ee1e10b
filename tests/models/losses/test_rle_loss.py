import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip

from kpose.models.losses.rle_loss import RLELoss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "fixtures", "goldens", "losses.npz")
CASES = ["default", "weighted_gaussian", "no_residual_sum"]


def make_loss(data, case):
    """RLELoss with the flow weights tools/dev/make_loss_goldens.py drew for `case`."""
    config = json.loads(str(data["rle/configs"]))[case]
    loss = RLELoss(**config["kwargs"])
    rng = np.random.RandomState(config["seed"])
    state = {str(key): (rng.standard_normal(tuple(json.loads(str(shape)))) * 0.1
                        ).astype(np.float32)
             for key, shape in zip(data["rle/state_keys"], data["rle/state_shapes"])}
    state["loc"], state["cov"] = np.array(config["loc"]), np.array(config["cov"])
    loss.flow_model.load_state_dict(state)
    return loss


@pytest.mark.parametrize("case", CASES)
def test_value_and_gradients_match_mmpose(case):
    data = np.load(GOLDENS)
    loss = make_loss(data, case)
    pred, sigma = tf.Variable(data["rle/pred"]), tf.Variable(data["rle/sigma"])
    with tf.GradientTape() as tape:
        # MMPose's RLEHead passes weights (B, K, 1); (B, K) is broadcast the same way.
        value = loss(pred, sigma, data["rle/target"], data["rle/weights"])
    grad_pred, grad_sigma = tape.gradient(value, [pred, sigma])
    np.testing.assert_allclose(value, data[f"rle/{case}"], rtol=1e-5)
    np.testing.assert_allclose(grad_pred, data[f"rle/{case}/grad_pred"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(grad_sigma, data[f"rle/{case}/grad_sigma"], rtol=1e-4,
                               atol=1e-5)


def test_flow_weights_are_trainable_and_tracked():
    loss = RLELoss()
    assert len(loss.trainable_weights) == 72
    data = np.load(GOLDENS)
    with tf.GradientTape() as tape:
        value = loss(data["rle/pred"], data["rle/sigma"], data["rle/target"])
    grads = tape.gradient(value, loss.trainable_weights)
    assert all(g is not None for g in grads)
    assert any(float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)

    class Head(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.loss_module = RLELoss()

    head = Head()
    assert len(head.trainable_weights) == 72


def test_works_in_tf_function_with_float16_inputs():
    data = np.load(GOLDENS)
    loss = make_loss(data, "default")
    fn = tf.function(lambda p, s, t: loss(p, s, t))
    value = fn(tf.constant(data["rle/pred"], tf.float16), data["rle/sigma"],
               data["rle/target"])
    assert value.dtype == tf.float32
    np.testing.assert_allclose(value, data["rle/default"], rtol=1e-2)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="q_distribution"):
        RLELoss(q_distribution="cauchy")
    coords = np.zeros((2, 3, 2), np.float32)
    with pytest.raises(ValueError, match="target_weights"):
        RLELoss(use_target_weight=True)(coords, coords, coords)
    with pytest.raises(ValueError, match="pred"):
        RLELoss()(np.zeros((2, 3, 3)), np.zeros((2, 3, 3)), np.zeros((2, 3, 3)))


def test_config_and_weights_round_trip(tmp_path):
    data = np.load(GOLDENS)
    loss = make_loss(data, "weighted_gaussian")
    rebuilt = assert_config_round_trip(loss)
    assert rebuilt.get_config()["q_distribution"] == "gaussian"
    assert "use_target_weight=True" in repr(rebuilt)
    # Weights through a .weights.h5 file of a model that owns the loss, as a head would.
    args = (data["rle/pred"], data["rle/sigma"], data["rle/target"], data["rle/weights"])

    class Owner(keras.Model):
        def __init__(self, loss_module):
            super().__init__()
            self.loss_module = loss_module

        def call(self, inputs):
            return self.loss_module(*inputs)

    path = os.path.join(tmp_path, "rle.weights.h5")
    saved = Owner(loss)
    saved(args)
    saved.save_weights(path)
    owner = Owner(rebuilt)
    owner(args)
    owner.load_weights(path)
    np.testing.assert_allclose(owner(args), data["rle/weighted_gaussian"], rtol=1e-5)
