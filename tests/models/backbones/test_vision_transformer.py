"""VisionTransformer (ViTPose's backbone): parity with mmpretrain 1.2.0, counts, saving.

The fixture holds mmpretrain's VisionTransformer outputs for two tiny archs (ViTPose's
layout; mmpretrain's defaults with a class token, corner padding and layer scale) for
weights drawn from a seed (`/tmp/mmpose-ref/bin/python tools/dev/make_backbone_goldens.py
tests/models/fixtures/backbone_goldens.npz`), also on an input whose patch grid differs
from `img_size`'s (bicubic pos_embed resizing). Weights are copied by state-dict name.
"""

import json
import os

import gin
import numpy as np
import pytest
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.models.backbones.vision_transformer import (VisionTransformer, vit_base,
                                                       vit_layer_ids, vit_small)
from kpose.models.heads.heatmap_head import HeatmapHead
from kpose.models.necks.feature_map_processor import FeatureMapProcessor

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "backbone_goldens.npz")
LN_NAMES = {"weight": "gamma", "bias": "beta"}


def tiny(**kwargs):
    arch = dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=24)
    defaults = dict(arch=arch, img_size=(32, 24), patch_size=8, patch_padding=2,
                    with_cls_token=False)
    defaults.update(kwargs)
    return VisionTransformer(**defaults)


def image(h=32, w=24, b=1, seed=0):
    return np.random.default_rng(seed).standard_normal((b, h, w, 3)).astype(np.float32)


def fill_value(rng, key, shape):
    """The generator's recipe for one state-dict entry."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 4:
        return noise / np.sqrt(shape[1] * shape[2] * shape[3])
    if len(shape) == 2:
        return noise / np.sqrt(shape[1])
    if key.endswith("weight"):
        return 1.0 + 0.1 * noise
    return 0.1 * noise


def to_kpose_kwargs(kwargs):
    """mmpretrain's constructor arguments -> ours."""
    kwargs = dict(kwargs)
    padding = kwargs.pop("patch_cfg", {}).get("padding", "corner")
    return dict(kwargs, patch_padding=padding)


def load_case(case):
    data = np.load(GOLDENS)
    config = json.loads(str(data[f"{case}/config"]))
    net = VisionTransformer(**to_kpose_kwargs(config["kwargs"]))
    net.build((None,) + tuple(config["input_hw"]) + (3,))
    rng = np.random.RandomState(config["seed"])
    assigned = set()
    for key, shape in zip(data[f"{case}/keys"], data[f"{case}/shapes"]):
        key = str(key)
        value = fill_value(rng, key, tuple(json.loads(str(shape))))
        if key in ("pos_embed", "cls_token"):
            variable = getattr(net, key)
        elif key.endswith(("gamma1.weight", "gamma2.weight")):  # layer scale
            variable = net._scales[key.rsplit(".", 1)[0].replace(".", "_")]
        else:
            module, param = key.rsplit(".", 1)
            layer = getattr(net, module.replace(".", "_"))
            kind = type(layer).__name__
            if kind == "LayerNormalization":
                variable = getattr(layer, LN_NAMES[param])
            elif param == "bias":
                variable = layer.bias
            elif kind == "Conv2D":
                variable, value = layer.kernel, value.transpose(2, 3, 1, 0)
            else:  # Linear (out, in) -> Dense (in, out)
                variable, value = layer.kernel, value.T
        assert tuple(variable.shape) == value.shape, (key, variable.shape, value.shape)
        variable.assign(value)
        assigned.add(variable.path)
    assert assigned == {v.path for v in net.weights}  # the same weights as mmpretrain
    return net, data, config


@pytest.mark.parametrize("case, num_inputs", [("vit_featmap", 2), ("vit_raw", 1)])
def test_outputs_match_mmpretrain(case, num_inputs):
    net, data, config = load_case(case)
    for j in range(num_inputs):
        outs = net(data[f"{case}/input{j}"], training=False)
        assert len(outs) == len(config["kwargs"].get("out_indices", [-1]))
        for i, out in enumerate(outs):
            np.testing.assert_allclose(np.asarray(out), data[f"{case}/out{j}_{i}"],
                                       atol=1e-4, rtol=1e-4)


def _simple_vitpose_params(backbone, channels):
    backbone.build((None, 256, 192, 3))
    head = HeatmapHead(in_channels=channels, out_channels=17, deconv_out_channels=(),
                       deconv_kernel_sizes=(), final_layer_kernel=3)
    head.build((None, 64, 48, channels))
    return sum(int(np.prod(v.shape)) for v in backbone.trainable_weights
               + head.trainable_weights)


def test_parameter_count_equals_mmpose_vitpose_small():
    # MMPose 1.3.2, sum(p.numel()) of td-hm_ViTPose-small-simple_8xb64-210e_coco-256x192
    # (FeatureMapProcessor + 3x3 final conv) and td-hm_ViTPose-small_8xb64-210e_coco-256x192
    # (two 256-channel deconvs, then the 1x1 final conv).
    backbone = vit_small()
    assert _simple_vitpose_params(backbone, 384) == 21_722_129
    head = HeatmapHead(in_channels=384, out_channels=17, deconv_out_channels=(256, 256),
                       deconv_kernel_sizes=(4, 4))
    head.build((None, 16, 12, 384))
    assert sum(int(np.prod(v.shape)) for v in backbone.trainable_weights
               + head.trainable_weights) == 24_290_193


