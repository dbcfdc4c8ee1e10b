import numpy as np
import pytest

from kpose.datasets.transforms import GetBBoxCenterScale, RandomFlip
from kpose.structures import flip_bbox, flip_keypoints

KEYS = ["bbox", "keypoints", "keypoints_visible", "flip_x", "flip_y", "flip_direction"]


def test_always_flip_matches_structures(coco_sample):
    sample = GetBBoxCenterScale()(coco_sample(keypoints_visible=(np.arange(17) % 3 > 0).astype(np.float32)))
    out = RandomFlip(prob=1.0)(sample)
    kp, vis = flip_keypoints(sample["keypoints"], sample["keypoints_visible"], (80, 60),
                             sample["flip_indices"])
    np.testing.assert_allclose(out["keypoints"], kp, atol=1e-5)
    np.testing.assert_array_equal(out["keypoints_visible"], vis)
    np.testing.assert_allclose(out["bbox"], flip_bbox(sample["bbox"], (80, 60), "xyxy"), atol=1e-5)
    np.testing.assert_allclose(out["bbox_center"], [80 - 1 - 31.0, 31.5], atol=1e-5)
    assert bool(out["flip_x"]) and not bool(out["flip_y"]) and int(out["flip_direction"]) == 1


def test_never_flip_is_identity(coco_sample):
    sample = coco_sample()
    out = RandomFlip(prob=0.0)(sample)
    np.testing.assert_array_equal(out["keypoints"], sample["keypoints"])
    assert not bool(out["flip"])


def test_two_flips_cancel(coco_sample):
    t = RandomFlip(prob=1.0)
    out = t(t(coco_sample()))
    np.testing.assert_allclose(out["keypoints"], coco_sample()["keypoints"], atol=1e-4)
    assert not bool(out["flip_x"])


def test_eager_equals_tf_data_and_rate(coco_sample, in_tf_data, assert_same):
    t = RandomFlip(prob=0.5, direction=["horizontal", "vertical"])
    flips = []
    for i in range(40):
        eager = t(coco_sample(seed=(3, i)))
        if i < 4:
            assert_same(eager, in_tf_data(t, coco_sample(seed=(3, i))), KEYS)
        flips.append(int(eager["flip_direction"]))
    flips = np.array(flips)
    assert set(flips) <= {0, 1, 2} and 8 <= (flips == 0).sum() <= 32 and (flips == 2).sum() > 0


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="sideways"):
        RandomFlip(direction="sideways")
    with pytest.raises(ValueError, match="1.5"):
        RandomFlip(prob=1.5)
    with pytest.raises(ValueError, match="entries"):
        RandomFlip(prob=[0.2], direction=["horizontal", "vertical"])
