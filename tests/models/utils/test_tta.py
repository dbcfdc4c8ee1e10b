import os

import numpy as np
import pytest
import tensorflow as tf

from kpose.models.utils.tta import flip_heatmaps

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures",
                       "resnet_heatmap_head_goldens.npz")
FLIP = [0, 2, 1, 3]


@pytest.mark.parametrize("mode", ["heatmap", "udp_combined", "offset"])
@pytest.mark.parametrize("shift", [False, True])
def test_matches_mmpose(mode, shift):
    data = np.load(GOLDENS)
    out = flip_heatmaps(data[f"fn/flip_{mode}_in"], FLIP, flip_mode=mode,
                        shift_heatmap=shift)
    np.testing.assert_array_equal(out, data[f"fn/flip_{mode}_shift{int(shift)}"])


def test_flipping_twice_without_shift_is_the_identity():
    maps = np.random.default_rng(0).standard_normal((2, 5, 7, 4)).astype(np.float32)
    np.testing.assert_array_equal(flip_heatmaps(flip_heatmaps(maps, FLIP), FLIP), maps)


def test_mirrors_columns_and_swaps_channels():
    maps = np.zeros((1, 2, 4, 3), np.float32)
    maps[0, 1, 0, 1] = 1  # keypoint 1 at (x=0, y=1)
    out = flip_heatmaps(maps, [0, 2, 1]).numpy()
    assert out[0, 1, 3, 2] == 1 and out.sum() == 1  # keypoint 2 at (x=3, y=1)
    shifted = flip_heatmaps(maps, [0, 2, 1], shift_heatmap=True).numpy()
    assert shifted[0, 1, 3, 2] == 0  # moved one column right, past the edge


def test_runs_in_a_graph_with_unknown_batch():
    fn = tf.function(lambda x: flip_heatmaps(x, FLIP, shift_heatmap=True),
                     input_signature=[tf.TensorSpec((None, 4, 4, 4))])
    assert fn(tf.zeros((3, 4, 4, 4))).shape == (3, 4, 4, 4)
    fn2 = tf.function(lambda x: flip_heatmaps(x, FLIP, flip_mode="udp_combined"),
                      input_signature=[tf.TensorSpec((None, None, None, 12))])
    assert fn2(tf.zeros((2, 4, 4, 12))).shape == (2, 4, 4, 12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(flip_mode="vertical"), "flip_mode"),
    (dict(flip_indices=[0, 1]), "flip_indices"),
    (dict(flip_mode="udp_combined"), "divisible"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flip_heatmaps(np.zeros((1, 2, 2, 4), np.float32), **kwargs)
