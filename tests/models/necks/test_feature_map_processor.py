"""FeatureMapProcessor: PyTorch-exact bilinear rescaling and concatenation (MMPose 1.3.2).

Goldens from `tools/dev/make_backbone_goldens.py` (MMPose's FeatureMapProcessor on maps
of 7x5, 4x3, 3x2): ViTPose's x4 + ReLU, concatenation with a non-integer factor, and
align_corners.
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.models.necks.feature_map_processor import FeatureMapProcessor

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "backbone_goldens.npz")


@pytest.mark.parametrize("case", ["fmap_vitpose", "fmap_concat", "fmap_corners"])
def test_outputs_match_mmpose(case):
    data = np.load(GOLDENS)
    kwargs = json.loads(str(data[f"{case}/config"]))
    neck = FeatureMapProcessor(**kwargs)
    outs = neck(tuple(data[f"fmap/input{i}"] for i in range(3)))
    expected = sorted(k for k in data.files if k.startswith(f"{case}/out"))
    assert isinstance(outs, tuple) and len(outs) == len(expected)
    for out, key in zip(outs, expected):
        np.testing.assert_allclose(np.asarray(out), data[key], atol=1e-5, rtol=1e-5)


def test_single_tensor_in_tensor_out_and_dynamic_sizes():
    neck = FeatureMapProcessor(scale_factor=2.0, apply_relu=True)
    x = np.array([[-1.0, 2.0], [3.0, -4.0]], np.float32).reshape(1, 2, 2, 1)
    out = np.asarray(neck(x))[0, :, :, 0]
    # PyTorch bilinear x2 (half-pixel) of relu(x): first row 0, 0.5, 1.5, 2.
    np.testing.assert_allclose(out[0], [0.0, 0.5, 1.5, 2.0])
    fn = tf.function(lambda t: neck(t),
                     input_signature=[tf.TensorSpec((None, None, None, 1), tf.float32)])
    np.testing.assert_allclose(fn(x).numpy()[0, :, :, 0], out, atol=1e-6)


def test_selection_without_resizing_is_identity():
    maps = (np.ones((1, 4, 4, 2), np.float32), np.full((1, 2, 2, 3), -2.0, np.float32))
    outs = FeatureMapProcessor(select_index=1)(maps)
    assert len(outs) == 1
    np.testing.assert_array_equal(np.asarray(outs[0]), maps[1])


@pytest.mark.parametrize("kwargs, match", [
    (dict(scale_factor=0), "scale_factor"),
    (dict(select_index=()), "select_index"),
    (dict(select_index="a"), "select_index"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FeatureMapProcessor(**kwargs)


def test_config_and_keras_file_round_trip(tmp_path):
    neck = FeatureMapProcessor(select_index=(0, 1), concat=True, scale_factor=4.0,
                               apply_relu=True, align_corners=True)
    rebuilt = assert_config_round_trip(neck)
    assert rebuilt.select_index == (0, 1)
    maps = (np.random.default_rng(0).standard_normal((1, 4, 3, 2)).astype(np.float32),
            np.random.default_rng(1).standard_normal((1, 2, 2, 3)).astype(np.float32))
    assert_saving_round_trip(neck, maps, tmp_path)
