import json
import os

import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip

from kpose.models.losses.adaptive_wing_loss import AdaptiveWingLoss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "fixtures", "goldens", "losses.npz")


@pytest.mark.parametrize("case, weights", [
    ("plain", "weights"), ("weighted", "weights"), ("pixel", "pixel_weights")])
def test_matches_mmpose(case, weights):
    data = np.load(GOLDENS)
    kwargs = json.loads(str(data["awing/configs"]))[case]
    loss = AdaptiveWingLoss(**kwargs)(data["awing/output"], data["awing/target"],
                                      data[f"awing/{weights}"])
    np.testing.assert_allclose(loss, data[f"awing/{case}"], rtol=1e-5)


def test_known_values_and_finite_gradient():
    target = np.zeros((1, 1, 2, 1), np.float32)
    output = tf.Variable(np.array([0.0, 2.0], np.float32).reshape(1, 1, 2, 1))
    loss_fn = AdaptiveWingLoss(alpha=2.0, omega=1.0, epsilon=1.0, theta=0.5)
    with tf.GradientTape() as tape:
        loss = loss_fn(output, target)
    # delta 0 costs 0; delta 2 is on the line A*d - C, A = 2*0.5/1.25, C = 0.5A - log 1.25.
    a = 2 * 0.5 / 1.25
    np.testing.assert_allclose(loss, (a * 2 - (0.5 * a - np.log(1.25))) / 2, rtol=1e-6)
    grad = tape.gradient(loss, output).numpy().ravel()
    np.testing.assert_allclose(grad, [0.0, a / 2], rtol=1e-6)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="omega"):
        AdaptiveWingLoss(omega=0)
    with pytest.raises(ValueError, match="alpha"):
        AdaptiveWingLoss(alpha=None)
    maps = np.zeros((1, 2, 2, 3), np.float32)
    with pytest.raises(ValueError, match="target_weights"):
        AdaptiveWingLoss(use_target_weight=True)(maps, maps)
    with pytest.raises(ValueError, match="target_weights"):
        AdaptiveWingLoss(use_target_weight=True)(maps, maps, np.ones((1, 2, 3)))


def test_config_round_trip():
    loss = AdaptiveWingLoss(alpha=2.0, omega=10, epsilon=0.5, theta=0.3,
                            use_target_weight=True, loss_weight=2.0)
    rebuilt = assert_config_round_trip(loss)
    assert rebuilt.get_config() == loss.get_config()
    assert "theta=0.3" in repr(rebuilt)
