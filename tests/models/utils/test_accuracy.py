import os

import numpy as np
import pytest
import tensorflow as tf

from kpose.models.utils.accuracy import heatmap_argmax, pose_pck_accuracy

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures",
                       "resnet_heatmap_head_goldens.npz")


@pytest.mark.parametrize("name, thr", [("random", 0.05), ("perfect", 0.05), ("thr03", 0.3)])
def test_matches_mmpose(name, thr):
    data = np.load(GOLDENS)
    pred = data["fn/pck_gt"] if name == "perfect" else data["fn/pck_pred"]
    acc, avg, cnt = pose_pck_accuracy(pred, data["fn/pck_gt"], data["fn/pck_mask"], thr=thr)
    np.testing.assert_allclose(acc, data[f"fn/pck_{name}_acc"], atol=1e-6)
    np.testing.assert_allclose(avg, data[f"fn/pck_{name}_avg"], atol=1e-6)
    if name != "thr03":
        assert int(cnt) == int(data[f"fn/pck_{name}_cnt"])


def test_argmax_locations_and_empty_channels():
    maps = np.zeros((1, 4, 5, 2), np.float32)
    maps[0, 3, 1, 0] = 2.0  # (x=1, y=3)
    locs = heatmap_argmax(maps).numpy()
    np.testing.assert_array_equal(locs[0, 0], [1, 3])
    np.testing.assert_array_equal(locs[0, 1], [-1, -1])  # all-zero channel


def test_normaliser_is_height_width_on_x_y():
    # MMPose normalises (x, y) by (H, W): a 1-pixel x error on a 10-high map is 0.1.
    gt = np.zeros((1, 10, 40, 1), np.float32)
    gt[0, 5, 20, 0] = 1
    pred = np.zeros_like(gt)
    pred[0, 5, 21, 0] = 1
    mask = np.ones((1, 1), bool)
    _, avg, _ = pose_pck_accuracy(pred, gt, mask, thr=0.09)
    assert float(avg) == 0.0
    _, avg, _ = pose_pck_accuracy(pred, gt, mask, thr=0.11)
    assert float(avg) == 1.0


def test_nothing_counted_gives_zero():
    maps = np.ones((2, 4, 4, 3), np.float32)
    acc, avg, cnt = pose_pck_accuracy(maps, maps, np.zeros((2, 3), bool))
    np.testing.assert_array_equal(acc, [-1, -1, -1])
    assert float(avg) == 0.0 and int(cnt) == 0


def test_runs_in_a_graph():
    fn = tf.function(lambda a, b, m: pose_pck_accuracy(a, b, m)[1],
                     input_signature=[tf.TensorSpec((None, 8, 8, 2)),
                                      tf.TensorSpec((None, 8, 8, 2)),
                                      tf.TensorSpec((None, 2), tf.bool)])
    maps = np.random.default_rng(0).uniform(0, 1, (3, 8, 8, 2)).astype(np.float32)
    assert float(fn(maps, maps, np.ones((3, 2), bool))) == 1.0
