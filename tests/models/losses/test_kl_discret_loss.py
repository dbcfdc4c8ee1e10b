import json
import os

import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip

from kpose.models.losses.kl_discret_loss import KLDiscretLoss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
                       "fixtures", "goldens", "losses.npz")


@pytest.mark.parametrize("case", ["rtmpose", "default", "masked"])
def test_matches_mmpose(case):
    data = np.load(GOLDENS)
    kwargs = json.loads(str(data["kl/configs"]))[case]
    loss = KLDiscretLoss(**kwargs)((data["kl/pred_x"], data["kl/pred_y"]),
                                   (data["kl/target_x"], data["kl/target_y"]),
                                   data["kl/weights"])
    np.testing.assert_allclose(loss, data[f"kl/{case}"], rtol=1e-5)


def test_known_values_and_graph_mode():
    # Uniform logits against a one-hot label over 4 bins: KL = log 4 per axis, mean over
    # bins divides by 4; two axes, summed over B*K = 2 keypoints, divided by K = 2.
    pred = np.zeros((1, 2, 4), np.float32)
    label = np.zeros((1, 2, 4), np.float32)
    label[..., 1] = 1
    loss = KLDiscretLoss(use_target_weight=False)
    np.testing.assert_allclose(loss((pred, pred), (label, label)), 2 * np.log(4) / 4,
                               rtol=1e-6)
    fn = tf.function(lambda p, t, w: KLDiscretLoss()((p, p), (t, t), w))
    weights = np.array([[1.0, 0.0]], np.float32)
    np.testing.assert_allclose(fn(tf.constant(pred, tf.float16), label, weights),
                               np.log(4) / 4, rtol=1e-6)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="mask"):
        KLDiscretLoss(mask="0,1")
    with pytest.raises(ValueError, match="beta"):
        KLDiscretLoss(beta="10")
    simcc = np.zeros((1, 2, 4), np.float32)
    with pytest.raises(ValueError, match="target_weights"):
        KLDiscretLoss()((simcc, simcc), (simcc, simcc))
    with pytest.raises(ValueError, match="target_weights"):
        KLDiscretLoss()((simcc, simcc), (simcc, simcc), np.ones((2,)))
    with pytest.raises(ValueError, match="as many"):
        KLDiscretLoss()((simcc, simcc), (simcc,), np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"\(B, K, W\)"):
        KLDiscretLoss(use_target_weight=False)((simcc[0],), (simcc[0],))


def test_config_round_trip():
    loss = KLDiscretLoss(beta=10.0, label_softmax=True, label_beta=2.0,
                         use_target_weight=False, mask=[0, 2], mask_weight=0.5)
    rebuilt = assert_config_round_trip(loss)
    assert rebuilt.get_config() == loss.get_config()
    assert "mask=[0, 2]" in repr(rebuilt)
