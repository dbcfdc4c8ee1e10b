"""MMPose state dicts -> kpose models: ResNet-18 parity, layout rules, every refusal.

The ResNet-18 golden (a real MMPose 1.3.2 checkpoint at reduced width, in MMPose's
published legacy format, with MMPose's outputs) is checked as the other families in
test_converter_goldens.py are.
"""

import copy

import keras
import numpy as np
import pytest

from converter_cases import check_against_goldens, convert_case, fixture_path
from kpose.converters.mmpose_to_keras import (check_dataset_meta, load_state_dict,
                                              mmpose_state_dict, torch_weight_targets)
from kpose.converters.torch_checkpoint import load_torch_checkpoint


@pytest.fixture(scope="module")
def converted_res18():
    return convert_case("res18")


def test_converted_res18_reproduces_mmpose(converted_res18):
    check_against_goldens(*converted_res18)


@pytest.fixture
def res18(converted_res18):
    model, _, _, config = converted_res18
    state = mmpose_state_dict(load_torch_checkpoint(fixture_path(config["checkpoint"])))
    return model, state


def _error(model, state, **kwargs) -> str:
    before = [np.array(v) for v in model.weights]
    with pytest.raises(ValueError) as info:
        load_state_dict(model, state, **kwargs)
    for old, new in zip(before, model.weights):  # all or nothing
        np.testing.assert_array_equal(old, np.asarray(new))
    return str(info.value)


def test_unmapped_names_on_both_sides_are_listed(res18):
    model, state = res18
    state = dict(state)
    state["backbone.layer1.0.convX.weight"] = state.pop("backbone.layer1.0.conv1.weight")
    state["head.extra_layer.bias"] = np.zeros(3, np.float32)
    message = _error(model, state)
    assert "backbone.layer1.0.convX.weight" in message
    assert "head.extra_layer.bias" in message
    assert "(2 in all)" in message
    assert "layer1_0_conv1/kernel (expects backbone_layer1_0_conv1_weight)" in message


def test_shape_mismatch_names_both_sides(res18):
    model, state = res18
    state = dict(state)
    state["head.final_layer.weight"] = np.zeros((17, 8, 1, 1), np.float32)
    message = _error(model, state)
    assert "head.final_layer.weight (17, 8, 1, 1)" in message
    assert "final_layer/kernel (1, 1, 16, 17)" in message


def test_batch_norm_epsilon_is_checked(res18):
    model, state = res18
    model.backbone.layer2_0_bn1.epsilon = 1e-3
    try:
        message = _error(model, state)
        assert "backbone.layer2.0.bn1 (epsilon 0.001)" in message
        load_state_dict(model, state, bn_epsilon=None)  # check skipped
    finally:
        model.backbone.layer2_0_bn1.epsilon = 1e-5


def test_state_dict_forms(res18):
    model, state = res18
    checkpoint = {"meta": {}, "state_dict": {f"module.{k}": v for k, v in state.items()}}
    assert mmpose_state_dict(checkpoint).keys() == state.keys()
    assert mmpose_state_dict(dict(state)).keys() == state.keys()  # a bare state dict
    with pytest.raises(ValueError, match="no 'ema' entry"):
        mmpose_state_dict(checkpoint, key="ema")
    inert = load_torch_checkpoint(fixture_path("res50.pth"), allow_inert_globals=True)
    with pytest.raises(ValueError, match="HistoryBuffer"):
        mmpose_state_dict({"state_dict": inert["message_hub"]["log_scalars"]})


def test_dataset_meta_check():
    meta = load_torch_checkpoint(fixture_path("res18.pth"))["meta"]
    assert check_dataset_meta(meta, "coco") == ["num_keypoints", "keypoint_names",
                                                "flip_indices"]
    assert check_dataset_meta({"epoch": 3}, "coco") == []
    with pytest.raises(ValueError, match=r"num_keypoints: checkpoint \(coco\) 17 vs config "
                                         r"\(mpii"):
        check_dataset_meta(meta, "mpii")
    swapped = copy.deepcopy(meta)
    swapped["dataset_meta"]["flip_indices"] = list(range(17))
    with pytest.raises(ValueError, match=r"flip_indices: checkpoint \(coco\) \[0, 1, 2,"):
        check_dataset_meta(swapped, "coco")
    renamed = copy.deepcopy(meta)
    renamed["dataset_meta"]["keypoint_id2name"][0] = "head"
    with pytest.raises(ValueError, match=r"keypoint_names: checkpoint \(coco\) \['head'"):
        check_dataset_meta(renamed, "coco")


# Layout rules on single layers, against NumPy versions of PyTorch's operators.

def _torch_conv2d(x, w, b=None, groups=1):
    """PyTorch's conv2d (stride 1, no padding) on (C, H, W) with (O, C/g, kh, kw)."""
    out_c, in_per_group, kh, kw = w.shape
    _, h, wd = x.shape
    out = np.zeros((out_c, h - kh + 1, wd - kw + 1), np.float64)
    per_group_out = out_c // groups
    for o in range(out_c):
        g = o // per_group_out
        for c in range(in_per_group):
            for i in range(kh):
                for j in range(kw):
                    out[o] += w[o, c, i, j] * x[g * in_per_group + c, i:i + out.shape[1],
                                                j:j + out.shape[2]]
    return out + (0 if b is None else b[:, None, None])


def _torch_conv_transpose2d(x, w, stride):
    """PyTorch's conv_transpose2d (no padding) on (C, H, W) with (C, O, kh, kw)."""
    in_c, out_c, kh, kw = w.shape
    _, h, wd = x.shape
    out = np.zeros((out_c, (h - 1) * stride + kh, (wd - 1) * stride + kw), np.float64)
    for c in range(in_c):
        for y in range(h):
            for z in range(wd):
                out[:, y * stride:y * stride + kh, z * stride:z * stride + kw] += \
                    x[c, y, z] * w[c]
    return out


