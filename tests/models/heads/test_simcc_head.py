import numpy as np
import pytest
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.models.heads.simcc_head import SimCCHead
from kpose.models.losses.kl_discret_loss import KLDiscretLoss

K = 3


def feats(h=3, w=2, c=8, b=2, seed=0):
    return (np.random.default_rng(seed).standard_normal((b, h, w, c)).astype(np.float32),)


def deconv_head(**kwargs):
    # 2x3 map, two deconvs -> 8x12 maps (96 per keypoint); input 32x48, split 2.
    args = dict(out_channels=K, input_size=(32, 48), in_featuremap_size=(2, 3),
                deconv_out_channels=(4, 4), deconv_kernel_sizes=(4, 4))
    args.update(kwargs)
    return SimCCHead(8, **args)


def plain_head(**kwargs):
    args = dict(out_channels=K, input_size=(32, 48), in_featuremap_size=(2, 3),
                deconv_out_channels=None)
    args.update(kwargs)
    return SimCCHead(8, **args)


def test_deconv_head_outputs_and_names():
    head = deconv_head()
    pred_x, pred_y = head(feats())
    assert pred_x.shape == (2, K, 64) and pred_y.shape == (2, K, 96)
    names = {w.path.split("/", 1)[1]: tuple(w.shape) for w in head.weights}
    # MMPose: deconv_head.deconv_layers.{0,1,3,4}, deconv_head.final_layer, mlp_head_x/y.
    assert names["deconv_head/deconv_layers_0/kernel"] == (4, 4, 4, 8)
    assert names["deconv_head/deconv_layers_4/gamma"] == (4,)
    assert names["deconv_head/final_layer/kernel"] == (1, 1, 4, K)
    assert names["mlp_head_x/kernel"] == (96, 64) and names["mlp_head_x/bias"] == (64,)
    assert names["mlp_head_y/kernel"] == (96, 96)


def test_plain_head_is_a_conv_and_two_linear_layers():
    head = plain_head()
    x = feats()
    pred_x, pred_y = head(x)
    # By hand: 1x1 conv, flatten each map row by row (PyTorch's order), linear.
    maps = x[0] @ head.final_layer.kernel.numpy()[0, 0] + head.final_layer.bias.numpy()
    flat = maps.transpose(0, 3, 1, 2).reshape(2, K, 6)
    expected_x = flat @ head.mlp_head_x.kernel.numpy() + head.mlp_head_x.bias.numpy()
    np.testing.assert_allclose(np.asarray(pred_x), expected_x, rtol=1e-4, atol=1e-6)
    assert pred_y.shape == (2, K, 96)


def test_no_final_layer_classifies_the_input_channels():
    head = plain_head(final_layer_kernel=None)
    pred_x, _ = head(feats())
    assert pred_x.shape == (2, 8, 64)  # one vector per input channel, as MMPose


def test_flip_back_and_loss():
    head = plain_head(loss=KLDiscretLoss(use_target_weight=True))
    x = np.random.default_rng(1).standard_normal((2, K, 64)).astype(np.float32)
    y = np.random.default_rng(2).standard_normal((2, K, 96)).astype(np.float32)
    fx, fy = head.flip_back((x, y), [0, 2, 1])
    np.testing.assert_array_equal(np.asarray(fx), x[:, [0, 2, 1], ::-1])
    np.testing.assert_array_equal(np.asarray(fy), y[:, [0, 2, 1]])
    # Labels at the predicted argmax: PCK 1; KL of a one-hot label = -log_softmax there.
    gx = np.eye(64, dtype=np.float32)[x.argmax(-1)]
    gy = np.eye(96, dtype=np.float32)[y.argmax(-1)]
    weights = np.ones((2, K), np.float32)
    losses = head.loss((x, y), {"keypoint_x_labels": gx, "keypoint_y_labels": gy,
                                "keypoint_weights": weights})
    assert float(losses["acc_pose"]) == 1.0

    def nll(p):
        m = p.max(-1)
        return -(m - (m + np.log(np.exp(p - m[..., None]).sum(-1))))
    expected = (nll(x).sum() / 64 + nll(y).sum() / 96) / K
    np.testing.assert_allclose(float(losses["loss_kpt"]), expected, rtol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(out_channels=0), "out_channels"),
    (dict(input_size=(32, 48, 3)), "input_size"),
    (dict(deconv_kernel_sizes=(4,)), "same length"),
    (dict(deconv_kernel_sizes=(5, 5)), "kernel"),
    (dict(final_layer_kernel=2), "final_layer_kernel"),
    (dict(loss=3), "loss"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        deconv_head(**kwargs)


def test_conv_layers_need_deconvs_and_map_size_is_checked():
    with pytest.raises(ValueError, match="conv_out_channels"):
        plain_head(conv_out_channels=(4,), conv_kernel_sizes=(3,))
    with pytest.raises(ValueError, match="in_featuremap_size"):
        plain_head()(feats(h=2, w=2))


@pytest.mark.parametrize("make", [deconv_head, plain_head])
def test_config_and_saving_round_trip(make, tmp_path):
    head = make(simcc_split_ratio=1.5, loss=KLDiscretLoss(beta=10.0, label_softmax=True))
    rebuilt = assert_config_round_trip(head)
    assert rebuilt.simcc_split_ratio == 1.5 and rebuilt.loss_module.label_softmax
    assert_saving_round_trip(head, feats(), tmp_path, call_kwargs={"training": False})
