"""Tests for kpose/codecs/megvii_heatmap.py.

Goldens: tests/fixtures/goldens/megvii_heatmap.npz (MMPose 1.3.2).
"""

import json

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from codec_test_utils import (assert_eager_graph_and_tf_data_agree, golden_configs,
                              load_goldens, run_tflite)
from kpose.codecs import MegviiHeatmap
from keras_test_case import assert_config_round_trip


def _codec_from_golden(data, prefix):
    return MegviiHeatmap(
        input_size=tuple(int(v) for v in data[prefix + "input_size"]),
        heatmap_size=tuple(int(v) for v in data[prefix + "heatmap_size"]),
        kernel_size=int(data[prefix + "kernel_size"]))


def test_encode_is_cv2_blurred_delta_scaled_to_255():
    codec = MegviiHeatmap(input_size=(48, 64), heatmap_size=(12, 16), kernel_size=5)
    keypoints = np.array([[[4.0 * 5 + 3.9, 0.5], [100.0, 10.0]]], np.float32)
    encoded = codec.encode(keypoints)
    assert encoded["heatmaps"].shape == (16, 12, 2)
    assert encoded["heatmaps"].dtype == np.float32
    delta = np.zeros((16, 12), np.float32)
    delta[0, 5] = 1.0  # truncation: x 23.9 / 4 -> 5, y 0.5 / 4 -> 0 (border: reflected)
    expected = cv2.GaussianBlur(delta, (5, 5), 0)
    expected = expected / expected[0, 5] * 255.0
    np.testing.assert_allclose(encoded["heatmaps"][..., 0], expected, rtol=1e-6)
    np.testing.assert_array_equal(encoded["keypoint_weights"], [[1.0, 0.0]])
    assert not encoded["heatmaps"][..., 1].any()


def test_eager_graph_and_tf_data_agree():
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(-10, 70, size=(2, 5, 2)).astype(np.float32)
    visible = rng.choice([0.0, 1.0], size=(2, 5)).astype(np.float32)
    codec = MegviiHeatmap(input_size=(48, 64), heatmap_size=(12, 16), kernel_size=5)
    assert_eager_graph_and_tf_data_agree(codec, keypoints, visible)


@pytest.mark.parametrize("config", golden_configs("megvii_heatmap", "enc"))
def test_matches_mmpose(config):
    data = load_goldens("megvii_heatmap")
    prefix = config + "__"
    codec = _codec_from_golden(data, prefix)
    for i, (keypoints, visible) in enumerate(zip(data[prefix + "enc_keypoints"],
                                                 data[prefix + "enc_visible"])):
        encoded = codec.encode(keypoints, visible)
        # Peak 255: 1e-5 absolute is below one float32 ulp there (1.5e-5); cv2 and
        # kpose agree to 1e-5 all the same.
        np.testing.assert_allclose(encoded["heatmaps"], data[prefix + "enc_heatmaps"][i],
                                   rtol=0, atol=1e-5)
        np.testing.assert_array_equal(encoded["keypoint_weights"],
                                      data[prefix + "enc_weights"][i])

    heatmaps = data[prefix + "dec_heatmaps"].astype(np.float32)
    keypoints, scores = codec.batch_decode(heatmaps)
    expected_scores = data[prefix + "dec_scores"]
    # An all-zero channel blurs to 0 / 0 = NaN in MMPose (score NaN, location (0, 0));
    # kpose keeps it at zero: location (-1, -1), score 0.5.
    finite = np.isfinite(expected_scores)
    np.testing.assert_array_equal(scores[~finite], 0.5)
    np.testing.assert_allclose(scores[finite], expected_scores[finite], rtol=0, atol=1e-5)
    error = np.abs(keypoints - data[prefix + "dec_keypoints"]).max(axis=-1)[finite]
    assert error.max() <= 1e-3, error.max()


def test_round_trip_and_tflite_decode():
    codec = MegviiHeatmap(input_size=(48, 64), heatmap_size=(12, 16), kernel_size=5)
    rng = np.random.default_rng(1)
    keypoints = rng.uniform(12, [36, 52], size=(3, 1, 4, 2)).astype(np.float32)
    heatmaps = np.stack([codec.encode(kp)["heatmaps"] for kp in keypoints])
    decoded, scores = codec.batch_decode(heatmaps)
    # The target sits on pixel int(kp / 4); decoding lands within that pixel.
    error = np.abs(decoded - keypoints[:, 0]) / codec.scale_factor
    assert error.max() <= 1.0, error.max()
    spec = [tf.TensorSpec([None, 16, 12, 4], tf.float32)]
    tflite_scores, tflite_keypoints = run_tflite(codec.batch_decode, spec, [heatmaps])
    np.testing.assert_allclose(tflite_keypoints, decoded, atol=1e-4)
    np.testing.assert_allclose(tflite_scores, scores, atol=1e-5)


def test_config_round_trip_and_bad_arguments():
    codec = MegviiHeatmap(input_size=(192, 256), heatmap_size=(48, 64), kernel_size=11)
    config = codec.get_config()
    assert MegviiHeatmap.from_config(json.loads(json.dumps(config))).get_config() == config
    assert keras.saving.get_registered_object("kpose>MegviiHeatmap") is MegviiHeatmap
    assert_config_round_trip(codec)
    with pytest.raises(ValueError, match="kernel_size"):
        MegviiHeatmap((192, 256), (48, 64), kernel_size=4)
    with pytest.raises(ValueError, match="heatmap_size"):
        MegviiHeatmap((192, 256), (48,), kernel_size=5)
