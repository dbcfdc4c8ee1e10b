import json
import os

import numpy as np
import pytest
from keras_test_case import assert_config_round_trip

from kpose.models.losses.js_discret_loss import JSDiscretLoss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "fixtures", "goldens", "losses.npz")


@pytest.mark.parametrize("case", ["default", "plain_sum"])
def test_matches_mmpose(case):
    data = np.load(GOLDENS)
    kwargs = json.loads(str(data["js/configs"]))[case]
    loss = JSDiscretLoss(**kwargs)(data["js/pred"], data["js/target"], data["js/weights"])
    np.testing.assert_allclose(loss, data[f"js/{case}"], rtol=1e-5)


def test_known_values():
    # Disjoint one-hot maps: JS = log 2 per keypoint; identical maps: 0.
    p = np.zeros((2, 2, 1, 1), np.float32)
    q = np.zeros_like(p)
    p[:, 0], q[:, 1] = 1, 1
    loss = JSDiscretLoss(use_target_weight=False)
    np.testing.assert_allclose(loss(p, q), np.log(2), rtol=1e-6)
    np.testing.assert_allclose(loss(p, p), 0.0, atol=1e-7)
    # (B,) sample weights: the second sample drops out (and the batch mean still halves).
    np.testing.assert_allclose(JSDiscretLoss()(p, q, np.array([1.0, 0.0])), np.log(2) / 2,
                               rtol=1e-6)


def test_bad_arguments_raise():
    maps = np.zeros((1, 2, 2, 3), np.float32)
    with pytest.raises(ValueError, match="target_weights"):
        JSDiscretLoss()(maps, maps)
    with pytest.raises(ValueError, match="target_weights"):
        JSDiscretLoss()(maps, maps, np.ones((1, 2, 3)))
    with pytest.raises(ValueError, match="pred_hm"):
        JSDiscretLoss()(np.zeros(3), np.zeros(3), np.ones(3))


def test_config_round_trip():
    loss = JSDiscretLoss(use_target_weight=False, size_average=False)
    rebuilt = assert_config_round_trip(loss)
    assert rebuilt.get_config() == loss.get_config()
    assert repr(rebuilt) == "JSDiscretLoss(use_target_weight=False, size_average=False)"
