import numpy as np
import pytest

from kpose.evaluation import AUC

from _metric2d_goldens import EXPECTED, assert_matches, batches


@pytest.mark.parametrize("golden, kwargs", [("auc_30_20", dict()), ("auc_20_10", dict(norm_factor=20, num_thrs=10))])
def test_matches_mmpose(golden, kwargs):
    metric = AUC(**kwargs)
    for batch in batches("hand", size=4):
        metric.update(batch)
    assert_matches(metric.result(), EXPECTED[golden])
    metric.reset()
    with pytest.raises(ValueError, match="no batch"):
        metric.result()


def test_perfect_prediction_and_bad_arguments():
    metric = AUC(norm_factor=10, num_thrs=5)
    gt = np.random.default_rng(0).uniform(0, 50, (3, 21, 2))
    metric.update(dict(keypoints=gt, gt_keypoints=gt, keypoints_visible=np.ones((3, 21))))
    # threshold 0 counts nobody (distance < 0 is never true), the other 4 everybody
    assert metric.result()["AUC"] == pytest.approx(0.8)
    for bad in (dict(norm_factor=0), dict(num_thrs=0), dict(norm_factor="30")):
        with pytest.raises(ValueError):
            AUC(**bad)
    assert AUC(**AUC(norm_factor=20).get_config()).norm_factor == 20
