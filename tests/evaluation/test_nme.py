import numpy as np
import pytest

from kpose.evaluation import NME, NME_KEYPOINT_INDICES

from _metric2d_goldens import EXPECTED, assert_matches, batches


@pytest.mark.parametrize("dataset", ["300w", "coco_wholebody_face", "cofw", "wflw", "lapa", "horse10"])
def test_keypoint_distance_matches_mmpose_per_dataset(dataset):
    metric = NME(norm_mode="keypoint_distance", metainfo=dataset)
    for batch in batches(f"nme_{dataset}", size=4):
        metric.update(batch)
    assert_matches(metric.result(), EXPECTED["nme"][dataset])


def test_explicit_indices_and_bbox_size_match_mmpose():
    metric = NME(norm_mode="keypoint_distance", keypoint_indices=[0, 32], metainfo="wflw")
    for batch in batches("nme_wflw"):
        metric.update(batch)
    assert_matches(metric.result(), EXPECTED["nme"]["wflw_indices_0_32"])
    metric = NME(norm_mode="use_norm_item", norm_item="bbox_size")
    for batch in batches("nme_aflw", extra=("bbox",), size=3):
        metric.update(batch)
    assert_matches(metric.result(), EXPECTED["nme"]["aflw_bbox_size"])


def test_custom_norm_item_key():
    gt = np.zeros((2, 4, 2))
    pred = gt + [0.0, 2.0]
    metric = NME(norm_mode="use_norm_item", norm_item="face_size")
    metric.update(dict(keypoints=pred, gt_keypoints=gt, keypoints_visible=np.ones((2, 4)),
                       face_size=np.array([4.0, 2.0])))
    assert metric.result()["NME"] == pytest.approx(0.75)


def test_default_indices_table_and_errors():
    assert NME_KEYPOINT_INDICES["wflw"] == (60, 72) and NME_KEYPOINT_INDICES["lapa"] == (66, 79)
    with pytest.raises(ValueError, match="norm_mode"):
        NME(norm_mode="interocular")
    with pytest.raises(ValueError, match="norm_item"):
        NME(norm_mode="use_norm_item")
    with pytest.raises(ValueError, match="keypoint_indices"):
        NME(norm_mode="keypoint_distance", metainfo="coco")
    with pytest.raises(ValueError, match="K=29"):
        NME(norm_mode="keypoint_distance", keypoint_indices=(60, 72), metainfo="cofw")
    metric = NME(norm_mode="keypoint_distance", keypoint_indices=(60, 72))
    with pytest.raises(ValueError, match="K=68"):
        metric.update(dict(keypoints=np.zeros((1, 68, 2)), gt_keypoints=np.zeros((1, 68, 2)),
                           keypoints_visible=np.ones((1, 68))))
    config = NME(norm_mode="keypoint_distance", metainfo="300w").get_config()
    assert NME(**config).keypoint_indices == (36, 45)
