import numpy as np
import pytest

from kpose.evaluation import EPE

from _metric2d_goldens import EXPECTED, assert_matches, batches


def test_matches_mmpose():
    metric = EPE()
    for batch in batches("hand", size=6):
        metric.update(batch)
    assert_matches(metric.result(), EXPECTED["epe"])


def test_hand_computed_and_masked():
    gt = np.zeros((2, 3, 2))
    pred = gt + [3.0, 4.0]
    vis = np.array([[1, 1, 0], [1, 0, 0]])
    pred[0, 2] = 1000  # unlabelled: ignored
    metric = EPE()
    metric.update(dict(keypoints=pred, gt_keypoints=gt, keypoints_visible=vis))
    assert metric.result() == {"EPE": pytest.approx(5.0)}
    with pytest.raises(ValueError, match="gt_keypoints"):
        metric.update(dict(keypoints=pred, gt_keypoints=gt[:, :2], keypoints_visible=vis))
