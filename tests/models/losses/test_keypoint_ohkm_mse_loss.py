import json
import os

import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip

from kpose.models.losses.keypoint_ohkm_mse_loss import KeypointOHKMMSELoss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "fixtures", "goldens", "losses.npz")


@pytest.mark.parametrize("case", ["plain", "weighted", "all"])
def test_matches_mmpose(case):
    data = np.load(GOLDENS)
    kwargs = json.loads(str(data["ohkm/configs"]))[case]
    loss = KeypointOHKMMSELoss(**kwargs)(data["ohkm/output"], data["ohkm/target"],
                                         data["ohkm/weights"])
    np.testing.assert_allclose(loss, data[f"ohkm/{case}"], rtol=1e-5)


def test_keeps_the_hardest_keypoints():
    output = np.zeros((2, 1, 1, 3), np.float32)
    target = np.array([1, 2, 3, 0, 0, 4], np.float32).reshape(2, 1, 1, 3)
    # Sample 0 keeps 9 and 4, sample 1 keeps 16 and 0: ((13 / 2) + (16 / 2)) / 2.
    loss = KeypointOHKMMSELoss(topk=2, loss_weight=2.0)(output, target)
    np.testing.assert_allclose(loss, 14.5)
    fn = tf.function(lambda o, t: KeypointOHKMMSELoss(topk=2)(o, t))
    np.testing.assert_allclose(fn(tf.constant(output, tf.float16), target), 7.25)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="topk"):
        KeypointOHKMMSELoss(topk=0)
    with pytest.raises(ValueError, match="loss_weight"):
        KeypointOHKMMSELoss(loss_weight="1")
    maps = np.zeros((1, 2, 2, 3), np.float32)
    with pytest.raises(ValueError, match="topk"):
        KeypointOHKMMSELoss(topk=4)(maps, maps)
    with pytest.raises(ValueError, match="target_weights"):
        KeypointOHKMMSELoss(topk=2, use_target_weight=True)(maps, maps)
    with pytest.raises(ValueError, match="output"):
        KeypointOHKMMSELoss(topk=2)(maps[0], maps[0])


def test_config_round_trip():
    loss = KeypointOHKMMSELoss(use_target_weight=True, topk=3, loss_weight=0.5)
    rebuilt = assert_config_round_trip(loss)
    assert rebuilt.get_config() == loss.get_config()
    assert repr(rebuilt) == ("KeypointOHKMMSELoss(use_target_weight=True, topk=3, "
                             "loss_weight=0.5)")
