import numpy as np
import pytest
import tensorflow as tf
from _head_goldens import build_loss, count, flip_average, load, load_weights
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.codecs.regression_label import RegressionLabel
from kpose.models.heads.rle_head import RLEHead
from kpose.models.losses.rle_loss import RLELoss

K = 4


def mmpose_case(case):
    arrays, config = load(case)
    cfg = dict(config["head"])
    head = RLEHead(cfg["in_channels"], num_joints=cfg["num_joints"],
                   loss=build_loss(cfg["loss"]), input_size=arrays["input_size"])
    head((arrays["feat"],))
    assigned = load_weights(head, arrays, config["seed"])
    # Every trainable variable came from MMPose's state dict (fc and the flow's nets).
    assert assigned == {w.path for w in head.trainable_weights}
    return head, arrays


@pytest.mark.parametrize("case", ["rle", "rle_gauss"])
def test_matches_mmpose(case):
    head, arrays = mmpose_case(case)
    out = head((arrays["feat"],))
    # MMPose's forward gives raw sigma logits; ours are through the sigmoid already.
    raw = arrays["out0"]
    want = np.concatenate([raw[..., :2], 1 / (1 + np.exp(-raw[..., 2:]))], axis=-1)
    np.testing.assert_allclose(out, want, atol=1e-5)
    targets = {k: arrays[f"target_{k}"] for k in ("keypoint_labels", "keypoint_weights")}
    terms = head.loss(out, targets)
    np.testing.assert_allclose(terms["loss_kpt"], arrays["loss/loss_kpt"], rtol=1e-5)
    np.testing.assert_allclose(terms["acc_pose"], arrays["loss/acc_pose"], atol=1e-6)
    assert 0.0 < float(terms["acc_pose"]) < 1.0
    # predict: MMPose averages sigmoid sigmas over the flip pair, then decodes.
    mean = flip_average(head, out, head((arrays["feat_flip"],)), arrays)
    keypoints, scores = RegressionLabel(arrays["input_size"]).batch_decode(mean)
    np.testing.assert_allclose(keypoints, arrays["pred_keypoints"], atol=1e-4)
    np.testing.assert_allclose(scores, arrays["pred_scores"], atol=1e-5)


def test_parameter_count_matches_mmpose():
    # td-reg_res50_rle (2048 channels) and the MobileNetV2 RLE recipe (1280): fc plus the
    # loss's RealNVP (its loc/cov/mask buffers are non-trainable weights here).
    expected = {2048: (193_116, 193_134), 1280: (140_892, 140_910)}
    for channels, (want_params, want_state) in expected.items():
        head = RLEHead(channels, num_joints=17)
        head(np.zeros((1, channels), np.float32))
        params, trainable, state = count(f"RLEHead_{channels}_17")
        assert (params, state) == (want_params, want_state)
        assert sum(int(np.prod(w.shape)) for w in head.trainable_weights) == params
        assert head.count_params() == state


def test_flow_weights_belong_to_the_head():
    head = RLEHead(16, num_joints=K)
    head(np.zeros((1, 16), np.float32))
    paths = [w.path for w in head.trainable_weights]
    assert any("flow_model" in p for p in paths)
    assert any(p.endswith("fc/kernel") for p in paths)
    x = np.random.default_rng(0).standard_normal((2, 16)).astype(np.float32)
    targets = {"keypoint_labels": np.full((2, K, 2), 0.5, np.float32),
               "keypoint_weights": np.ones((2, K), np.float32)}
    with tf.GradientTape() as tape:
        loss = head.loss(head((x,), training=True), targets)["loss_kpt"]
    grads = tape.gradient(loss, head.trainable_weights)
    assert all(g is not None for g in grads)


def test_sigmas_round_trip_through_the_loss():
    # The loss recovers the logits: equal to RLELoss on the raw fc outputs.
    head = RLEHead(16, num_joints=K, loss=RLELoss(use_target_weight=True))
    x = np.random.default_rng(1).standard_normal((3, 16)).astype(np.float32)
    head((x,))
    head.fc.kernel.assign(head.fc.kernel * 300.0)  # sigma logits far from 0
    raw = tf.reshape(head.fc(x), (3, K, 4))
    labels = np.random.default_rng(2).uniform(0, 1, (3, K, 2)).astype(np.float32)
    weights = np.ones((3, K), np.float32)
    want = head.loss_module(raw[..., :2], raw[..., 2:], labels, weights[..., None])
    got = head.loss(head((x,)), {"keypoint_labels": labels, "keypoint_weights": weights})
    np.testing.assert_allclose(got["loss_kpt"], want, rtol=1e-4)


def test_decoded_scores_are_one_minus_sigma():
    head = RLEHead(8, num_joints=2)
    out = head((np.random.default_rng(3).standard_normal((2, 8)).astype(np.float32),))
    keypoints, scores = RegressionLabel((48, 64)).batch_decode(out)
    np.testing.assert_allclose(scores, np.mean(1 - out.numpy()[..., 2:], axis=-1), atol=1e-6)
    np.testing.assert_allclose(keypoints, out.numpy()[..., :2] * [48, 64], atol=1e-5)


def test_flip_back_keeps_sigmas():
    head = RLEHead(num_joints=3, input_size=(10, 20))
    out = np.random.default_rng(4).uniform(0, 1, (1, 3, 4)).astype(np.float32)
    flipped = head.flip_back(out, [1, 0, 2]).numpy()
    np.testing.assert_allclose(flipped[0, 0], [1 - out[0, 1, 0] - 0.1, *out[0, 1, 1:]],
                               atol=1e-6)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="num_joints"):
        RLEHead(16, num_joints=-1)
    with pytest.raises(ValueError, match="callable"):
        RLEHead(16, num_joints=2, loss="rle")


def test_config_round_trip():
    head = RLEHead(16, num_joints=K, loss=RLELoss(use_target_weight=True,
                                                  q_distribution="gaussian"),
                   input_size=(48, 64))
    rebuilt = assert_config_round_trip(head)
    assert rebuilt.loss_module.q_distribution == "gaussian"
    assert isinstance(RLEHead(num_joints=K).loss_module, RLELoss)


def test_saving_round_trip_keeps_the_flow(tmp_path):
    head = RLEHead(16, num_joints=K)
    x = (np.random.default_rng(5).standard_normal((2, 16)).astype(np.float32),)
    loaded = assert_saving_round_trip(head, x, tmp_path)
    # The flow's weights (part of the loss) were saved and restored too.
    assert any("flow_model" in w.path for w in loaded.weights)
