"""Tests for kpose/codecs/utils/gaussian_heatmap.py: the separable Gaussians against a
dense numpy reference written from MMPose's conventions (the MMPose goldens themselves
are checked through the codec in tests/codecs/test_msra_heatmap.py)."""

import numpy as np
import pytest
import tensorflow as tf

from kpose.codecs.utils import generate_gaussian_heatmaps, generate_unbiased_gaussian_heatmaps


def _dense_msra(size, keypoints, visible, sigma):
    """Per-keypoint 2-D patches, merged by max: the slow, obvious formulation."""
    w, h = size
    n, k = visible.shape
    heatmaps = np.zeros((k, h, w), np.float32)
    radius = 3 * sigma
    taps = np.arange(0, 2 * radius + 1, 1, dtype=np.float32)
    peak = (2 * radius + 1) // 2
    patch = np.exp(-((taps[None] - peak) ** 2 + (taps[:, None] - peak) ** 2) / (2 * sigma ** 2))
    for i in range(n):
        for j in range(k):
            if visible[i, j] < 0.5:
                continue
            mu = (keypoints[i, j] + 0.5).astype(np.int64)
            left, top = (mu - radius).astype(np.int64)
            right, bottom = (mu + radius + 1).astype(np.int64)
            if left >= w or top >= h or right < 0 or bottom < 0:
                continue
            x0, x1, y0, y1 = max(0, -left), min(right, w) - left, max(0, -top), min(bottom, h) - top
            region = heatmaps[j, max(0, top):min(bottom, h), max(0, left):min(right, w)]
            np.maximum(region, patch[y0:y1, x0:x1], out=region)
    return heatmaps.transpose(1, 2, 0)


@pytest.mark.parametrize("sigma", [2.0, 1.5, 0.7])
@pytest.mark.parametrize("num_instances", [1, 3])
def test_separable_equals_dense_reference(sigma, num_instances):
    rng = np.random.default_rng(int(sigma * 10) + num_instances)
    keypoints = rng.uniform(-6, [30, 22], size=(num_instances, 9, 2)).astype(np.float32)
    visible = (rng.uniform(size=(num_instances, 9)) > 0.2).astype(np.float32)
    heatmaps, _ = generate_gaussian_heatmaps((24, 16), keypoints, visible, sigma)
    np.testing.assert_allclose(heatmaps, _dense_msra((24, 16), keypoints, visible, sigma), atol=1e-6)


def test_unbiased_equals_dense_reference():
    rng = np.random.default_rng(1)
    keypoints = rng.uniform(0, [24, 16], size=(2, 5, 2)).astype(np.float32)
    visible = np.ones((2, 5), np.float32)
    heatmaps, _ = generate_unbiased_gaussian_heatmaps((24, 16), keypoints, visible, 2.0)
    xs, ys = np.meshgrid(np.arange(24), np.arange(16))
    d2 = (xs[..., None, None] - keypoints[..., 0]) ** 2 + (ys[..., None, None] - keypoints[..., 1]) ** 2
    np.testing.assert_allclose(heatmaps, np.exp(-d2 / 8.0).max(axis=2), atol=1e-6)


def test_dynamic_and_empty_instance_axis():
    """N unknown when traced (tf.data, bottom-up) and N == 0 give the same as eager."""
    keypoints = np.array([[[5.0, 4.0], [20.0, 10.0]], [[6.0, 4.0], [-30.0, 1.0]]], np.float32)
    visible = np.ones((2, 2), np.float32)
    fn = tf.function(lambda k, v: generate_gaussian_heatmaps((24, 16), k, v, 2.0),
                     input_signature=[tf.TensorSpec([None, 2, 2]), tf.TensorSpec([None, 2])])
    for n in (2, 1, 0):
        eager_maps, eager_weights = generate_gaussian_heatmaps((24, 16), keypoints[:n], visible[:n], 2.0)
        graph_maps, graph_weights = fn(keypoints[:n], visible[:n])
        np.testing.assert_allclose(graph_maps, eager_maps, atol=1e-7)
        np.testing.assert_array_equal(graph_weights, eager_weights)
        assert graph_maps.shape == (16, 24, 2)
    assert float(tf.reduce_max(fn(keypoints[:0], visible[:0])[0])) == 0.0
