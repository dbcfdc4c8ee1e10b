import keras
import numpy as np
import pytest
import tensorflow as tf
from _head_goldens import build_loss, count, flip_average, load, load_weights
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.codecs.regression_label import RegressionLabel
from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
from kpose.models.heads.regression_head import RegressionHead
from kpose.models.losses.l1_loss import L1Loss
from kpose.models.utils.tta import flip_coordinates

K = 4


def mmpose_case(case):
    arrays, config = load(case)
    cfg = dict(config["head"])
    loss = build_loss(cfg["loss"]) if "loss" in cfg else None
    head = RegressionHead(cfg["in_channels"], num_joints=cfg["num_joints"], loss=loss,
                          input_size=arrays["input_size"])
    head((arrays["feat"],))
    load_weights(head, arrays, config["seed"])
    return head, arrays


@pytest.mark.parametrize("case", ["reg", "reg_map"])
def test_matches_mmpose(case):
    head, arrays = mmpose_case(case)
    assert len(head.weights) == len(arrays["keys"]) == 2  # fc.weight, fc.bias
    out = head((arrays["feat"],))
    np.testing.assert_allclose(out, arrays["out0"], atol=1e-5)
    targets = {k: arrays[f"target_{k}"] for k in ("keypoint_labels", "keypoint_weights")}
    terms = head.loss(out, targets)
    np.testing.assert_allclose(terms["loss_kpt"], arrays["loss/loss_kpt"], rtol=1e-5)
    np.testing.assert_allclose(terms["acc_pose"], arrays["loss/acc_pose"], atol=1e-6)
    assert 0.0 < float(terms["acc_pose"]) < 1.0
    # predict with flip test (shift_coords) and RegressionLabel decoding.
    mean = flip_average(head, out, head((arrays["feat_flip"],)), arrays)
    keypoints, scores = RegressionLabel(arrays["input_size"]).batch_decode(mean)
    np.testing.assert_allclose(keypoints, arrays["pred_keypoints"], atol=1e-4)
    np.testing.assert_allclose(scores, arrays["pred_scores"], atol=1e-6)


def test_parameter_count_matches_mmpose():
    # td-reg_res50: RegressionHead(in_channels=2048, num_joints=17) after the GAP neck.
    head = RegressionHead(2048, num_joints=17)
    head(np.zeros((1, 2048), np.float32))
    params, trainable, state = count("RegressionHead_2048_17")
    assert head.count_params() == params == trainable == state == 69_666


def test_feature_map_is_flattened_channels_first():
    # Equal to a Dense on the (C, h, w)-ordered vector, PyTorch's flatten.
    head = RegressionHead(24, num_joints=K)
    x = np.random.default_rng(0).standard_normal((2, 2, 2, 6)).astype(np.float32)
    out = head((x,))
    flat = x.transpose(0, 3, 1, 2).reshape(2, -1)
    want = (flat @ head.fc.kernel.numpy() + head.fc.bias.numpy()).reshape(2, K, 2)
    np.testing.assert_allclose(out, want, atol=1e-6)


def test_initialisation_is_small():
    # N(0, 0.01) kernel, zero bias, as MMPose.
    head = RegressionHead(512, num_joints=17)
    head(np.zeros((1, 512), np.float32))
    assert abs(float(np.std(head.fc.kernel.numpy())) - 0.01) < 1e-3
    assert not np.any(head.fc.bias.numpy())


def test_loss_default_and_custom():
    head = RegressionHead(8, num_joints=2)
    out = np.array([[[0.5, 0.5], [0.2, 0.9]]], np.float32)
    labels = np.array([[[0.5, 0.52], [2.2, 0.9]]], np.float32)
    weights = np.array([[1.0, 0.5]], np.float32)
    terms = head.loss(out, {"keypoint_labels": labels, "keypoint_weights": weights})
    # SmoothL1 of weighted coordinates, mean over B*K*2: 0.5*0.02^2 and 1.0 - 0.5.
    np.testing.assert_allclose(terms["loss_kpt"], (0.5 * 0.02 ** 2 + 0.5) / 4, rtol=1e-5)
    # Keypoint 0 is within 0.05 (normalised), keypoint 1 is not.
    np.testing.assert_allclose(terms["acc_pose"], 0.5)
    l1 = RegressionHead(8, num_joints=2, loss=L1Loss(use_target_weight=True))
    terms = l1.loss(out, {"keypoint_labels": labels, "keypoint_weights": weights})
    np.testing.assert_allclose(terms["loss_kpt"], (0.02 + 1.0) / 4, rtol=1e-5)


