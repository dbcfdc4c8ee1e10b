"""Every built-in metainfo against MMPose 1.3.2's ``parse_pose_metainfo`` (goldens).

Goldens: tests/fixtures/goldens/metainfo_builtin.json, written by
``tools/dev/make_metainfo_goldens.py --all`` in the MMPose reference venv. Three MMPose
files are inconsistent and repaired in kpose (see tools/dev/make_metainfo_builtin.py);
those differences are asserted explicitly below.
"""

import json
import os
import warnings

import numpy as np
import pytest

from kpose.datasets import metainfo

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "goldens", "metainfo_builtin.json")
with open(GOLDEN) as _f:
    _GOLDENS = json.load(_f)["datasets"]


def test_every_builtin_has_a_golden_and_vice_versa():
    assert sorted(metainfo.BUILTIN_NAMES) == sorted(_GOLDENS)
    # 47 2D datasets of MMPose 1.3.2's configs/_base_/datasets plus Human3.6M.
    assert len(metainfo.BUILTIN_NAMES) == 48


@pytest.mark.parametrize("name", sorted(_GOLDENS))
def test_builtin_matches_mmpose(name):
    golden = _GOLDENS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # built-ins must load without warnings
        meta = metainfo.load(name)
    k = golden["num_keypoints"]
    assert meta.name == golden["dataset_name"]
    assert meta.num_keypoints == k
    assert list(meta.keypoint_names) == golden["keypoint_names"]
    assert list(meta.upper_body_ids) == golden["upper_body_ids"]
    assert list(meta.lower_body_ids) == golden["lower_body_ids"]
    assert [list(link) for link in meta.skeleton_links] == golden["skeleton_links"]
    np.testing.assert_array_equal(meta.sigmas, np.float32(golden["sigmas"]))
    np.testing.assert_array_equal(meta.keypoint_colors, np.uint8(golden["keypoint_colors"]).reshape(-1, 3))
    np.testing.assert_array_equal(meta.skeleton_link_colors,
                                  np.uint8(golden["skeleton_link_colors"]).reshape(-1, 3))
    weights = np.float32(golden["dataset_keypoint_weights"])
    if name in ("coco_aic", "humanart_aic"):
        # MMPose's file lacks the weight of the last keypoint (neck); kpose uses 1.0.
        assert weights.shape == (k - 1,)
        weights = np.append(weights, np.float32(1.0))
    np.testing.assert_array_equal(meta.joint_weights, weights)
    flip = list(golden["flip_indices"])
    pairs = {tuple(sorted(p)) for p in golden["flip_pairs"]}
    if name == "deepfashion2":
        # MMPose: vest_kpt9 (136) -> vest_kpt13 (140) but 140 -> 140; kpose makes it mutual.
        assert flip[136] == 140 and flip[140] == 140
        flip[140] = 136
    assert list(meta.flip_indices) == flip
    assert set(meta.flip_pairs) == pairs
    assert sorted(meta.flip_indices) == list(range(k))


def test_digit_stems_load_by_mmpose_name():
    assert metainfo.load("300w").num_keypoints == 68
    assert metainfo.load("300vw").name == "300vw"


def test_h36m_has_17_joints_with_root_first():
    meta = metainfo.load("h36m")
    assert meta.num_keypoints == 17 and meta.keypoint_names[0] == "root"
