import keras
import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.codecs import SimCCLabel
from kpose.models.backbones.csp_next import CSPNeXt
from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
from kpose.models.heads.rtmcc_head import RTMCCHead
from kpose.models.losses.kl_discret_loss import KLDiscretLoss

K = 4
FLIP = [0, 2, 1, 3]


def small_head(**kwargs):
    # 64x96 input (w, h), 2x3 feature map, 16 channels, split 2: Wx 128, Wy 192.
    args = dict(out_channels=K, input_size=(64, 96), in_featuremap_size=(2, 3),
                final_layer_kernel_size=7, gau_hidden_dims=16, gau_s=8, gau_act_fn="SiLU")
    args.update(kwargs)
    return RTMCCHead(16, **args)


def feats(b=2, seed=0):
    return (np.random.default_rng(seed).standard_normal((b, 3, 2, 16)).astype(np.float32),)


def test_outputs_and_mmpose_layer_names():
    head = small_head()
    pred_x, pred_y = head(feats())
    assert pred_x.shape == (2, K, 128) and pred_y.shape == (2, K, 192)
    names = {w.path.split("/", 1)[1]: tuple(w.shape) for w in head.weights}
    assert names == {
        "final_layer/kernel": (7, 7, 16, K), "final_layer/bias": (K,),
        "mlp_0/g": (1,), "mlp_1/kernel": (6, 16),
        "gau/gamma": (2, 8), "gau/beta": (2, 8), "gau/ln/g": (1,),
        "gau/uv/kernel": (16, 2 * 32 + 8), "gau/o/kernel": (32, 16),
        "gau/res_scale/scale": (16,),
        "cls_x/kernel": (16, 128), "cls_y/kernel": (16, 192)}


def test_bins_truncate_like_mmpose():
    head = small_head(input_size=(63, 95), simcc_split_ratio=1.5)
    pred_x, pred_y = head(feats())
    assert pred_x.shape[-1] == int(63 * 1.5) and pred_y.shape[-1] == int(95 * 1.5)


def test_flip_back_reverses_x_and_swaps_keypoints():
    head = small_head()
    x = np.arange(2 * K * 3, dtype=np.float32).reshape(2, K, 3)
    y = -np.arange(2 * K * 2, dtype=np.float32).reshape(2, K, 2)
    fx, fy = head.flip_back((x, y), FLIP, shift_heatmap=True)
    np.testing.assert_array_equal(np.asarray(fx), x[:, FLIP, ::-1])
    np.testing.assert_array_equal(np.asarray(fy), y[:, FLIP])


