import os

import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip

from kpose.models.losses.keypoint_mse_loss import KeypointMSELoss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures",
                       "resnet_heatmap_head_goldens.npz")


@pytest.mark.parametrize("name, kwargs, call", [
    ("plain", {}, ()),
    ("weighted", dict(use_target_weight=True), ("weights",)),
    ("masked", dict(use_target_weight=True, loss_weight=2.5), ("weights", "mask")),
    ("skip_empty", dict(skip_empty_channel=True), ()),
])
def test_matches_mmpose(name, kwargs, call):
    data = np.load(GOLDENS)
    args = [data[f"fn/{key}"] for key in call]
    loss = KeypointMSELoss(**kwargs)(data["fn/output"], data["fn/target"], *args)
    np.testing.assert_allclose(loss, data[f"fn/mse_{name}"], rtol=1e-6)


def test_reduction_is_a_plain_masked_mean():
    out = np.ones((2, 3, 3, 2), np.float32)
    target = np.zeros_like(out)
    weights = np.array([[1, 0], [0, 0]], np.float32)
    # One of four channels counts; the mean still divides by all elements, no 0.5.
    loss = KeypointMSELoss(use_target_weight=True)(out, target, weights)
    np.testing.assert_allclose(loss, 0.25)
    # use_target_weight=False ignores the weights.
    np.testing.assert_allclose(KeypointMSELoss()(out, target, weights), 1.0)


def test_pixel_weights_and_gradient():
    out = tf.Variable(np.zeros((1, 2, 2, 1), np.float32))
    target = np.ones((1, 2, 2, 1), np.float32)
    pixel = np.array([1, 0, 0, 1], np.float32).reshape(1, 2, 2, 1)
    with tf.GradientTape() as tape:
        loss = KeypointMSELoss(use_target_weight=True)(out, target, pixel)
    np.testing.assert_allclose(loss, 0.5)
    grad = tape.gradient(loss, out).numpy().ravel()
    np.testing.assert_allclose(grad, [-0.5, 0, 0, -0.5])


def test_works_inside_tf_function_with_float16_outputs():
    fn = tf.function(lambda o, t: KeypointMSELoss()(o, t))
    loss = fn(tf.ones((1, 2, 2, 1), tf.float16), tf.zeros((1, 2, 2, 1)))
    assert loss.dtype == tf.float32
    np.testing.assert_allclose(loss, 1.0)


@pytest.mark.parametrize("call, match", [
    (lambda l: l(np.zeros((2, 2, 2)), np.zeros((2, 2, 2))), "output"),
    (lambda l: l(np.zeros((1, 2, 2, 1)), np.zeros((1, 2, 2, 1)), np.zeros((1, 1, 1))),
     "target_weights"),
    (lambda l: l(np.zeros((1, 2, 2, 1)), np.zeros((1, 2, 2, 1)), None, np.zeros((2, 2))),
     "mask"),
])
def test_bad_shapes_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call(KeypointMSELoss(use_target_weight=True))


def test_bad_loss_weight_raises():
    with pytest.raises(ValueError, match="loss_weight"):
        KeypointMSELoss(loss_weight="1")


def test_config_round_trip():
    loss = KeypointMSELoss(use_target_weight=True, skip_empty_channel=True, loss_weight=0.5)
    rebuilt = assert_config_round_trip(loss)
    assert rebuilt.get_config() == loss.get_config()
    assert "loss_weight=0.5" in repr(rebuilt)
