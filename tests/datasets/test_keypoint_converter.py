"""KeypointConverter against MMPose's on a golden, and by hand."""

import json
import os

import gin
import numpy as np
import pytest

from kpose.datasets.keypoint_converter import KeypointConverter

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "dataset_readers.json")

CROWDPOSE_COCO = [(0, 5), (1, 6), (2, 7), (3, 8), (4, 9), (5, 10), (6, 11), (7, 12), (8, 13), (9, 14),
                  (10, 15), (11, 16)]


def test_matches_mmpose_with_averaged_pairs():
    with open(GOLDENS) as f:
        golden = json.load(f)["keypoint_converter"]
    mapping = [(tuple(s) if isinstance(s, list) else s, t) for s, t in golden["mapping"]]
    conv = KeypointConverter(14, mapping)
    kpts, vis = conv.convert(np.asarray(golden["keypoints"], np.float32),
                             np.asarray(golden["keypoints_visible"], np.float32))
    expected = np.asarray(golden["expected"]["keypoints_visible"])
    np.testing.assert_array_equal(kpts, np.asarray(golden["expected"]["keypoints"], np.float32))
    np.testing.assert_array_equal(vis, expected[..., 0])
    # MMPose's second channel ("visible weights") is 1 exactly where a target is mapped
    np.testing.assert_array_equal(np.broadcast_to(conv.mapped_mask, vis.shape), expected[..., 1])


def test_crowdpose_to_coco_by_hand():
    conv = KeypointConverter(17, CROWDPOSE_COCO)
    src = np.arange(14 * 2, dtype=np.float32).reshape(1, 14, 2)
    vis = np.ones((1, 14), np.float32)
    vis[0, 3] = 0
    records = conv({"keypoints": src, "keypoints_visible": vis, "id": np.array([7])})
    assert records["keypoints"].shape == (1, 17, 2) and records["id"].tolist() == [7]
    np.testing.assert_array_equal(records["keypoints"][0, 5:], src[0, :12])
    np.testing.assert_array_equal(records["keypoints"][0, :5], 0)
    np.testing.assert_array_equal(records["keypoints_visible"][0], [0] * 5 + [1, 1, 1, 0] + [1] * 8)
    assert conv.min_source_keypoints == 12


def test_pair_is_midpoint_visible_only_if_both():
    conv = KeypointConverter(2, [((0, 1), 0), (1, 1)])
    kpts, vis = conv.convert(np.array([[[0, 0], [10, 4]], [[2, 2], [4, 6]]], np.float32),
                             np.array([[1, 1], [1, 0]], np.float32))
    np.testing.assert_array_equal(kpts, [[[5, 2], [10, 4]], [[3, 4], [4, 6]]])
    np.testing.assert_array_equal(vis, [[1, 1], [0, 0]])
    # missing flags count as visible, (N, K, 2) flags use their first channel
    np.testing.assert_array_equal(conv.convert(kpts)[1], [[1, 1], [1, 1]])
    np.testing.assert_array_equal(conv.convert(kpts, np.stack([vis, 1 - vis], -1))[1], vis)


@pytest.mark.parametrize("args, message", [
    ((0, [(0, 0)]), "num_keypoints must be a positive int, received 0"),
    ((3, "0,1"), "mapping must be a sequence"),
    ((3, [(0, 1, 2)]), r"each mapping entry must be \(source, target\), received \(0, 1, 2\)"),
    ((3, [((0, 1, 2), 1)]), r"mapping entry must be .*received \(\(0, 1, 2\), 1\)"),
    ((3, [(-1, 1)]), r"indices >= 0, received \(-1, 1\)"),
    ((3, [(0, 3)]), r"targets index 3, but num_keypoints is 3"),
    ((3, [(0, 1), (2, 1)]), "names target index 1 twice"),
])
def test_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        KeypointConverter(*args)


def test_too_few_source_keypoints():
    with pytest.raises(ValueError, match="indexes source keypoint 11, but the keypoints have K=5"):
        KeypointConverter(17, CROWDPOSE_COCO).convert(np.zeros((1, 5, 2)))


def test_config_round_trip_and_gin():
    conv = KeypointConverter(14, [((5, 6), 13), (0, 1)])
    again = KeypointConverter(**conv.get_config())
    assert again.mapping == conv.mapping == [((5, 6), 13), (0, 1)]
    gin.clear_config()
    try:
        gin.parse_config("c/KeypointConverter.num_keypoints = 14\n"
                         "c/KeypointConverter.mapping = [((5, 6), 13), (0, 1)]")
        built = gin.get_bindings("c/KeypointConverter")
        assert built["mapping"] == [((5, 6), 13), (0, 1)]
    finally:
        gin.clear_config()
