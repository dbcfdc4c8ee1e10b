"""CocoStyleDataset on tiny COCO files written by the tests."""

import json
import logging
import os

import numpy as np
import pytest

from kpose.datasets import CocoStyleDataset
from kpose.datasets.metainfo import DatasetMeta

K = 17


def _kpts(points, v=2):
    """17 COCO keypoints: `points` {index: (x, y)} labelled with v, the rest [0, 0, 0]."""
    flat = [0.0] * (3 * K)
    for i, (x, y) in points.items():
        flat[3 * i:3 * i + 3] = [float(x), float(y), v]
    return flat


def _ann(ann_id, image_id, bbox, points, **extra):
    ann = {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0, "bbox": bbox,
           "keypoints": _kpts(points), "num_keypoints": len(points), "area": 1000.0}
    ann.update(extra)
    return ann


def _write(root, coco, images=True):
    os.makedirs(os.path.join(root, "images"), exist_ok=True)
    if images:
        for img in coco["images"]:
            with open(os.path.join(root, "images", img["file_name"]), "wb") as f:
                f.write(b"\xff\xd8\xff")  # existence is all CocoStyleDataset checks
    path = os.path.join(root, "ann.json")
    with open(path, "w") as f:
        json.dump(coco, f)
    return path


def _coco():
    images = [{"id": 20, "file_name": "b.jpg", "width": 100, "height": 80},
              {"id": 10, "file_name": "a.jpg", "width": 50, "height": 40},
              {"id": 30, "file_name": "empty.jpg", "width": 64, "height": 64}]
    anns = [
        _ann(1, 10, [5, 5, 20, 20], {0: (10, 10), 5: (12, 15)}),
        _ann(2, 20, [-10, 70, 50, 30], {0: (5, 75)}),          # crosses left and bottom borders
        _ann(3, 20, [10, 10, 30, 30], {0: (20, 20)}, iscrowd=1),  # crowd
        _ann(4, 20, [10, 10, 30, 30], {}),                       # no labelled keypoint
        _ann(5, 20, [200, 10, 30, 30], {0: (20, 20)}),           # box entirely right of the image
        _ann(6, 10, [1, 2, 3, 4], {1: (2, 3)}),                  # same image as 1, later in file
        _ann(7, 20, [1, 1, 10, 10], {2: (3, 3)}, area=None),     # no area: 0.53 * box area
    ]
    anns[6].pop("area")
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}


def test_records_follow_mmpose_rules(tmp_path, caplog):
    ann_file = _write(str(tmp_path), _coco())
    with caplog.at_level(logging.INFO, logger="kpose.datasets.coco_style_dataset"):
        ds = CocoStyleDataset(ann_file, data_root=str(tmp_path), data_prefix="images")
    r = ds.records
    # Image order of the json (20 before 10), then file order; 3, 4, 5 filtered out.
    assert r["id"].tolist() == [2, 7, 1, 6]
    assert len(ds) == 4 and ds.ann_file == os.path.abspath(ann_file)
    assert r["img_path"][0] == os.path.join(str(tmp_path), "images", "b.jpg")
    assert r["img_id"].tolist() == [20, 20, 10, 10]
    assert r["img_shape"].tolist() == [[80, 100], [80, 100], [40, 50], [40, 50]]
    # xywh -> xyxy clipped to [0, w - 1] x [0, h - 1], as MMPose.
    np.testing.assert_allclose(r["bbox"][0], [0, 70, 40, 79])
    np.testing.assert_allclose(r["bbox"][2], [5, 5, 25, 25])
    np.testing.assert_allclose(r["area"], [1000, 0.53 * 100, 1000, 1000], rtol=1e-6)
    assert r["keypoints"].shape == (4, K, 2) and r["keypoints"].dtype == np.float32
    assert r["keypoints"][2, 5].tolist() == [12, 15]
    assert r["keypoints_visible"][2].tolist() == [1, 0, 0, 0, 0, 1] + [0] * 11
    assert r["bbox_score"].tolist() == [1, 1, 1, 1]
    dtypes = {k: v.dtype for k, v in r.items()}
    assert dtypes["img_id"] == dtypes["id"] == dtypes["category_id"] == np.int64
    assert dtypes["img_shape"] == np.int32 and dtypes["bbox"] == dtypes["area"] == np.float32
    assert ds.num_skipped == {"no bbox or keypoints field": 0, "crowd": 1, "no labelled keypoint": 1,
                              "empty box": 1}
    assert any("1 empty box" in rec.message and rec.levelno == logging.WARNING for rec in caplog.records)


