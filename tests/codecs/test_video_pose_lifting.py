"""VideoPoseLifting against MMPose 1.3.2 goldens (tests/fixtures/goldens/pose_lifting.npz)."""

import numpy as np
import pytest
import tensorflow as tf

from kpose.codecs.video_pose_lifting import VideoPoseLifting
from lifting_goldens import load, section
from keras_test_case import assert_config_round_trip

CASES = ["vid_default", "vid_remove_root", "vid_vis_camera", "vid_no_center"]


def _camera(inputs):
    return dict(w=int(inputs["camera_w"]), h=int(inputs["camera_h"]), f=inputs["camera_f"],
                c=inputs["camera_c"])


@pytest.mark.parametrize("case", CASES)
def test_encode_decode_match_mmpose(case):
    data, configs = load()
    inputs = section(data, "vid_in")
    target = section(data, "img_in")
    expected = section(data, case)
    codec = VideoPoseLifting(**configs[case])
    enc = codec.encode(inputs["keypoints"], inputs["keypoints_visible"],
                       target["lifting_target"], target["lifting_target_visible"],
                       camera_param=_camera(inputs))
    labels = expected["keypoint_labels"]
    np.testing.assert_allclose(enc["keypoint_labels"],
                               labels.T if codec.reshape_keypoints else labels,
                               rtol=1e-6, atol=1e-6)
    for key in ("keypoints_visible", "lifting_target_label", "lifting_target_weight",
                "trajectory_weights", "target_root"):
        if key in expected:
            np.testing.assert_allclose(enc[key], expected[key], rtol=1e-6, atol=1e-6,
                                       err_msg=key)
        else:
            assert key not in enc, key
    if "camera_f" in expected:
        np.testing.assert_allclose(enc["camera_param"]["f"], expected["camera_f"], rtol=1e-6)
        np.testing.assert_allclose(enc["camera_param"]["c"], expected["camera_c"], rtol=1e-6)
    root = enc.get("target_root")
    decoded, _ = codec.decode(enc["lifting_target_label"],
                              None if root is None else root[None])
    np.testing.assert_allclose(decoded, expected["decoded"], rtol=1e-6, atol=1e-6)


def test_encode_inside_tf_data_equals_eager():
    data, configs = load()
    inputs = section(data, "vid_in")
    target = section(data, "img_in")
    codec = VideoPoseLifting(**configs["vid_remove_root"])
    eager = codec.encode(inputs["keypoints"], None, target["lifting_target"], None,
                         camera_param=dict(w=1000, h=1002))
    ds = tf.data.Dataset.from_tensors((inputs["keypoints"], target["lifting_target"])).map(
        lambda k, t: codec.encode(k, None, t, None, camera_param={"w": 1000.0, "h": 1002.0}))
    out = next(iter(ds))
    for key in ("keypoint_labels", "lifting_target_label", "target_root"):
        np.testing.assert_allclose(out[key].numpy(), eager[key], atol=1e-6)
    # MMPose's quirk without target visibility: trajectory weights 1 / target[:, 2].
    np.testing.assert_allclose(eager["trajectory_weights"], 1 / target["lifting_target"][:, 2],
                               rtol=1e-6)


def test_bad_inputs_raise_and_config_round_trips():
    codec = VideoPoseLifting(num_keypoints=17, remove_root=True)
    with pytest.raises(ValueError, match="'w' and 'h'"):
        codec.encode(np.zeros((5, 17, 2)), None, np.zeros((1, 17, 3)), None, camera_param={})
    with pytest.raises(ValueError, match="num_keypoints"):
        VideoPoseLifting(num_keypoints=-1)
    assert assert_config_round_trip(codec).remove_root is True
