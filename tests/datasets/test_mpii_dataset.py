"""MpiiDataset on MPII-format json (and head boxes) written by the tests."""

import json
import os

import cv2
import numpy as np
import pytest

from kpose.datasets.mpii_dataset import MpiiDataset

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "dataset_readers.json")


@pytest.fixture(scope="module")
def golden():
    with open(GOLDENS) as f:
        return json.load(f)["mpii"]


def _setup(root, golden, images=False):
    with open(os.path.join(root, "mpii_val.json"), "w") as f:
        json.dump(golden["files"]["mpii_val.json"], f)
    np.savez(os.path.join(root, "gt_valid.npz"), headboxes_src=np.asarray(golden["headboxes_src"]))
    if images:
        os.makedirs(os.path.join(root, "images"), exist_ok=True)
        for ann in golden["files"]["mpii_val.json"]:
            cv2.imwrite(os.path.join(root, "images", ann["image"]), np.zeros((30, 40, 3), np.uint8))


def test_matches_mmpose_records(tmp_path, golden):
    _setup(str(tmp_path), golden)
    ds = MpiiDataset("mpii_val.json", data_root=str(tmp_path), data_prefix="images", test_mode=True,
                     headbox_file="gt_valid.npz", check_images=False)
    expected = golden["expected"]
    np.testing.assert_array_equal(ds.records["id"], expected["id"])
    np.testing.assert_array_equal(ds.records["img_id"], expected["img_id"])
    for key in ("bbox", "bbox_center", "bbox_scale", "keypoints", "keypoints_visible", "area"):
        np.testing.assert_array_equal(ds.records[key], np.asarray(expected[key], np.float32), err_msg=key)
    # MMPose keeps float64 head sizes; kpose's column is float32
    np.testing.assert_allclose(ds.records["head_size"], expected["head_size"], rtol=1e-6)
    assert ds.num_skipped == {"no positive keypoint coordinate": 1}


def test_center_scale_conventions(tmp_path):
    joints = [[5.0, 6.0]] * 16
    anns = [{"image": "000000001.jpg", "center": [100.0, 50.0], "scale": 1.0, "joints": joints,
             "joints_vis": [1] * 16},
            {"image": "000000002.jpg", "center": [-1.0, -1.0], "scale": 0.5, "joints": joints,
             "joints_vis": [0] * 15 + [1]}]
    with open(tmp_path / "a.json", "w") as f:
        json.dump(anns, f)
    r = MpiiDataset("a.json", data_root=str(tmp_path), check_images=False).records
    # scale * 200; center y + 15/200 * 200 = +15, then -1 on both axes
    np.testing.assert_array_equal(r["bbox_scale"], [[200, 200], [100, 100]])
    np.testing.assert_array_equal(r["bbox_center"], [[99, 64], [-2, -2]])
    np.testing.assert_array_equal(r["bbox"][0], [-1, -36, 199, 164])
    np.testing.assert_array_equal(r["img_id"], [1, 2])
    np.testing.assert_allclose(r["area"], [0.53 * 200 * 200, 0.53 * 100 * 100], rtol=1e-6)
    np.testing.assert_array_equal(r["keypoints_visible"][1], [0] * 15 + [1])
    assert "head_size" not in r


def test_image_sizes_are_read_from_headers(tmp_path, golden):
    _setup(str(tmp_path), golden, images=True)
    ds = MpiiDataset("mpii_val.json", data_root=str(tmp_path), data_prefix="images")
    np.testing.assert_array_equal(ds.records["img_shape"], [[30, 40]] * len(ds))


@pytest.mark.parametrize("entry, message", [
    ({"image": "1.jpg", "center": [1, 2], "scale": 1}, r"entry \[0\] lacks field\(s\) \['joints', 'joints_vis'\]"),
    ({"image": "x.jpg", "center": [1, 2], "scale": 1, "joints": [[0, 0]] * 16, "joints_vis": [1] * 16},
     r"entry \[0\]: field 'image' must be a numbered file name.*'x.jpg'"),
    ({"image": "1.jpg", "center": [1, 2], "scale": -1, "joints": [[0, 0]] * 16, "joints_vis": [1] * 16},
     r"entry \[0\]: field 'scale' must be a positive number, got -1"),
    ({"image": "1.jpg", "center": [1, 2], "scale": 1, "joints": [[0, 0]] * 15, "joints_vis": [1] * 16},
     r"entry \[0\]: field 'joints' must be finite numbers of shape \(16, 2\)"),
    ({"image": "1.jpg", "center": [1, 2], "scale": 1, "joints": [[0, 0]] * 16, "joints_vis": [2] * 16},
     r"entry \[0\]: field 'joints_vis' must hold 0 / 1 flags"),
])
def test_malformed_entries_name_the_field(tmp_path, entry, message):
    with open(tmp_path / "a.json", "w") as f:
        json.dump([entry], f)
    with pytest.raises(ValueError, match=message):
        MpiiDataset("a.json", data_root=str(tmp_path), check_images=False)


def test_headbox_rules(tmp_path, golden):
    _setup(str(tmp_path), golden)
    with pytest.raises(ValueError, match="pass test_mode=True"):
        MpiiDataset("mpii_val.json", data_root=str(tmp_path), headbox_file="gt_valid.npz")
    np.savez(tmp_path / "short.npz", headboxes_src=np.ones((2, 2, 3)))
    with pytest.raises(ValueError, match=r"must have shape \(2, 2, 6\).*got \(2, 2, 3\)"):
        MpiiDataset("mpii_val.json", data_root=str(tmp_path), test_mode=True, headbox_file="short.npz",
                    check_images=False)
    with open(tmp_path / "heads.json", "w") as f:
        json.dump({"headboxes_src": golden["headboxes_src"]}, f)
    ds = MpiiDataset("mpii_val.json", data_root=str(tmp_path), test_mode=True, headbox_file="heads.json",
                     check_images=False)
    np.testing.assert_allclose(ds.records["head_size"], golden["expected"]["head_size"], rtol=1e-6)


def test_missing_images_are_listed(tmp_path, golden):
    _setup(str(tmp_path), golden)
    with pytest.raises(FileNotFoundError,
                       match=r"(?s)3 image\(s\) referenced by .*mpii_val.json do not exist.*015601866.jpg"):
        MpiiDataset("mpii_val.json", data_root=str(tmp_path), data_prefix="images")
