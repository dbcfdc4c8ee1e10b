"""Property-based tests: CocoStyleDataset on malformed annotation files.

Every file either loads (bad annotations skipped and listed, the records well formed) or
fails with ValueError / FileNotFoundError naming the file and, for a broken record, the
record and its field; never another exception type.
"""

import copy
import json
import logging
import math
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpose.datasets import CocoStyleDataset
from kpose.datasets.metainfo import DatasetMeta

META = DatasetMeta.from_dataset_info({
    "dataset_name": "three",
    "keypoint_info": {0: {"name": "a", "swap": ""}, 1: {"name": "b", "swap": "c"},
                      2: {"name": "c", "swap": "b"}},
    "skeleton_info": {}, "joint_weights": [1, 1, 1], "sigmas": [0.1, 0.1, 0.1]})
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
ANN_FIELDS = ["id", "image_id", "bbox", "keypoints", "area", "num_keypoints", "category_id",
              "iscrowd"]
IMG_FIELDS = ["id", "file_name", "width", "height"]


def _base():
    images = [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
              {"id": 2, "file_name": "sub/b.jpg", "width": 64, "height": 64}]
    anns = [
        {"id": 10, "image_id": 1, "bbox": [5, 5, 40, 50], "keypoints": [10, 10, 2, 20, 30, 1, 0, 0, 0],
         "num_keypoints": 2, "area": 900.0, "category_id": 1, "iscrowd": 0},
        {"id": 11, "image_id": 1, "bbox": [50, 10, 30, 60], "keypoints": [60, 20, 2, 70, 40, 2, 65, 60, 2],
         "num_keypoints": 3, "area": 1200.0, "category_id": 1, "iscrowd": 0},
        {"id": 12, "image_id": 2, "bbox": [1, 1, 60, 60], "keypoints": [5, 5, 2, 0, 0, 0, 30, 30, 2],
         "num_keypoints": 2, "category_id": 1, "iscrowd": 0},
    ]
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "person"}]}


JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
    st.lists(st.integers(-5, 5), max_size=4), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))

# One damage done to a valid file: (kind, target index, field, value).
MUTATION = st.one_of(
    st.tuples(st.just("drop_ann_field"), st.integers(0, 2), st.sampled_from(ANN_FIELDS), st.none()),
    st.tuples(st.just("set_ann_field"), st.integers(0, 2), st.sampled_from(ANN_FIELDS), JUNK),
    st.tuples(st.just("set_keypoint"), st.integers(0, 2), st.integers(0, 8), JUNK),
    st.tuples(st.just("set_bbox"), st.integers(0, 2), st.integers(0, 3),
              st.one_of(JUNK, st.floats(-200, 0))),
    st.tuples(st.just("drop_img_field"), st.integers(0, 1), st.sampled_from(IMG_FIELDS), st.none()),
    st.tuples(st.just("set_img_field"), st.integers(0, 1), st.sampled_from(IMG_FIELDS), JUNK),
    st.tuples(st.just("keypoint_count"), st.integers(0, 2), st.integers(0, 6), st.none()),
    st.tuples(st.just("duplicate_ann"), st.integers(0, 2), st.none(), st.none()),
    st.tuples(st.just("image_without_anns"), st.integers(0, 0), st.none(), st.none()),
    st.tuples(st.just("outside_keypoint"), st.integers(0, 2), st.integers(0, 2),
              st.sampled_from([-20.0, -0.5, 500.0])),
)


def _apply(coco, mutation):
    try:
        _mutate(coco, mutation)
    except (TypeError, KeyError, IndexError, AttributeError):
        pass  # an earlier damage already removed what this one would change
    return coco


def _mutate(coco, mutation):
    kind, i, field, value = mutation
    ann, img = coco["annotations"][i % 3], coco["images"][i % 2]
    if kind == "drop_ann_field":
        ann.pop(field, None)
    elif kind == "set_ann_field":
        ann[field] = value
    elif kind == "set_keypoint":
        ann["keypoints"][field] = value
    elif kind == "set_bbox":
        ann["bbox"][field] = value
    elif kind == "drop_img_field":
        img.pop(field, None)
    elif kind == "set_img_field":
        img[field] = value
    elif kind == "keypoint_count":
        ann["keypoints"] = ann["keypoints"][:3 * field] if field < 3 else ann["keypoints"] + [1, 1, 2] * (field - 2)
    elif kind == "duplicate_ann":
        coco["annotations"].append(copy.deepcopy(ann))
    elif kind == "image_without_anns":
        coco["images"].append({"id": 3, "file_name": "c.jpg", "width": 10, "height": 10})
    elif kind == "outside_keypoint":
        ann["keypoints"][3 * field:3 * field + 3] = [value, value, 2]


