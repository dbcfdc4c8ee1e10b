"""CocoWholeBodyDataset on COCO-WholeBody-format files written by the tests."""

import json
import os

import numpy as np
import pytest

from kpose.datasets.coco_whole_body_dataset import CocoWholeBodyDataset

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "dataset_readers.json")


def _write(root, name, content):
    with open(os.path.join(root, name), "w") as f:
        json.dump(content, f)


def test_matches_mmpose_records(tmp_path):
    with open(GOLDENS) as f:
        golden = json.load(f)["coco_wholebody"]
    _write(str(tmp_path), "ann.json", golden["files"]["ann.json"])
    ds = CocoWholeBodyDataset("ann.json", data_root=str(tmp_path), data_prefix="images", check_images=False)
    expected = golden["expected"]
    assert ds.meta.num_keypoints == 133
    np.testing.assert_array_equal(ds.records["id"], expected["id"])
    for key in ("bbox", "keypoints", "keypoints_visible", "area"):
        np.testing.assert_array_equal(ds.records[key], np.asarray(expected[key], np.float32), err_msg=key)


def _part(count, first):
    """`count` keypoints, only the first labelled at `first`."""
    return [first[0], first[1], 2] + [0, 0, 0] * (count - 1)


def _ann(**override):
    ann = {"id": 5, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [0, 0, 90, 90],
           "keypoints": _part(17, (1, 2)), "foot_kpts": _part(6, (3, 4)), "face_kpts": _part(68, (5, 6)),
           "lefthand_kpts": _part(21, (7, 8)), "righthand_kpts": _part(21, (9, 10)), "num_keypoints": 1}
    ann.update(override)
    return ann


def _coco(*anns):
    return {"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}], "annotations": list(anns)}


def test_parts_are_concatenated_in_mmpose_order(tmp_path):
    _write(str(tmp_path), "ann.json", _coco(_ann(righthand_kpts=_part(21, (9, 10))[:3] + [11, 12, 0.7] + [0] * 57)))
    ds = CocoWholeBodyDataset("ann.json", data_root=str(tmp_path), check_images=False)
    kpts, vis = ds.records["keypoints"][0], ds.records["keypoints_visible"][0]
    starts = {0: (1, 2), 17: (3, 4), 23: (5, 6), 91: (7, 8), 112: (9, 10)}
    for index, xy in starts.items():
        np.testing.assert_array_equal(kpts[index], xy)
        assert vis[index] == 1
    # a fractional flag > 0 counts as visible, as MMPose's `v > 0`
    np.testing.assert_array_equal(kpts[113], [11, 12])
    assert vis[113] == 1 and vis.sum() == 6


def test_person_without_body_keypoints_is_skipped(tmp_path):
    _write(str(tmp_path), "ann.json", _coco(_ann(keypoints=[0] * 51, num_keypoints=0)))
    ds = CocoWholeBodyDataset("ann.json", data_root=str(tmp_path), check_images=False)
    assert len(ds) == 0 and ds.num_skipped["no labelled keypoint"] == 1


def test_missing_part_names_annotation_and_field(tmp_path):
    ann = _ann()
    del ann["face_kpts"]
    _write(str(tmp_path), "ann.json", _coco(ann))
    with pytest.raises(ValueError, match=r"ann\.json.*'face_kpts' of annotation id 5.*204 values.*missing"):
        CocoWholeBodyDataset("ann.json", data_root=str(tmp_path), check_images=False)
    _write(str(tmp_path), "ann.json", _coco(_ann(foot_kpts=[1, 2, 2])))
    with pytest.raises(ValueError, match=r"'foot_kpts' of annotation id 5.*18 values.*got 3 values"):
        CocoWholeBodyDataset("ann.json", data_root=str(tmp_path), check_images=False)


def test_ubody2d_uses_the_same_reader(tmp_path):
    """MMPose's UBody2dDataset is a CocoWholeBodyDataset with UBody's (133-point) metainfo."""
    with open(GOLDENS) as f:
        golden = json.load(f)["coco_wholebody"]
    _write(str(tmp_path), "ann.json", golden["files"]["ann.json"])
    ds = CocoWholeBodyDataset("ann.json", data_root=str(tmp_path), metainfo="ubody2d", check_images=False)
    assert ds.meta.name == "ubody2d"
    np.testing.assert_array_equal(ds.records["keypoints"], np.asarray(golden["expected"]["keypoints"], np.float32))
