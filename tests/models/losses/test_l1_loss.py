import json
import os

import numpy as np
import pytest
from keras_test_case import assert_config_round_trip

from kpose.models.losses.l1_loss import L1Loss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "fixtures", "goldens", "losses.npz")


@pytest.mark.parametrize("case", ['plain', 'weighted', 'sum', 'none'])
def test_matches_mmpose(case):
    data = np.load(GOLDENS)
    kwargs = json.loads(str(data["reg/configs"]))["L1Loss"][case]
    loss = L1Loss(**kwargs)(data["reg/output"], data["reg/target"], data["reg/weights"])
    np.testing.assert_allclose(loss, data[f"reg/L1Loss/{case}"], rtol=1e-5)


def test_weight_shapes_agree():
    # (B, K), (B, K, 1) and (B, K, D) weights mean the same thing.
    data = np.load(GOLDENS)
    weights = data["reg/weights"]
    loss = L1Loss(use_target_weight=True)
    want = loss(data["reg/output"], data["reg/target"], weights)
    for shaped in (weights[..., None], np.repeat(weights[..., None], 2, axis=-1)):
        np.testing.assert_allclose(loss(data["reg/output"], data["reg/target"], shaped),
                                   want, rtol=1e-6)


def test_missing_weights_raise():
    coords = np.zeros((2, 3, 2), np.float32)
    with pytest.raises(ValueError, match="target_weights"):
        L1Loss(use_target_weight=True)(coords, coords)
    with pytest.raises(ValueError, match="target_weights"):
        L1Loss(use_target_weight=True)(coords, coords, np.ones((2, 3, 2, 1)))
    with pytest.raises(ValueError, match="loss_weight"):
        L1Loss(loss_weight=None)


def test_known_values():
    out = np.array([[[1.0, -1.0], [0.0, 3.0]]], np.float32)
    target = np.zeros_like(out)
    np.testing.assert_allclose(L1Loss()(out, target), 1.25)
    np.testing.assert_allclose(L1Loss(reduction="sum", loss_weight=2.0)(out, target), 10.0)
    np.testing.assert_allclose(L1Loss(reduction="none")(out, target), np.abs(out))
    weighted = L1Loss(use_target_weight=True)(out, target, np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(weighted, 0.5)


def test_bad_reduction_and_config_round_trip():
    with pytest.raises(ValueError, match="reduction"):
        L1Loss(reduction="max")
    loss = L1Loss(reduction="sum", use_target_weight=True, loss_weight=0.5)
    rebuilt = assert_config_round_trip(loss)
    assert rebuilt.get_config() == loss.get_config()
    assert repr(rebuilt) == "L1Loss(reduction='sum', use_target_weight=True, loss_weight=0.5)"
