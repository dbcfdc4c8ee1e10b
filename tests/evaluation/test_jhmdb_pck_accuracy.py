import numpy as np
import pytest

from kpose.evaluation import JhmdbPCKAccuracy

from _metric2d_goldens import EXPECTED, assert_matches, batches


@pytest.mark.parametrize("golden, kwargs", [
    ("jhmdb_0p2_bbox_torso", dict(thr=0.2, norm_item=["bbox", "torso"])),
    ("jhmdb_0p05_bbox", dict()),
])
def test_matches_mmpose(golden, kwargs):
    metric = JhmdbPCKAccuracy(**kwargs)
    with pytest.warns(UserWarning, match="torso") if "torso" in kwargs.get("norm_item", ()) else _Nothing():
        for batch in batches("jhmdb", extra=("bbox",)):
            metric.update(batch)
    assert_matches(metric.result(), EXPECTED[golden])


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *args):
        return False


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="norm_item"):
        JhmdbPCKAccuracy(norm_item="head")
    with pytest.raises(ValueError, match="15 keypoints"):
        JhmdbPCKAccuracy().update(dict(keypoints=np.zeros((1, 16, 2)), gt_keypoints=np.zeros((1, 16, 2)),
                                       keypoints_visible=np.ones((1, 16)), bbox=np.ones((1, 4))))
