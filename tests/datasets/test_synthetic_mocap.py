"""The synthetic mocap source: fixed bone lengths, smooth motion, consistent projections,
MMPose's Human3.6M file format (read back by Human36mDataset)."""

import numpy as np
import pytest

from kpose.datasets.human36m_dataset import Human36mDataset
from kpose.datasets.synthetic_mocap import (ensure_synthetic_mocap, make_synthetic_mocap,
                                            project, random_camera, skeleton_motion)

BONES = [(0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9), (9, 10),
         (8, 11), (11, 12), (12, 13), (8, 14), (14, 15), (15, 16)]


def test_bones_keep_their_length_and_motion_is_smooth():
    world = skeleton_motion(np.random.default_rng(1), 250)
    lengths = np.stack([np.linalg.norm(world[:, a] - world[:, b], axis=-1) for a, b in BONES], 1)
    assert lengths.std(axis=0).max() < 1e-4
    np.testing.assert_allclose(lengths[0, [1, 2, 10, 11, 12]], [0.45, 0.44, np.hypot(0.16, 0.03), 0.28, 0.25],
                               atol=1e-4)
    # 50 fps: no joint moves more than 6 cm between frames.
    assert np.abs(np.diff(world, axis=0)).max() < 0.06
    # Left and right sides are where H36M puts them (left hip at +y of the pelvis frame).
    assert world[:, 10, 2].min() > world[:, 0, 2].max()


def test_projection_matches_the_pinhole_model():
    rng = np.random.default_rng(2)
    camera = random_camera(rng, np.zeros(3))
    world = skeleton_motion(rng, 20)
    cam, pixels = project(world, camera)
    np.testing.assert_allclose(np.linalg.det(camera["R"]), 1.0, atol=1e-5)
    expected = cam[..., :2] / cam[..., 2:] * camera["f"][:, 0] + camera["c"][:, 0]
    np.testing.assert_allclose(pixels, expected, rtol=1e-5)
    assert cam[..., 2].min() > 2.0  # in front of the camera
    assert (pixels > 0).all() and (pixels[..., 0] < 1000).all() and (pixels[..., 1] < 1002).all()


def test_files_read_back_as_human36m(tmp_path):
    paths = make_synthetic_mocap(str(tmp_path), subjects=("S1",), test_subjects=("S9",),
                                 takes_per_subject=2, frames_per_take=30)
    data = Human36mDataset(paths["train"], seq_len=9, causal=False, pad_video_seq=True,
                           camera_param_file=paths["cameras"])
    assert len(data) == 2 * 4 * 30  # takes x cameras x frames
    frames = data.records["frames"]
    assert frames["keypoints_3d"].shape == (240, 17, 3)
    np.testing.assert_array_equal(frames["camera_w"], 1000.0)
    again = make_synthetic_mocap(str(tmp_path / "b"), subjects=("S1",), test_subjects=("S9",),
                                 takes_per_subject=2, frames_per_take=30)
    np.testing.assert_array_equal(np.load(again["train"])["S"], np.load(paths["train"])["S"])


def test_ensure_writes_once_and_refuses_foreign_folders(tmp_path):
    out = ensure_synthetic_mocap(str(tmp_path / "m"), takes_per_subject=1, frames_per_take=10)
    stamp_time = (tmp_path / "m" / "kpose_synthetic_mocap.json").stat().st_mtime_ns
    ensure_synthetic_mocap(out, takes_per_subject=1, frames_per_take=10)
    assert (tmp_path / "m" / "kpose_synthetic_mocap.json").stat().st_mtime_ns == stamp_time
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "mine.txt").write_text("data")
    with pytest.raises(ValueError, match="refusing"):
        ensure_synthetic_mocap(str(tmp_path / "x"))
    with pytest.raises(ValueError, match="disjoint"):
        make_synthetic_mocap(str(tmp_path / "y"), subjects=("S1",), test_subjects=("S1",))
