"""RandomFlipAroundRoot: MMPose's flip_keypoints_custom_center goldens, eager and tf.data."""

import numpy as np
import pytest
import tensorflow as tf

from kpose.datasets.transforms.random_flip_around_root import (RandomFlipAroundRoot,
                                                               flip_keypoints_custom_center)
from lifting_goldens import load, section

FLIP = [0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 11, 12, 13]


@pytest.mark.parametrize("case", ["flip_static", "flip_root", "flip_root_list"])
def test_flip_matches_mmpose(case):
    data, configs = load()
    inputs = section(data, "img_in")
    points, visible = flip_keypoints_custom_center(
        inputs["lifting_target"], inputs["lifting_target_visible"], FLIP, **configs[case])
    np.testing.assert_allclose(points.numpy(), data[f"{case}/keypoints"], atol=1e-6)
    np.testing.assert_array_equal(visible.numpy(), data[f"{case}/keypoints_visible"])


def _sample(seed):
    rng = np.random.default_rng(0)
    return {"keypoints": rng.uniform(0, 10, (5, 17, 2)).astype(np.float32),
            "keypoints_visible": rng.uniform(size=(5, 17)).astype(np.float32),
            "lifting_target": rng.normal(size=(1, 17, 3)).astype(np.float32),
            "lifting_target_visible": np.ones((1, 17), np.float32),
            "flip_indices": np.array(FLIP, np.int32),
            "camera_param": {"w": 1000.0, "h": 1000.0, "c": np.float32([[510.0], [490.0]])},
            "seed": np.array([seed, 1], np.int64)}


def test_flips_about_the_root_per_frame_with_camera_and_in_tf_data():
    transform = RandomFlipAroundRoot({"center_mode": "root"}, {}, flip_prob=1.0,
                                     flip_camera=True)
    sample = _sample(0)
    out = transform({k: tf.nest.map_structure(tf.constant, v) for k, v in sample.items()})
    kpts = sample["keypoints"]
    expected = kpts[:, FLIP].copy()
    expected[..., 0] = 2 * kpts[:, :1, 0] - expected[..., 0]  # root x of each frame
    np.testing.assert_allclose(out["keypoints"].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(out["lifting_target"].numpy()[0, :, 0],
                               1.0 - sample["lifting_target"][0, FLIP, 0], atol=1e-6)
    np.testing.assert_allclose(out["camera_param"]["c"].numpy(), [[-510.0], [490.0]])
    ds = tf.data.Dataset.from_tensors(sample).map(transform)
    np.testing.assert_allclose(next(iter(ds))["keypoints"].numpy(), expected, atol=1e-5)


def test_probability_zero_keeps_the_sample_and_draws_follow_the_seed():
    sample = _sample(3)
    out = RandomFlipAroundRoot(flip_prob=0.0)(sample)
    np.testing.assert_array_equal(out["keypoints"].numpy(), sample["keypoints"])
    half = RandomFlipAroundRoot(flip_prob=0.5)
    flips = [bool(half(_sample(s))["flip"]) for s in range(40)]
    assert 8 < sum(flips) < 32
    assert flips == [bool(half(_sample(s))["flip"]) for s in range(40)]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="center_mode"):
        RandomFlipAroundRoot({"center_mode": "middle"}, {})
    with pytest.raises(ValueError, match="takes keys"):
        RandomFlipAroundRoot({"centre": 1}, {})
    with pytest.raises(ValueError, match="flip_prob"):
        RandomFlipAroundRoot(flip_prob=2)
