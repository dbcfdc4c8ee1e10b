import gin
import keras
import numpy as np
import pytest
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.models.backbones.csp_next import (CSPNeXt, cspnext_l, cspnext_m, cspnext_s,
                                             cspnext_t)


def narrow(**kwargs):
    # widen 0.125: stem 4 -> 8 channels, stages 16, 32, 64, 128; one block per stage.
    return CSPNeXt(deepen_factor=0.167, widen_factor=0.125, **kwargs)


def tiny(**kwargs):
    # Two stages (the second with SPP and no identity): every block kind, few layers.
    kwargs.setdefault("out_indices", (2,))
    return narrow(arch_overwrite=[[64, 128, 1, True, False], [128, 256, 1, False, True]],
                  **kwargs)


def image(h=64, w=48, b=2, seed=0):
    return np.random.default_rng(seed).standard_normal((b, h, w, 3)).astype(np.float32)


def weight_names(net):
    return {w.path.split("/", 1)[1] for w in net.weights}


def test_feature_shapes_follow_pytorch_arithmetic():
    # 67x45 is odd on purpose: floor((n + 2 - 3) / 2) + 1 at every stride-2 conv.
    net = narrow(out_indices=(0, 1, 2, 3, 4))
    feats = net(image(67, 45))
    sizes = [(34, 23), (17, 12), (9, 6), (5, 3), (3, 2)]
    assert [tuple(f.shape) for f in feats] == [
        (2, h, w, c) for (h, w), c in zip(sizes, (8, 16, 32, 64, 128))]
    assert net.out_channels == (8, 16, 32, 64, 128)


def test_p6_has_a_fifth_stage_and_out_indices_keep_their_order():
    net = narrow(arch="P6", out_indices=(5, 2))
    feats = net(image(128, 64))
    assert [tuple(f.shape) for f in feats] == [(2, 2, 1, 128), (2, 16, 8, 32)]
    assert net.out_channels == (128, 32)


def test_layers_are_named_after_mmpose_modules():
    net = narrow()
    net.build((None, 64, 48, 3))
    names = weight_names(net)
    for name in ["stem_0_conv/kernel", "stem_2_bn/moving_variance",
                 "stage1_0_conv/kernel",  # stride-2 conv
                 "stage1_1_main_conv_bn/gamma", "stage1_1_short_conv_conv/kernel",
                 "stage1_1_final_conv_bn/beta",
                 "stage1_1_blocks_0_conv1_conv/kernel",
                 "stage1_1_blocks_0_conv2_depthwise_conv_conv/kernel",
                 "stage1_1_blocks_0_conv2_pointwise_conv_bn/gamma",
                 "stage1_1_attention_fc/kernel", "stage1_1_attention_fc/bias",
                 # the last stage: SPP block at index 1, CSPLayer at 2
                 "stage4_1_conv1_conv/kernel", "stage4_1_conv2_bn/gamma",
                 "stage4_2_main_conv_conv/kernel"]:
        assert name in names, name
    # ConvModule convs have no bias; only the attention fc has one.
    assert {n for n in names if n.endswith("/bias")} == {
        f"stage{i}_{2 if i == 4 else 1}_attention_fc/bias" for i in range(1, 5)}
    # Last-stage CSPLayer has no identity, which has no weights: block count still 1.
    assert not any(n.startswith("stage1_1_blocks_1") for n in names)


def test_depth_and_widths_follow_mmpose_rounding():
    # deepen 0.33: round(3 * .33) = 1, round(6 * .33) = 2; widen 0.25: int(64 * .25) = 16.
    net = CSPNeXt(deepen_factor=0.33, widen_factor=0.25, out_indices=(4,))
    net.build((None, 64, 48, 3))
    names = weight_names(net)
    assert "stage2_1_blocks_1_conv1_conv/kernel" in names
    assert "stage2_1_blocks_2_conv1_conv/kernel" not in names
    assert "stage1_1_blocks_1_conv1_conv/kernel" not in names
    assert net.stem_0_conv.kernel.shape == (3, 3, 3, 8)
    # CSPLayer hidden width int(out * expand_ratio); attention over both halves.
    assert net.stage4_2_main_conv_conv.kernel.shape == (1, 1, 256, 128)
    assert net.stage4_2_attention_fc.kernel.shape == (1, 1, 256, 256)
    # SPP: 1x1 to half width, concat of input + 3 pools -> 4 * 128 channels.
    assert net.stage4_1_conv2_conv.kernel.shape == (1, 1, 512, 256)


def test_use_depthwise_and_no_channel_attention():
    net = narrow(use_depthwise=True, channel_attention=False, spp_kernel_sizes=(3, 5))
    net.build((None, 64, 48, 3))
    names = weight_names(net)
    assert "stage2_0_depthwise_conv_conv/kernel" in names
    assert "stage2_0_pointwise_conv_bn/gamma" in names
    assert "stage2_1_blocks_0_conv1_depthwise_conv_conv/kernel" in names
    assert not any("attention" in n for n in names)
    assert "stage4_1_conv2_conv/kernel" in names and net.stage4_1_conv2_conv.kernel.shape == (
        1, 1, 192, 128)
    assert isinstance(net.stage2_0_depthwise_conv_conv, keras.layers.DepthwiseConv2D)


