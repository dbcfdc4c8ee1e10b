import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from kpose.datasets.transforms import GetBBoxCenterScale, RandomFlip, TopdownAffine
from kpose.structures import get_udp_warp_matrix, get_warp_matrix

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "goldens", "pipeline_geometry.npz")
G = dict(np.load(GOLDENS))


def _smooth_image(h=120, w=160, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, size=(h // 8, w // 8, 3), dtype=np.uint8)
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_CUBIC)


def _golden_sample(coco_sample, **image):
    return coco_sample(img_shape=np.array(G["affine_image_in"].shape[:2], np.int32),
                       bbox_center=G["affine_center_in"].astype(np.float32),
                       bbox_scale=G["affine_scale_in"].astype(np.float32),
                       bbox_rotation=np.float32(G["affine_rot"]), keypoints=G["affine_keypoints_in"][0],
                       **image)


@pytest.mark.parametrize("source", ["img", "png_bytes"])
def test_flip_then_affine_matches_mmpose(coco_sample, source):
    img = G["affine_image_in"]
    if source == "img":
        sample = _golden_sample(coco_sample, img=img)
    else:
        sample = _golden_sample(coco_sample, img_bytes=cv2.imencode(".png", img[..., ::-1])[1].tobytes())
    out = TopdownAffine((48, 64))(RandomFlip(prob=1.0)(sample))
    diff = np.abs(out["img"].numpy().astype(int) - G["affine_image_out"].astype(int))
    # cv2 quantises bilinear weights to 1/32: a few levels on the image's hard 0/255 edge
    assert out["img"].dtype == tf.uint8 and out["img"].shape == (64, 48, 3)
    assert diff.max() <= 6 and diff.mean() < 0.2 and (diff > 1).mean() < 0.02
    np.testing.assert_allclose(out["transformed_keypoints"], G["affine_keypoints_out"][0], atol=1e-3)
    np.testing.assert_allclose(out["input_center"], G["affine_center_out"][0], atol=1e-4)
    np.testing.assert_allclose(out["input_scale"], G["affine_scale_out"][0], rtol=1e-6)


@pytest.mark.parametrize("direction,code", [("horizontal", 1), ("vertical", 0), ("diagonal", -1)])
def test_folded_flip_equals_cv2_flip_then_warp(coco_sample, direction, code):
    img = _smooth_image()
    jpeg = tf.io.encode_jpeg(img, quality=95).numpy()
    decoded = tf.io.decode_jpeg(jpeg, channels=3).numpy()
    sample = coco_sample(img_bytes=jpeg, img_shape=np.array([120, 160], np.int32),
                         bbox=np.array([30.0, 20.0, 120.0, 110.0], np.float32))
    sample = RandomFlip(prob=1.0, direction=direction)(GetBBoxCenterScale()(sample))
    sample["bbox_rotation"] = np.float32(-30.0)
    out = TopdownAffine((48, 64))(sample)
    mat = get_warp_matrix(sample["bbox_center"].numpy(), out["input_scale"].numpy(), -30.0, (48, 64))
    ref = cv2.warpAffine(cv2.flip(decoded, code), mat.astype(np.float64), (48, 64), flags=cv2.INTER_LINEAR)
    diff = np.abs(out["img"].numpy().astype(int) - ref.astype(int))
    assert diff.max() <= 2 and diff.mean() < 0.3
    full = TopdownAffine((48, 64), partial_decode=False)(sample)
    np.testing.assert_array_equal(out["img"], full["img"])


def test_crop_leaving_the_image_is_zero_filled(coco_sample):
    img = _smooth_image()
    jpeg = tf.io.encode_jpeg(img, quality=95).numpy()
    decoded = tf.io.decode_jpeg(jpeg, channels=3).numpy()
    for center in ([0.0, 0.0], [150.0, 60.0], [-500.0, 900.0]):
        sample = coco_sample(img_bytes=jpeg, img_shape=np.array([120, 160], np.int32),
                             bbox_center=np.array(center, np.float32),
                             bbox_scale=np.array([90.0, 100.0], np.float32))
        out = TopdownAffine((48, 64))(sample)
        mat = get_warp_matrix(np.array(center), out["input_scale"].numpy(), 0.0, (48, 64))
        ref = cv2.warpAffine(decoded, mat.astype(np.float64), (48, 64), flags=cv2.INTER_LINEAR)
        assert np.abs(out["img"].numpy().astype(int) - ref.astype(int)).max() <= 2


def test_udp_matches_cv2(coco_sample):
    img = _smooth_image()
    sample = GetBBoxCenterScale()(coco_sample(img=img, img_shape=np.array([120, 160], np.int32),
                                              bbox=np.array([30.0, 20.0, 120.0, 110.0], np.float32),
                                              bbox_rotation=np.float32(20.0)))
    out = TopdownAffine((48, 64), use_udp=True)(sample)
    mat = get_udp_warp_matrix(sample["bbox_center"].numpy(), out["input_scale"].numpy(), 20.0, (48, 64))
    np.testing.assert_allclose(out["warp_matrix"], mat, rtol=1e-6)
    ref = cv2.warpAffine(img, mat.astype(np.float64), (48, 64), flags=cv2.INTER_LINEAR)
    assert np.abs(out["img"].numpy().astype(int) - ref.astype(int)).max() <= 2


def test_eager_equals_tf_data(coco_sample, in_tf_data, assert_same):
    jpeg = tf.io.encode_jpeg(_smooth_image()).numpy()
    sample = RandomFlip(prob=1.0)(GetBBoxCenterScale()(coco_sample(
        img_bytes=jpeg, img_shape=np.array([120, 160], np.int32), bbox_rotation=np.float32(10.0))))
    sample = {k: np.asarray(v) for k, v in sample.items()}
    t = TopdownAffine((48, 64))
    assert_same(t(sample), in_tf_data(t, sample),
                ["img", "transformed_keypoints", "input_center", "input_scale", "warp_matrix"])


def test_bad_arguments_raise(coco_sample):
    with pytest.raises(ValueError, match="192.5"):
        TopdownAffine((192.5, 256))
    with pytest.raises(ValueError, match="img_bytes"):
        TopdownAffine((48, 64))(GetBBoxCenterScale()(coco_sample()))
