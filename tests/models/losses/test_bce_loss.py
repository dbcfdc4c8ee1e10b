import json
import os

import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip

from kpose.models.losses.bce_loss import BCELoss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "fixtures", "goldens", "losses.npz")


@pytest.mark.parametrize("case", ["logits_mean", "logits_sum_1d", "probs_none"])
def test_matches_mmpose(case):
    data = np.load(GOLDENS)
    kwargs, inputs, weights = json.loads(str(data["bce/configs"]))[case]
    loss = BCELoss(**kwargs)(data[f"bce/{inputs}"], data["bce/target"],
                             data[f"bce/{weights}"])
    np.testing.assert_allclose(loss, data[f"bce/{case}"], rtol=1e-5)


def test_probability_zero_is_clamped_with_a_finite_gradient():
    probs = tf.Variable([[0.0, 0.5]])
    with tf.GradientTape() as tape:
        loss = BCELoss(use_sigmoid=True, reduction="sum")(probs, [[1.0, 1.0]])
    np.testing.assert_allclose(loss, 100.0 + np.log(2), rtol=1e-6)
    grad = tape.gradient(loss, probs).numpy()
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(grad[0, 1], -2.0, rtol=1e-6)


def test_logits_equal_probabilities_through_a_sigmoid():
    logits = np.array([[-2.0, 0.3, 4.0]], np.float32)
    target = np.array([[0.0, 1.0, 0.7]], np.float32)
    on_logits = BCELoss()(logits, target)
    on_probs = BCELoss(use_sigmoid=True)(tf.sigmoid(logits), target)
    np.testing.assert_allclose(on_logits, on_probs, rtol=1e-5)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="reduction"):
        BCELoss(reduction="avg")
    with pytest.raises(ValueError, match="target_weights"):
        BCELoss(use_target_weight=True)(np.zeros((1, 2)), np.zeros((1, 2)))


def test_config_round_trip():
    loss = BCELoss(use_target_weight=True, loss_weight=2.0, reduction="none",
                   use_sigmoid=True)
    rebuilt = assert_config_round_trip(loss)
    assert rebuilt.get_config() == loss.get_config()
    assert "reduction='none'" in repr(rebuilt)
