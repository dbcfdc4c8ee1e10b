"""BottomupPoseEstimator: fit on AE targets, flip test, decoding to image pixels, saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.codecs.associative_embedding import AssociativeEmbedding
from kpose.models.backbones.res_net import ResNet
from kpose.models.estimators.bottomup_pose_estimator import (BottomupPoseEstimator,
                                                              flatten_instances)
from kpose.models.heads.ae_head import AssociativeEmbeddingHead

K = 3
FLIP = [0, 2, 1]


def _model(**kwargs):
    codec = AssociativeEmbedding((32, 32), (8, 8), sigma=1.0, decode_max_instances=4)
    return BottomupPoseEstimator(
        ResNet(depth=18, stem_channels=4, base_channels=4),
        AssociativeEmbeddingHead(num_keypoints=K, deconv_out_channels=(4, 4, 4)),
        codec, **{"flip_indices": FLIP, **kwargs})


def _targets(codec, batch=2):
    kpts = np.array([[[4, 4], [10, 6], [6, 12]], [[24, 20], [28, 26], [20, 28]]], np.float32)
    enc = codec.encode(kpts)
    return {"heatmaps": np.stack([enc["heatmaps"]] * batch),
            "keypoint_indices": np.stack([enc["keypoint_indices"]] * batch),
            "keypoint_weights": np.stack([enc["keypoint_weights"]] * batch),
            "heatmap_mask": np.ones((batch, 8, 8), np.float32)}


def test_fit_reduces_the_loss():
    keras.utils.set_random_seed(0)
    est = _model()
    images = np.random.default_rng(0).integers(0, 255, (2, 32, 32, 3)).astype(np.uint8)
    targets = _targets(est.codec)
    est.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)  # no tracing: fast
    first = est.train_on_batch(images, targets, return_dict=True)
    assert set(first) >= {"loss", "loss_kpt", "loss_pull", "loss_push"}
    for _ in range(5):
        last = est.train_on_batch(images, targets, return_dict=True)
    assert np.isfinite(last["loss"]) and last["loss"] < first["loss"]


def test_flip_test_averages_heatmaps_and_concatenates_tags():
    est = _model(restore_heatmap_size=False)
    images = tf.constant(np.random.default_rng(1).integers(0, 255, (1, 32, 32, 3)), tf.uint8)
    heatmaps, tags = est.predict_outputs(images)
    plain_h, plain_t = est(images)
    flip_h, flip_t = est.head.flip_back(est(tf.reverse(images, [2])), FLIP)
    np.testing.assert_allclose(heatmaps, (plain_h + flip_h) / 2, atol=1e-6)
    np.testing.assert_allclose(tags, np.concatenate([plain_t, flip_t], -1), atol=1e-6)
    restored = _model()
    restored(images)
    restored.set_weights(est.get_weights())
    big_h, big_t = restored.predict_outputs(images)
    assert big_h.shape == (1, 32, 32, K) and big_t.shape == (1, 32, 32, 2 * K)
    np.testing.assert_allclose(big_h, tf.image.resize(heatmaps, (32, 32)), atol=1e-6)


def test_predict_step_maps_people_to_the_image():
    est = _model(flip_test=False)
    codec = AssociativeEmbedding((32, 32), (32, 32), sigma=1.0)
    people = np.array([[[5, 5], [12, 6], [7, 14]], [[25, 20], [28, 27], [20, 28]]], np.float32)
    heatmaps = codec.encode(people)["heatmaps"]
    tags = np.zeros((32, 32, K), np.float32)
    tags[16:, 16:] = 5.0  # the second person's corner
    est.predict_outputs = lambda images: (tf.constant(heatmaps[None]), tf.constant(tags[None]))
    meta = {"center": tf.constant([[100.0, 50.0]]), "scale": tf.constant([[64.0, 64.0]]),
            "input_size": tf.constant([[32, 32]]), "img_id": tf.constant([7])}
    out = {k: np.asarray(v) for k, v in est.predict_step((tf.zeros((1, 32, 32, 3)), meta)).items()}
    assert out["keypoints"].shape == (1, 4, K, 2) and out["instance_valid"].tolist() == [
        [True, True, False, False]]
    # input pixel p -> p / 32 * 64 + center - 32; refinement moves maxima by <= 0.25 px
    found = out["keypoints"][0, :2]
    found = found[np.argsort(found[:, 0, 0])]
    np.testing.assert_allclose(found, people * 2 + [68.0, 18.0], atol=0.51)
    np.testing.assert_allclose(out["bbox_score"][0, :2], 1.0, atol=1e-6)
    rows = flatten_instances(out)
    assert rows["keypoints"].shape == (2, K, 2) and rows["img_id"].tolist() == [7, 7]
    assert rows["id"].tolist() == [-1, -1] and "scale" not in rows


def test_serialisation_and_bad_arguments(tmp_path):
    est = _model(max_instances=5)
    assert_config_round_trip(est)
    assert_saving_round_trip(est, np.zeros((1, 32, 32, 3), np.uint8), tmp_path)
    with pytest.raises(ValueError, match="flip_indices"):
        _model(flip_indices=[0, 1])
    with pytest.raises(ValueError, match="batch_decode_padded"):
        BottomupPoseEstimator(ResNet(depth=18), AssociativeEmbeddingHead(num_keypoints=K),
                              codec=object(), flip_test=False)
    with pytest.raises(ValueError, match="max_instances"):
        _model(max_instances=0)
