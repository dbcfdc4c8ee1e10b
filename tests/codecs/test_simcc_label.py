"""Tests for kpose/codecs/simcc_label.py and kpose/codecs/utils/simcc.py.

Goldens: tests/fixtures/goldens/simcc_label.npz (MMPose 1.3.2, see codec_test_utils).
"""

import json

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from codec_test_utils import (assert_eager_graph_and_tf_data_agree, encode_sections,
                              golden_configs, load_goldens, run_tflite)
from kpose.codecs import SimCCLabel
from keras_test_case import assert_config_round_trip

LABEL_KEYS = ("keypoint_x_labels", "keypoint_y_labels", "keypoint_weights")


def _codec_from_golden(data, prefix):
    return SimCCLabel(**json.loads(str(data[prefix + "kwargs"])))


# ---------------------------------------------------------------- encode


@pytest.mark.parametrize("smoothing_type", ["gaussian", "standard"])
def test_encode_shapes_dtypes_and_numpy_out(smoothing_type):
    codec = SimCCLabel(input_size=(192, 256), smoothing_type=smoothing_type)
    keypoints = np.array([[[10.0, 20.0], [100.0, 200.0], [-500.0, 3.0]]], np.float32)
    encoded = codec.encode(keypoints)
    assert set(encoded) == set(LABEL_KEYS)
    assert encoded["keypoint_x_labels"].shape == (1, 3, 384)
    assert encoded["keypoint_y_labels"].shape == (1, 3, 512)
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float32
               for v in encoded.values())
    np.testing.assert_array_equal(encoded["keypoint_weights"], [[1.0, 1.0, 0.0]])
    assert np.argmax(encoded["keypoint_x_labels"][0, 1]) == 200
    assert not encoded["keypoint_x_labels"][0, 2].any()


def test_bins_round_half_to_even_like_numpy():
    codec = SimCCLabel(input_size=(20, 20), smoothing_type="standard",
                       simcc_split_ratio=1.0)
    keypoints = np.array([[[2.5, 3.5], [4.5, 5.5]]], np.float32)
    labels = codec.encode(keypoints)
    np.testing.assert_array_equal(np.argmax(labels["keypoint_x_labels"][0], -1), [2, 4])
    np.testing.assert_array_equal(np.argmax(labels["keypoint_y_labels"][0], -1), [4, 6])


def test_label_smoothing_and_normalisation():
    smooth = SimCCLabel(input_size=(10, 10), smoothing_type="standard",
                        simcc_split_ratio=1.0, label_smooth_weight=0.1)
    x = smooth.encode(np.array([[[3.0, 3.0]]], np.float32))["keypoint_x_labels"][0, 0]
    np.testing.assert_allclose(x, np.where(np.arange(10) == 3, 0.9, 0.1 / 9), rtol=1e-6)
    gauss = SimCCLabel(input_size=(40, 40), sigma=(2.0, 3.0), simcc_split_ratio=1.0)
    encoded = gauss.encode(np.array([[[20.0, 20.0]]], np.float32))
    # Normalised Gaussians sum to ~1 (peak 1 / (sigma sqrt(2 pi))).
    np.testing.assert_allclose(encoded["keypoint_x_labels"].sum(), 1.0, atol=1e-4)
    np.testing.assert_allclose(encoded["keypoint_y_labels"].max(),
                               1.0 / (3.0 * np.sqrt(2 * np.pi)), rtol=1e-6)


@pytest.mark.parametrize("smoothing_type", ["gaussian", "standard"])
def test_encode_eager_graph_and_tf_data_agree(smoothing_type):
    codec = SimCCLabel(input_size=(48, 64), smoothing_type=smoothing_type, sigma=3.0)
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(-10, 70, size=(2, 5, 2)).astype(np.float32)
    visible = rng.choice([0.0, 1.0], size=(2, 5)).astype(np.float32)
    assert_eager_graph_and_tf_data_agree(codec, keypoints, visible)


@pytest.mark.parametrize("config", golden_configs("simcc_label", "enc"))
def test_encode_matches_mmpose(config):
    data = load_goldens("simcc_label")
    codec = _codec_from_golden(data, config + "__")
    checked = 0
    for _, keypoints, visible, expected in encode_sections(
            data, config + "__", ("x_labels", "y_labels", "weights")):
        encoded = codec.encode(keypoints, visible)
        for key in ("x_labels", "y_labels"):
            np.testing.assert_allclose(encoded["keypoint_" + key], expected[key],
                                       rtol=0, atol=1e-5)
        np.testing.assert_array_equal(encoded["keypoint_weights"], expected["weights"])
        checked += 1
    assert checked > 0


# ---------------------------------------------------------------- decode


