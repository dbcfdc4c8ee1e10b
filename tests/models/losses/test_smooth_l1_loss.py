import json
import os

import numpy as np
import pytest
from keras_test_case import assert_config_round_trip

from kpose.models.losses.smooth_l1_loss import SmoothL1Loss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "fixtures", "goldens", "losses.npz")


@pytest.mark.parametrize("case", ['plain', 'weighted'])
def test_matches_mmpose(case):
    data = np.load(GOLDENS)
    kwargs = json.loads(str(data["reg/configs"]))["SmoothL1Loss"][case]
    loss = SmoothL1Loss(**kwargs)(data["reg/output"], data["reg/target"], data["reg/weights"])
    np.testing.assert_allclose(loss, data[f"reg/SmoothL1Loss/{case}"], rtol=1e-5)


def test_weight_shapes_agree():
    # (B, K), (B, K, 1) and (B, K, D) weights mean the same thing.
    data = np.load(GOLDENS)
    weights = data["reg/weights"]
    loss = SmoothL1Loss(use_target_weight=True)
    want = loss(data["reg/output"], data["reg/target"], weights)
    for shaped in (weights[..., None], np.repeat(weights[..., None], 2, axis=-1)):
        np.testing.assert_allclose(loss(data["reg/output"], data["reg/target"], shaped),
                                   want, rtol=1e-6)


def test_missing_weights_raise():
    coords = np.zeros((2, 3, 2), np.float32)
    with pytest.raises(ValueError, match="target_weights"):
        SmoothL1Loss(use_target_weight=True)(coords, coords)
    with pytest.raises(ValueError, match="target_weights"):
        SmoothL1Loss(use_target_weight=True)(coords, coords, np.ones((2, 3, 2, 1)))
    with pytest.raises(ValueError, match="loss_weight"):
        SmoothL1Loss(loss_weight=None)


def test_known_values():
    out = np.array([[[0.5, -3.0]]], np.float32)
    # 0.5 * 0.5**2 below 1, |d| - 0.5 above; mean of two.
    np.testing.assert_allclose(SmoothL1Loss()(out, np.zeros_like(out)), (0.125 + 2.5) / 2)


def test_config_round_trip():
    loss = SmoothL1Loss(use_target_weight=True, loss_weight=3.0)
    rebuilt = assert_config_round_trip(loss)
    assert rebuilt.get_config() == loss.get_config()
    assert "loss_weight=3.0" in repr(rebuilt)
