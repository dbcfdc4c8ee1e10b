import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.models.utils.scale_norm import ScaleNorm


def test_known_values():
    # ||(3, 4)|| = 5; scaled by 1/sqrt(2) -> y = x * sqrt(2) / 5 * g.
    layer = ScaleNorm(2)
    x = np.array([[3.0, 4.0], [0.6, -0.8]], np.float32)
    np.testing.assert_allclose(np.asarray(layer(x)), x / np.linalg.norm(x, axis=-1,
                                                                         keepdims=True)
                               * np.sqrt(2), rtol=1e-6)
    layer.g.assign([2.5])
    np.testing.assert_allclose(np.asarray(layer(x))[0], [3 * np.sqrt(2) / 2, 4 * np.sqrt(2) / 2],
                               rtol=1e-6)


def test_eps_bounds_the_norm_and_zero_vectors_have_finite_gradients():
    layer = ScaleNorm(4, eps=0.5)
    x = tf.constant([[0.1, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [4.0, 0.0, 0.0, 0.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        total = tf.reduce_sum(y)
    # Row 0: ||x|| / 2 = 0.05 < eps -> x / 0.5. Row 2: 4 / 2 = 2 -> x / 2.
    np.testing.assert_allclose(y.numpy(), [[0.2, 0, 0, 0], [0, 0, 0, 0], [2.0, 0, 0, 0]],
                               rtol=1e-6)
    grad = tape.gradient(total, x).numpy()
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad[1], [2.0, 2.0, 2.0, 2.0])  # clamped: plain 1 / eps


def test_dim_taken_from_input_and_checked():
    layer = ScaleNorm()
    out = layer(np.ones((2, 3, 16), np.float32))
    np.testing.assert_allclose(np.asarray(out), np.ones((2, 3, 16)), rtol=1e-6)
    with pytest.raises(ValueError, match="dim=8"):
        ScaleNorm(8)(np.ones((1, 4), np.float32))


@pytest.mark.parametrize("kwargs, match", [
    (dict(dim=0), "dim"), (dict(dim=2.5), "dim"), (dict(eps=0.0), "eps")])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ScaleNorm(**kwargs)


def test_config_and_saving_round_trip(tmp_path):
    layer = ScaleNorm(6, eps=1e-3)
    assert assert_config_round_trip(layer).eps == 1e-3
    x = np.random.default_rng(0).standard_normal((2, 5, 6)).astype(np.float32)
    assert_saving_round_trip(layer, x, tmp_path)
