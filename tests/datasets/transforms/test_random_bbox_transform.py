import numpy as np
import pytest
import tensorflow as tf

from kpose.datasets.transforms import GetBBoxCenterScale, RandomBBoxTransform


def test_eager_equals_tf_data(coco_sample, in_tf_data, assert_same):
    t = RandomBBoxTransform()
    sample = GetBBoxCenterScale()(coco_sample(seed=(5, 9)))
    assert_same(t(sample), in_tf_data(t, sample), ["bbox_center", "bbox_scale", "bbox_rotation"])


def test_distribution_matches_mmpose_truncated_normal(coco_sample):
    t = RandomBBoxTransform()
    base = GetBBoxCenterScale()(coco_sample())
    n = 3000
    ds = tf.data.Dataset.range(n).map(lambda i: t(dict(base, seed=tf.stack([tf.constant(0, tf.int64), i]))))
    out = next(iter(ds.batch(n)))
    rot = out["bbox_rotation"].numpy()
    base_scale, base_center = np.asarray(base["bbox_scale"]), np.asarray(base["bbox_center"])
    ratio = (out["bbox_scale"].numpy() / base_scale)[:, 0]
    shift = (out["bbox_center"].numpy() - base_center) / base_scale
    assert np.abs(rot).max() <= 80.0 and abs((rot != 0).mean() - 0.6) < 0.04
    assert ratio.min() >= 0.5 - 1e-6 and ratio.max() <= 1.5 + 1e-6
    # std of N(0, 1) truncated to [-1, 1] is 0.5396; scale = 1 + 0.5 * that factor
    assert abs(np.std(ratio) - 0.5 * 0.5396) < 0.015
    moved = np.any(shift != 0, axis=1)
    assert abs(moved.mean() - 0.3) < 0.04 and np.abs(shift).max() <= 0.16 + 1e-6


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="scale_factor"):
        RandomBBoxTransform(scale_factor=(1.5, 0.5))
    with pytest.raises(ValueError, match="rotate_prob"):
        RandomBBoxTransform(rotate_prob=-0.1)