def _load(path, **kwargs):
    kwargs.setdefault("check_images", False)
    return CocoStyleDataset(path, data_root=os.path.dirname(path), data_prefix="images",
                            metainfo=META, **kwargs)


def _check_outcome(path, names_record=True, **kwargs):
    """Loads `path`; asserts the outcome is either clean records or a naming error."""
    try:
        ds = _load(path, **kwargs)
    except (ValueError, FileNotFoundError) as err:
        message = str(err)
        assert path in message, message
        if names_record:
            assert any(w in message for w in ("annotations[", "annotation id", "images[", "'images'",
                                               "'annotations'", "not valid JSON", "expected a COCO")), message
        return None
    r = ds.records
    n = len(ds)
    assert all(v.shape[0] == n for v in r.values())
    assert np.isfinite(r["keypoints"]).all() and np.isfinite(r["bbox"]).all() and np.isfinite(r["area"]).all()
    assert ((r["bbox"][:, 2] > r["bbox"][:, 0]) & (r["bbox"][:, 3] > r["bbox"][:, 1])).all()
    assert set(np.unique(r["keypoints_visible"]).tolist()) <= {0.0, 1.0}
    assert len(set(r["id"].tolist())) == n
    for line in ds.invalid_records:
        assert "annotation id" in line and "field '" in line
    return ds


def _write_json(directory, coco):
    path = os.path.join(directory, "ann.json")
    with open(path, "w") as f:
        json.dump(coco, f)  # NaN / Infinity are written as JSON extensions Python reads back
    return path


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as d:
        yield d


@SETTINGS
@given(mutations=st.lists(MUTATION, min_size=1, max_size=3))
def test_malformed_records_load_cleanly_or_fail_naming_them(workdir, mutations):
    coco = _base()
    for mutation in mutations:
        coco = _apply(coco, mutation)
    ds = _check_outcome(_write_json(workdir, coco))
    if ds is not None:
        listed = len(ds.invalid_records) + sum(ds.num_skipped.values()) + len(ds)
        assert listed == len(coco["annotations"])  # every annotation is kept or accounted for


@SETTINGS
@given(cut=st.integers(0, 10_000), junk=st.binary(min_size=1, max_size=8), where=st.integers(0, 10_000),
       kind=st.sampled_from(["truncate", "insert", "empty"]))
def test_truncated_empty_and_non_utf8_files(workdir, cut, junk, where, kind):
    text = json.dumps(_base()).encode()
    if kind == "truncate":
        data = text[: cut % len(text)]
    elif kind == "insert":
        data = text[: where % len(text)] + b"\xff\xfe" + junk + text[where % len(text):]
    else:
        data = b""
    path = os.path.join(workdir, "raw.json")
    with open(path, "wb") as f:
        f.write(data)
    ds = _check_outcome(path)
    if ds is not None:  # the insert landed inside a string, e.g. a file name: still well formed
        assert kind == "insert"


def test_each_damage_is_named(tmp_path, caplog):
    coco = _base()
    coco["annotations"][0]["keypoints"][3] = float("nan")
    coco["annotations"][1]["bbox"][2] = "wide"
    coco["annotations"][2]["keypoints"][2] = 7
    with caplog.at_level(logging.WARNING, logger="kpose.datasets.coco_style_dataset"):
        ds = _check_outcome(_write_json(str(tmp_path), coco))
    assert len(ds) == 0
    assert ds.invalid_records == [
        "annotations[0] (annotation id 10): field 'keypoints[3]' is nan, not a finite coordinate",
        "annotations[1] (annotation id 11): field 'bbox[2]' is 'wide', not a number",
        "annotations[2] (annotation id 12): field 'keypoints[2]' (visibility of keypoint 0) is 7, not 0, 1 or 2"]
    assert any("skipped 3 annotation(s) with invalid values" in r.message for r in caplog.records)


