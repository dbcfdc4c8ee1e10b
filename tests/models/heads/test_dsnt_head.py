import numpy as np
import pytest
import tensorflow as tf
from _head_goldens import check_integral_head, count
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.models.heads.dsnt_head import DSNTHead
from kpose.models.heads.integral_regression_head import IntegralRegressionHead
from kpose.models.losses.js_discret_loss import JSDiscretLoss
from kpose.models.losses.keypoint_mse_loss import KeypointMSELoss
from kpose.models.losses.l1_loss import L1Loss
from kpose.models.losses.multiple_loss_wrapper import MultipleLossWrapper
from kpose.models.losses.smooth_l1_loss import SmoothL1Loss

K = 4


@pytest.mark.parametrize("case", ["dsnt", "dsnt_mse"])
def test_matches_mmpose(case):
    # dsnt: SmoothL1 + JSDiscret (DSNT); dsnt_mse: SmoothL1 + KeypointMSE (ipr_res50).
    head = check_integral_head(case, DSNTHead)
    assert isinstance(head, IntegralRegressionHead)


def test_parameter_count_matches_mmpose():
    head = DSNTHead(2048, num_joints=17, in_featuremap_size=(8, 8))
    head.build((None, 8, 8, 2048))
    params, trainable, state = count("DSNTHead_2048_8x8_17")
    assert sum(int(np.prod(w.shape)) for w in head.trainable_weights) == trainable
    assert head.count_params() == state == 10_493_329


def outputs_and_targets(seed=0):
    rng = np.random.default_rng(seed)
    coords = rng.uniform(0, 1, (2, K, 2)).astype(np.float32)
    maps = rng.uniform(0, 1, (2, 4, 3, K)).astype(np.float32)
    maps /= maps.sum(axis=(1, 2), keepdims=True)
    gt = rng.uniform(0, 1, (2, 4, 3, K)).astype(np.float32)
    gt /= gt.sum(axis=(1, 2), keepdims=True)
    targets = {"keypoint_labels": rng.uniform(0, 1, (2, K, 2)).astype(np.float32),
               "keypoint_weights": np.array([[1, 0, 1, 1], [1, 1, 1, 0]], np.float32),
               "heatmaps": gt}
    return (coords, maps), targets


def test_default_loss_is_smooth_l1_plus_js():
    head = DSNTHead(8, num_joints=K)
    assert isinstance(head.loss_module, MultipleLossWrapper)
    outputs, targets = outputs_and_targets()
    terms = head.loss(outputs, targets)
    w = targets["keypoint_weights"]
    want = (SmoothL1Loss(use_target_weight=True)(outputs[0], targets["keypoint_labels"], w)
            + JSDiscretLoss(use_target_weight=True)(outputs[1], targets["heatmaps"], w))
    np.testing.assert_allclose(terms["loss_kpt"], want, rtol=1e-6)
    assert set(terms) == set(head.loss_names) == {"loss_kpt", "acc_pose"}


def test_lambda_t_drops_the_heatmap_loss_from_that_epoch():
    head = DSNTHead(8, num_joints=K, lambda_t=2)
    outputs, targets = outputs_and_targets(1)
    w = targets["keypoint_weights"]
    coord_only = SmoothL1Loss(use_target_weight=True)(outputs[0],
                                                       targets["keypoint_labels"], w)
    step = tf.function(head.loss)  # traced once: the epoch must not be baked in
    before = step(outputs, targets)["loss_kpt"]
    head.set_epoch(1)
    assert float(step(outputs, targets)["loss_kpt"]) == float(before)
    assert float(before) > float(coord_only)
    head.set_epoch(2)
    np.testing.assert_allclose(step(outputs, targets)["loss_kpt"], coord_only, rtol=1e-6)
    # lambda_t <= 0 never drops it.
    never = DSNTHead(8, num_joints=K)
    never.set_epoch(100)
    np.testing.assert_allclose(never.loss(outputs, targets)["loss_kpt"], before, rtol=1e-6)


def test_epoch_is_not_a_weight():
    head = DSNTHead(8, num_joints=K, deconv_out_channels=None)
    head.build((None, 4, 3, 8))
    assert all("epoch" not in w.path for w in head.weights)


def test_loss_needs_heatmaps():
    outputs, targets = outputs_and_targets()
    del targets["heatmaps"]
    with pytest.raises(ValueError, match="heatmaps"):
        DSNTHead(8, num_joints=K).loss(outputs, targets)


@pytest.mark.parametrize("kwargs, match", [
    (dict(lambda_t=1.5), "lambda_t"),
    (dict(loss=MultipleLossWrapper([SmoothL1Loss()])), "two losses"),
    (dict(num_joints=0), "num_joints"),
])
def test_bad_arguments_raise(kwargs, match):
    kwargs = {"num_joints": K, **kwargs}
    with pytest.raises(ValueError, match=match):
        DSNTHead(8, **kwargs)


def test_config_round_trip():
    head = DSNTHead(8, num_joints=K, lambda_t=3, debias=True, beta=10.0,
                    deconv_out_channels=(8,), deconv_kernel_sizes=(4,),
                    loss=MultipleLossWrapper([L1Loss(use_target_weight=True),
                                              KeypointMSELoss(use_target_weight=True)]),
                    input_size=(48, 64))
    rebuilt = assert_config_round_trip(head)
    assert rebuilt.lambda_t == 3
    assert [type(l).__name__ for l in rebuilt.loss_module.loss_modules] == \
        ["L1Loss", "KeypointMSELoss"]


def test_saving_round_trip(tmp_path):
    head = DSNTHead(8, num_joints=K, deconv_out_channels=(8,), deconv_kernel_sizes=(4,),
                    lambda_t=5)
    x = (np.random.default_rng(2).standard_normal((2, 4, 3, 8)).astype(np.float32),)
    loaded = assert_saving_round_trip(head, x, tmp_path, atol=1e-6)
    assert loaded.layers[-1].lambda_t == 5