def test_test_mode_filters_like_training(tmp_path):
    # MMPose filters crowd / unlabelled / empty-box instances in test mode too.
    ann_file = _write(str(tmp_path), _coco())
    ds = CocoStyleDataset(ann_file, data_prefix=str(tmp_path / "images"), test_mode=True)
    assert ds.records["id"].tolist() == [2, 7, 1, 6]


def test_visibility_one_counts_and_missing_num_keypoints(tmp_path):
    coco = _coco()
    ann = coco["annotations"][0]
    ann["keypoints"][2] = 1  # v=1: occluded but labelled
    del ann["num_keypoints"]
    ds = CocoStyleDataset(_write(str(tmp_path), coco), data_prefix=str(tmp_path / "images"))
    row = ds.records["id"].tolist().index(1)
    assert ds.records["keypoints_visible"][row, 0] == 1.0


def _detections(tmp_path, dets):
    path = tmp_path / "dets.json"
    path.write_text(json.dumps(dets))
    return str(path)


def test_detections_file(tmp_path):
    ann_file = _write(str(tmp_path), _coco())
    dets = [
        {"image_id": 20, "bbox": [-5.0, 10.0, 30.0, 40.0], "score": 0.9, "category_id": 1},
        {"image_id": 10, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.2, "category_id": 1},  # below thr
        {"image_id": 30, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.5, "category_id": 1},  # exactly thr
        {"image_id": 10, "bbox": [1.0, 2.0, 3.0, 4.0], "score": 0.99, "category_id": 2},  # not a person
    ]
    ds = CocoStyleDataset(ann_file, data_root=str(tmp_path), data_prefix="images", test_mode=True,
                          bbox_file=_detections(tmp_path, dets), bbox_score_thr=0.5)
    r = ds.records
    assert r["img_id"].tolist() == [20, 30]
    assert r["id"].tolist() == [-1, -1]
    np.testing.assert_allclose(r["bbox_score"], [0.9, 0.5])
    # Detection boxes are converted, not clipped (MMPose).
    np.testing.assert_allclose(r["bbox"][0], [-5, 10, 25, 50])
    assert r["img_shape"].tolist() == [[80, 100], [64, 64]]
    assert not r["keypoints"].any() and not r["keypoints_visible"].any()
    assert r["keypoints"].shape == (2, K, 2)
    assert r["img_path"][1].endswith(os.path.join("images", "empty.jpg"))


def test_detections_need_test_mode(tmp_path):
    ann_file = _write(str(tmp_path), _coco())
    with pytest.raises(ValueError, match="test_mode"):
        CocoStyleDataset(ann_file, bbox_file=_detections(tmp_path, []))


def test_bad_detection_files(tmp_path):
    ann_file = _write(str(tmp_path), _coco())
    kwargs = {"data_prefix": str(tmp_path / "images"), "test_mode": True}
    bad = _detections(tmp_path, [{"image_id": 20, "bbox": [0, 0, 1, 1], "category_id": 1}])
    with pytest.raises(ValueError, match=r"dets\.json.*score"):
        CocoStyleDataset(ann_file, bbox_file=bad, **kwargs)
    bad = _detections(tmp_path, [{"image_id": 99, "bbox": [0, 0, 1, 1], "score": 1.0, "category_id": 1}])
    with pytest.raises(ValueError, match=r"dets\.json.*image_id.*99"):
        CocoStyleDataset(ann_file, bbox_file=bad, **kwargs)
    with pytest.raises(FileNotFoundError, match="nothere.json"):
        CocoStyleDataset(ann_file, bbox_file=str(tmp_path / "nothere.json"), **kwargs)


