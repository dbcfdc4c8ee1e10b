import numpy as np
import pytest

from kpose.datasets.transforms import PhotometricDistortion


def _sample(coco_sample, seed):
    img = np.random.default_rng(0).integers(0, 256, size=(16, 12, 3), dtype=np.uint8)
    return coco_sample(seed=seed, img=img)


def test_jitters_deterministically(coco_sample, in_tf_data, assert_same):
    t = PhotometricDistortion()
    changed = 0
    for i in range(5):
        out = t(_sample(coco_sample, (2, i)))
        assert out["img"].dtype == "uint8" and out["img"].shape == (16, 12, 3)
        assert_same(out, in_tf_data(t, _sample(coco_sample, (2, i))), ["img"])
        np.testing.assert_array_equal(out["img"], t(_sample(coco_sample, (2, i)))["img"])
        changed += int(np.any(out["img"].numpy() != _sample(coco_sample, (2, i))["img"]))
    assert changed >= 3


def test_needs_a_decoded_crop(coco_sample):
    with pytest.raises(ValueError, match="after TopdownAffine"):
        PhotometricDistortion()(coco_sample())


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="contrast_range"):
        PhotometricDistortion(contrast_range=(2.0, 1.0))
