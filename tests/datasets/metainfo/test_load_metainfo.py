"""metainfo.load: built-in names and custom files in both formats (JSON and MMPose .py)."""

import json

import pytest

from kpose.datasets import metainfo
from kpose.datasets.metainfo import DatasetMeta

# An MMPose-style dataset_info .py file, using the constructs MMPose's own files use:
# dict(), implicit string concatenation, list * int, list + list, and an earlier name.
PY_INFO = '''
colors = dict(mid=[51, 153, 255], left=[0, 255, 0])
dataset_info = dict(
    dataset_name='tiny_py',
    paper_info=dict(author='A and '
                    'B', year='2024'),
    keypoint_info={
        0: dict(name='head', id=0, color=colors['mid'], type='upper', swap=''),
        1: dict(name='left_hand', id=1, color=colors['left'], type='upper', swap='right_hand'),
        2: dict(name='right_hand', id=2, color=[255, 128, 0], type='upper', swap='left_hand'),
    },
    skeleton_info={
        0: dict(link=('head', 'left_hand'), id=0, color=[0, 255, 0]),
        1: dict(link=('head', 'right_hand'), id=1, color=[255, 128, 0]),
    },
    joint_weights=[1.] + [1.5] * 2,
    sigmas=[0.025, -(-0.05), 0.05])
'''


def test_builtin_names_and_unknown_name():
    assert "coco" in metainfo.BUILTIN_NAMES
    assert metainfo.load("coco").num_keypoints == 17
    with pytest.raises(ValueError, match="coco"):
        metainfo.load("cocoo")


def test_meta_passes_through():
    meta = metainfo.load("coco")
    assert metainfo.load(meta) is meta


def test_json_file(tmp_path):
    info = metainfo.load("coco").to_dataset_info()
    info["dataset_name"] = "coco_copy"
    path = tmp_path / "coco_copy.json"
    path.write_text(json.dumps(info))
    meta = metainfo.load(str(path))
    assert meta.name == "coco_copy"
    assert meta == DatasetMeta.from_dataset_info(dict(info, dataset_name="coco_copy"))
    assert meta.flip_indices == metainfo.load("coco").flip_indices
    # {"dataset_info": {...}} is accepted too.
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"dataset_info": info}))
    assert metainfo.load(wrapped).name == "coco_copy"


def test_py_file_read_without_executing(tmp_path):
    path = tmp_path / "tiny_py.py"
    path.write_text(PY_INFO)
    meta = metainfo.load(str(path))
    assert meta.name == "tiny_py"
    assert meta.flip_indices == (0, 2, 1)
    assert meta.joint_weights.tolist() == [1.0, 1.5, 1.5]
    assert meta.keypoint_colors[0].tolist() == [51, 153, 255]


def test_py_file_with_code_is_rejected_not_run(tmp_path):
    marker = tmp_path / "ran.txt"
    path = tmp_path / "evil.py"
    path.write_text(f"dataset_info = dict(dataset_name=open({str(marker)!r}, 'w').write('x'))\n")
    with pytest.raises(ValueError, match="evil.py"):
        metainfo.load(str(path))
    assert not marker.exists()


def test_py_file_without_dataset_info(tmp_path):
    path = tmp_path / "empty.py"
    path.write_text("x = 1\n")
    with pytest.raises(ValueError, match=r"empty\.py.*dataset_info"):
        metainfo.load(str(path))


def test_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.json"):
        metainfo.load(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="broken.json"):
        metainfo.load(str(broken))
    incomplete = tmp_path / "incomplete.json"
    incomplete.write_text(json.dumps({"dataset_name": "x", "keypoint_info": {}}))
    with pytest.raises(ValueError, match=r"incomplete\.json.*skeleton_info"):
        metainfo.load(str(incomplete))
    with pytest.raises(ValueError, match="yaml"):
        metainfo.load(str(tmp_path / "info.yaml"))
