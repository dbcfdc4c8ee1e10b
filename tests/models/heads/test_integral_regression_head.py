import keras
import numpy as np
import pytest
import tensorflow as tf
from _head_goldens import check_integral_head, count
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.codecs.integral_regression_label import IntegralRegressionLabel
from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
from kpose.models.heads.integral_regression_head import IntegralRegressionHead
from kpose.models.losses.l1_loss import L1Loss
from kpose.models.utils.tta import flip_heatmaps

K = 4


@pytest.mark.parametrize("case", ["ipr", "ipr_debias"])
def test_matches_mmpose(case):
    check_integral_head(case, IntegralRegressionHead)


def test_parameter_count_matches_mmpose():
    # ipr_res50 at 256x256: 8x8 ResNet-50 features, 17 keypoints. MMPose counts the
    # linspaces (nn.Parameter, requires_grad=False) among its parameters; here they are
    # non-trainable weights, like the BatchNorm statistics.
    head = IntegralRegressionHead(2048, num_joints=17, in_featuremap_size=(8, 8))
    head.build((None, 8, 8, 2048))
    params, trainable, state = count("IntegralRegressionHead_2048_8x8_17")
    assert sum(int(np.prod(w.shape)) for w in head.trainable_weights) == trainable
    assert trainable + 64 + 64 == params == 10_491_793
    assert head.count_params() == state == 10_493_329
    plain = IntegralRegressionHead(2048, num_joints=17, deconv_out_channels=None)
    plain.build((None, 8, 8, 2048))
    params, trainable, state = count("IntegralRegressionHead_nodeconv_2048_8x8_17")
    assert plain.count_params() == params == state == 34_849


def test_soft_argmax_of_a_peak():
    # One dominant logit: the coordinates are its pixel over the map size.
    head = IntegralRegressionHead(num_joints=2, deconv_out_channels=None,
                                  final_layer_kernel=None, beta=1.0)
    logits = np.full((1, 4, 5, 2), -50.0, np.float32)
    logits[0, 1, 3, 0] = 50.0  # y = 1, x = 3
    logits[0, 2, 0, 1] = 50.0  # y = 2, x = 0
    coords, heatmaps = head((logits,))
    np.testing.assert_allclose(coords, [[[3 / 5, 1 / 4], [0.0, 2 / 4]]], atol=1e-6)
    np.testing.assert_allclose(tf.reduce_sum(heatmaps, axis=(1, 2)), np.ones((1, 2)),
                               atol=1e-6)


def test_mixed_precision_outputs_float32():
    # The softmax over H * W bins runs in float32 whatever the compute dtype.
    head = IntegralRegressionHead(8, num_joints=K, deconv_out_channels=(8,),
                                  deconv_kernel_sizes=(4,), dtype="mixed_bfloat16")
    coords, heatmaps = head((np.ones((1, 4, 3, 8), np.float32),))
    assert coords.dtype == heatmaps.dtype == tf.float32
    assert head.linspace_x.dtype == "float32"


def test_debias_is_stable_for_large_logits():
    # MMPose's exp(x) overflows for logits > 88; the logsumexp form does not.
    head = IntegralRegressionHead(num_joints=1, deconv_out_channels=None,
                                  final_layer_kernel=None, debias=True)
    logits = np.random.default_rng(0).standard_normal((2, 4, 4, 1)).astype(np.float32)
    coords, _ = head((logits,))
    coords_big, _ = head((logits + 200.0,))
    assert np.all(np.isfinite(coords_big))
    # The bias correction: C / (C - 1) * (mean - 1 / (2C)) with C = sum(exp(x)).
    c = np.exp(logits.astype(np.float64)).sum(axis=(1, 2))[:, 0]
    p = np.exp(logits[..., 0]) / np.exp(logits[..., 0]).sum(axis=(1, 2), keepdims=True)
    mean_x = (p * (np.arange(4) / 4)[None, None, :]).sum(axis=(1, 2))
    np.testing.assert_allclose(coords[:, 0, 0], c / (c - 1) * (mean_x - 1 / (2 * c)),
                               atol=1e-5)


def test_flip_back_flips_both_outputs():
    head = IntegralRegressionHead(num_joints=K, input_size=(48, 64))
    rng = np.random.default_rng(1)
    coords = rng.uniform(0, 1, (2, K, 2)).astype(np.float32)
    heatmaps = rng.uniform(0, 1, (2, 8, 6, K)).astype(np.float32)
    got_coords, got_maps = head.flip_back((coords, heatmaps), [0, 2, 1, 3],
                                          shift_heatmap=True)
    np.testing.assert_allclose(got_coords[:, 2, 0], 1 - coords[:, 1, 0] - 1 / 48,
                               atol=1e-6)
    np.testing.assert_array_equal(got_maps, flip_heatmaps(heatmaps, [0, 2, 1, 3],
                                                          shift_heatmap=True))


