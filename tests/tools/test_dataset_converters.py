"""tools/dataset_converters: CVAT XML and Label Studio json -> COCO, on small real-format exports."""

import importlib.util
import json
import os

import cv2
import numpy as np
import pytest

from kpose.datasets.coco_style_dataset import CocoStyleDataset
from kpose.datasets.converters import cvat_to_coco, labelstudio_to_coco

TOOLS = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "dataset_converters")


def _load_tool(name):
    # tools/ holds scripts, not a package: load the files by path
    spec = importlib.util.spec_from_file_location(f"kpose_tool_{name}", os.path.join(TOOLS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COCO_NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
              "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
              "right_knee", "left_ankle", "right_ankle"]

# CVAT for images 1.1, as CVAT 2.x exports a task with a "person" skeleton and boxes.
CVAT_XML = """<?xml version="1.0" encoding="utf-8"?>
<annotations>
  <version>1.1</version>
  <meta>
    <task>
      <name>people</name>
      <labels>
        <label><name>person</name><type>skeleton</type><attributes></attributes></label>
        <label><name>nose</name><type>points</type><parent>person</parent></label>
        <label><name>car</name><type>rectangle</type></label>
      </labels>
    </task>
  </meta>
  <image id="3" name="img_a.jpg" subset="default" task_id="1" width="200" height="100">
    <box label="car" source="manual" occluded="0" xtl="0.00" ytl="0.00" xbr="50.00" ybr="50.00" z_order="0"></box>
    <box label="person" source="manual" occluded="0" xtl="100.00" ytl="10.00" xbr="190.00" ybr="95.00"
         z_order="0" group_id="7"></box>
    <box label="person" source="manual" occluded="0" xtl="10.00" ytl="5.00" xbr="60.00" ybr="90.00" z_order="0">
    </box>
    <skeleton label="person" source="manual" z_order="0" group_id="7">
      <points label="nose" source="manual" outside="0" occluded="0" points="150.50,20.25"></points>
      <points label="left_eye" source="manual" outside="0" occluded="1" points="155.00,18.00"></points>
      <points label="right_eye" source="manual" outside="1" occluded="0" points="0.00,0.00"></points>
    </skeleton>
    <skeleton label="person" source="manual" z_order="0">
      <points label="left_hip" source="manual" outside="0" occluded="0" points="30.00,60.00"></points>
      <points label="right_hip" source="manual" outside="0" occluded="0" points="40.00,61.00"></points>
    </skeleton>
  </image>
  <image id="4" name="img_b.jpg" subset="default" task_id="1" width="64" height="48">
    <points label="person" source="manual" occluded="1" z_order="0"
            points="{points}"></points>
  </image>
</annotations>
""".replace("{points}", ";".join(f"{i + 1}.0,{i + 2}.5" for i in range(17)))


def _images(root, coco):
    for img in coco["images"]:
        cv2.imwrite(os.path.join(root, img["file_name"]), np.zeros((img["height"], img["width"], 3), np.uint8))


def test_cvat_to_coco_cli(tmp_path):
    root = str(tmp_path)
    with open(os.path.join(root, "annotations.xml"), "w") as f:
        f.write(CVAT_XML)
    out = os.path.join(root, "out", "person_keypoints.json")
    coco = _load_tool("cvat_to_coco").main([os.path.join(root, "annotations.xml"), out])
    with open(out) as f:
        assert json.load(f) == coco
    assert coco["images"] == [{"id": 3, "file_name": "img_a.jpg", "width": 200, "height": 100},
                              {"id": 4, "file_name": "img_b.jpg", "width": 64, "height": 48}]
    assert coco["categories"][0]["keypoints"] == COCO_NAMES
    assert coco["categories"][0]["skeleton"][0] == [16, 14]  # COCO's first link, 1-based
    first, second, third = coco["annotations"]
    # grouped skeleton: its box by group_id; occluded -> v=1, outside -> unlabelled
    assert first["bbox"] == [100.0, 10.0, 90.0, 85.0] and first["num_keypoints"] == 2
    assert first["keypoints"][:9] == [150.5, 20.25, 2, 155.0, 18.0, 1, 0.0, 0.0, 0]
    assert first["area"] == pytest.approx(0.53 * 90 * 85, abs=1e-3)
    # ungrouped skeleton: the person box containing its keypoints (not the car)
    assert second["bbox"] == [10.0, 5.0, 50.0, 85.0]
    assert second["keypoints"][33:39] == [30.0, 60.0, 2, 40.0, 61.0, 2]
    # multi-point shape: 17 points in order, occluded; no box -> their extent
    assert third["keypoints"][:6] == [1.0, 2.5, 1, 2.0, 3.5, 1] and third["num_keypoints"] == 17
    assert third["bbox"] == [1.0, 2.5, 16.0, 16.0] and [a["id"] for a in coco["annotations"]] == [1, 2, 3]
    # the result loads as a COCO-style dataset
    _images(root, coco)
    ds = CocoStyleDataset(out, data_root=root)
    assert len(ds) == 3
    np.testing.assert_array_equal(ds.records["keypoints_visible"][0, :3], [1, 1, 0])


@pytest.mark.parametrize("change, message", [
    (('label="left_eye"', 'label="left_eyes"'), r"img_a.jpg.*keypoint 'left_eyes', which metainfo 'coco'"),
    (('points="150.50,20.25"', 'points="150.50"'), r"cannot parse points '150.50'"),
    ((';17.0,18.5"', '"'), r"img_b.jpg.*points shape #0 has 16 points, but metainfo 'coco' has 17"),
    (('width="64" ', ''), r"img_b.jpg.*needs integer id, width and height"),
])
def test_cvat_errors_name_the_place(tmp_path, change, message):
    path = tmp_path / "a.xml"
    path.write_text(CVAT_XML.replace(*change))
    with pytest.raises(ValueError, match=message):
        cvat_to_coco(str(path))


def test_cvat_video_export_is_refused(tmp_path):
    path = tmp_path / "v.xml"
    path.write_text('<annotations><version>1.1</version><track id="0" label="person"></track></annotations>')
    with pytest.raises(ValueError, match="CVAT for video"):
        cvat_to_coco(str(path))
    (tmp_path / "bad.xml").write_text("<annotations>")
    with pytest.raises(ValueError, match="not valid XML"):
        cvat_to_coco(str(tmp_path / "bad.xml"))


def _kp(rid, name, x, y, w=200, h=100, **extra):
    r = {"id": rid, "type": "keypointlabels", "from_name": "kp", "to_name": "img", "original_width": w,
         "original_height": h, "image_rotation": 0,
         "value": {"x": x, "y": y, "width": 0.5, "keypointlabels": [name]}}
    r.update(extra)
    return r


def _rect(rid, x, y, w, h, rotation=0, width=200, height=100, label="person"):
    return {"id": rid, "type": "rectanglelabels", "from_name": "box", "to_name": "img", "original_width": width,
            "original_height": height, "image_rotation": 0,
            "value": {"x": x, "y": y, "width": w, "height": h, "rotation": rotation, "rectanglelabels": [label]}}


# A Label Studio "JSON" export: tasks with data, annotations and results (positions in %).
LS_TASKS = [
    {"id": 11, "file_upload": "ab12-img_a.jpg", "data": {"image": "/data/upload/1/ab12-img_a.jpg"},
     "annotations": [
         {"id": 1, "was_cancelled": True, "result": []},
         {"id": 2, "was_cancelled": False, "result": [
             _rect("r1", 50, 10, 45, 85), _rect("r2", 5, 5, 25, 85),
             _kp("k1", "nose", 75.0, 20.0, parentID="r1"),       # parentID -> r1
             _kp("k2", "left_hip", 10.0, 60.0),                   # inside r2 only
             _kp("k3", "right_hip", 90.0, 90.0),                  # linked to r2 by a relation
             {"type": "relation", "from_id": "k3", "to_id": "r2", "direction": "right"},
             _kp("k4", "left_ankle", 99.0, 1.0),                  # in no rectangle: dropped
         ]}]},
    {"id": 12, "data": {"image": "http://host/images/my%20img.png"},
     "annotations": [{"id": 3, "result": [_kp("k5", "nose", 50.0, 50.0, w=64, h=48),
                                           _kp("k6", "left_eye", 25.0, 25.0, w=64, h=48)]}]},
    {"id": 13, "data": {"image": "/data/upload/1/rot.jpg"},
     "annotations": [{"id": 4, "result": [_rect("r3", 10, 10, 20, 20, rotation=90, width=100, height=100),
                                           _kp("k7", "nose", 5.0, 20.0, w=100, h=100)]}]},
    {"id": 14, "data": {"image": "/data/upload/1/empty.jpg"}, "annotations": []},
]


def test_labelstudio_to_coco_cli(tmp_path, caplog):
    root = str(tmp_path)
    with open(os.path.join(root, "export.json"), "w") as f:
        json.dump(LS_TASKS, f)
    out = os.path.join(root, "coco.json")
    coco = _load_tool("labelstudio_to_coco").main([os.path.join(root, "export.json"), out])
    assert [(i["id"], i["file_name"], i["width"], i["height"]) for i in coco["images"]] == [
        (11, "ab12-img_a.jpg", 200, 100), (12, "my img.png", 64, 48), (13, "rot.jpg", 100, 100)]
    a, b, c, d = coco["annotations"]
    # r1: nose at 75% x 200, 20% x 100
    assert a["image_id"] == 11 and a["keypoints"][:3] == [150.0, 20.0, 2] and a["num_keypoints"] == 1
    assert a["bbox"] == [100.0, 10.0, 90.0, 85.0]
    # r2: left_hip (contained) and right_hip (relation), the ankle in no box is dropped
    assert b["bbox"] == [10.0, 5.0, 50.0, 85.0] and b["num_keypoints"] == 2
    assert b["keypoints"][33:39] == [20.0, 60.0, 2, 180.0, 90.0, 2]
    # no rectangle: one person boxed by its keypoints' extent
    assert c["image_id"] == 12 and c["bbox"] == [16.0, 12.0, 16.0, 12.0]
    # rectangle rotated 90 degrees clockwise about its top-left corner (10, 10): x in [-10, 10]
    assert d["bbox"] == [-10.0, 10.0, 20.0, 20.0] and d["keypoints"][:3] == [5.0, 20.0, 2]
    assert "dropped 1 keypoint(s)" in caplog.text and "task id 14 has no annotation" in caplog.text
    with open(out) as f:
        assert json.load(f) == coco


@pytest.mark.parametrize("task, message", [
    ({"id": 5, "data": {}}, r"task id 5 has no data\['image'\]"),
    ({"id": 5, "data": {"image": "a.jpg"}, "annotations": [{"result": [_kp("k", "nose_tip", 1, 1)]}]},
     r"task id 5, result 'k': keypoint label \['nose_tip'\] is not one keypoint name"),
    ({"id": 5, "data": {"image": "a.jpg"},
      "annotations": [{"result": [_kp("k", "nose", 1, 1), _kp("j", "nose", 2, 2)]}]},
     r"task id 5: keypoint 'nose' is labelled twice"),
    ({"id": 5, "data": {"image": "a.jpg"}, "annotations": [{"result": [{"id": "k", "type": "keypointlabels",
                                                                        "value": {}}]}]},
     r"task id 5, result 'k': needs original_width and original_height"),
])
def test_labelstudio_errors_name_the_task(tmp_path, task, message):
    path = tmp_path / "e.json"
    path.write_text(json.dumps([task]))
    with pytest.raises(ValueError, match=message):
        labelstudio_to_coco(str(path))


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        labelstudio_to_coco(str(tmp_path / "none.json"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cvat_to_coco(str(tmp_path / "none.xml"))
