"""PoseImageLogger on a tiny estimator and hand-made evaluation batches (no training)."""

import glob
import types

import numpy as np
import pytest
import tensorflow as tf

from kpose.codecs import MSRAHeatmap, SimCCLabel
from kpose.engine.exp_momentum_ema import ExpMomentumEMA
from kpose.engine.pose_image_logger import (HEATMAPS_TAG, KEYPOINTS_TAG, PoseImageLogger,
                                            _crop_keypoints)
from kpose.models.backbones.res_net import ResNet
from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
from kpose.models.heads.heatmap_head import HeatmapHead
from kpose.models.heads.simcc_head import SimCCHead
from kpose.visualization.draw import draw_heatmap_overlay, draw_keypoints

K = 3
FLIP = [0, 2, 1]
META = types.SimpleNamespace(
    keypoint_colors=np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8),
    skeleton_links=[(0, 1), (1, 2)],
    skeleton_link_colors=np.array([[255, 255, 0], [0, 255, 255]], np.uint8))


def _backbone():
    return ResNet(18, stem_channels=4, base_channels=4, num_stages=2, strides=(1, 2),
                  out_indices=(1,), zero_init_residual=False)


def heatmap_model():
    """64x64 crops -> 16x16 heatmaps of K keypoints."""
    model = TopdownPoseEstimator(
        backbone=_backbone(),
        head=HeatmapHead(8, out_channels=K, deconv_out_channels=(8,), deconv_kernel_sizes=(4,)),
        codec=MSRAHeatmap(input_size=(64, 64), heatmap_size=(16, 16), sigma=2),
        flip_test=True, flip_indices=FLIP)
    model(tf.zeros((1, 64, 64, 3), tf.uint8))
    return model


def simcc_model():
    model = TopdownPoseEstimator(
        backbone=_backbone(),
        head=SimCCHead(8, out_channels=K, input_size=(64, 64), in_featuremap_size=(8, 8),
                       deconv_out_channels=None),
        codec=SimCCLabel(input_size=(64, 64)), flip_test=False)
    model(tf.zeros((1, 64, 64, 3), tf.uint8))
    return model


# Two batches of 3 crops; the box of crop i is centred at (100 + 10 i, 50) with side 128.
CENTER = np.array([[100.0 + 10 * i, 50.0] for i in range(6)], np.float32)
SCALE = np.full((6, 2), 128.0, np.float32)
# Keypoints in image pixels: crop (32, 32), (16, 48), (48.5, 8.25) for every crop.
CROP_KPTS = np.array([[32.0, 32.0], [16.0, 48.0], [48.5, 8.25]], np.float32)
GT = (CROP_KPTS[None] / 64.0 * SCALE[:, None] + CENTER[:, None] - 64.0).astype(np.float32)
VISIBLE = np.tile(np.array([[1.0, 1.0, 0.0]], np.float32), (6, 1))


def eval_dataset(n=6, batch=3):
    images = np.random.default_rng(0).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    meta = {"center": CENTER[:n], "scale": SCALE[:n], "gt_keypoints": GT[:n],
            "keypoints_visible": VISIBLE[:n], "img_id": np.arange(n, dtype=np.int64),
            "img_path": np.array([b"x.jpg"] * n)}
    return tf.data.Dataset.from_tensor_slices((images, meta)).batch(batch), images


def make_logger(model, tmp_path, num_images=4, **kwargs):
    ds, images = eval_dataset()
    logger = PoseImageLogger(ds, str(tmp_path / "images"), metainfo=META,
                             num_images=num_images, **kwargs)
    logger.set_model(model)
    return logger, images


def test_crop_keypoints_inverts_the_estimators_mapping():
    np.testing.assert_allclose(_crop_keypoints(GT, CENTER, SCALE, (64, 64)),
                               np.broadcast_to(CROP_KPTS, GT.shape), atol=1e-4)
    model = heatmap_model()
    _, images = eval_dataset()
    crop = model.predict_step(tf.constant(images[:2]))
    full = model.predict_step((tf.constant(images[:2]),
                               {"center": CENTER[:2], "scale": SCALE[:2]}))
    np.testing.assert_allclose(
        _crop_keypoints(full["keypoints"].numpy(), CENTER[:2], SCALE[:2], (64, 64)),
        crop["keypoints"].numpy(), atol=1e-3)


def test_fixed_batch_takes_the_first_crops_across_batches(tmp_path):
    logger, images = make_logger(heatmap_model(), tmp_path, num_images=4)
    batch = logger.fixed_batch()
    np.testing.assert_array_equal(batch["images"], images[:4])
    np.testing.assert_array_equal(batch["gt_keypoints"], GT[:4])
    assert "img_path" not in batch  # strings are dropped
    assert logger.fixed_batch() is batch  # read once


