"""`simcc_pck_accuracy` (appended to kpose/models/utils/accuracy.py); the MMPose golden
comparison is in tests/models/test_rtmpose_parity.py."""

import numpy as np
import tensorflow as tf

from kpose.models.utils.accuracy import simcc_pck_accuracy


def one_hot(bins, length):
    return np.eye(length, dtype=np.float32)[bins]


def test_known_values_and_default_normaliser():
    # Input 20x10 (w, h) at ratio 2: Wx 40, Wy 20; default normaliser (H, W) = (10, 20).
    gt_x = one_hot(np.array([[10, 10, 10]]), 40)
    gt_y = one_hot(np.array([[10, 10, 10]]), 20)
    # x off by 1 px (2 bins) -> 1 / 10 = 0.1; y off by 0.5 px -> 0.5 / 20 = 0.025.
    pred_x = one_hot(np.array([[12, 10, 10]]), 40)
    pred_y = one_hot(np.array([[10, 11, 10]]), 20)
    mask = np.array([[True, True, False]])
    acc, avg, cnt = simcc_pck_accuracy((pred_x, pred_y), (gt_x, gt_y), 2.0, mask, thr=0.05)
    np.testing.assert_allclose(np.asarray(acc), [0.0, 1.0, -1.0])
    assert float(avg) == 0.5 and int(cnt) == 2
    _, avg, _ = simcc_pck_accuracy((pred_x, pred_y), (gt_x, gt_y), 2.0, mask, thr=0.2)
    assert float(avg) == 1.0
    # An explicit normaliser of 100 makes the 1 px miss a hit.
    _, avg, _ = simcc_pck_accuracy((pred_x, pred_y), (gt_x, gt_y), 2.0, mask,
                                   normalize=np.array([[100.0, 100.0]]))
    assert float(avg) == 1.0


def test_non_positive_maxima_give_location_minus_one_and_no_gradient():
    pred_x = tf.Variable(-np.ones((1, 1, 8), np.float32))
    gt = (one_hot(np.array([[0]]), 8), one_hot(np.array([[0]]), 8))
    with tf.GradientTape() as tape:
        _, avg, _ = simcc_pck_accuracy((pred_x, -np.ones((1, 1, 8), np.float32)), gt, 1.0,
                                       np.array([[True]]))
    # (-1, -1) vs (0, 0): distance sqrt(2) / 8 > 0.05.
    assert float(avg) == 0.0
    assert tape.gradient(avg, pred_x) is None


def test_runs_in_a_graph():
    fn = tf.function(lambda px, py, gx, gy, m: simcc_pck_accuracy((px, py), (gx, gy), 2.0, m))
    x = one_hot(np.array([[1, 5]]), 16)
    y = one_hot(np.array([[2, 7]]), 12)
    acc, avg, cnt = fn(x, y, x, y, np.array([[True, True]]))
    assert float(avg) == 1.0 and int(cnt) == 2
