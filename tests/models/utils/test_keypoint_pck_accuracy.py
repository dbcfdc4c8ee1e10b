"""kpose.models.utils.accuracy.keypoint_pck_accuracy against MMPose 1.3.2.

The golden is in tests/models/fixtures/regression_heads_goldens.npz (`pck/*`), written by
`/tmp/mmpose-ref/bin/python tools/dev/make_head_goldens.py ...` (see that script).
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from kpose.models.utils.accuracy import keypoint_pck_accuracy

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures",
                       "regression_heads_goldens.npz")


@pytest.mark.parametrize("thr", [0.1, 0.3])
def test_matches_mmpose(thr):
    # Edge cases included: a keypoint no instance counts (-1), an instance with a zero
    # normaliser (dropped) and a negative normaliser (replaced by 1e6).
    data = np.load(GOLDENS)
    acc, avg, cnt = keypoint_pck_accuracy(data["pck/pred"], data["pck/gt"],
                                          data["pck/mask"], thr, data["pck/norm"])
    np.testing.assert_allclose(acc, data[f"pck/thr{thr}_acc"], atol=1e-6)
    np.testing.assert_allclose(avg, data[f"pck/thr{thr}_avg"], atol=1e-6)
    assert int(cnt) == int(data[f"pck/thr{thr}_cnt"]) == 4


def test_known_values_and_no_gradient():
    pred = tf.Variable([[[0.0, 0.0], [1.0, 1.0]], [[0.5, 0.5], [0.0, 0.0]]])
    gt = np.array([[[0.0, 0.04], [1.0, 1.2]], [[0.5, 0.5], [0.3, 0.4]]], np.float32)
    mask = np.array([[True, True], [True, False]])
    with tf.GradientTape() as tape:
        acc, avg, cnt = keypoint_pck_accuracy(pred, gt, mask, 0.05, np.ones((2, 2)))
    # Keypoint 0: both within 0.05; keypoint 1: one counted, 0.2 away.
    np.testing.assert_allclose(acc, [1.0, 0.0])
    assert float(avg) == 0.5 and int(cnt) == 2
    assert tape.gradient(avg, pred) is None
    # Nothing counted: accuracies -1, mean 0.
    acc, avg, cnt = keypoint_pck_accuracy(pred, gt, np.zeros((2, 2), bool), 0.05,
                                          np.ones((2, 2)))
    np.testing.assert_array_equal(acc, [-1.0, -1.0])
    assert float(avg) == 0.0 and int(cnt) == 0