def test_channel_attention_is_a_hard_sigmoid_gate():
    # With the fc zeroed and bias b, the gate is relu6(b + 3) / 6 per channel.
    net = tiny(out_indices=(1,))
    x = image()
    net(x)
    net.stage1_1_attention_fc.kernel.assign(np.zeros_like(net.stage1_1_attention_fc.kernel))
    bias = np.full((16,), -3.0, np.float32)  # gate 0: final_conv sees zeros
    net.stage1_1_attention_fc.bias.assign(bias)
    out = np.asarray(net(x, training=False)[0])
    bn = net.stage1_1_final_conv_bn
    expected = (-bn.moving_mean.numpy() / np.sqrt(bn.moving_variance.numpy() + bn.epsilon)
                * bn.gamma.numpy() + bn.beta.numpy())
    expected = expected / (1 + np.exp(-expected))  # SiLU
    np.testing.assert_allclose(out, np.broadcast_to(expected, out.shape), atol=1e-6)


def test_bn_hyperparameters():
    net = narrow(synchronized_bn=True)
    assert net.stem_0_bn.momentum == 0.97 and net.stem_0_bn.epsilon == 1e-3  # MMPose default
    assert net.stage3_1_main_conv_bn.synchronized
    rtm = cspnext_t()
    assert rtm.stem_0_bn.momentum == 0.9 and rtm.stem_0_bn.epsilon == 1e-5  # SyncBN defaults


@pytest.mark.parametrize("factory, deepen, widen, channels", [
    (cspnext_t, 0.167, 0.375, 384), (cspnext_s, 0.33, 0.5, 512),
    (cspnext_m, 0.67, 0.75, 768), (cspnext_l, 1.0, 1.0, 1024)])
def test_rtmpose_factories(factory, deepen, widen, channels):
    net = factory()
    assert (net.deepen_factor, net.widen_factor) == (deepen, widen)
    assert net.out_indices == (4,) and net.out_channels == (channels,)
    assert net.channel_attention and net.expand_ratio == 0.5 and net.arch == "P5"


def test_frozen_stages_freeze_stem_and_first_stages():
    net = tiny(frozen_stages=1)
    net(image())
    trainable = {w.path.split("/")[1] for w in net.trainable_weights}
    assert not any(n.startswith(("stem_", "stage1_")) for n in trainable)
    assert any(n.startswith("stage2_") for n in trainable)
    # Frozen BatchNorm runs in inference mode even in training.
    x = image()
    before = net.stage1_1_main_conv_bn.moving_mean.numpy().copy()
    net(x, training=True)
    np.testing.assert_array_equal(net.stage1_1_main_conv_bn.moving_mean.numpy(), before)


def test_norm_eval_uses_moving_statistics_in_training():
    net = tiny(norm_eval=True)
    x = image()
    np.testing.assert_allclose(np.asarray(net(x, training=True)[0]),
                               np.asarray(net(x, training=False)[0]), atol=1e-6)


def test_arch_overwrite():
    net = tiny()
    feats = net(image())
    assert feats[0].shape == (2, 8, 6, 32)
    rebuilt = assert_config_round_trip(net)
    assert rebuilt.arch_overwrite == net.arch_overwrite


@gin.configurable("test_csp_next_consumer")
def _consume(backbone=gin.REQUIRED, other=None):
    return backbone, other


def test_gin_builds_by_reference():
    gin.clear_config()
    try:
        gin.parse_config("""
            test_csp_next_consumer.backbone = @CSPNeXt()
            test_csp_next_consumer.other = @cspnext_m()
            CSPNeXt.widen_factor = 0.25
            CSPNeXt.arch = 'P6'
        """)
        net, other = _consume()
    finally:
        gin.clear_config()
    assert isinstance(net, CSPNeXt) and net.widen_factor == 0.25 and net.arch == "P6"
    assert isinstance(other, CSPNeXt) and other.out_channels == (768,)


@pytest.mark.parametrize("kwargs, match", [
    (dict(arch="P7"), "arch"),
    (dict(out_indices=(5,)), "out_indices"),
    (dict(out_indices=()), "out_indices"),
    (dict(frozen_stages=5), "frozen_stages"),
    (dict(widen_factor=0), "widen_factor"),
    (dict(deepen_factor=-1.0), "deepen_factor"),
    (dict(spp_kernel_sizes=(4,)), "spp_kernel_sizes"),
    (dict(norm_momentum=1.0), "norm_momentum"),
    (dict(norm_epsilon=0.0), "norm_epsilon"),
    (dict(arch_overwrite=[[64, 128]]), "arch_overwrite"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CSPNeXt(**kwargs)


def test_wrong_input_channels_raise():
    with pytest.raises(ValueError, match="3 input channels"):
        tiny()(np.zeros((1, 32, 32, 1), np.float32))


def test_config_round_trip():
    net = narrow(arch="P6", out_indices=(0, 5), frozen_stages=2, use_depthwise=True,
                 norm_eval=True, spp_kernel_sizes=(3,), norm_momentum=0.9,
                 norm_epsilon=1e-5)
    rebuilt = assert_config_round_trip(net)
    assert rebuilt.out_indices == (0, 5) and rebuilt.spp_kernel_sizes == (3,)
    assert rebuilt.norm_epsilon == 1e-5


def test_saving_round_trip(tmp_path):
    assert_saving_round_trip(tiny(out_indices=(1, 2), use_depthwise=True), image(),
                             tmp_path, call_kwargs={"training": False})


def test_trains_with_keras_fit():
    inputs = keras.Input((32, 32, 3))
    feats = tiny()(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(feats[0]))
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)  # tracing costs more
    before = [w.numpy().copy() for w in model.trainable_weights]
    model.fit(image(32, 32, b=4), np.ones((4, 32), np.float32), epochs=1, verbose=0)
    assert all(not np.array_equal(a, b.numpy()) for a, b in zip(before, model.trainable_weights))
