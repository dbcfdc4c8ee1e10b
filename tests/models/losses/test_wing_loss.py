import json
import os

import numpy as np
import pytest
from keras_test_case import assert_config_round_trip

from kpose.models.losses.wing_loss import WingLoss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "fixtures", "goldens", "losses.npz")


@pytest.mark.parametrize("case", ['plain', 'weighted'])
def test_matches_mmpose(case):
    data = np.load(GOLDENS)
    kwargs = json.loads(str(data["reg/configs"]))["WingLoss"][case]
    loss = WingLoss(**kwargs)(data["reg/output"], data["reg/target"], data["reg/weights"])
    np.testing.assert_allclose(loss, data[f"reg/WingLoss/{case}"], rtol=1e-5)


def test_weight_shapes_agree():
    # (B, K), (B, K, 1) and (B, K, D) weights mean the same thing.
    data = np.load(GOLDENS)
    weights = data["reg/weights"]
    loss = WingLoss(use_target_weight=True)
    want = loss(data["reg/output"], data["reg/target"], weights)
    for shaped in (weights[..., None], np.repeat(weights[..., None], 2, axis=-1)):
        np.testing.assert_allclose(loss(data["reg/output"], data["reg/target"], shaped),
                                   want, rtol=1e-6)


def test_missing_weights_raise():
    coords = np.zeros((2, 3, 2), np.float32)
    with pytest.raises(ValueError, match="target_weights"):
        WingLoss(use_target_weight=True)(coords, coords)
    with pytest.raises(ValueError, match="target_weights"):
        WingLoss(use_target_weight=True)(coords, coords, np.ones((2, 3, 2, 1)))
    with pytest.raises(ValueError, match="loss_weight"):
        WingLoss(loss_weight=None)


def test_known_values_and_continuity():
    loss = WingLoss(omega=10.0, epsilon=2.0)
    out = np.array([[[1.0, 0.0]], [[20.0, 0.0]]], np.float32)
    c = 10.0 * (1 - np.log(1 + 10.0 / 2.0))
    # Sum over K, D per sample, mean over B.
    np.testing.assert_allclose(loss(out, np.zeros_like(out)),
                               (10 * np.log(1.5) + 20.0 - c) / 2, rtol=1e-6)
    below = loss(np.full((1, 1, 1), 10.0 - 1e-3, np.float32), np.zeros((1, 1, 1)))
    above = loss(np.full((1, 1, 1), 10.0, np.float32), np.zeros((1, 1, 1)))
    np.testing.assert_allclose(below, above, atol=1e-2)


def test_config_round_trip():
    with pytest.raises(ValueError, match="epsilon"):
        WingLoss(epsilon=-1.0)
    loss = WingLoss(omega=5.0, epsilon=1.5, use_target_weight=True, loss_weight=2.0)
    rebuilt = assert_config_round_trip(loss)
    assert rebuilt.get_config() == loss.get_config()
    assert "omega=5.0" in repr(rebuilt)
