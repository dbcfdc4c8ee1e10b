"""ImagePoseLifting against MMPose 1.3.2 goldens (tests/fixtures/goldens/pose_lifting.npz)."""

import numpy as np
import pytest
import tensorflow as tf

from kpose.codecs.image_pose_lifting import ImagePoseLifting
from lifting_goldens import load, section
from keras_test_case import assert_config_round_trip

CASES = ["img_default", "img_remove_root", "img_multi_root_vis", "img_stats"]


def _transpose_labels(codec, mmpose_labels):
    # MMPose flattens to (K * D, N) for Conv1d; kpose to (N, K * D), same channel order.
    return mmpose_labels.T if codec.reshape_keypoints else mmpose_labels


@pytest.mark.parametrize("case", CASES)
def test_encode_decode_match_mmpose(case):
    data, configs = load()
    inputs = section(data, "img_in")
    expected = section(data, case)
    codec = ImagePoseLifting(**configs[case])
    enc = codec.encode(inputs["keypoints"], inputs["keypoints_visible"],
                       inputs["lifting_target"], inputs["lifting_target_visible"])
    np.testing.assert_allclose(enc["keypoint_labels"],
                               _transpose_labels(codec, expected["keypoint_labels"]),
                               rtol=1e-6, atol=1e-6)
    for key in ("keypoint_labels_visible", "lifting_target_label", "lifting_target_weight",
                "trajectory_weights", "target_root"):
        np.testing.assert_allclose(enc[key], expected[key], rtol=1e-6, atol=1e-6, err_msg=key)
    decoded, scores = codec.decode(enc["lifting_target_label"], enc["target_root"][None])
    np.testing.assert_allclose(decoded, expected["decoded"], rtol=1e-6, atol=1e-6)
    assert scores.shape == decoded.shape[:-1] and np.all(scores == 1)


def test_decode_without_root_is_root_relative_with_the_root_put_back():
    data, configs = load()
    codec = ImagePoseLifting(**configs["img_remove_root"])
    label = section(data, "img_remove_root")["lifting_target_label"]
    decoded, _ = codec.decode(label)
    assert decoded.shape == (1, 17, 3)
    np.testing.assert_array_equal(decoded[0, 0], 0.0)
    # With the root kept, MMPose's decode without a root is the identity.
    codec = ImagePoseLifting(**configs["img_default"])
    np.testing.assert_allclose(codec.decode(section(data, "img_default")["lifting_target_label"])[0],
                               section(data, "img_default")["decoded_no_root"], atol=1e-6)


def test_encode_runs_in_graph_and_config_round_trips():
    data, configs = load()
    inputs = section(data, "img_in")
    codec = ImagePoseLifting(**configs["img_stats"])
    graph = tf.function(lambda k, v, t, tv: codec.encode(k, v, t, tv))
    out = graph(*(tf.constant(inputs[k]) for k in ("keypoints", "keypoints_visible",
                                                   "lifting_target", "lifting_target_visible")))
    np.testing.assert_allclose(out["lifting_target_label"].numpy(),
                               section(data, "img_stats")["lifting_target_label"], atol=1e-5)
    rebuilt = assert_config_round_trip(codec)
    np.testing.assert_allclose(rebuilt.target_std, codec.target_std)


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_keypoints=0), "num_keypoints"),
    (dict(num_keypoints=17, root_index=17), "root_index"),
    (dict(num_keypoints=17, root_index="a"), "root_index"),
    (dict(num_keypoints=17, keypoints_mean=np.zeros((17, 2))), "keypoints_std"),
    (dict(num_keypoints=17, target_mean=np.zeros(5), target_std=np.ones(5)), "target_mean"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ImagePoseLifting(**kwargs)
