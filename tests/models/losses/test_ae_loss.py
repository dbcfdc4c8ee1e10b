"""AssociativeEmbeddingLoss against MMPose 1.3.2 goldens (tools/dev/make_ae_goldens.py)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kpose.models.losses.ae_loss import AssociativeEmbeddingLoss

GOLDENS = np.load(os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "goldens",
                               "associative_embedding.npz"))


@pytest.mark.parametrize("case", ["loss_l1", "loss_l2"])
def test_pull_push_and_gradients_match_mmpose(case):
    loss = AssociativeEmbeddingLoss(loss_weight=0.001, push_loss_factor=0.5)
    tags = tf.Variable(GOLDENS[f"{case}__tags"])
    with tf.GradientTape() as tape:
        pull, push = loss(tags, GOLDENS[f"{case}__keypoint_indices"])
        total = pull + push
    np.testing.assert_allclose(pull.numpy(), GOLDENS[f"{case}__pull"], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(push.numpy(), GOLDENS[f"{case}__push"], rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(tape.gradient(total, tags).numpy(), GOLDENS[f"{case}__grad"],
                               rtol=1e-4, atol=1e-9)


def test_known_values():
    # One image, two people with one keypoint each at tags 0 and 1: pull 0, push
    # (2 * exp(0) + 2 * exp(-1)) / 2.
    tags = np.zeros((1, 2, 2, 1), np.float32)
    tags[0, 0, 1, 0] = 1.0
    idx = np.array([[[[0, 1]], [[1, 1]]]])
    pull, push = AssociativeEmbeddingLoss(push_loss_factor=1.0)(tags, idx)
    assert float(pull) == pytest.approx(0.0)
    assert float(push) == pytest.approx((2 + 2 * np.exp(-1.0)) / (2 + 1e-6), rel=1e-6)


def test_config_and_bad_arguments():
    loss = AssociativeEmbeddingLoss(loss_weight=0.001)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert clone.get_config() == loss.get_config()
    with pytest.raises(ValueError, match="received"):
        AssociativeEmbeddingLoss(loss_weight="x")
    with pytest.raises(ValueError, match="received shapes"):
        loss(np.zeros((1, 4, 4, 3)), np.zeros((1, 2, 3)))
