import numpy as np
import pytest

from kpose.datasets.transforms.random_median_blur import RandomMedianBlur


def _image():
    return np.random.default_rng(6).integers(0, 256, size=(18, 15, 3), dtype=np.uint8)


def test_p0_is_identity(coco_sample):
    out = RandomMedianBlur(p=0.0)(coco_sample(img=_image()))
    np.testing.assert_array_equal(out["img"].numpy(), _image())


def test_p1_is_the_window_median(coco_sample, in_tf_data):
    t = RandomMedianBlur(blur_limit=(3, 5), p=1.0)
    sizes = set()
    for i in range(12):
        out = t(coco_sample(seed=(4, i), img=_image()))
        k = int(out["median_blur_ksize"])
        sizes.add(k)
        # cv2.medianBlur: per-channel median of the k x k window, edge pixels replicated
        pad = np.pad(_image(), ((k // 2,) * 2, (k // 2,) * 2, (0, 0)), mode="edge")
        windows = np.stack([pad[dy:dy + 18, dx:dx + 15] for dy in range(k) for dx in range(k)])
        np.testing.assert_array_equal(out["img"].numpy(), np.median(windows, axis=0).astype(np.uint8))
        if i < 2:
            graph = in_tf_data(t, coco_sample(seed=(4, i), img=_image()))
            np.testing.assert_array_equal(graph["img"], out["img"].numpy())
    assert sizes == {3, 5}


def test_arguments():
    with pytest.raises(ValueError, match="blur_limit"):
        RandomMedianBlur(blur_limit=(2, 4))
    t = RandomMedianBlur(blur_limit=7, p=0.1)
    assert t.get_config() == {"blur_limit": (3, 7), "p": 0.1}
    assert RandomMedianBlur(**t.get_config()).get_config() == t.get_config()
