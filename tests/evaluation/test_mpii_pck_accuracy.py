import numpy as np
import pytest

from kpose.evaluation import MpiiPCKAccuracy

from _metric2d_goldens import EXPECTED, assert_matches, batches


@pytest.mark.parametrize("golden, thr", [("mpii_pckh_0p5", 0.5), ("mpii_pckh_0p3", 0.3)])
def test_matches_mmpose(golden, thr):
    metric = MpiiPCKAccuracy(thr=thr)
    for batch in batches("mpii", extra=("head_size",)):
        metric.update(batch)
    result = metric.result()
    assert list(result)[-2:] == ["PCK", "PCK@0.1"]
    assert_matches(result, EXPECTED[golden])


def test_predictions_are_shifted_by_one_pixel_and_pelvis_thorax_excluded():
    gt = np.zeros((1, 16, 2), np.float32) + 50
    pred = gt - 1.0  # MPII's 1-based ground truth: a prediction 1 px up-left is exact
    pred[0, 6] += 100  # pelvis wrong, but not counted
    batch = dict(keypoints=pred, gt_keypoints=gt, keypoints_visible=np.ones((1, 16)), head_size=np.array([10.0]))
    metric = MpiiPCKAccuracy()
    metric.update(batch)
    result = metric.result()
    assert result["PCK"] == pytest.approx(100.0) and result["PCK@0.1"] == pytest.approx(100.0)


def test_bad_input_raises():
    metric = MpiiPCKAccuracy()
    with pytest.raises(ValueError, match="16 keypoints"):
        metric.update(dict(keypoints=np.zeros((1, 17, 2)), gt_keypoints=np.zeros((1, 17, 2)),
                           keypoints_visible=np.ones((1, 17)), head_size=np.ones(1)))
    with pytest.raises(ValueError, match="head_size"):
        metric.update(dict(keypoints=np.zeros((1, 16, 2)), gt_keypoints=np.zeros((1, 16, 2)),
                           keypoints_visible=np.ones((1, 16))))
    with pytest.raises(ValueError, match="no batch"):
        metric.result()
    assert MpiiPCKAccuracy(**MpiiPCKAccuracy(thr=0.3).get_config()).thr == 0.3
