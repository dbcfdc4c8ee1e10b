"""interpolate / interpolation_matrix against torch.nn.functional.interpolate (torch 2.13).

Goldens from `tools/dev/make_backbone_goldens.py`: nearest, bilinear and bicubic, by size
and by (non-integer) scale factor, with and without align_corners, up and down.
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from kpose.models.utils.interpolate import interpolate, interpolation_matrix

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "backbone_goldens.npz")
CASES = ["nearest_size", "nearest_down", "nearest_scale", "bilinear_size", "bilinear_scale",
         "bilinear_corners", "bicubic_size", "bicubic_down", "bicubic_corners"]


@pytest.mark.parametrize("case", CASES)
def test_matches_torch(case):
    data = np.load(GOLDENS)
    kwargs = json.loads(str(data[f"interp/{case}/config"]))
    out = interpolate(data["interp/input"], **kwargs)
    np.testing.assert_allclose(out.numpy(), data[f"interp/{case}/out"], atol=1e-5, rtol=1e-5)


def test_dynamic_shapes_give_the_same_result():
    data = np.load(GOLDENS)
    fn = tf.function(lambda x: interpolate(x, scale_factor=2.5, mode="bilinear"),
                     input_signature=[tf.TensorSpec((None, None, None, 2), tf.float32)])
    np.testing.assert_allclose(fn(data["interp/input"]).numpy(),
                               data["interp/bilinear_scale/out"], atol=1e-5)


def test_matrix_rows_are_partitions_of_unity():
    for mode in ("nearest", "bilinear", "bicubic"):
        matrix = interpolation_matrix(5, 12, mode).numpy()
        assert matrix.shape == (12, 5)
        np.testing.assert_allclose(matrix.sum(axis=1), 1.0, atol=1e-6)
    # Exact 2x nearest repeats each sample twice.
    np.testing.assert_array_equal(np.argmax(interpolation_matrix(3, 6, "nearest"), 1),
                                  [0, 0, 1, 1, 2, 2])


def test_same_size_is_identity_and_bad_arguments_raise():
    x = np.random.default_rng(0).standard_normal((1, 3, 4, 2)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(interpolate(x, size=(3, 4), mode="bicubic")), x)
    with pytest.raises(ValueError, match="exactly one"):
        interpolate(x)
    with pytest.raises(ValueError, match="mode"):
        interpolation_matrix(3, 4, "area")
    with pytest.raises(ValueError, match="scale_factor"):
        interpolate(x, scale_factor=0)
