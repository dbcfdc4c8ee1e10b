import gin
import keras
import numpy as np
import pytest
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.models.backbones.res_net import ResNet, resnet18, resnet50, resnet101


def narrow(depth, **kwargs):
    return ResNet(depth, stem_channels=8, base_channels=4, **kwargs)


def image(h=64, w=48, b=2, seed=0):
    return np.random.default_rng(seed).standard_normal((b, h, w, 3)).astype(np.float32)


@pytest.mark.parametrize("depth, expansion", [(18, 1), (50, 4)])
def test_feature_shapes_follow_pytorch_arithmetic(depth, expansion):
    # 67x45 is odd on purpose: PyTorch's floor((n + 2p - k) / s) + 1 at every stride.
    feats = narrow(depth, out_indices=(0, 1, 2, 3))(image(67, 45))
    assert isinstance(feats, tuple) and len(feats) == 4
    sizes = [(17, 12), (9, 6), (5, 3), (3, 2)]
    for i, (feat, (h, w)) in enumerate(zip(feats, sizes)):
        assert feat.shape == (2, h, w, 4 * expansion * 2 ** i)


def test_out_indices_order_and_out_channels():
    net = narrow(50, out_indices=(1, 3))
    feats = net(image())
    assert [f.shape[-1] for f in feats] == [32, 128] == list(net.out_channels)


def test_fewer_stages_and_custom_strides():
    feats = narrow(18, num_stages=2, strides=(1, 1), out_indices=(1,))(image(32, 32))
    assert feats[0].shape == (2, 8, 8, 8)


def test_layers_are_named_after_mmpose_modules():
    net = narrow(50)
    net(image())
    names = {w.path.split("/", 1)[1] for w in net.weights}
    for name in ["conv1/kernel", "bn1/gamma", "layer1_0_conv1/kernel",
                 "layer1_0_conv3/kernel", "layer1_0_bn3/moving_variance",
                 "layer1_0_downsample_0/kernel", "layer1_0_downsample_1/beta",
                 "layer4_2_conv2/kernel"]:
        assert name in names
    # Blocks after the first of a stage have no downsample branch; no conv has a bias.
    assert not any(n.startswith("layer1_1_downsample") for n in names)
    assert not any(n.endswith("/bias") for n in names)


def test_basic_block_stage1_has_no_downsample_when_channels_match():
    net = ResNet(18, stem_channels=8, base_channels=8)
    net(image())
    names = {w.path.split("/", 1)[1] for w in net.weights}
    assert not any(n.startswith("layer1_0_downsample") for n in names)
    assert "layer2_0_downsample_0/kernel" in names


def test_zero_init_residual():
    net = narrow(50, num_stages=2, strides=(1, 2), out_indices=(1,))
    net(image())
    np.testing.assert_array_equal(net.layer2_1_bn3.gamma.numpy(), 0)
    np.testing.assert_array_equal(net.layer2_1_bn2.gamma.numpy(), 1)
    net18 = narrow(18, zero_init_residual=False)
    net18(image())
    np.testing.assert_array_equal(net18.layer1_0_bn2.gamma.numpy(), 1)


def test_bn_matches_pytorch_hyperparameters():
    net = narrow(18, synchronized_bn=True)
    assert net.bn1.momentum == 0.9 and net.bn1.epsilon == 1e-5
    assert net.layer3_1_bn2.synchronized


def test_frozen_stages_freeze_stem_and_first_stages():
    net = narrow(18, frozen_stages=1)
    net(image())
    trainable = {w.path.split("/")[1] for w in net.trainable_weights}
    frozen = {w.path.split("/")[1] for w in net.weights} - trainable
    assert {"conv1", "bn1", "layer1_0_conv1", "layer1_1_bn2"} <= frozen
    assert {"layer2_0_conv1", "layer4_1_bn2"} <= trainable
    assert all(name.startswith(("conv1", "bn1", "layer1_")) for name in frozen)


