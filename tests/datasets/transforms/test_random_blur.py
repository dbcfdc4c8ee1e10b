import cv2
import numpy as np
import pytest
import tensorflow as tf

from kpose.datasets.transforms.random_blur import RandomBlur


def _image():
    return np.random.default_rng(5).integers(0, 256, size=(20, 14, 3), dtype=np.uint8)


def test_p0_is_identity(coco_sample):
    t = RandomBlur(p=0.0)
    for i in range(5):
        out = t(coco_sample(seed=(1, i), img=_image()))
        np.testing.assert_array_equal(out["img"].numpy(), _image())
        assert int(out["blur_ksize"]) == 0


def test_p1_box_blurs_with_an_odd_kernel_in_limits(coco_sample, in_tf_data):
    t = RandomBlur(blur_limit=(3, 7), p=1.0)
    sizes = []
    for i in range(30):
        out = t(coco_sample(seed=(2, i), img=_image()))
        k = int(out["blur_ksize"])
        sizes.append(k)
        # albumentations' Blur is cv2.blur: the window mean, reflect-101 border
        pad = np.pad(_image().astype(np.float64), ((k // 2,) * 2, (k // 2,) * 2, (0, 0)), mode="reflect")
        mean = np.mean([pad[dy:dy + 20, dx:dx + 14] for dy in range(k) for dx in range(k)], axis=0)
        assert np.abs(out["img"].numpy().astype(np.float64) - mean).max() <= 0.5 + 1e-9
        np.testing.assert_array_equal(out["img"].numpy(), cv2.blur(_image(), (k, k)))
        if i < 3:
            graph = in_tf_data(t, coco_sample(seed=(2, i), img=_image()))
            np.testing.assert_array_equal(graph["img"], out["img"].numpy())
    assert set(sizes) == {3, 5, 7}


def test_probability_is_respected():
    t = tf.function(lambda seed: RandomBlur(p=0.1)({"img": _image(), "seed": seed})["blur_ksize"])
    applied = np.mean([int(t(tf.constant([3, i], tf.int64))) > 0 for i in range(300)])
    assert applied == pytest.approx(0.1, abs=0.05)


def test_arguments():
    assert RandomBlur(blur_limit=5).blur_limit == (3, 5)
    for bad in (4, (3, 6), (7, 3), 1, (True, 5)):
        with pytest.raises(ValueError, match="blur_limit"):
            RandomBlur(blur_limit=bad)
    with pytest.raises(ValueError, match="probability"):
        RandomBlur(p=1.5)
    t = RandomBlur(blur_limit=(3, 9), p=0.2)
    assert RandomBlur(**t.get_config()).get_config() == t.get_config()
