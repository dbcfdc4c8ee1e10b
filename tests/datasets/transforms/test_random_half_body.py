import os

import numpy as np
import pytest

from kpose.datasets.transforms import GetBBoxCenterScale, RandomHalfBody

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "goldens", "pipeline_geometry.npz")


def _upper_only_sample(coco_sample):
    g = np.load(GOLDENS)
    visible = np.zeros(17, np.float32)
    visible[g["half_ids"]] = 1.0
    visible[[11, 12, 13]] = 1.0  # lower body: exactly min_lower_keypoints
    sample = coco_sample(keypoints=g["flip_keypoints_in"][0], keypoints_visible=visible)
    return GetBBoxCenterScale()(sample), g


def test_upper_half_box_matches_mmpose(coco_sample):
    sample, g = _upper_only_sample(coco_sample)
    out = RandomHalfBody(min_total_keypoints=9, prob=1.0, upper_prioritized_prob=1.0)(sample)
    assert bool(out["half_body"])
    np.testing.assert_allclose(out["bbox_center"], g["half_center"], rtol=1e-5)
    np.testing.assert_allclose(out["bbox_scale"], g["half_scale"], rtol=1e-5)


def test_lower_half_when_preferred(coco_sample):
    sample, g = _upper_only_sample(coco_sample)
    out = RandomHalfBody(prob=1.0, upper_prioritized_prob=0.0)(sample)
    lower = g["flip_keypoints_in"][0][[11, 12, 13]]
    np.testing.assert_allclose(out["bbox_center"], lower.mean(0), rtol=1e-5)
    np.testing.assert_allclose(out["bbox_scale"], (lower.max(0) - lower.min(0)) * 1.5, rtol=1e-5)


def test_too_few_keypoints_keep_the_box(coco_sample):
    sample = GetBBoxCenterScale()(coco_sample(keypoints_visible=np.r_[np.ones(8), np.zeros(9)].astype(np.float32)))
    out = RandomHalfBody(prob=1.0)(sample)
    assert not bool(out["half_body"])
    np.testing.assert_allclose(out["bbox_center"], sample["bbox_center"])


def test_eager_equals_tf_data(coco_sample, in_tf_data, assert_same):
    t = RandomHalfBody(prob=0.5, upper_prioritized_prob=0.5)
    applied = 0
    for i in range(6):
        sample = GetBBoxCenterScale()(coco_sample(seed=(1, i)))
        eager = t(sample)
        assert_same(eager, in_tf_data(t, sample), ["bbox_center", "bbox_scale", "half_body"])
        applied += int(eager["half_body"])
    assert 0 < applied < 6


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="prob"):
        RandomHalfBody(prob=2.0)
    with pytest.raises(ValueError, match="min_total_keypoints"):
        RandomHalfBody(min_total_keypoints=-1)
