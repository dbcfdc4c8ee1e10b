import numpy as np
import pytest

from kpose.datasets import metainfo
from kpose.evaluation import AUC, EPE, NME, CocoMetric, KeypointPartitionMetric, PCKAccuracy

from _metric2d_goldens import EXPECTED, INPUTS, PARTITION_GT, assert_matches, batches

HAND_PARTS = dict(thumb=[1, 2, 3, 4], index=[5, 6, 7, 8], palm=[0, 1, 5, 9, 13, 17])


@pytest.mark.parametrize("golden, make", [
    ("pck_0p2", lambda: PCKAccuracy(thr=0.2)),
    ("auc", AUC),
    ("epe", EPE),
    ("nme_bbox", lambda: NME(norm_mode="use_norm_item", norm_item="bbox_size")),
])
def test_matches_mmpose_on_hand_partitions(golden, make):
    metric = KeypointPartitionMetric(make(), HAND_PARTS)
    for batch in batches("hand", extra=("bbox",)):
        metric.update(batch)
    assert_matches(metric.result(), EXPECTED["partition"][golden])


def test_coco_metric_partitions_match_mmpose():
    parts = EXPECTED["wholebody_partitions"]
    sigmas = metainfo.load("coco_wholebody").sigmas
    metric = KeypointPartitionMetric(CocoMetric(ann_file=PARTITION_GT, sigmas=sigmas, score_mode="bbox",
                                                nms_mode="none"), parts)
    cols = {k: INPUTS[f"wb_{k}"] for k in ("keypoints", "keypoint_scores", "img_id", "id", "bbox",
                                           "bbox_score", "scale", "category_id")}
    metric.update(cols)
    assert_matches(metric.result(), EXPECTED["wholebody"]["partition_coco_bbox_nonms"])


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="metric must be"):
        KeypointPartitionMetric(object(), HAND_PARTS)
    with pytest.raises(ValueError, match="non-empty"):
        KeypointPartitionMetric(EPE(), {"a": []})
    with pytest.raises(ValueError, match="keypoint_distance"):
        KeypointPartitionMetric(NME(norm_mode="keypoint_distance", keypoint_indices=(0, 1)), HAND_PARTS)
    metric = KeypointPartitionMetric(EPE(), {"far": [30]})
    with pytest.raises(ValueError, match="K=21"):
        metric.update(next(batches("hand")))
    assert np.isfinite(KeypointPartitionMetric(**KeypointPartitionMetric(EPE(), HAND_PARTS).get_config())
                       .partitions["palm"]).all()