def test_loss_gradients_reach_fc_only_through_loss_kpt():
    head = RegressionHead(8, num_joints=2)
    x = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    targets = {"keypoint_labels": np.full((3, 2, 2), 0.5, np.float32),
               "keypoint_weights": np.ones((3, 2), np.float32)}
    with tf.GradientTape(persistent=True) as tape:
        terms = head.loss(head((x,), training=True), targets)
    assert all(g is not None for g in tape.gradient(terms["loss_kpt"],
                                                    head.trainable_weights))
    assert all(g is None for g in tape.gradient(terms["acc_pose"], head.trainable_weights))


def test_loss_needs_targets():
    head = RegressionHead(8, num_joints=2)
    with pytest.raises(ValueError, match="keypoint_weights"):
        head.loss(np.zeros((1, 2, 2), np.float32),
                  {"keypoint_labels": np.zeros((1, 2, 2), np.float32)})


def test_flip_back():
    head = RegressionHead(num_joints=K, input_size=(48, 64))
    coords = np.random.default_rng(2).uniform(0, 1, (2, K, 2)).astype(np.float32)
    flipped = head.flip_back(coords, [0, 2, 1, 3])
    np.testing.assert_allclose(flipped, flip_coordinates(coords, [0, 2, 1, 3], True,
                                                         (48, 64)))
    # x -> 1 - x - 1/w, keypoints 1 and 2 swapped, y kept.
    np.testing.assert_allclose(flipped[:, 1, 0], 1 - coords[:, 2, 0] - 1 / 48, atol=1e-6)
    np.testing.assert_allclose(flipped[:, 1, 1], coords[:, 2, 1])
    # An input size given to flip_back wins; no shift needs none.
    np.testing.assert_allclose(
        RegressionHead(num_joints=K).flip_back(coords, [0, 2, 1, 3], input_size=(48, 64)),
        flipped)
    unshifted = RegressionHead(num_joints=K, shift_coords=False).flip_back(coords,
                                                                          [0, 1, 2, 3])
    np.testing.assert_allclose(unshifted[..., 0], 1 - coords[..., 0], atol=1e-6)
    with pytest.raises(ValueError, match="input_size"):
        RegressionHead(num_joints=K).flip_back(coords, [0, 2, 1, 3])


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_joints=0), "num_joints"),
    (dict(num_joints=K, in_channels=0), "in_channels"),
    (dict(num_joints=K, loss="smooth_l1"), "callable"),
    (dict(num_joints=K, input_size=(48,)), "input_size"),
    (dict(num_joints=K, input_size=(48.0, 64)), "input_size"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RegressionHead(**kwargs)


def test_positional_num_joints_is_refused():
    with pytest.raises(TypeError):
        RegressionHead(2048, 17)


def test_wrong_input_size_raises():
    with pytest.raises(ValueError, match="input features"):
        RegressionHead(32, num_joints=K)(np.zeros((1, 16), np.float32))


def test_config_round_trip():
    head = RegressionHead(16, num_joints=K, loss=L1Loss(use_target_weight=True,
                                                        loss_weight=2.0),
                          input_size=(48, 64), shift_coords=False)
    rebuilt = assert_config_round_trip(head)
    assert rebuilt.loss_module.get_config() == head.loss_module.get_config()
    assert rebuilt.input_size == (48, 64) and rebuilt.shift_coords is False


def test_saving_round_trip(tmp_path):
    head = RegressionHead(16, num_joints=K, input_size=(48, 64))
    assert_saving_round_trip(head, (np.random.default_rng(3).standard_normal(
        (2, 16)).astype(np.float32),), tmp_path)


def test_in_estimator_fit_and_flip_predict():
    codec = RegressionLabel(input_size=(32, 32))
    # A one-conv backbone keeps tracing fast: (B, 4, 4, 8) features.
    backbone = keras.layers.Conv2D(8, 3, strides=8, padding="same")
    head = RegressionHead(128, num_joints=K, input_size=codec.input_size)
    model = TopdownPoseEstimator(backbone, head, codec, flip_indices=[0, 2, 1, 3])
    images = np.random.default_rng(4).integers(0, 256, (4, 32, 32, 3)).astype(np.uint8)
    targets = {"keypoint_labels": np.full((4, K, 2), 0.5, np.float32),
               "keypoint_weights": np.ones((4, K), np.float32)}
    model.compile(optimizer="adam")
    history = model.fit(images, targets, batch_size=2, epochs=1, verbose=0).history
    assert set(history) == {"loss", "loss_kpt", "acc_pose"}
    preds = model.predict(images, verbose=0)
    # Flip test: the mean of the plain pass and the mapped-back mirrored pass, decoded.
    plain = model(images, training=False)
    mirrored = head.flip_back(model(images[:, :, ::-1], training=False), [0, 2, 1, 3])
    np.testing.assert_allclose(preds["keypoints"], (plain + mirrored).numpy() * 0.5 * 32,
                               atol=1e-4)
    np.testing.assert_array_equal(preds["keypoint_scores"], np.ones((4, K)))
