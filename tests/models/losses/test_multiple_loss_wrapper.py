import os

import keras
import numpy as np
import pytest
from keras_test_case import assert_config_round_trip

from kpose.models.losses.js_discret_loss import JSDiscretLoss
from kpose.models.losses.multiple_loss_wrapper import MultipleLossWrapper
from kpose.models.losses.rle_loss import RLELoss
from kpose.models.losses.smooth_l1_loss import SmoothL1Loss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "fixtures", "goldens", "losses.npz")


def test_applies_each_loss_to_its_pair():
    # The DSNT / IPR layout: a coordinate loss and a heatmap loss, shared weights.
    data = np.load(GOLDENS)
    wrapper = MultipleLossWrapper([SmoothL1Loss(use_target_weight=True), JSDiscretLoss()])
    assert wrapper.num_losses == 2
    coord, heatmap = wrapper([data["reg/output"], data["js/pred"]],
                             [data["reg/target"], data["js/target"]], data["js/weights"])
    np.testing.assert_allclose(heatmap, data["js/default"], rtol=1e-5)
    want = SmoothL1Loss(use_target_weight=True)(data["reg/output"], data["reg/target"],
                                                data["js/weights"])
    np.testing.assert_allclose(coord, want, rtol=1e-6)


def test_tracks_weights_of_layer_losses():
    assert len(MultipleLossWrapper([RLELoss(), SmoothL1Loss()]).trainable_weights) == 72


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="losses"):
        MultipleLossWrapper([])
    with pytest.raises(ValueError, match="callable"):
        MultipleLossWrapper([SmoothL1Loss(), 3])
    coords = np.zeros((1, 2, 2), np.float32)
    with pytest.raises(ValueError, match="2 entries"):
        MultipleLossWrapper([SmoothL1Loss(), SmoothL1Loss()])([coords], [coords])


def test_config_and_saving_round_trip(tmp_path):
    wrapper = MultipleLossWrapper([SmoothL1Loss(loss_weight=2.0), JSDiscretLoss(False)])
    rebuilt = assert_config_round_trip(wrapper)
    assert rebuilt.loss_modules[0].loss_weight == 2.0
    rng = np.random.default_rng(1)
    coords = [rng.standard_normal((2, 3, 2)).astype(np.float32) for _ in range(2)]
    maps = [rng.uniform(0, 1, (2, 4, 4, 3)).astype(np.float32) for _ in range(2)]
    inputs = [keras.Input((3, 2)), keras.Input((3, 2)), keras.Input((4, 4, 3)),
              keras.Input((4, 4, 3))]
    model = keras.Model(inputs, wrapper([inputs[0], inputs[2]], [inputs[1], inputs[3]]))
    expected = model(coords + maps)
    path = os.path.join(tmp_path, "wrapper.keras")
    model.save(path)
    actual = keras.saving.load_model(path, safe_mode=True)(coords + maps)
    np.testing.assert_allclose(actual, expected, rtol=1e-6)
    np.testing.assert_allclose(expected[1], JSDiscretLoss(False)(maps[0], maps[1]), rtol=1e-6)
