import os

import keras
import numpy as np
import pytest
from keras_test_case import assert_config_round_trip

from kpose.models.losses.combined_loss import CombinedLoss
from kpose.models.losses.js_discret_loss import JSDiscretLoss
from kpose.models.losses.keypoint_mse_loss import KeypointMSELoss
from kpose.models.losses.l1_loss import L1Loss
from kpose.models.losses.rle_loss import RLELoss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "fixtures", "goldens", "losses.npz")


def test_named_access_and_call_match_the_parts():
    data = np.load(GOLDENS)
    combined = CombinedLoss(
        {"coord_loss": L1Loss(use_target_weight=True, loss_weight=0.5),
         "heatmap_loss": JSDiscretLoss()},
        loss_weights={"heatmap_loss": 3.0})
    # MMPose-style access gives the loss itself (its own loss_weight, not loss_weights).
    assert combined.coord_loss is combined["coord_loss"]
    coord = combined.coord_loss(data["reg/output"], data["reg/target"], data["reg/weights"])
    np.testing.assert_allclose(coord, data["reg/L1Loss/weighted"], rtol=1e-5)
    results = combined({
        "coord_loss": (data["reg/output"], data["reg/target"], data["reg/weights"]),
        "heatmap_loss": {"pred_hm": data["js/pred"], "gt_hm": data["js/target"],
                         "target_weights": data["js/weights"]},
    })
    assert list(results) == ["coord_loss", "heatmap_loss"]
    np.testing.assert_allclose(results["coord_loss"], data["reg/L1Loss/weighted"], rtol=1e-5)
    np.testing.assert_allclose(results["heatmap_loss"], 3.0 * data["js/default"], rtol=1e-5)
    # Losses left out of the call are skipped.
    only = combined({"heatmap_loss": (data["js/pred"], data["js/target"], data["js/weights"])})
    assert list(only) == ["heatmap_loss"]


def test_tracks_weights_of_layer_losses():
    combined = CombinedLoss({"rle": RLELoss(), "mse": KeypointMSELoss()})
    assert len(combined.trainable_weights) == 72

    class Head(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.loss_module = combined

    assert len(Head().trainable_weights) == 72


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="losses"):
        CombinedLoss({})
    with pytest.raises(ValueError, match="'name'"):
        CombinedLoss({"name": L1Loss()})
    with pytest.raises(ValueError, match="'loss_weights'"):
        CombinedLoss({"loss_weights": L1Loss()})
    with pytest.raises(ValueError, match="callable"):
        CombinedLoss({"l1": "L1Loss"})
    with pytest.raises(ValueError, match="loss_weights"):
        CombinedLoss({"l1": L1Loss()}, loss_weights={"l2": 1.0})
    combined = CombinedLoss({"l1": L1Loss()})
    with pytest.raises(ValueError, match="l2"):
        combined({"l2": (np.zeros((1, 1, 2)), np.zeros((1, 1, 2)))})
    with pytest.raises(KeyError, match="l2"):
        combined["l2"]
    with pytest.raises(AttributeError, match="l2"):
        combined.l2


def test_config_and_saving_round_trip(tmp_path):
    combined = CombinedLoss({"rle": RLELoss(use_target_weight=True),
                             "l1": L1Loss(reduction="sum")}, loss_weights={"l1": 0.5})
    rebuilt = assert_config_round_trip(combined)
    assert isinstance(rebuilt.rle, RLELoss) and rebuilt.rle.use_target_weight
    assert rebuilt.loss_weights == {"rle": 1.0, "l1": 0.5}
    # A .keras file of a functional model around the set keeps the flow's weights.
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3, 2)).astype(np.float32) for _ in range(3)]
    weights = rng.uniform(0, 1, (2, 3)).astype(np.float32)
    inputs = [keras.Input((3, 2)) for _ in range(3)] + [keras.Input((3,))]
    outputs = combined({"rle": tuple(inputs), "l1": (inputs[0], inputs[2])})
    model = keras.Model(inputs, outputs)
    for variable in combined.rle.trainable_weights:
        variable.assign(rng.standard_normal(variable.shape).astype(np.float32) * 0.1)
    expected = model(arrays + [weights])
    path = os.path.join(tmp_path, "combined.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    actual = loaded(arrays + [weights])
    for name in ("rle", "l1"):
        np.testing.assert_allclose(actual[name], expected[name], rtol=1e-6)
    np.testing.assert_allclose(expected["l1"], 0.5 * np.abs(arrays[0] - arrays[2]).sum(),
                               rtol=1e-5)
