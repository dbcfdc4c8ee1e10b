"""build_lifting_pipeline: batches equal the codec's per-sample encoding of the records."""

import numpy as np
import pytest

from kpose.codecs.image_pose_lifting import ImagePoseLifting
from kpose.codecs.video_pose_lifting import VideoPoseLifting
from kpose.datasets.human36m_dataset import Human36mDataset
from kpose.datasets.lifting_pipeline import build_lifting_pipeline
from kpose.datasets.synthetic_mocap import make_synthetic_mocap


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("mocap")
    paths = make_synthetic_mocap(str(root), subjects=("S1",), test_subjects=("S9",),
                                 takes_per_subject=1, frames_per_take=20)
    return Human36mDataset(paths["train"], seq_len=9, causal=False, pad_video_seq=True,
                           camera_param_file=paths["cameras"])


def test_eval_batches_equal_per_sample_encoding(data):
    codec = VideoPoseLifting(num_keypoints=17, remove_root=True)
    ds = build_lifting_pipeline(data.records, data.meta, codec, train=False, batch_size=4)
    inputs, meta = next(iter(ds))
    assert inputs.shape == (4, 9, 34)
    rec, frames = data.records, data.records["frames"]
    for i in range(4):
        ids, target = rec["frame_indices"][i], rec["target_frame"][i]
        expected = codec.encode(frames["keypoints"][ids], frames["keypoints_visible"][ids],
                                frames["keypoints_3d"][[target]],
                                frames["keypoints_3d_visible"][[target]],
                                camera_param={"w": 1000, "h": 1002})
        np.testing.assert_allclose(inputs[i].numpy(), expected["keypoint_labels"], atol=1e-6)
        np.testing.assert_allclose(meta["target_root"][i].numpy(), expected["target_root"][0],
                                   atol=1e-6)
        np.testing.assert_allclose(meta["lifting_target"][i].numpy(),
                                   frames["keypoints_3d"][target])
    assert meta["id"].numpy().tolist() == [0, 1, 2, 3]
    # The middle input frame is the target frame (non-causal, padded at the start).
    np.testing.assert_array_equal(rec["frame_indices"][0], [0] * 5 + [1, 2, 3, 4])


def test_train_batches_have_targets_and_flip_keeps_bone_lengths(data):
    codec = VideoPoseLifting(num_keypoints=17)
    ds = build_lifting_pipeline(data.records, data.meta, codec, train=True, batch_size=8,
                                seed=1, input_size=None)
    inputs, targets = next(iter(ds))
    assert inputs.shape == (8, 9, 34)
    assert tuple(ds.element_spec[0].shape) == (8, 9, 34)  # static, for Keras to build on
    assert targets["lifting_target_label"].shape == (8, 17, 3)
    assert targets["lifting_target_weight"].shape == (8, 17)
    label = targets["lifting_target_label"].numpy()
    np.testing.assert_allclose(label[:, 0], 0.0, atol=1e-6)  # root-relative
    thigh = np.linalg.norm(label[:, 1] - label[:, 2], axis=-1)
    np.testing.assert_allclose(thigh, 0.45, atol=1e-3)
    # Same seed, same batch.
    again, _ = next(iter(build_lifting_pipeline(data.records, data.meta, codec, train=True,
                                                batch_size=8, seed=1)))
    np.testing.assert_array_equal(again.numpy(), inputs.numpy())


def test_image_codec_needs_no_camera_and_errors_are_clear(data):
    codec = ImagePoseLifting(num_keypoints=17, reshape_keypoints=False)
    records = dict(data.records)
    records["frames"] = {k: v for k, v in data.records["frames"].items()
                         if not k.startswith("camera")}
    inputs, meta = next(iter(build_lifting_pipeline(records, data.meta, codec, train=False,
                                                    batch_size=2)))
    assert inputs.shape == (2, 9, 17, 2)
    with pytest.raises(ValueError, match="camera_param_file"):
        build_lifting_pipeline(records, data.meta, VideoPoseLifting(17), train=False,
                               batch_size=2)
    with pytest.raises(ValueError, match="frame_indices"):
        build_lifting_pipeline({"frames": {}}, data.meta, codec, train=False, batch_size=2)
    with pytest.raises(ValueError, match="batch_size"):
        build_lifting_pipeline(records, data.meta, codec, train=False, batch_size=0)