@pytest.mark.parametrize("config", golden_configs("simcc_label", "dec"))
def test_decode_matches_mmpose(config):
    data = load_goldens("simcc_label")
    prefix = config + "__"
    codec = _codec_from_golden(data, prefix)
    simcc = (data[prefix + "dec_x"].astype(np.float32),
             data[prefix + "dec_y"].astype(np.float32))
    keypoints, scores = codec.batch_decode(simcc)
    if codec.decode_visibility:
        scores, visibility = scores
        np.testing.assert_allclose(visibility, data[prefix + "dec_visibility"], atol=1e-5)
    np.testing.assert_allclose(scores, data[prefix + "dec_scores"], rtol=0, atol=1e-5)
    expected = data[prefix + "dec_keypoints"]
    finite = np.isfinite(expected)
    if codec.use_dark:
        # MMPose's gaussian_blur1d rescales by max / blurred max: 0 / 0 = NaN on an
        # all-zero distribution, which DARK turns into a NaN coordinate. kpose keeps
        # such a distribution at zero and its coordinate finite.
        assert np.isfinite(keypoints).all()
    else:
        assert finite.all()
    error = np.abs(keypoints - expected)[finite]
    assert error.max() <= 1e-3, error.max()

    single = codec.decode((simcc[0][0], simcc[1][0]))  # (K, L): one instance
    np.testing.assert_array_equal(single[0], keypoints[:1])


def test_round_trip():
    codec = SimCCLabel(input_size=(192, 256), sigma=6.0, use_dark=True)
    rng = np.random.default_rng(1)
    keypoints = rng.uniform(10, [182, 246], size=(4, 17, 2)).astype(np.float32)
    encoded = codec.encode(keypoints)
    decoded, scores = codec.batch_decode((encoded["keypoint_x_labels"],
                                          encoded["keypoint_y_labels"]))
    # Targets sit on whole bins (half a pixel at ratio 2); DARK finds the bin centre.
    np.testing.assert_allclose(decoded, np.round(keypoints * 2) / 2, atol=1e-3)
    assert (scores > 0).all()


def test_decode_graph_and_tflite_agree_with_eager():
    codec = SimCCLabel(input_size=(48, 64), sigma=(4.9, 5.66), use_dark=True)
    rng = np.random.default_rng(2)
    keypoints = rng.uniform(5, 43, size=(3, 4, 2)).astype(np.float32)
    encoded = codec.encode(keypoints)
    simcc_x = (encoded["keypoint_x_labels"] + rng.uniform(0, 0.01, (3, 4, 96))).astype(
        np.float32)
    simcc_y = (encoded["keypoint_y_labels"] + rng.uniform(0, 0.01, (3, 4, 128))).astype(
        np.float32)
    expected_keypoints, expected_scores = codec.batch_decode((simcc_x, simcc_y))
    spec = [tf.TensorSpec([None, 4, 96], tf.float32),
            tf.TensorSpec([None, 4, 128], tf.float32)]

    def decode(x, y):
        return codec.batch_decode((x, y))

    graph_keypoints, graph_scores = tf.function(decode, input_signature=spec)(
        simcc_x, simcc_y)
    np.testing.assert_allclose(graph_keypoints.numpy(), expected_keypoints, atol=1e-5)
    np.testing.assert_array_equal(graph_scores.numpy(), expected_scores)
    scores, keypoints = run_tflite(decode, spec, [simcc_x, simcc_y])
    np.testing.assert_allclose(scores, expected_scores, atol=1e-6)
    np.testing.assert_allclose(keypoints, expected_keypoints, atol=1e-3)


# ---------------------------------------------------------------- config


def test_config_round_trip_and_gin():
    codec = SimCCLabel(input_size=(192, 256), sigma=(4.9, 5.66), simcc_split_ratio=2.0,
                       normalize=False, use_dark=True)
    config = codec.get_config()
    assert config["sigma"] == (4.9, 5.66) and config["use_dark"] is True
    assert SimCCLabel.from_config(json.loads(json.dumps(config))).get_config() == config
    assert codec.simcc_size == (384, 512)
    assert keras.saving.get_registered_object("kpose>SimCCLabel") is SimCCLabel
    assert_config_round_trip(codec)

    @gin.configurable("simcc_label_test_holder")
    def holder(codec=gin.REQUIRED):
        return codec

    with gin.unlock_config():
        gin.parse_config("""
            simcc_label_test_holder.codec = @SimCCLabel()
            SimCCLabel.input_size = (192, 256)
            SimCCLabel.sigma = (4.9, 5.66)
        """)
    try:
        built = holder()
    finally:
        gin.clear_config()
    assert built.sigma == (4.9, 5.66)


@pytest.mark.parametrize("kwargs, name", [
    ({"input_size": (192,)}, "input_size"),
    ({"smoothing_type": "uniform"}, "smoothing_type"),
    ({"sigma": (1.0, 2.0, 3.0)}, "sigma"),
    ({"sigma": -1.0}, "sigma"),
    ({"simcc_split_ratio": 0}, "simcc_split_ratio"),
    ({"label_smooth_weight": 0.1}, "label_smooth_weight"),  # only with 'standard'
    ({"smoothing_type": "standard", "label_smooth_weight": 1.5}, "label_smooth_weight"),
    ({"use_dark": 1}, "use_dark"),
])
def test_bad_arguments_raise(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SimCCLabel(**{"input_size": (192, 256), **kwargs})
