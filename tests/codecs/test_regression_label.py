"""Tests for kpose/codecs/regression_label.py.

Goldens: tests/fixtures/goldens/regression_label.npz (MMPose 1.3.2).
"""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from codec_test_utils import assert_eager_graph_and_tf_data_agree, load_goldens
from kpose.codecs import RegressionLabel
from keras_test_case import assert_config_round_trip


def test_encode_shapes_weights_and_numpy_out():
    codec = RegressionLabel(input_size=(192, 256))
    keypoints = np.array([[[0.0, 0.0], [191.0, 255.0], [191.5, 10.0], [-0.1, 3.0]]],
                         np.float32)
    encoded = codec.encode(keypoints, np.array([[1.0, 1.0, 1.0, 1.0]], np.float32))
    assert set(encoded) == {"keypoint_labels", "keypoint_weights"}
    assert encoded["keypoint_labels"].shape == (1, 4, 2)
    assert encoded["keypoint_labels"].dtype == np.float32
    # Inside means within [0, w - 1] x [0, h - 1], limits included.
    np.testing.assert_array_equal(encoded["keypoint_weights"], [[1.0, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(encoded["keypoint_labels"][0, 1], [191 / 192, 255 / 256])
    # Visibility must exceed 0.5 (0.5 itself is not enough).
    half = codec.encode(keypoints[:, :1], np.array([[0.5]], np.float32))
    np.testing.assert_array_equal(half["keypoint_weights"], [[0.0]])


def test_eager_graph_and_tf_data_agree():
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(-10, 70, size=(2, 5, 2)).astype(np.float32)
    visible = rng.choice([0.0, 1.0], size=(2, 5)).astype(np.float32)
    assert_eager_graph_and_tf_data_agree(RegressionLabel((48, 64)), keypoints, visible)


@pytest.mark.parametrize("config", ["r192x256", "r50x61"])
def test_matches_mmpose(config):
    data = load_goldens("regression_label")
    prefix = config + "__"
    codec = RegressionLabel(tuple(int(v) for v in data[prefix + "input_size"]))
    for keypoints, visible, labels, weights in zip(
            data[prefix + "enc_keypoints"], data[prefix + "enc_visible"],
            data[prefix + "enc_labels"], data[prefix + "enc_weights"]):
        encoded = codec.encode(keypoints, visible)
        np.testing.assert_allclose(encoded["keypoint_labels"], labels, rtol=0, atol=1e-7)
        np.testing.assert_array_equal(encoded["keypoint_weights"], weights)
    for depth in (2, 4):
        keypoints, scores = codec.batch_decode(data[prefix + f"dec{depth}_inputs"])
        np.testing.assert_allclose(keypoints, data[prefix + f"dec{depth}_keypoints"],
                                   rtol=0, atol=1e-4)
        np.testing.assert_allclose(scores, data[prefix + f"dec{depth}_scores"], rtol=0,
                                   atol=1e-6)


def test_round_trip_and_graph_decode():
    codec = RegressionLabel((192, 256))
    keypoints = np.random.default_rng(1).uniform(0, 190, (3, 17, 2)).astype(np.float32)
    labels = codec.encode(keypoints)["keypoint_labels"]
    decode_fn = tf.function(codec.batch_decode,
                            input_signature=[tf.TensorSpec([None, 17, 2], tf.float32)])
    decoded, scores = decode_fn(labels)
    np.testing.assert_allclose(decoded.numpy(), keypoints, atol=1e-4)
    np.testing.assert_array_equal(scores.numpy(), np.ones((3, 17)))


def test_config_and_bad_arguments():
    codec = RegressionLabel(input_size=(192, 256))
    assert codec.get_config() == {"input_size": (192, 256)}
    assert RegressionLabel.from_config(
        json.loads(json.dumps(codec.get_config()))).input_size == (192, 256)
    assert keras.saving.get_registered_object("kpose>RegressionLabel") is RegressionLabel
    assert_config_round_trip(codec)
    with pytest.raises(ValueError, match="input_size"):
        RegressionLabel(input_size=(192, -1))
    with pytest.raises(ValueError, match="last dimension"):
        codec.decode(np.zeros((1, 3, 3), np.float32))
