import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.models.heads.heatmap_head import HeatmapHead
from kpose.models.losses.keypoint_mse_loss import KeypointMSELoss
from kpose.models.utils.tta import flip_heatmaps

K = 4


def feats(b=2, h=4, w=3, c=16, seed=0):
    rng = np.random.default_rng(seed)
    # Two maps: the head must use the last one only.
    return (rng.standard_normal((b, 2 * h, 2 * w, 8)).astype(np.float32),
            rng.standard_normal((b, h, w, c)).astype(np.float32))


@pytest.mark.parametrize("kernels", [(4, 4, 4), (3, 3, 3), (2, 2, 2), (4, 3, 2)])
def test_each_deconv_doubles_the_size(kernels):
    head = HeatmapHead(16, out_channels=K, deconv_out_channels=(8, 8, 8),
                       deconv_kernel_sizes=kernels)
    assert head(feats()).shape == (2, 32, 24, K)


def test_structure_and_names_follow_mmpose():
    head = HeatmapHead(16, out_channels=K, deconv_out_channels=(8, 6),
                       deconv_kernel_sizes=(4, 4), conv_out_channels=(5,),
                       conv_kernel_sizes=(3,))
    out = head(feats())
    assert out.shape == (2, 16, 12, K)
    shapes = {w.path.split("/", 1)[1]: tuple(w.shape) for w in head.weights}
    assert shapes["deconv_layers_0/kernel"] == (4, 4, 8, 16)  # (kh, kw, out, in)
    assert shapes["deconv_layers_1/gamma"] == (8,)
    assert shapes["deconv_layers_3/kernel"] == (4, 4, 6, 8)
    assert shapes["conv_layers_0/kernel"] == (3, 3, 6, 5)
    assert shapes["conv_layers_0/bias"] == (5,)  # intermediate convs keep their bias
    assert shapes["final_layer/kernel"] == (1, 1, 5, K)
    assert shapes["final_layer/bias"] == (K,)
    assert "deconv_layers_0/bias" not in shapes


def test_no_deconv_and_no_final_layer():
    assert HeatmapHead(16, out_channels=K, deconv_out_channels=(),
                       deconv_kernel_sizes=())(feats()).shape == (2, 4, 3, K)
    head = HeatmapHead(out_channels=8, deconv_out_channels=(8,), deconv_kernel_sizes=(4,),
                       final_layer_kernel=None)
    assert head(feats()).shape == (2, 8, 6, 8)
    # A single feature map is accepted as well as a tuple.
    assert head(feats()[1]).shape == (2, 8, 6, 8)


def test_outputs_start_near_zero():
    # N(0, 0.001) initialisation as MMPose: the first heatmaps are almost flat.
    out = HeatmapHead(16, out_channels=K)(feats())
    assert float(tf.reduce_max(tf.abs(out))) < 0.05


def test_loss_terms():
    head = HeatmapHead(16, out_channels=K)
    rng = np.random.default_rng(1)
    outputs = rng.uniform(0, 1, (2, 8, 6, K)).astype(np.float32)
    heatmaps = rng.uniform(0, 1, (2, 8, 6, K)).astype(np.float32)
    weights = np.array([[1, 0, 1, 1], [0.5, 1, 0, 1]], np.float32)
    terms = head.loss(outputs, {"heatmaps": heatmaps, "keypoint_weights": weights})
    assert set(terms) == set(head.loss_names) == {"loss_kpt", "acc_pose"}
    want = np.mean((outputs - heatmaps) ** 2 * weights[:, None, None, :])
    np.testing.assert_allclose(terms["loss_kpt"], want, rtol=1e-6)
    # Predicting the targets gives accuracy 1.
    perfect = head.loss(heatmaps, {"heatmaps": heatmaps, "keypoint_weights": weights})
    assert float(perfect["acc_pose"]) == 1.0 and float(perfect["loss_kpt"]) == 0.0