def test_heatmap_head_panels(tmp_path):
    model = heatmap_model()
    logger, images = make_logger(model, tmp_path)
    panels = logger.render()
    assert set(panels) == {KEYPOINTS_TAG, HEATMAPS_TAG}
    for tag in panels:
        assert panels[tag].shape == (4, 64, 130, 3) and panels[tag].dtype == np.uint8
        np.testing.assert_array_equal(panels[tag][:, :, 64:66], 255)  # the white gap
    keypoints, scores = model.codec.batch_decode(model.predict_outputs(tf.constant(images[:4])))
    heatmaps = model.predict_outputs(tf.constant(images[:4])).numpy()
    for i in range(4):
        gt_half, pred_half = panels[KEYPOINTS_TAG][i, :, :64], panels[KEYPOINTS_TAG][i, :, 66:]
        np.testing.assert_array_equal(gt_half, draw_keypoints(
            images[i], CROP_KPTS, VISIBLE[i], META, kpt_thr=0.5, radius=2, thickness=1))
        np.testing.assert_array_equal(pred_half, draw_keypoints(
            images[i], keypoints[i].numpy(), scores[i].numpy(), META, kpt_thr=0.3, radius=2,
            thickness=1))
        # visible keypoints sit at their crop position in their own colour, the
        # unlabelled one is not drawn
        assert tuple(gt_half[32, 32]) == (255, 0, 0)
        assert tuple(gt_half[48, 16]) == (0, 255, 0)
        np.testing.assert_array_equal(gt_half[8, 48], images[i][8, 48])
        target = model.codec.encode(CROP_KPTS[None], VISIBLE[i:i + 1])["heatmaps"]
        np.testing.assert_array_equal(panels[HEATMAPS_TAG][i, :, :64],
                                      draw_heatmap_overlay(images[i], target))
        np.testing.assert_array_equal(panels[HEATMAPS_TAG][i, :, 66:],
                                      draw_heatmap_overlay(images[i], heatmaps[i]))


def test_simcc_head_draws_keypoints_only(tmp_path):
    model = simcc_model()
    logger, images = make_logger(model, tmp_path, num_images=2, kpt_thr=0.0)
    panels = logger.render()
    assert set(panels) == {KEYPOINTS_TAG}
    keypoints, scores = model.codec.batch_decode(model.predict_outputs(tf.constant(images[:2])))
    np.testing.assert_array_equal(panels[KEYPOINTS_TAG][1, :, 66:], draw_keypoints(
        images[1], np.asarray(keypoints)[1], np.asarray(scores)[1], META, kpt_thr=0.0,
        radius=2, thickness=1))


def test_ema_weights_are_drawn_and_raw_weights_restored(tmp_path):
    model = heatmap_model()
    ema = ExpMomentumEMA()
    ema.build(model)
    rng = np.random.default_rng(1)
    for avg in ema.averages:  # averages unlike the raw weights
        avg.assign(avg.numpy() + rng.normal(0, 0.05, avg.shape).astype(avg.dtype.as_numpy_dtype))
    raw = [v.numpy() for v in model.weights]
    logger, images = make_logger(model, tmp_path, num_images=2, ema=ema)
    panels = logger.render()
    for v, before in zip(model.weights, raw):
        np.testing.assert_array_equal(v.numpy(), before)
    with ema.swapped():
        averaged = model.predict_outputs(tf.constant(images[:2])).numpy()
    plain = model.predict_outputs(tf.constant(images[:2])).numpy()
    assert np.abs(averaged - plain).max() > 1e-3
    np.testing.assert_array_equal(panels[HEATMAPS_TAG][0, :, 66:],
                                  draw_heatmap_overlay(images[0], averaged[0]))


def test_writes_png_images_to_tensorboard_on_schedule(tmp_path):
    logger, _ = make_logger(heatmap_model(), tmp_path, num_images=3, interval=2,
                            final_epoch=5)
    logger.set_params({"epochs": 5})
    for epoch in range(5):
        logger.on_epoch_end(epoch, {})
    logger.on_train_end()
    expected = logger.render()
    (path,) = glob.glob(str(tmp_path / "images" / "events.out.tfevents.*"))
    seen = {}
    for event in tf.compat.v1.train.summary_iterator(path):
        for value in event.summary.value:
            assert value.metadata.plugin_data.plugin_name == "images"
            tensor = tf.make_ndarray(value.tensor)  # [width, height, png, png, ...]
            assert [int(tensor[0]), int(tensor[1])] == [130, 64]
            seen.setdefault(value.tag, []).append(event.step)
            pngs = np.stack([tf.io.decode_png(b).numpy() for b in tensor[2:]])
            np.testing.assert_array_equal(pngs, expected[value.tag])  # weights unchanged
    # every 2nd epoch (0-based 1, 3) and the last (4)
    assert seen == {KEYPOINTS_TAG: [1, 3, 4], HEATMAPS_TAG: [1, 3, 4]}


def test_bad_arguments_and_meta_raise(tmp_path):
    ds, _ = eval_dataset()
    for kwargs, match in (({"interval": 0}, "interval"), ({"num_images": 0}, "num_images"),
                          ({"kpt_thr": 1.5}, "kpt_thr"), ({"final_epoch": 0}, "final_epoch")):
        with pytest.raises(ValueError, match=match):
            PoseImageLogger(ds, str(tmp_path), **kwargs)
    images = np.zeros((2, 64, 64, 3), np.uint8)
    no_gt = tf.data.Dataset.from_tensor_slices(
        (images, {"center": CENTER[:2], "scale": SCALE[:2]})).batch(2)
    logger = PoseImageLogger(no_gt, str(tmp_path))
    with pytest.raises(ValueError, match="gt_keypoints"):
        logger.fixed_batch()
