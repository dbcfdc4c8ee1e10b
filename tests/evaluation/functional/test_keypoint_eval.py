import json
import os

import numpy as np
import pytest

from kpose.evaluation.functional import (keypoint_auc, keypoint_distances, keypoint_epe,
                                         keypoint_nme, keypoint_pck_accuracy)

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "goldens")
INPUTS = dict(np.load(os.path.join(GOLDENS, "coco_metric_inputs.npz")))
with open(os.path.join(GOLDENS, "coco_metric_expected.json")) as f:
    EXPECTED = json.load(f)["pck"]
ARGS = (INPUTS["pck_keypoints"], INPUTS["pck_gt_keypoints"],
        INPUTS["pck_keypoints_visible"] > 0)


def test_auc_epe_nme_match_mmpose():
    assert keypoint_auc(*ARGS, 30.0) == pytest.approx(EXPECTED["auc_30"], abs=1e-6)
    assert keypoint_epe(*ARGS) == pytest.approx(EXPECTED["epe"], abs=1e-6)
    norm = np.full((len(ARGS[0]), 2), 100.0, np.float32)
    assert keypoint_nme(*ARGS, norm) == pytest.approx(EXPECTED["nme_100"], abs=1e-6)


def test_pck_hand_computed():
    gt = np.zeros((3, 2, 2))
    pred = np.array([[[3.0, 4.0], [1.0, 0.0]],
                     [[6.0, 8.0], [0.0, 0.0]],
                     [[0.0, 0.0], [0.0, 0.0]]])
    mask = np.array([[True, True], [True, False], [True, True]])
    norm = np.array([[100.0, 100.0], [100.0, 100.0], [0.0, 1.0]])  # 3rd: left out
    acc, avg, cnt = keypoint_pck_accuracy(pred, gt, mask, 0.06, norm)
    # keypoint 0: 0.05 yes, 0.10 no -> 0.5; keypoint 1: 0.01 yes -> 1.0
    np.testing.assert_allclose(acc, [0.5, 1.0])
    assert (avg, cnt) == (pytest.approx(0.75), 2)
    dist = keypoint_distances(pred, gt, mask, norm)
    np.testing.assert_allclose(dist, [[0.05, 0.01], [0.1, -1], [-1, -1]], rtol=1e-6)
    np.testing.assert_array_equal(norm[2], [0.0, 1.0])  # the caller's array is not changed
    acc, avg, cnt = keypoint_pck_accuracy(pred, gt, np.zeros((3, 2), bool), 0.06, norm)
    assert acc.tolist() == [-1, -1] and (avg, cnt) == (0.0, 0)


def test_epe_counts_labelled_keypoints_only():
    gt = np.zeros((1, 3, 2), np.float32)
    pred = np.array([[[3.0, 4.0], [0.0, 1.0], [100.0, 0.0]]], np.float32)
    assert keypoint_epe(pred, gt, np.array([[1, 1, 0]])) == pytest.approx(3.0)


@pytest.mark.parametrize("pred, gt, mask, match", [
    (np.zeros((2, 3, 2)), np.zeros((2, 4, 2)), np.ones((2, 3)), "pred and gt"),
    (np.zeros((2, 3, 2)), np.zeros((2, 3, 2)), np.ones((2, 4)), "mask"),
])
def test_bad_shapes_raise(pred, gt, mask, match):
    with pytest.raises(ValueError, match=match):
        keypoint_epe(pred, gt, mask)


def test_bad_norm_factor_and_thresholds_raise():
    with pytest.raises(ValueError, match="norm_factor"):
        keypoint_pck_accuracy(*ARGS, 0.05, np.ones((2, 2)))
    with pytest.raises(ValueError, match="num_thrs"):
        keypoint_auc(*ARGS, 30.0, num_thrs=0)