def test_loss_uses_the_coordinates_only():
    head = IntegralRegressionHead(num_joints=2, loss=L1Loss(use_target_weight=True))
    coords = np.array([[[0.5, 0.5], [0.1, 0.1]]], np.float32)
    labels = np.array([[[0.5, 0.6], [0.1, 0.1]]], np.float32)
    terms = head.loss((coords, np.zeros((1, 4, 4, 2), np.float32)),
                      {"keypoint_labels": labels, "keypoint_weights": np.ones((1, 2))})
    np.testing.assert_allclose(terms["loss_kpt"], 0.1 / 4, rtol=1e-5)
    np.testing.assert_allclose(terms["acc_pose"], 0.5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_joints=0), "num_joints"),
    (dict(num_joints=K, beta=0.0), "beta"),
    (dict(num_joints=K, in_featuremap_size=(8,)), "in_featuremap_size"),
    (dict(num_joints=K, deconv_out_channels=None, conv_out_channels=(8,),
          conv_kernel_sizes=(3,)), "need deconv"),
    (dict(num_joints=K, deconv_out_channels=(8,), deconv_kernel_sizes=(5,)),
     "deconv kernel"),
    (dict(num_joints=K, final_layer_kernel=2), "final_layer_kernel"),
    (dict(num_joints=K, loss=1.0), "callable"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        IntegralRegressionHead(8, **kwargs)


@pytest.mark.parametrize("kwargs, shape, match", [
    (dict(in_featuremap_size=(3, 4)), (1, 3, 4, 8), "in_featuremap_size"),
    (dict(), (1, 4, 3, 16), "input channels"),
    (dict(deconv_out_channels=None, final_layer_kernel=None), (1, 4, 3, 8), "heatmap"),
])
def test_wrong_inputs_raise(kwargs, shape, match):
    head = IntegralRegressionHead(8, num_joints=K, deconv_out_channels=(8,),
                                  deconv_kernel_sizes=(4,), **kwargs) \
        if "deconv_out_channels" not in kwargs else IntegralRegressionHead(
            8, num_joints=K, **kwargs)
    with pytest.raises(ValueError, match=match):
        head((np.zeros(shape, np.float32),))


def test_config_round_trip():
    head = IntegralRegressionHead(8, num_joints=K, in_featuremap_size=(3, 4), debias=True,
                                  beta=10.0, deconv_out_channels=(8,),
                                  deconv_kernel_sizes=(3,), conv_out_channels=(6,),
                                  conv_kernel_sizes=(3,), final_layer_kernel=3,
                                  loss=L1Loss(use_target_weight=True),
                                  input_size=(48, 64), shift_coords=False,
                                  synchronized_bn=True)
    rebuilt = assert_config_round_trip(head)
    assert rebuilt.in_featuremap_size == (3, 4) and rebuilt.beta == 10.0
    assert rebuilt.simplebaseline_head.synchronized_bn


@pytest.mark.parametrize("deconvs", [(8,), None])
def test_saving_round_trip(tmp_path, deconvs):
    head = IntegralRegressionHead(8, num_joints=K, deconv_out_channels=deconvs,
                                  deconv_kernel_sizes=(4,) if deconvs else None,
                                  debias=deconvs is None)
    x = (np.random.default_rng(2).standard_normal((2, 4, 3, 8)).astype(np.float32),)
    loaded = assert_saving_round_trip(head, x, tmp_path, atol=1e-6)
    assert any("linspace_x" in w.path for w in loaded.weights)


def test_in_estimator_fit_and_flip_predict():
    codec = IntegralRegressionLabel(input_size=(32, 32), heatmap_size=(8, 8), sigma=1.0)
    # A one-conv backbone keeps tracing fast: (B, 4, 4, 8) features.
    backbone = keras.layers.Conv2D(8, 3, strides=8, padding="same")
    head = IntegralRegressionHead(8, num_joints=K, deconv_out_channels=(8,),
                                  deconv_kernel_sizes=(4,), input_size=codec.input_size)
    model = TopdownPoseEstimator(backbone, head, codec, flip_indices=[0, 2, 1, 3])
    images = np.random.default_rng(3).integers(0, 256, (4, 32, 32, 3)).astype(np.uint8)
    targets = {"keypoint_labels": np.full((4, K, 2), 0.5, np.float32),
               "keypoint_weights": np.ones((4, K), np.float32)}
    model.compile(optimizer="adam")
    history = model.fit(images, targets, batch_size=2, epochs=1, verbose=0).history
    assert set(history) == {"loss", "loss_kpt", "acc_pose"}
    preds = model.predict(images, verbose=0)
    plain, _ = model(images, training=False)
    mirrored, _ = head.flip_back(model(images[:, :, ::-1], training=False), [0, 2, 1, 3])
    np.testing.assert_allclose(preds["keypoints"], (plain + mirrored).numpy() * 0.5 * 32,
                               atol=1e-4)
