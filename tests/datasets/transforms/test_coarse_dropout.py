import numpy as np
import pytest
import tensorflow as tf

from kpose.datasets.transforms.coarse_dropout import CoarseDropout

H, W = 64, 48


def _image():
    return np.full((H, W, 3), 200, np.uint8)


def _rtmpose(p=1.0):
    return CoarseDropout(max_holes=1, max_height=0.4, max_width=0.4, min_holes=1,
                         min_height=0.2, min_width=0.2, p=p)


def test_p0_is_identity(coco_sample):
    out = _rtmpose(p=0.0)(coco_sample(img=_image()))
    np.testing.assert_array_equal(out["img"].numpy(), _image())
    assert not np.any(out["dropout_holes"].numpy())


def test_rtmpose_hole_is_one_rectangle_of_the_given_fraction(coco_sample, in_tf_data):
    t = _rtmpose()
    heights, widths, tops = [], [], []
    for i in range(60):
        out = t(coco_sample(seed=(5, i), img=_image()))
        img = out["img"].numpy()
        ys, xs = np.nonzero(img[..., 0] == 0)
        y1, y2, x1, x2 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        assert len(ys) == (y2 - y1) * (x2 - x1)  # a filled rectangle
        assert np.all(img[y1:y2, x1:x2] == 0) and np.sum(img == 200) == 3 * (H * W - len(ys))
        np.testing.assert_array_equal(out["dropout_holes"].numpy(), [[x1, y1, x2, y2]])
        # albumentations: int(H * U(0.2, 0.4))
        assert int(H * 0.2) <= y2 - y1 < H * 0.4 and int(W * 0.2) <= x2 - x1 < W * 0.4
        heights.append(y2 - y1)
        widths.append(x2 - x1)
        tops.append(y1)
        if i < 3:
            graph = in_tf_data(t, coco_sample(seed=(5, i), img=_image()))
            np.testing.assert_array_equal(graph["img"], img)
    assert min(heights) <= 14 and max(heights) >= 23  # spans most of [12, 25]
    assert min(tops) <= 3 and max(tops) >= 30


def test_pixel_sizes_hole_counts_and_fill(coco_sample):
    t = CoarseDropout(max_holes=4, min_holes=2, max_height=6, min_height=3, max_width=5,
                      min_width=5, fill_value=(1, 2, 3), p=1.0)
    counts = set()
    for i in range(40):
        out = t(coco_sample(seed=(6, i), img=_image()))
        holes = out["dropout_holes"].numpy()
        drawn = holes[np.any(holes != 0, axis=1)]
        counts.add(len(drawn))
        assert 2 <= len(drawn) <= 4
        assert np.all((drawn[:, 3] - drawn[:, 1] >= 3) & (drawn[:, 3] - drawn[:, 1] <= 6))
        assert np.all(drawn[:, 2] - drawn[:, 0] == 5)
        assert np.all(drawn[:, :2] >= 0) and np.all(drawn[:, 2] <= W) and np.all(drawn[:, 3] <= H)
        mask = np.zeros((H, W), bool)
        for x1, y1, x2, y2 in drawn:
            mask[y1:y2, x1:x2] = True
        img = out["img"].numpy()
        np.testing.assert_array_equal(img[mask], np.tile([1, 2, 3], (mask.sum(), 1)))
        assert np.all(img[~mask] == 200)
    assert counts == {2, 3, 4}


def test_pixel_holes_larger_than_the_crop_are_cut(coco_sample):
    out = CoarseDropout(max_holes=1, max_height=500, max_width=500, p=1.0)(coco_sample(img=_image()))
    assert np.all(out["img"].numpy() == 0)


def test_probability():
    t = tf.function(lambda seed: _rtmpose(p=0.5)({"img": _image(), "seed": seed})["img"])
    applied = np.mean([np.any(t(tf.constant([7, i], tf.int64)).numpy() == 0) for i in range(200)])
    assert applied == pytest.approx(0.5, abs=0.1)


def test_arguments():
    with pytest.raises(ValueError, match="all ints"):
        CoarseDropout(max_height=0.4, max_width=8)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        CoarseDropout(max_height=1.5, max_width=0.5)
    with pytest.raises(ValueError, match="min_holes"):
        CoarseDropout(max_holes=1, min_holes=2)
    with pytest.raises(ValueError, match="fill_value"):
        CoarseDropout(fill_value="black")
    t = _rtmpose()
    assert CoarseDropout(**t.get_config()).get_config() == t.get_config()
