"""The built-in COCO meta information against MMPose 1.3.2's parsed values (goldens)."""

import json
import os

import numpy as np
import pytest

from kpose.datasets import metainfo

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "goldens", "metainfo_coco.json")


@pytest.fixture(scope="module")
def golden():
    # Written by tools/dev/make_metainfo_goldens.py with the MMPose reference venv.
    with open(GOLDEN) as f:
        return json.load(f)


def test_coco_matches_mmpose(golden):
    meta = metainfo.load("coco")
    k = golden["num_keypoints"]
    assert meta.name == golden["dataset_name"] == "coco"
    assert meta.num_keypoints == k == 17
    assert list(meta.keypoint_names) == [golden["keypoint_id2name"][str(i)] for i in range(k)]
    assert list(meta.flip_indices) == golden["flip_indices"]
    assert list(meta.upper_body_ids) == golden["upper_body_ids"]
    assert list(meta.lower_body_ids) == golden["lower_body_ids"]
    assert [list(link) for link in meta.skeleton_links] == golden["skeleton_links"]
    np.testing.assert_array_equal(meta.joint_weights, np.float32(golden["dataset_keypoint_weights"]))
    np.testing.assert_array_equal(meta.sigmas, np.float32(golden["sigmas"]))
    assert meta.keypoint_colors.dtype == np.uint8 and meta.keypoint_colors.shape == (k, 3)
    np.testing.assert_array_equal(meta.keypoint_colors, np.uint8(golden["keypoint_colors"]))
    np.testing.assert_array_equal(meta.skeleton_link_colors, np.uint8(golden["skeleton_link_colors"]))


def test_coco_flip_pairs_are_mmpose_pairs_listed_once(golden):
    meta = metainfo.load("coco")
    # MMPose lists each pair in both orders; kpose once, lower id first.
    assert set(meta.flip_pairs) == {tuple(sorted(p)) for p in golden["flip_pairs"]}
    assert len(meta.flip_pairs) == 8 and all(i < j for i, j in meta.flip_pairs)


def test_coco_colours_are_rgb_left_green_right_orange():
    meta = metainfo.load("coco")
    names = meta.keypoint_name2id
    assert meta.keypoint_colors[names["left_wrist"]].tolist() == [0, 255, 0]
    assert meta.keypoint_colors[names["right_wrist"]].tolist() == [255, 128, 0]


def test_builtin_is_cached_and_read_only():
    meta = metainfo.load("coco")
    assert metainfo.load("coco") is meta
    with pytest.raises(ValueError):
        meta.sigmas[0] = 1.0
    with pytest.raises(AttributeError):
        meta.name = "other"