class _Scale(keras.layers.Layer):
    """A layer with a torch layout of its own: torch's `g` (1, C) is our `scale` (C,)."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), name="scale")

    def call(self, x):
        return x * self.scale

    def torch_weight_map(self):
        return {"g": (self.scale, lambda v: v.reshape(-1)), "mask": None}


class _PosEmbed(keras.layers.Layer):
    """Plain variables map as they are, by name."""

    def build(self, input_shape):
        self.pos_embed = self.add_weight(shape=(1,) + tuple(input_shape[1:]),
                                         name="pos_embed")

    def call(self, x):
        return x + self.pos_embed


class _Backbone(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.gconv = keras.layers.Conv2D(4, 3, groups=2, name="gconv")
        self.dw = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw")
        self.deconv = keras.layers.Conv2DTranspose(3, 3, strides=2, use_bias=False,
                                                   name="deconv")
        self.ln = keras.layers.LayerNormalization(epsilon=1e-6, name="ln")
        self.fc = keras.layers.Dense(5, name="fc")
        self.pos = _PosEmbed(name="pos")
        self.norm = _Scale(name="norm")

    def call(self, x):
        convs = (self.gconv(x), self.dw(x), self.deconv(x))
        v = self.norm(self.pos(self.fc(self.ln(keras.ops.mean(x, axis=(1, 2))))))
        return convs + (v,)


class _Net(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.backbone = _Backbone(name="anything")

    def call(self, x):
        return self.backbone(x)


def test_layout_rules_match_pytorch_operators():
    rng = np.random.RandomState(0)
    net = _Net()
    x = rng.standard_normal((1, 6, 5, 4)).astype(np.float32)
    net(x)
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    state = {
        "backbone.gconv.weight": f(4, 2, 3, 3), "backbone.gconv.bias": f(4),
        "backbone.dw.weight": f(8, 1, 3, 3), "backbone.dw.bias": f(8),
        "backbone.deconv.weight": f(4, 3, 3, 3),
        "backbone.ln.weight": f(4), "backbone.ln.bias": f(4),
        "backbone.fc.weight": f(5, 4), "backbone.fc.bias": f(5),
        "backbone.pos.pos_embed": f(1, 5), "backbone.norm.g": f(1, 5),
        "backbone.norm.mask": f(3),  # declared a non-weight by the layer
    }
    targets, skipped = torch_weight_targets(net)
    assert skipped == ["backbone_norm_mask"]
    assert len(targets) == len(net.weights) == 11
    assigned = load_state_dict(net, state)
    by_layer = {path.split("/", 1)[1]: name for path, name in assigned.items()}
    assert by_layer["anything/norm/scale"] == "backbone.norm.g"
    assert by_layer["anything/dw/kernel"] == "backbone.dw.weight"
    gconv, dw, deconv, v = [np.asarray(t, np.float64)[0] for t in net(x)]
    chw = x[0].transpose(2, 0, 1).astype(np.float64)
    np.testing.assert_allclose(
        gconv, _torch_conv2d(chw, state["backbone.gconv.weight"], state["backbone.gconv.bias"],
                             groups=2).transpose(1, 2, 0), atol=1e-5)
    np.testing.assert_allclose(
        dw, _torch_conv2d(chw, state["backbone.dw.weight"], state["backbone.dw.bias"],
                          groups=4).transpose(1, 2, 0), atol=1e-5)
    np.testing.assert_allclose(
        deconv, _torch_conv_transpose2d(chw, state["backbone.deconv.weight"], 2)
        .transpose(1, 2, 0), atol=1e-5)
    pooled = x[0].mean(axis=(0, 1)).astype(np.float64)
    normed = (pooled - pooled.mean()) / np.sqrt(pooled.var() + 1e-6)
    normed = normed * state["backbone.ln.weight"] + state["backbone.ln.bias"]
    fc = normed @ state["backbone.fc.weight"].T + state["backbone.fc.bias"]
    expected = (fc + state["backbone.pos.pos_embed"][0]) * state["backbone.norm.g"][0]
    np.testing.assert_allclose(v, expected, atol=1e-5)


class _Loss(keras.layers.Layer):
    """A loss with weights (as RLELoss's flow), named after its class by gin."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flow_model = keras.layers.Dense(2, name="flow_model")

    def build(self, input_shape):
        self.flow_model.build((None, 2))

    def call(self, x):
        return self.flow_model(x)


class _Head(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.fc = keras.layers.Dense(2, name="fc")
        self.loss_module = _Loss(name="rle_loss")

    def build(self, input_shape):
        self.fc.build(input_shape)
        self.loss_module.build(None)

    def call(self, x):
        return self.fc(x)


class _HeadNet(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.head = _Head(name="rle_head")

    def call(self, x):
        return self.head(x)


def test_loss_module_is_named_by_attribute():
    """MMPose stores a head's loss weights under `head.loss_module.*`."""
    net = _HeadNet()
    net(np.zeros((1, 3), np.float32))
    targets, _ = torch_weight_targets(net)
    names = sorted(t.torch_name for t in targets.values())
    assert names == ["head.fc.bias", "head.fc.weight", "head.loss_module.flow_model.bias",
                     "head.loss_module.flow_model.weight"]


def test_unbuilt_model_is_refused():
    with pytest.raises(ValueError, match="build the model"):
        torch_weight_targets(_Net())
