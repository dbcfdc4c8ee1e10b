"""CrowdPoseDataset on CrowdPose-format files written by the tests."""

import json
import os

import numpy as np
import pytest

from kpose.datasets.crowd_pose_dataset import CrowdPoseDataset

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "dataset_readers.json")


def _golden(name):
    with open(GOLDENS) as f:
        return json.load(f)[name]


def _write_files(root, files):
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(content, f)


def _assert_matches_mmpose(records, expected):
    np.testing.assert_array_equal(records["img_id"], expected["img_id"])
    np.testing.assert_array_equal(records["id"], expected["id"])
    for key in ("bbox", "bbox_score", "keypoints", "keypoints_visible", "area"):
        np.testing.assert_array_equal(records[key], np.asarray(expected[key], np.float32), err_msg=key)


def test_matches_mmpose_records_and_crowd_index(tmp_path):
    golden = _golden("crowdpose")
    _write_files(str(tmp_path), golden["files"])
    ds = CrowdPoseDataset("ann.json", data_root=str(tmp_path), data_prefix="images", check_images=False)
    assert ds.meta.name == "crowdpose" and ds.meta.num_keypoints == 14
    _assert_matches_mmpose(ds.records, golden["expected"])
    np.testing.assert_array_equal(ds.records["crowd_index"],
                                  np.asarray(golden["expected"]["crowd_index"], np.float32))
    # skipped as MMPose: a crowd person, an unlabelled one and a box outside its image
    assert ds.num_skipped["crowd"] == 1 and ds.num_skipped["no labelled keypoint"] == 1
    assert ds.num_skipped["empty box"] == 1


def _tiny(crowd_index=0.25):
    kpts = [10.0, 20.0, 2] + [0, 0, 0] * 13
    img = {"id": 7, "file_name": "a.jpg", "width": 100, "height": 80}
    if crowd_index is not None:
        img["crowdIndex"] = crowd_index
    return {"images": [img], "annotations": [{"id": 1, "image_id": 7, "category_id": 1, "iscrowd": 0,
                                               "bbox": [5.0, 5.0, 20.0, 30.0], "keypoints": kpts,
                                               "num_keypoints": 1}]}


def test_crowd_index_per_row_and_missing(tmp_path):
    _write_files(str(tmp_path), {"a.json": _tiny(0.25), "b.json": _tiny(None)})
    ds = CrowdPoseDataset("a.json", data_root=str(tmp_path), check_images=False)
    np.testing.assert_array_equal(ds.records["crowd_index"], [0.25])
    np.testing.assert_array_equal(ds.records["bbox"], [[5.0, 5.0, 25.0, 35.0]])
    assert "CrowdPoseDataset(" in repr(ds)
    ds = CrowdPoseDataset("b.json", data_root=str(tmp_path), check_images=False)
    np.testing.assert_array_equal(ds.records["crowd_index"], [-1.0])


def test_crowd_index_for_detections(tmp_path):
    _write_files(str(tmp_path), {"a.json": _tiny(0.5),
                                 "dets.json": [{"image_id": 7, "bbox": [1, 2, 3, 4], "score": 0.9,
                                                "category_id": 1}]})
    ds = CrowdPoseDataset("a.json", data_root=str(tmp_path), test_mode=True, bbox_file="dets.json",
                          check_images=False)
    np.testing.assert_array_equal(ds.records["crowd_index"], [0.5])
    np.testing.assert_array_equal(ds.records["bbox"], [[1, 2, 4, 6]])


def test_bad_crowd_index_names_the_image(tmp_path):
    _write_files(str(tmp_path), {"a.json": _tiny("high")})
    with pytest.raises(ValueError, match=r"a\.json.*images\[0\]\.crowdIndex.*image id 7.*'high'"):
        CrowdPoseDataset("a.json", data_root=str(tmp_path), check_images=False)
