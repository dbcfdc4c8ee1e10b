import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from kpose.datasets.transforms.yolox_hsv_random_aug import YOLOXHSVRandomAug, shift_hsv

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "goldens",
                       "yolox_hsv_random_aug.npz")


def _image():
    return np.random.default_rng(3).integers(0, 256, size=(16, 12, 3), dtype=np.uint8)


def test_pixels_equal_mmdet_for_given_gains():
    golden = np.load(GOLDENS)
    for gains, expected in zip(golden["gains"], golden["outputs"]):
        np.testing.assert_array_equal(shift_hsv(golden["image"], gains), expected, err_msg=str(gains))


def test_gains_follow_mmdet_distribution():
    t = YOLOXHSVRandomAug(hue_delta=5, saturation_delta=30, value_delta=30)
    gains = np.stack([t.gains(tf.constant([4, i], tf.int64)).numpy() for i in range(400)])
    assert gains.dtype == np.int32
    assert np.all(np.abs(gains) <= [4, 29, 29])  # |U(-1, 1) * delta| < delta, truncated
    zero = (gains == 0).mean(axis=0)
    # kept with probability 0.5, and a kept draw truncates to 0 with prob 1/delta
    np.testing.assert_allclose(zero, 0.5 + 0.5 * np.array([1 / 5, 1 / 30, 1 / 30]), atol=0.08)
    assert (gains > 0).mean() == pytest.approx((gains < 0).mean(), abs=0.06)


def test_applies_the_seeded_gains_like_opencv(coco_sample, in_tf_data):
    t = YOLOXHSVRandomAug()
    changed = 0
    for i in range(6):
        sample = coco_sample(seed=(9, i), img=_image())
        out = t(sample)
        gains = t.gains(tf.constant(sample["seed"])).numpy()
        # an OpenCV computation written out here, independent of the transform's code
        hsv = cv2.cvtColor(_image(), cv2.COLOR_RGB2HSV).astype(np.int32)
        hsv[..., 0] = np.mod(hsv[..., 0] + gains[0], 180)
        hsv[..., 1:] = np.clip(hsv[..., 1:] + gains[1:], 0, 255)
        expected = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
        np.testing.assert_array_equal(out["img"].numpy(), expected)
        np.testing.assert_array_equal(in_tf_data(t, coco_sample(seed=(9, i), img=_image()))["img"],
                                      expected)
        changed += int(np.any(gains != 0))
    assert changed >= 3


def test_zero_deltas_keep_pixels_up_to_hsv_round_trip(coco_sample):
    img = _image()
    out = YOLOXHSVRandomAug(0, 0, 0)(coco_sample(img=img))["img"].numpy()
    round_trip = cv2.cvtColor(cv2.cvtColor(img, cv2.COLOR_RGB2HSV), cv2.COLOR_HSV2RGB)
    np.testing.assert_array_equal(out, round_trip)


def test_errors_and_config(coco_sample):
    with pytest.raises(ValueError, match="after TopdownAffine"):
        YOLOXHSVRandomAug()(coco_sample())
    with pytest.raises(ValueError, match="hue_delta"):
        YOLOXHSVRandomAug(hue_delta=-1)
    with pytest.raises(ValueError, match="uint8"):
        YOLOXHSVRandomAug()(coco_sample(img=_image().astype(np.float32)))
    t = YOLOXHSVRandomAug(3, 20, 10)
    assert YOLOXHSVRandomAug(**t.get_config()).get_config() == t.get_config()
    assert "hue_delta=3" in repr(t)