@pytest.mark.slow
def test_parameter_count_equals_mmpose_vitpose_base_simple():
    # MMPose 1.3.2: td-hm_ViTPose-base-simple_8xb64-210e_coco-256x192.
    assert _simple_vitpose_params(vit_base(), 768) == 85_911_569


def test_vitpose_small_with_the_simple_neck_gives_quarter_stride_heatmaps():
    backbone = tiny(img_size=(64, 48))
    neck = FeatureMapProcessor(scale_factor=4.0, apply_relu=True)
    feats = neck(backbone(image(64, 48)))
    # 64x48 with patch 8 and padding 2: an 8x6 grid, upsampled 4x.
    assert feats[0].shape == (1, 32, 24, 16)


def test_factories_follow_the_vitpose_configs():
    net = vit_small()
    assert (net.embed_dims, net.num_layers, net.num_heads, net.feedforward_channels) == \
        (384, 12, 12, 1536)
    assert net.img_size == (256, 192) and net.patch_padding == 2
    assert net.patch_resolution == (16, 12) and not net.with_cls_token
    assert net.drop_path_rate == 0.1 and vit_base().drop_path_rate == 0.3
    assert vit_small(img_size=(384, 288)).patch_resolution == (24, 18)


def test_layer_ids_for_layer_wise_decay():
    net = tiny(out_indices=(0, 1))
    net(image())
    head = HeatmapHead(in_channels=16, out_channels=3, deconv_out_channels=(),
                       deconv_kernel_sizes=())
    head(net(image()))
    weights = net.trainable_weights + head.trainable_weights
    ids = dict(zip([w.path for w in weights], vit_layer_ids(net, weights)))
    name = net.name
    assert ids[f"{name}/pos_embed"] == 0
    assert ids[f"{name}/patch_embed_projection/kernel"] == 0
    assert ids[f"{name}/layers_0_attn_qkv/kernel"] == 1
    assert ids[f"{name}/layers_1_ffn_layers_1/bias"] == 2
    assert ids[f"{name}/ln1/gamma"] == 3  # num_layers + 1
    assert all(ids[w.path] == 3 for w in head.trainable_weights)
    assert vit_layer_ids(net) == [net.layer_id(w) for w in net.trainable_weights]


def test_drop_path_is_per_sample_and_only_in_training():
    net = tiny(drop_path_rate=0.5, final_norm=False)
    x = np.repeat(image(), 64, axis=0)
    eval_out = np.asarray(net(x, training=False)[0])
    np.testing.assert_allclose(eval_out, eval_out[:1].repeat(64, 0), atol=1e-5)
    train_out = np.asarray(net(x, training=True)[0])
    # Different samples drop different branches; identical inputs now disagree.
    assert np.abs(train_out - train_out[:1]).max() > 1e-3


def test_frozen_stages():
    net = tiny(frozen_stages=1)
    net(image())
    trainable = {w.path.split("/", 1)[1] for w in net.trainable_weights}
    assert "pos_embed" not in trainable and "patch_embed_projection/kernel" not in trainable
    assert "layers_0_attn_qkv/kernel" not in trainable
    assert {"layers_1_attn_qkv/kernel", "ln1/gamma"} <= trainable
    everything = tiny(frozen_stages=2)
    everything(image())
    assert everything.trainable_weights == []


@pytest.mark.parametrize("kwargs, match", [
    (dict(arch="tiny"), "arch"),
    (dict(arch=dict(embed_dims=10, num_layers=1, num_heads=3, feedforward_channels=4)),
     "divisible"),
    (dict(out_type="cls_token"), "with_cls_token"),
    (dict(out_indices=(2,)), "out_indices"),
    (dict(patch_padding="same"), "patch_padding"),
    (dict(interpolate_mode="area"), "interpolate_mode"),
    (dict(drop_path_rate=1.0), "drop_path_rate"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny(**kwargs)


def test_gin_factory():
    gin.clear_config()
    try:
        gin.parse_config(["vit_small.img_size = (128, 96)"])
        net = gin.get_configurable(vit_small)()
    finally:
        gin.clear_config()
    assert net.patch_resolution == (8, 6)


@pytest.mark.parametrize("kwargs", [
    dict(out_indices=(0, 1), drop_path_rate=0.1),
    dict(with_cls_token=True, out_type="avg_featmap", layer_scale_init_value=0.1,
         patch_padding="corner"),
])
def test_config_and_keras_file_round_trip(kwargs, tmp_path):
    net = tiny(**kwargs)
    assert_config_round_trip(net)
    # A 40x32 input exercises the position embedding resize after loading too.
    assert_saving_round_trip(net, image(40, 32), tmp_path, atol=1e-5)
