import numpy as np
import pytest

from kpose.datasets.transforms import GetBBoxCenterScale


def test_center_and_padded_scale(coco_sample, in_tf_data, assert_same):
    t = GetBBoxCenterScale()
    out = t(coco_sample())
    np.testing.assert_allclose(out["bbox_center"], [31.0, 31.5])
    np.testing.assert_allclose(out["bbox_scale"], [38.0 * 1.25, 47.0 * 1.25])
    assert_same(out, in_tf_data(t, coco_sample()), ["bbox_center", "bbox_scale"])


def test_existing_center_scale_only_get_padding(coco_sample):
    sample = coco_sample(bbox_center=np.array([1.0, 2.0], np.float32),
                         bbox_scale=np.array([10.0, 20.0], np.float32))
    out = GetBBoxCenterScale(padding=2.0)(sample)
    np.testing.assert_allclose(out["bbox_center"], [1.0, 2.0])
    np.testing.assert_allclose(out["bbox_scale"], [20.0, 40.0])


def test_bad_padding_raises():
    with pytest.raises(ValueError, match="-1"):
        GetBBoxCenterScale(padding=-1)
