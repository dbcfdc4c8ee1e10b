"""Fixtures shared by the transform tests: a COCO-like sample and a tf.data runner."""

import numpy as np
import pytest
import tensorflow as tf

COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


class TinyHeatmapCodec:
    """A stand-in codec: Gaussian heatmaps at keypoint / stride, weight = visibility."""

    def __init__(self, input_size=(48, 64), heatmap_size=(12, 16), sigma=1.0):
        self.input_size, self.heatmap_size, self.sigma = input_size, heatmap_size, sigma

    def encode(self, keypoints, keypoints_visible=None):
        keypoints = tf.convert_to_tensor(keypoints, tf.float32)
        w, h = self.heatmap_size
        stride = tf.constant([self.input_size[0] / w, self.input_size[1] / h], tf.float32)
        mu = keypoints[0] / stride  # (K, 2)
        ys, xs = tf.meshgrid(tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32), indexing="ij")
        d2 = (xs[..., None] - mu[:, 0]) ** 2 + (ys[..., None] - mu[:, 1]) ** 2
        heatmaps = tf.exp(-d2 / (2 * self.sigma ** 2))
        visible = tf.convert_to_tensor(keypoints_visible, tf.float32)
        return {"heatmaps": heatmaps * visible[0], "keypoint_weights": visible}


@pytest.fixture
def coco_sample():
    """A fresh single-instance sample in a 80x60 image, COCO meta as constants."""

    def make(seed=(0, 1), **overrides):
        rng = np.random.default_rng(7)
        sample = {
            "img_shape": np.array([60, 80], np.int32),
            "bbox": np.array([12.0, 8.0, 50.0, 55.0], np.float32),
            "keypoints": rng.uniform([12, 8], [50, 55], size=(17, 2)).astype(np.float32),
            "keypoints_visible": np.ones(17, np.float32),
            "flip_indices": np.array(COCO_FLIP, np.int32),
            "upper_body_ids": np.arange(11, dtype=np.int32),
            "lower_body_ids": np.arange(11, 17, dtype=np.int32),
            "joint_weights": np.linspace(1.0, 1.5, 17).astype(np.float32),
            "seed": np.array(seed, np.int64),
        }
        sample.update(overrides)
        return sample

    return make


@pytest.fixture
def in_tf_data():
    """Run `transform` on `sample` inside a tf.data map; returns numpy results."""

    def run(transform, sample):
        ds = tf.data.Dataset.from_tensors(sample).map(transform)
        return tf.nest.map_structure(lambda t: t.numpy(), next(iter(ds)))

    return run


def _to_numpy(value):
    return value.numpy() if isinstance(value, tf.Tensor) else value


@pytest.fixture
def assert_same():
    """Assert two samples (eager result, tf.data result) agree on `keys`."""

    def check(eager, graph, keys):
        for key in keys:
            np.testing.assert_allclose(np.asarray(_to_numpy(eager[key]), np.float64),
                                       np.asarray(_to_numpy(graph[key]), np.float64),
                                       rtol=1e-5, atol=1e-4, err_msg=key)

    return check


@pytest.fixture
def tiny_codec():
    return TinyHeatmapCodec()