def test_frozen_network_runs_bn_in_inference_mode():
    net = narrow(18, frozen_stages=4, zero_init_residual=False)
    x = image()
    np.testing.assert_allclose(net(x, training=True)[0], net(x, training=False)[0],
                               atol=1e-6)
    assert net.trainable_weights == []


def test_norm_eval_keeps_running_stats():
    net = narrow(18, norm_eval=True)
    x = image()
    net(x)
    before = [w.numpy().copy() for w in net.non_trainable_weights]
    np.testing.assert_allclose(net(x, training=True)[0], net(x, training=False)[0],
                               atol=1e-6)
    for old, new in zip(before, net.non_trainable_weights):
        np.testing.assert_array_equal(old, new.numpy())
    # Without norm_eval, training mode normalises with batch statistics.
    plain = narrow(18, zero_init_residual=False)
    assert not np.allclose(plain(x, training=True)[0], plain(x, training=False)[0])


def test_caffe_style_moves_the_stride_to_the_first_conv():
    two_stages = dict(num_stages=2, strides=(1, 2), out_indices=(1,))
    net = narrow(50, style="caffe", **two_stages)
    assert net(image())[0].shape == (2, 8, 6, 32)
    assert net.layer2_0_conv1.strides == (2, 2) and net.layer2_0_conv2.strides == (1, 1)
    torch_style = narrow(50, **two_stages)
    assert torch_style.layer2_0_conv1.strides == (1, 1)
    assert torch_style.layer2_0_conv2.strides == (2, 2)


def test_factories():
    assert resnet18().depth == 18
    assert resnet50(base_channels=8).base_channels == 8
    assert resnet101(out_indices=(2,)).out_indices == (2,)


@gin.configurable("test_res_net_consumer")
def _consume(backbone=gin.REQUIRED, other=None):
    return backbone, other


def test_gin_builds_by_reference():
    gin.clear_config()
    try:
        gin.parse_config("""
            test_res_net_consumer.backbone = @ResNet()
            test_res_net_consumer.other = @resnet50()
            ResNet.depth = 34
            ResNet.base_channels = 4
        """)
        net, other = _consume()
    finally:
        gin.clear_config()
    assert isinstance(net, ResNet) and net.depth == 34 and net.base_channels == 4
    assert isinstance(other, ResNet) and other.depth == 50


@pytest.mark.parametrize("kwargs, match", [
    (dict(depth=20), "depth"),
    (dict(depth=18, num_stages=5), "num_stages"),
    (dict(depth=18, strides=(1, 2, 2)), "strides"),
    (dict(depth=18, out_indices=(4,)), "out_indices"),
    (dict(depth=18, out_indices=()), "out_indices"),
    (dict(depth=18, style="tf"), "style"),
    (dict(depth=18, frozen_stages=5), "frozen_stages"),
    (dict(depth=18, base_channels=0), "base_channels"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNet(**kwargs)


def test_wrong_input_channels_raise():
    with pytest.raises(ValueError, match="input channels"):
        narrow(18)(np.zeros((1, 32, 32, 1), np.float32))


def test_config_round_trip():
    net = narrow(50, out_indices=(0, 3), frozen_stages=1, norm_eval=True, style="caffe")
    rebuilt = assert_config_round_trip(net)
    assert rebuilt.out_indices == (0, 3) and rebuilt.style == "caffe"


@pytest.mark.parametrize("depth", [18, 50])
def test_saving_round_trip(depth, tmp_path):
    assert_saving_round_trip(narrow(depth, out_indices=(1, 3)), image(), tmp_path)


def test_trains_with_keras_fit():
    inputs = keras.Input((32, 32, 3))
    feats = narrow(18, num_stages=2, strides=(1, 2), out_indices=(1,))(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(feats[0]))
    model.compile(optimizer="sgd", loss="mse")
    x = image(32, 32, b=4)
    y = np.zeros((4, 8), np.float32)
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.fit(x, y, epochs=1, verbose=0)
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(before, model.trainable_weights))
