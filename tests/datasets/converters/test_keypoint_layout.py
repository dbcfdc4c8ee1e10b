"""convert_keypoint_layout and ensure_synthetic_in_layout: COCO json rewritten in another layout."""

import json
import os

import numpy as np
import pytest

from kpose.datasets.coco_style_dataset import CocoStyleDataset
from kpose.datasets.converters.keypoint_layout import convert_keypoint_layout, ensure_synthetic_in_layout
from kpose.datasets.crowd_pose_dataset import CrowdPoseDataset
from kpose.datasets.keypoint_converter import KeypointConverter

COCO_CROWDPOSE = KeypointConverter(14, [(i + 5, i) for i in range(12)] + [((5, 6), 13)])


def _person(ann_id, image_id, bbox, points):
    kpts = [0, 0, 0] * 17
    for k, (x, y, v) in points.items():
        kpts[3 * k:3 * k + 3] = [x, y, v]
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0, "bbox": bbox,
            "keypoints": kpts, "num_keypoints": len(points), "area": 100.0}


def test_coco_to_crowdpose_by_hand(tmp_path):
    a = _person(1, 1, [0, 0, 50, 50], {0: (9, 9, 2), 5: (10, 20, 2), 6: (30, 22, 1), 11: (12, 40, 2)})
    b = _person(2, 1, [40, 0, 50, 50], {5: (45, 20, 2), 6: (60, 20, 0), 16: (20, 30, 2)})
    coco = {"images": [{"id": 1, "file_name": "x.jpg", "width": 100, "height": 60}], "annotations": [a, b],
            "categories": [{"id": 1, "name": "person"}]}
    src = tmp_path / "coco.json"
    src.write_text(json.dumps(coco))
    out = convert_keypoint_layout(str(src), COCO_CROWDPOSE, "crowdpose", out_file=str(tmp_path / "cp.json"),
                                  crowd_index=True)
    ka = np.reshape(out["annotations"][0]["keypoints"], (14, 3))
    np.testing.assert_array_equal(ka[0], [10, 20, 2])      # left_shoulder
    np.testing.assert_array_equal(ka[1], [30, 22, 1])      # right_shoulder, occluded
    np.testing.assert_array_equal(ka[6], [12, 40, 2])      # left_hip
    np.testing.assert_array_equal(ka[13], [20, 21, 1])     # neck: midpoint, the smaller flag
    np.testing.assert_array_equal(ka[12], [0, 0, 0])       # head_top: no COCO source
    assert out["annotations"][0]["num_keypoints"] == 4
    kb = np.reshape(out["annotations"][1]["keypoints"], (14, 3))
    np.testing.assert_array_equal(kb[13], [0, 0, 0])       # one shoulder unlabelled: no neck
    assert out["categories"][0]["keypoints"][13] == "neck"
    # crowd index: a's box [0, 50]^2 holds b's (45, 20) and (20, 30): 2 of a's 4 own keypoints;
    # b's box [40, 90] x [0, 50] holds none of a's: 0 of b's 2 (its v=0 shoulder is unlabelled)
    assert out["images"][0]["crowdIndex"] == pytest.approx((2 / 4 + 0 / 2) / 2)
    with open(tmp_path / "cp.json") as f:
        assert json.load(f) == out


def test_converter_and_meta_must_agree(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"images": [], "annotations": []}))
    with pytest.raises(ValueError, match="maps to 14 keypoints, but metainfo 'coco' has 17"):
        convert_keypoint_layout(str(tmp_path / "c.json"), COCO_CROWDPOSE, "coco")


def test_synthetic_source_in_crowdpose_layout(tmp_path):
    source = str(tmp_path / "synthetic_coco")
    out = ensure_synthetic_in_layout(source, COCO_CROWDPOSE, "crowdpose", suffix="_crowdpose",
                                     num_train_images=3, image_size=(64, 64), crowd_index=True)
    assert out == source + "_crowdpose"
    assert sorted(os.listdir(os.path.join(out, "annotations"))) == [
        "crowdpose_train.json", "person_keypoints_train.json", "person_keypoints_val.json"]
    ds = CrowdPoseDataset("annotations/crowdpose_train.json", data_root=out, data_prefix="images/train")
    coco = CocoStyleDataset("annotations/person_keypoints_train.json", data_root=out, data_prefix="images/train")
    assert len(ds) >= 3 and ds.records["keypoints"].shape[1:] == (14, 2)
    # the rewritten rows carry the COCO shoulders as CrowdPose's first two keypoints
    np.testing.assert_array_equal(ds.records["keypoints"][:, :2], coco.records["keypoints"][:, 5:7])
    assert np.all(ds.records["crowd_index"] >= 0)
    # a second call reuses the images and rewrites the same json
    before = open(os.path.join(out, "annotations", "crowdpose_train.json")).read()
    ensure_synthetic_in_layout(source, COCO_CROWDPOSE, "crowdpose", suffix="_crowdpose", num_train_images=3,
                               image_size=(64, 64), crowd_index=True)
    assert open(os.path.join(out, "annotations", "crowdpose_train.json")).read() == before