def test_missing_and_unparseable_annotation_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        CocoStyleDataset(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text('{"images": [')
    with pytest.raises(ValueError, match="broken.json"):
        CocoStyleDataset(str(broken))
    no_images = tmp_path / "no_images.json"
    no_images.write_text(json.dumps({"annotations": []}))
    with pytest.raises(ValueError, match=r"no_images\.json.*'images'"):
        CocoStyleDataset(str(no_images))


def test_keypoint_count_mismatch_names_annotation_and_counts(tmp_path):
    coco = _coco()
    coco["annotations"][1]["keypoints"] = [1.0, 2.0, 2] * 14
    ann_file = _write(str(tmp_path), coco)
    with pytest.raises(ValueError) as err:
        CocoStyleDataset(ann_file, data_prefix=str(tmp_path / "images"))
    message = str(err.value)
    for word in ("ann.json", "'keypoints'", "annotation id 2", "14", "17"):
        assert word in message


def test_unknown_image_id(tmp_path):
    coco = _coco()
    coco["annotations"][0]["image_id"] = 404
    with pytest.raises(ValueError, match=r"ann\.json.*image_id.*404"):
        CocoStyleDataset(_write(str(tmp_path), coco), data_prefix=str(tmp_path / "images"))


def test_bad_image_entry(tmp_path):
    coco = _coco()
    del coco["images"][1]["height"]
    with pytest.raises(ValueError, match=r"ann\.json.*images\[1\]"):
        CocoStyleDataset(_write(str(tmp_path), coco), check_images=False)


def test_missing_images_listed(tmp_path):
    coco = _coco()
    coco["images"] += [{"id": 100 + i, "file_name": f"gone{i}.jpg", "width": 64, "height": 64} for i in range(7)]
    coco["annotations"] += [_ann(100 + i, 100 + i, [1, 1, 20, 20], {0: (5, 5)}) for i in range(7)]
    ann_file = _write(str(tmp_path), coco)
    for i in range(7):
        os.remove(tmp_path / "images" / f"gone{i}.jpg")
    with pytest.raises(FileNotFoundError) as err:
        CocoStyleDataset(ann_file, data_prefix=str(tmp_path / "images"))
    message = str(err.value)
    assert "7 image(s)" in message and ann_file in message and "and 2 more" in message
    assert sum(f"gone{i}.jpg" in message for i in range(7)) == 5
    # Unchecked, the records are built anyway.
    assert len(CocoStyleDataset(ann_file, data_prefix=str(tmp_path / "images"), check_images=False)) == 11


def test_custom_metainfo(tmp_path):
    meta = DatasetMeta.from_dataset_info({
        "dataset_name": "three",
        "keypoint_info": {0: {"name": "a", "swap": ""}, 1: {"name": "b", "swap": "c"}, 2: {"name": "c", "swap": "b"}},
        "skeleton_info": {}, "joint_weights": [1, 1, 1], "sigmas": [0.1, 0.1, 0.1]})
    coco = {"images": [{"id": 1, "file_name": "x.jpg", "width": 10, "height": 10}],
            "annotations": [{"id": 1, "image_id": 1, "bbox": [0, 0, 5, 5], "keypoints": [1, 1, 2, 2, 2, 1, 0, 0, 0],
                             "num_keypoints": 2, "category_id": 1}]}
    ds = CocoStyleDataset(_write(str(tmp_path), coco), data_prefix=str(tmp_path / "images"), metainfo=meta)
    assert ds.meta is meta
    assert ds.records["keypoints"].shape == (1, 3, 2)
    assert ds.records["keypoints_visible"].tolist() == [[1, 1, 0]]
    with pytest.raises(ValueError, match=r"annotation id 1.*3 keypoints.*17"):
        CocoStyleDataset(str(tmp_path / "ann.json"), data_prefix=str(tmp_path / "images"), metainfo="coco")


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="bbox_score_thr"):
        CocoStyleDataset(str(tmp_path / "a.json"), bbox_score_thr=1.5)
    with pytest.raises(ValueError, match="ann_file"):
        CocoStyleDataset("")
