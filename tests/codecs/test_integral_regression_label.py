"""Tests for kpose/codecs/integral_regression_label.py.

Goldens: tests/fixtures/goldens/integral_regression_label.npz (MMPose 1.3.2).
"""

import json

import keras
import numpy as np
import pytest

from codec_test_utils import assert_eager_graph_and_tf_data_agree, load_goldens
from kpose.codecs import IntegralRegressionLabel
from keras_test_case import assert_config_round_trip

CONFIGS = ["s2_48x64", "s1_dark_48x64", "s2_raw_50x60"]


def test_encode_shapes_and_normalised_heatmaps():
    codec = IntegralRegressionLabel(input_size=(48, 64), heatmap_size=(12, 16), sigma=2.0)
    keypoints = np.array([[[20.0, 30.0], [-100.0, 5.0]]], np.float32)
    encoded = codec.encode(keypoints)
    assert set(encoded) == {"keypoint_labels", "heatmaps", "keypoint_weights"}
    assert encoded["heatmaps"].shape == (16, 12, 2)
    assert encoded["keypoint_labels"].shape == (1, 2, 2)
    np.testing.assert_allclose(encoded["heatmaps"][..., 0].sum(), 1.0, rtol=1e-6)
    assert encoded["heatmaps"][..., 1].sum() == 0.0  # empty channel stays 0, no NaN
    np.testing.assert_array_equal(encoded["keypoint_weights"], [[1.0, 0.0]])


def test_eager_graph_and_tf_data_agree():
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(-10, 70, size=(1, 5, 2)).astype(np.float32)
    visible = rng.choice([0.0, 1.0], size=(1, 5)).astype(np.float32)
    codec = IntegralRegressionLabel(input_size=(48, 64), heatmap_size=(12, 16), sigma=2.0)
    assert_eager_graph_and_tf_data_agree(codec, keypoints, visible)


@pytest.mark.parametrize("config", CONFIGS)
def test_encode_matches_mmpose(config):
    data = load_goldens("integral_regression_label")
    prefix = config + "__"
    codec = IntegralRegressionLabel(**json.loads(str(data[prefix + "kwargs"])))
    for i, (keypoints, visible) in enumerate(zip(data[prefix + "enc_keypoints"],
                                                 data[prefix + "enc_visible"])):
        encoded = codec.encode(keypoints, visible)
        np.testing.assert_allclose(encoded["heatmaps"], data[prefix + "enc_heatmaps"][i],
                                   rtol=0, atol=1e-5)
        np.testing.assert_allclose(encoded["keypoint_labels"],
                                   data[prefix + "enc_labels"][i], rtol=0, atol=1e-7)
        np.testing.assert_array_equal(encoded["keypoint_weights"],
                                      data[prefix + "enc_weights"][i])


def test_decode_reads_coordinates_and_round_trips():
    codec = IntegralRegressionLabel(input_size=(48, 64), heatmap_size=(12, 16), sigma=2.0)
    keypoints = np.random.default_rng(1).uniform(0, 47, (2, 4, 2)).astype(np.float32)
    labels = codec.encode(keypoints)["keypoint_labels"]
    decoded, scores = codec.batch_decode(labels)
    np.testing.assert_allclose(decoded, keypoints, atol=1e-4)
    # A head's (coordinates, heatmaps) pair decodes the same.
    paired, _ = codec.batch_decode((labels, np.zeros((2, 16, 12, 4), np.float32)))
    np.testing.assert_array_equal(paired, decoded)
    np.testing.assert_array_equal(scores, np.ones((2, 4)))


def test_config_round_trip_and_bad_arguments():
    codec = IntegralRegressionLabel(input_size=(48, 64), heatmap_size=(12, 16), sigma=2.0,
                                    unbiased=True, normalize=False)
    config = codec.get_config()
    assert config == {"input_size": (48, 64), "heatmap_size": (12, 16), "sigma": 2.0,
                      "unbiased": True, "blur_kernel_size": 11, "normalize": False}
    assert IntegralRegressionLabel.from_config(
        json.loads(json.dumps(config))).get_config() == config
    assert keras.saving.get_registered_object(
        "kpose>IntegralRegressionLabel") is IntegralRegressionLabel
    assert_config_round_trip(codec)
    with pytest.raises(ValueError, match="normalize"):
        IntegralRegressionLabel((48, 64), (12, 16), 2.0, normalize="yes")
    with pytest.raises(ValueError, match="sigma"):
        IntegralRegressionLabel((48, 64), (12, 16), -2.0)