def numpy_kl(pred, label, weights, beta):
    logits = pred * beta
    log_pred = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(
        -1, keepdims=True)) - logits.max(-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(label > 0, label * (np.log(label) - log_pred), -label * log_pred)
    return (term.mean(-1) * weights).sum()


def test_loss_terms_known_values():
    head = small_head(loss=KLDiscretLoss(beta=2.0, use_target_weight=True))
    rng = np.random.default_rng(0)
    pred_x = rng.standard_normal((2, K, 128)).astype(np.float32)
    pred_y = rng.standard_normal((2, K, 192)).astype(np.float32)
    gt_x = np.zeros_like(pred_x)
    gt_y = np.zeros_like(pred_y)
    # Labels peak at the predicted argmax for keypoints 0, 1 and far away for 2, 3.
    bx, by = pred_x.argmax(-1), pred_y.argmax(-1)
    for b in range(2):
        for k in range(K):
            far = k >= 2
            gt_x[b, k, (bx[b, k] + 60 * far) % 128] = 1.0
            gt_y[b, k, (by[b, k] + 90 * far) % 192] = 1.0
    weights = np.array([[1, 1, 1, 0.5], [1, 0, 1, 1]], np.float32)
    targets = {"keypoint_x_labels": gt_x, "keypoint_y_labels": gt_y,
               "keypoint_weights": weights}
    losses = head.loss((pred_x, pred_y), targets)
    assert set(losses) == set(head.loss_names) == {"loss_kpt", "acc_pose"}
    expected = (numpy_kl(pred_x, gt_x, weights, 2.0) + numpy_kl(pred_y, gt_y, weights, 2.0)) / K
    np.testing.assert_allclose(float(losses["loss_kpt"]), expected, rtol=1e-5)
    # Keypoint 0: 2/2 hits, 1: 1/1 (weight 0 skipped), 2 and 3: misses -> mean 0.5.
    np.testing.assert_allclose(float(losses["acc_pose"]), 0.5)
    with pytest.raises(ValueError, match="keypoint_y_labels"):
        head.loss((pred_x, pred_y), {"keypoint_x_labels": gt_x, "keypoint_weights": weights})


@pytest.mark.parametrize("kwargs, match", [
    (dict(out_channels=0), "out_channels"),
    (dict(input_size=(64,)), "input_size"),
    (dict(in_featuremap_size=(2, 0)), "in_featuremap_size"),
    (dict(simcc_split_ratio=0.0), "simcc_split_ratio"),
    (dict(simcc_split_ratio="2"), "simcc_split_ratio"),
    (dict(final_layer_kernel_size=4), "final_layer_kernel_size"),
    (dict(gau_act_fn="GELU"), "act_fn"),
    (dict(loss="kl"), "loss"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        small_head(**kwargs)


def test_feature_map_size_and_channels_are_checked():
    with pytest.raises(ValueError, match="in_featuremap_size"):
        small_head()((np.zeros((1, 2, 2, 16), np.float32),))
    with pytest.raises(ValueError, match="input channels"):
        small_head()((np.zeros((1, 3, 2, 8), np.float32),))


def test_config_and_saving_round_trip(tmp_path):
    head = small_head(gau_use_rel_bias=True, gau_pos_enc=True, gau_drop_path=0.1,
                      gau_dropout_rate=0.1, gau_expansion_factor=1.5,
                      loss=KLDiscretLoss(beta=10.0, label_softmax=True))
    rebuilt = assert_config_round_trip(head)
    assert rebuilt.loss_module.beta == 10.0 and rebuilt.gau_pos_enc
    assert_saving_round_trip(head, feats(), tmp_path, call_kwargs={"training": False})


def tiny_rtmpose(flip_test=True):
    backbone = CSPNeXt(deepen_factor=0.167, widen_factor=0.125, out_indices=(2,),
                       arch_overwrite=[[64, 128, 1, True, False], [128, 256, 1, False, True]])
    head = RTMCCHead(32, out_channels=K, input_size=(32, 32), in_featuremap_size=(4, 4),
                     final_layer_kernel_size=7, gau_hidden_dims=16, gau_s=8,
                     gau_act_fn="SiLU",
                     loss=KLDiscretLoss(beta=10.0, label_softmax=True))
    codec = SimCCLabel(input_size=(32, 32), sigma=(2.0, 2.0), normalize=False)
    return TopdownPoseEstimator(backbone, head, codec, flip_test=flip_test,
                                flip_indices=FLIP)


def test_trains_and_predicts_inside_the_estimator():
    keras.utils.set_random_seed(0)
    model = tiny_rtmpose()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (4, 32, 32, 3)).astype(np.uint8)
    kpts = rng.uniform(4, 28, (4, 1, K, 2)).astype(np.float32)
    enc = [model.codec.encode(k) for k in kpts]
    targets = {key: np.concatenate([e[key] for e in enc]) for key in enc[0]}
    ds = tf.data.Dataset.from_tensor_slices((images, targets)).batch(4)
    # Eager: tracing the train and predict graphs would cost more than the steps.
    model.compile(optimizer=keras.optimizers.Adam(1e-2), run_eagerly=True)
    history = model.fit(ds, epochs=1, verbose=0).history
    assert set(history) == {"loss", "loss_kpt", "acc_pose"}
    assert np.isfinite(history["loss"][-1]) and 0.0 <= history["acc_pose"][-1] <= 1.0
    # Flip test: the average of the plain pass and the flipped pass put back.
    preds = model.predict_on_batch(images)
    plain = model(images, training=False)
    flipped = model.head.flip_back(model(images[:, :, ::-1], training=False), FLIP)
    averaged = [(a + b) / 2 for a, b in zip(plain, flipped)]
    expected, scores = model.codec.batch_decode(averaged)
    np.testing.assert_allclose(preds["keypoints"], expected, atol=1e-4)
    np.testing.assert_allclose(preds["keypoint_scores"], scores, atol=1e-5)