def test_loss_has_gradient_only_through_the_loss_term():
    head = HeatmapHead(16, out_channels=K)
    x = feats()
    targets = {"heatmaps": np.ones((2, 32, 24, K), np.float32),
               "keypoint_weights": np.ones((2, K), np.float32)}
    with tf.GradientTape(persistent=True) as tape:
        terms = head.loss(head(x, training=True), targets)
    assert all(g is not None for g in tape.gradient(terms["loss_kpt"],
                                                    head.trainable_weights))
    assert all(g is None for g in tape.gradient(terms["acc_pose"], head.trainable_weights))


def test_loss_needs_both_targets():
    head = HeatmapHead(16, out_channels=K)
    with pytest.raises(ValueError, match="keypoint_weights"):
        head.loss(np.zeros((1, 8, 6, K), np.float32),
                  {"heatmaps": np.zeros((1, 8, 6, K), np.float32)})


def test_custom_loss_is_used():
    head = HeatmapHead(16, out_channels=K, loss=KeypointMSELoss(loss_weight=3.0))
    out = np.ones((1, 2, 2, K), np.float32)
    terms = head.loss(out, {"heatmaps": np.zeros_like(out),
                            "keypoint_weights": np.zeros((1, K), np.float32)})
    # use_target_weight=False ignores the zero weights.
    np.testing.assert_allclose(terms["loss_kpt"], 3.0)


@pytest.mark.parametrize("shift", [False, True])
def test_flip_back_is_flip_heatmaps(shift):
    head = HeatmapHead(16, out_channels=K)
    maps = np.random.default_rng(2).standard_normal((2, 5, 6, K)).astype(np.float32)
    np.testing.assert_array_equal(head.flip_back(maps, [1, 0, 3, 2], shift_heatmap=shift),
                                  flip_heatmaps(maps, [1, 0, 3, 2], shift_heatmap=shift))


def test_positional_out_channels_is_refused():
    # MMPose's order is (in_channels, out_channels): a positional K must not be mistaken.
    with pytest.raises(TypeError):
        HeatmapHead(2048, 17)


@pytest.mark.parametrize("kwargs, match", [
    (dict(out_channels=0), "out_channels"),
    (dict(out_channels=K, in_channels=-1), "in_channels"),
    (dict(out_channels=K, deconv_out_channels=(8, 8), deconv_kernel_sizes=(4,)),
     "same length"),
    (dict(out_channels=K, deconv_out_channels=(8,), deconv_kernel_sizes=(5,)),
     "deconv kernel"),
    (dict(out_channels=K, conv_out_channels=(8,), conv_kernel_sizes=None), "same length"),
    (dict(out_channels=K, conv_out_channels=(8,), conv_kernel_sizes=(2,)), "odd"),
    (dict(out_channels=K, final_layer_kernel=2), "odd"),
    (dict(out_channels=K, loss="mse"), "callable"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HeatmapHead(**kwargs)


def test_wrong_input_channels_raise():
    with pytest.raises(ValueError, match="input channels"):
        HeatmapHead(32, out_channels=K)(feats())


def test_config_round_trip():
    head = HeatmapHead(16, out_channels=K, deconv_out_channels=(8,), deconv_kernel_sizes=(3,),
                       conv_out_channels=(4,), conv_kernel_sizes=(3,),
                       loss=KeypointMSELoss(use_target_weight=True, loss_weight=0.5),
                       synchronized_bn=True)
    rebuilt = assert_config_round_trip(head)
    assert rebuilt.loss_module.get_config() == head.loss_module.get_config()
    assert rebuilt.deconv_kernel_sizes == (3,)


def test_saving_round_trip(tmp_path):
    head = HeatmapHead(16, out_channels=K, deconv_out_channels=(8, 8),
                       deconv_kernel_sizes=(4, 3), conv_out_channels=(4,),
                       conv_kernel_sizes=(3,))
    assert_saving_round_trip(head, feats(), tmp_path)
