import os

import numpy as np
import pytest
import tensorflow as tf

from kpose.models.utils.tta import flip_coordinates, flip_heatmaps, flip_vectors

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


# ---------------------------------------------------------------- SimCC and regression


def test_flip_vectors_reverses_x_bins_and_swaps_keypoints():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 10)).astype(np.float32)
    y = rng.standard_normal((2, 4, 7)).astype(np.float32)
    fx, fy = flip_vectors(x, y, FLIP)
    # MMPose: x_labels[:, flip_indices].flip(-1), y_labels[:, flip_indices].
    np.testing.assert_array_equal(fx.numpy(), x[:, FLIP, ::-1])
    np.testing.assert_array_equal(fy.numpy(), y[:, FLIP])
    back_x, back_y = flip_vectors(fx, fy, FLIP)
    np.testing.assert_array_equal(back_x.numpy(), x)
    np.testing.assert_array_equal(back_y.numpy(), y)


def test_flip_vectors_puts_a_flipped_peak_back():
    # Peak of keypoint 1 at bin 2 of a 10-bin axis in the flipped image is keypoint 2
    # at bin 7 in the original (bins mirror as b -> L - 1 - b).
    x = np.zeros((1, 4, 10), np.float32)
    x[0, 1, 2] = 1.0
    fx, _ = flip_vectors(x, np.zeros((1, 4, 5), np.float32), FLIP)
    assert fx.numpy()[0, 2, 7] == 1.0 and fx.numpy().sum() == 1.0


@pytest.mark.parametrize("shift", [False, True])
def test_flip_coordinates(shift):
    rng = np.random.default_rng(1)
    coords = rng.uniform(0, 1, (2, 4, 4)).astype(np.float32)
    out = flip_coordinates(coords, FLIP, shift_coords=shift, input_size=(192, 256))
    expected = coords.copy()
    expected[..., 0] = 1.0 - expected[..., 0] - (1.0 / 192 if shift else 0.0)
    np.testing.assert_allclose(out.numpy(), expected[:, FLIP], atol=1e-7)


def test_flip_helpers_run_in_a_graph_and_reject_bad_inputs():
    fn = tf.function(lambda x, y: flip_vectors(x, y, FLIP), input_signature=[
        tf.TensorSpec((None, 4, 10)), tf.TensorSpec((None, 4, 7))])
    fx, fy = fn(tf.zeros((3, 4, 10)), tf.zeros((3, 4, 7)))
    assert fx.shape == (3, 4, 10) and fy.shape == (3, 4, 7)
    with pytest.raises(ValueError, match="flip_indices"):
        flip_vectors(np.zeros((1, 3, 5)), np.zeros((1, 3, 5)), FLIP)
    with pytest.raises(ValueError, match="input_size"):
        flip_coordinates(np.zeros((1, 4, 2)), FLIP, shift_coords=True)
    with pytest.raises(ValueError, match="B, K, D"):
        flip_coordinates(np.zeros((4, 2)), FLIP, shift_coords=False)
