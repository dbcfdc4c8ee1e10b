"""MSRAHeatmap.batch_encode (the pipeline's vectorised targets) against encode."""

import numpy as np
import pytest
import tensorflow as tf

from kpose.codecs.msra_heatmap import MSRAHeatmap
from kpose.codecs.utils.gaussian_heatmap import (batch_generate_gaussian_heatmaps,
                                                 generate_gaussian_heatmaps)


@pytest.mark.parametrize("unbiased", [False, True])
def test_batch_encode_equals_per_sample_encode(unbiased):
    rng = np.random.default_rng(1)
    codec = MSRAHeatmap(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0, unbiased=unbiased)
    keypoints = rng.uniform(-20, 270, (6, 17, 2)).astype(np.float32)
    keypoints[0, 0] = [-100.0, 30.0]  # wholly outside: weight 0
    visible = (rng.uniform(size=(6, 17)) > 0.2).astype(np.float32)
    out = codec.batch_encode(keypoints, visible)
    assert out["heatmaps"].shape == (6, 64, 48, 17) and out["keypoint_weights"].shape == (6, 17)
    assert isinstance(out["heatmaps"], np.ndarray)
    assert out["keypoint_weights"][0, 0] == 0.0
    for i in range(6):
        one = codec.encode(keypoints[i:i + 1], visible[i:i + 1])
        np.testing.assert_array_equal(out["heatmaps"][i], one["heatmaps"])
        np.testing.assert_array_equal(out["keypoint_weights"][i], one["keypoint_weights"][0])


def test_batch_encode_in_tf_data_equals_eager():
    codec = MSRAHeatmap(input_size=(48, 64), heatmap_size=(12, 16), sigma=2.0)
    keypoints = np.random.default_rng(2).uniform(0, 60, (5, 17, 2)).astype(np.float32)
    eager = codec.batch_encode(keypoints)
    ds = tf.data.Dataset.from_tensor_slices(keypoints).batch(5).map(codec.batch_encode)
    graph = next(iter(ds))
    np.testing.assert_array_equal(graph["heatmaps"].numpy(), eager["heatmaps"])
    np.testing.assert_array_equal(graph["keypoint_weights"].numpy(), np.ones((5, 17), np.float32))


def test_batch_gaussian_heatmaps_known_values():
    # one keypoint at (2, 1) of a 5x4 map, sigma 1: exp(-((x-2)^2 + (y-1)^2) / 2) inside the 7x7 patch
    heatmaps, weights = batch_generate_gaussian_heatmaps((5, 4), np.array([[[2.0, 1.0]]], np.float32),
                                                        np.ones((1, 1), np.float32), 1.0)
    y, x = np.mgrid[0:4, 0:5]
    expected = np.exp(-((x - 2.0) ** 2 + (y - 1.0) ** 2) / 2.0)
    np.testing.assert_allclose(np.asarray(heatmaps)[0, :, :, 0], expected, rtol=1e-6)
    single, _ = generate_gaussian_heatmaps((5, 4), np.array([[[2.0, 1.0]]], np.float32), np.ones((1, 1)), 1.0)
    np.testing.assert_array_equal(np.asarray(heatmaps)[0], np.asarray(single))
    assert np.asarray(weights).tolist() == [[1.0]]
