"""PoseTrack18Dataset on PoseTrack18-format files (merged json and per-video folder)."""

import json
import os

import cv2
import numpy as np
import pytest

from kpose.datasets.pose_track18_dataset import PoseTrack18Dataset

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "dataset_readers.json")


def _write(path, content):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(content, f)


def test_merged_json_matches_mmpose_records(tmp_path):
    with open(GOLDENS) as f:
        golden = json.load(f)["posetrack18"]
    coco = golden["files"]["ann.json"]
    _write(str(tmp_path / "ann.json"), coco)
    ds = PoseTrack18Dataset("ann.json", data_root=str(tmp_path), check_images=False)
    expected = golden["expected"]
    np.testing.assert_array_equal(ds.records["id"], expected["id"])
    np.testing.assert_array_equal(ds.records["img_id"], expected["img_id"])
    for key in ("bbox", "keypoints", "keypoints_visible", "area"):
        np.testing.assert_array_equal(ds.records[key], np.asarray(expected[key], np.float32), err_msg=key)
    # frame columns from the image entries, track ids from the annotations
    np.testing.assert_array_equal(ds.records["frame_id"], 10003420000 + np.asarray(expected["img_id"]) - 10)
    np.testing.assert_array_equal(ds.records["nframes"], [3] * len(ds))
    np.testing.assert_array_equal(ds.records["frame_index"], np.asarray(expected["img_id"]) - 10)
    np.testing.assert_array_equal(ds.records["track_id"], (np.asarray(expected["id"]) - 100) % 3)
    assert set(ds.records["vid_id"].tolist()) == {"000342"}
    assert ds.records["img_path"][0].endswith("images/val/000342_mpii_test/000000.jpg")


def _video(vid, first_image_id, frames, size=(48, 32)):
    """An official per-video file (no width/height) with one person on frames 0 and 2."""
    images, anns = [], []
    for f in range(frames):
        images.append({"id": first_image_id + f, "file_name": f"images/val/{vid}/{f:06d}.jpg",
                       "frame_id": first_image_id + f, "vid_id": vid[:6], "nframes": frames,
                       "is_labeled": f % 2 == 0})
        if f % 2 == 0:
            kpts = [0, 0, 0] * 17
            kpts[0:3] = [10 + f, 12, 1]
            anns.append({"id": first_image_id * 10 + f, "image_id": first_image_id + f, "track_id": 4,
                         "category_id": 1, "bbox": [2.0, 3.0, 30.0, 40.0], "keypoints": kpts})
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}


def _frames(root, coco, size=(48, 32)):
    for img in coco["images"]:
        path = os.path.join(root, img["file_name"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        cv2.imwrite(path, np.full((size[1], size[0], 3), 128, np.uint8))


def test_folder_of_per_video_files(tmp_path):
    root = str(tmp_path)
    a, b = _video("000342_mpii_test", 10003420000, 3), _video("000522_mpii_test", 10005220000, 2)
    for name, video in (("000342_mpii_test.json", a), ("000522_mpii_test.json", b)):
        _write(os.path.join(root, "annotations", "val", name), video)
        _frames(root, video)
    ds = PoseTrack18Dataset("annotations/val", data_root=root)
    r = ds.records
    np.testing.assert_array_equal(r["img_id"], [10003420000, 10003420002, 10005220000])
    np.testing.assert_array_equal(r["frame_index"], [0, 2, 0])
    np.testing.assert_array_equal(r["nframes"], [3, 3, 2])
    np.testing.assert_array_equal(r["track_id"], [4, 4, 4])
    assert r["vid_id"].tolist() == ["000342", "000342", "000522"]
    # sizes read from the frames' headers: h 32, w 48; the box is clipped to them
    np.testing.assert_array_equal(r["img_shape"], [[32, 48]] * 3)
    np.testing.assert_array_equal(r["bbox"][0], [2.0, 3.0, 32.0, 31.0])
    np.testing.assert_array_equal(r["keypoints"][:, 0], [[10, 12], [12, 12], [10, 12]])


def test_repeated_ids_across_videos_name_both_files(tmp_path):
    root = str(tmp_path)
    video = _video("000342_mpii_test", 1, 1)
    _write(os.path.join(root, "ann", "a.json"), video)
    _write(os.path.join(root, "ann", "b.json"), video)
    with pytest.raises(ValueError, match=r"b\.json: field 'images' repeats id 1 of .*a\.json"):
        PoseTrack18Dataset("ann", data_root=root, check_images=False)


def test_missing_frame_for_size_is_named(tmp_path):
    root = str(tmp_path)
    _write(os.path.join(root, "ann", "a.json"), _video("000342_mpii_test", 1, 1))
    with pytest.raises(FileNotFoundError, match=r"no width/height.*000000\.jpg does not exist"):
        PoseTrack18Dataset("ann", data_root=root)
    os.makedirs(os.path.join(root, "empty"))
    with pytest.raises(FileNotFoundError, match="holds no .json files"):
        PoseTrack18Dataset("empty", data_root=root)


def test_detections_get_frame_columns(tmp_path):
    root = str(tmp_path)
    _write(os.path.join(root, "ann.json"), dict(_video("000342_mpii_test", 1, 3),
                                                 images=[dict(i, width=48, height=32) for i in
                                                         _video("000342_mpii_test", 1, 3)["images"]]))
    _write(os.path.join(root, "dets.json"), [{"image_id": 2, "bbox": [1, 1, 5, 5], "score": 0.8,
                                               "category_id": 1}])
    ds = PoseTrack18Dataset("ann.json", data_root=root, test_mode=True, bbox_file="dets.json",
                            check_images=False)
    np.testing.assert_array_equal(ds.records["frame_index"], [1])
    np.testing.assert_array_equal(ds.records["track_id"], [-1])
    np.testing.assert_array_equal(ds.records["bbox"], [[1, 1, 6, 6]])
