import os

import numpy as np
import pytest
import tensorflow as tf

from kpose.structures.keypoint import flip_keypoints

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "pipeline_geometry.npz")
G = dict(np.load(GOLDENS))
COCO_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]


@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
def test_flip_keypoints_matches_mmpose(direction):
    k, v = flip_keypoints(G["flip_keypoints_in"], G["flip_visible_in"], G["flip_image_size"], COCO_FLIP,
                          direction)
    np.testing.assert_allclose(k, G[f"flip_keypoints_{direction}"], atol=1e-4)
    np.testing.assert_array_equal(v, G[f"flip_visible_{direction}"])


def test_flip_keypoints_twice_is_identity_in_graph():
    fn = tf.function(lambda k: flip_keypoints(k, None, tf.constant([640.0, 480.0]), COCO_FLIP)[0])
    k = tf.constant(G["flip_keypoints_in"])
    np.testing.assert_allclose(fn(fn(k)).numpy(), k.numpy(), atol=1e-4)
    assert flip_keypoints(G["flip_keypoints_in"], None, (640, 480), COCO_FLIP)[1] is None


def test_bad_keypoints_raise():
    with pytest.raises(ValueError, match="got shape"):
        flip_keypoints(np.zeros(3, np.float32), None, (5, 5), [0])