def test_structural_faults_raise_naming_file_record_and_field(tmp_path):
    cases = [
        (lambda c: c["annotations"].append(copy.deepcopy(c["annotations"][1])),
         r"annotations\[3\]\.id' repeats annotation id 11 of annotations\[1\]"),
        (lambda c: c["annotations"][2].__setitem__("id", "x12"), r"annotations\[2\]\.id' must be an integer"),
        (lambda c: c["annotations"][0].__setitem__("image_id", [1]), r"annotations\[0\]\.image_id'.*\[1\]"),
        (lambda c: c["images"][1].__setitem__("width", float("inf")), r"images\[1\]'"),
        (lambda c: c["annotations"][1].__setitem__("keypoints", [1, 1, 2] * 2),
         r"'keypoints' of annotation id 11 holds 2 keypoints.*has 3"),
    ]
    for damage, pattern in cases:
        coco = _base()
        damage(coco)
        path = _write_json(str(tmp_path), coco)
        with pytest.raises(ValueError, match=pattern) as err:
            _load(path)
        assert path in str(err.value)


def test_keypoints_outside_image_are_kept_and_counted(tmp_path, caplog):
    coco = _base()
    coco["annotations"][1]["keypoints"][0:3] = [500, 20, 2]
    coco["annotations"][2]["keypoints"][0:3] = [-3, 5, 1]
    with caplog.at_level(logging.WARNING, logger="kpose.datasets.coco_style_dataset"):
        ds = _check_outcome(_write_json(str(tmp_path), coco))
    assert len(ds) == 3 and ds.num_keypoints_outside == 2
    assert any("2 labelled keypoint(s) lie outside" in r.message and "[11, 12]" in r.message
               for r in caplog.records)


def test_images_without_annotations_and_negative_or_zero_boxes(tmp_path, caplog):
    coco = _base()
    coco["images"].append({"id": 3, "file_name": "lonely.jpg", "width": 10, "height": 10})
    coco["annotations"][0]["bbox"] = [5, 5, 0, 50]     # zero width
    coco["annotations"][1]["bbox"] = [50, 10, -30, 60]  # negative width
    with caplog.at_level(logging.WARNING, logger="kpose.datasets.coco_style_dataset"):
        ds = _check_outcome(_write_json(str(tmp_path), coco))
    assert ds.records["id"].tolist() == [12] and ds.num_skipped["empty box"] == 2
    assert 3 not in ds.records["img_id"]


@pytest.mark.parametrize("file_name", ["../secret.jpg", "sub/../../secret.jpg", "/etc/passwd"])
def test_paths_cannot_escape_the_image_folder(tmp_path, file_name):
    coco = _base()
    coco["images"][0]["file_name"] = file_name
    path = _write_json(str(tmp_path), coco)
    with pytest.raises(ValueError, match=r"images\[0\]\.file_name.*outside the image folder.*allow_outside_root"):
        _load(path)
    ds = _load(path, allow_outside_root=True)
    expected = os.path.normpath(os.path.join(str(tmp_path), "images", file_name))
    assert ds.records["img_path"][0] == expected


def test_inside_paths_still_work(tmp_path):
    ds = _check_outcome(_write_json(str(tmp_path), _base()))
    assert ds.records["img_path"][-1] == os.path.join(str(tmp_path), "images", "sub", "b.jpg")
    assert math.isclose(float(ds.records["area"][0]), 900.0)


@pytest.mark.parametrize("det, pattern", [
    ({"image_id": [1], "bbox": [0, 0, 5, 5], "score": 0.9, "category_id": 1}, r"image_id' of detection \[0\]"),
    ({"image_id": 1, "bbox": [0, "x", 5, 5], "score": 0.9, "category_id": 1}, r"detection \[0\].*'x'"),
    ({"image_id": 1, "bbox": [0, 0, 5, 5], "score": float("nan"), "category_id": 1}, r"detection \[0\].*nan"),
])
def test_bad_detections_name_the_detection(tmp_path, det, pattern):
    ann = _write_json(str(tmp_path), _base())
    dets = tmp_path / "dets.json"
    dets.write_text(json.dumps([det]))
    with pytest.raises(ValueError, match=pattern) as err:
        _load(ann, test_mode=True, bbox_file=str(dets))
    assert str(dets) in str(err.value)
