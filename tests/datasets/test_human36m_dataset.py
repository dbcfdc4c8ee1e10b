"""Human36mDataset on a tiny npz in MMPose's preprocessed format, written by the test."""

import pickle

import numpy as np
import pytest

from kpose.datasets.human36m_dataset import (Human36mDataset, parse_h36m_imgname,
                                             sequence_indices)


def write_h36m(tmp_path, videos=(("S1", "Walk_1", "54138969", 7), ("S1", "Sit", "55011271", 4))):
    names, s, part = [], [], []
    frame = 0
    for subject, action, camera, count in videos:
        for i in range(count):
            names.append(f"{subject}_{action}.{camera}_{i + 1:06d}.jpg")
            s.append(np.full((17, 4), frame, np.float32))
            part.append(np.full((17, 3), frame, np.float32))
            frame += 1
    s, part = np.stack(s), np.stack(part)
    s[..., 3] = 1
    part[..., 2] = 1
    np.savez(tmp_path / "h36m.npz", imgname=np.array(names), S=s, part=part,
             center=np.zeros((frame, 2)), scale=np.ones(frame))
    cameras = {("S1", cam): {"w": 1000, "h": 1002, "f": np.ones((2, 1)) * 1100,
                             "c": np.ones((2, 1)) * 500} for cam in ("54138969", "55011271")}
    with open(tmp_path / "cameras.pkl", "wb") as f:
        pickle.dump(cameras, f)
    return "h36m.npz"


def test_parse_imgname():
    assert parse_h36m_imgname("a/S11_Walking_1.60457274_000123.jpg") == \
        ("S11", "Walking_1", "60457274")
    with pytest.raises(ValueError, match="Human3.6M"):
        parse_h36m_imgname("frame.jpg")


def _mmpose_padded(ids, seq_len, step, causal):
    """MMPose's loop (Human36mDataset.get_sequence_indices, pad_video_seq=True)."""
    n = len(ids)
    left = seq_len - 1 if causal else (seq_len - 1) // 2
    right = 0 if causal else left
    out = []
    for i in range(n):
        pad_left = max(0, left - i // step)
        pad_right = max(0, right - (n - 1 - i) // step)
        start = max(i % step, i - left * step)
        end = min(n - (n - 1 - i) % step, i + right * step + 1)
        out.append([ids[0]] * pad_left + ids[start:end:step] + [ids[-1]] * pad_right)
    return out


@pytest.mark.parametrize("seq_len, step, causal", [(5, 1, False), (5, 2, False), (4, 3, True),
                                                   (1, 1, False), (9, 2, True)])
def test_padded_sequences_equal_mmposes_loop(seq_len, step, causal):
    ids = list(range(10, 21))
    ours = sequence_indices(np.array(ids), seq_len, step, True, causal)
    np.testing.assert_array_equal(ours, _mmpose_padded(ids, seq_len, step, causal))


def test_unpadded_windows():
    ours = sequence_indices(np.arange(7), 3, 2, False, False)
    np.testing.assert_array_equal(ours, [[0, 2, 4], [1, 3, 5], [2, 4, 6]])
    assert sequence_indices(np.arange(3), 5, 1, False, False).shape == (0, 5)


def test_records_sequences_targets_and_cameras(tmp_path):
    ann = write_h36m(tmp_path)
    data = Human36mDataset(ann, seq_len=3, causal=False, pad_video_seq=True,
                           camera_param_file="cameras.pkl", data_root=str(tmp_path),
                           data_prefix="images")
    # Videos sorted by (subject, action, camera): 'Sit' (frames 7-10) before 'Walk_1' (0-6).
    assert len(data) == 11
    rec = data.records
    np.testing.assert_array_equal(rec["frame_indices"][0], [7, 7, 8])
    np.testing.assert_array_equal(rec["frame_indices"][4], [0, 0, 1])
    np.testing.assert_array_equal(rec["target_frame"][:5], [7, 8, 9, 10, 0])
    assert rec["img_path"][0].endswith("images/S1_Sit.55011271_000001.jpg")
    frames = rec["frames"]
    np.testing.assert_array_equal(frames["keypoints_3d"][5], np.full((17, 3), 5.0))
    assert frames["keypoints"].shape == (11, 17, 2) and frames["camera_w"][0] == 1000
    causal = Human36mDataset(ann, seq_len=3, causal=True, data_root=str(tmp_path))
    np.testing.assert_array_equal(causal.records["frame_indices"][0], [7, 8, 9])
    np.testing.assert_array_equal(causal.records["target_frame"][:2], [9, 10])
    assert len(Human36mDataset(ann, seq_len=3, data_root=str(tmp_path), subset_frac=0.5)) == 3


def test_bad_arguments_and_files_raise(tmp_path):
    ann = write_h36m(tmp_path)
    with pytest.raises(ValueError, match="seq_len"):
        Human36mDataset(ann, seq_len=0, data_root=str(tmp_path))
    with pytest.raises(ValueError, match="multiple_target"):
        Human36mDataset(ann, multiple_target=2, data_root=str(tmp_path))
    with pytest.raises(ValueError, match="keypoint_2d_src"):
        Human36mDataset(ann, keypoint_2d_src="pipeline", data_root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        Human36mDataset("missing.npz", data_root=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="cams.pkl"):
        Human36mDataset(ann, camera_param_file="cams.pkl", data_root=str(tmp_path))
