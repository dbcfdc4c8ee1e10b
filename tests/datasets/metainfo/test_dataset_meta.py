"""DatasetMeta: parsing MMPose's dataset_info structure and its validation errors."""

import copy

import numpy as np
import pytest

from kpose.datasets.metainfo import DatasetMeta

TINY = {
    "dataset_name": "tiny",
    "keypoint_info": {
        0: {"name": "head", "id": 0, "color": [10, 20, 30], "type": "upper", "swap": ""},
        1: {"name": "left_hand", "id": 1, "color": [0, 255, 0], "type": "upper", "swap": "right_hand"},
        2: {"name": "right_hand", "id": 2, "color": [255, 128, 0], "type": "upper", "swap": "left_hand"},
        3: {"name": "foot", "id": 3, "type": "lower"},
    },
    "skeleton_info": {
        0: {"link": ("head", "left_hand"), "id": 0, "color": [1, 2, 3]},
        1: {"link": ("head", "right_hand"), "id": 1},
    },
    "joint_weights": [1.0, 1.5, 1.5, 1.0],
    "sigmas": [0.02, 0.05, 0.05, 0.08],
}


def test_parses_dataset_info():
    meta = DatasetMeta.from_dataset_info(TINY, source="tiny.json")
    assert meta.keypoint_names == ("head", "left_hand", "right_hand", "foot")
    assert meta.num_keypoints == 4
    assert meta.flip_indices == (0, 2, 1, 3)
    assert meta.flip_pairs == ((1, 2),)
    assert meta.upper_body_ids == (0, 1, 2) and meta.lower_body_ids == (3,)
    assert meta.skeleton_links == ((0, 1), (0, 2))
    # MMPose's defaults for missing colours.
    assert meta.keypoint_colors[3].tolist() == [255, 128, 0]
    assert meta.skeleton_link_colors[1].tolist() == [96, 96, 255]
    assert meta.joint_weights.dtype == np.float32 and meta.sigmas.dtype == np.float32


def test_string_keys_as_in_json_are_accepted():
    info = copy.deepcopy(TINY)
    info["keypoint_info"] = {str(k): v for k, v in info["keypoint_info"].items()}
    info["skeleton_info"] = {str(k): v for k, v in info["skeleton_info"].items()}
    assert DatasetMeta.from_dataset_info(info) == DatasetMeta.from_dataset_info(TINY)


def test_to_dataset_info_round_trip():
    meta = DatasetMeta.from_dataset_info(TINY)
    again = DatasetMeta.from_dataset_info(meta.to_dataset_info())
    assert again == meta
    assert again.keypoint_colors.tolist() == meta.keypoint_colors.tolist()


def test_empty_sigmas_mean_no_oks():
    info = dict(TINY, sigmas=[])
    assert DatasetMeta.from_dataset_info(info).sigmas.shape == (0,)


def _broken(**changes):
    info = copy.deepcopy(TINY)
    for path, value in changes.items():
        target = info
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key) if key.isdigit() else key]
        if value is None:
            del target[keys[-1]]
        else:
            target[int(keys[-1]) if keys[-1].isdigit() else keys[-1]] = value
    return info


@pytest.mark.parametrize("changes, words", [
    ({"keypoint_info.1.swap": "nobody"}, ["keypoint_info[1].swap", "nobody"]),
    ({"keypoint_info.2.swap": "head"}, [".swap", "swaps with 'head'"]),
    ({"sigmas": [0.1, 0.1]}, ["sigmas", "(2,)", "(4,)"]),
    ({"joint_weights": [1.0] * 5}, ["joint_weights", "(5,)"]),
    ({"sigmas": [0.0, 0.1, 0.1, 0.1]}, ["sigmas", "positive"]),
    ({"skeleton_info.0.link": ("head", "tail")}, ["skeleton_info[0].link", "tail"]),
    ({"keypoint_info.0.type": "middle"}, ["keypoint_info[0].type", "middle"]),
    ({"keypoint_info.1.name": "head"}, ["keypoint_info", "repeats", "head"]),
    ({"keypoint_info.0.color": [0, 300, 0]}, ["keypoint_colors"]),
    ({"sigmas": None}, ["sigmas"]),
])
def test_inconsistent_info_names_source_and_field(changes, words):
    with pytest.raises(ValueError) as err:
        DatasetMeta.from_dataset_info(_broken(**changes), source="/data/my_info.json")
    message = str(err.value)
    assert "/data/my_info.json" in message
    for word in words:
        assert word in message


def test_ids_must_be_contiguous():
    info = copy.deepcopy(TINY)
    info["keypoint_info"][7] = info["keypoint_info"].pop(3)
    with pytest.raises(ValueError, match=r"keypoint_info.*0\.\.3"):
        DatasetMeta.from_dataset_info(info, source="x.json")
