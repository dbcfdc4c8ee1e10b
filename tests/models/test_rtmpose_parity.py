"""CSPNeXt, RTMCCHead, SimCCHead and RTMCCBlock against MMPose 1.3.2, with the same weights.

The fixture holds MMPose's outputs for small configs; the weights are regenerated here
from the seed by the generator's recipe (`fill_value`) and copied into the Keras layers
by MMPose state-dict name (`backbone.stage1.1.blocks.0.conv2.depthwise_conv.conv.weight`
-> `backbone.stage1_1_blocks_0_conv2_depthwise_conv_conv.kernel`,
`head.gau.ln.g` -> `head.gau.ln.g`), which is what a checkpoint converter does
(`assign_torch_weight` is written to move there). Made in the MMPose reference venv:
`/tmp/mmpose-ref/bin/python tools/dev/make_rtmpose_goldens.py
tests/models/fixtures/rtmpose_goldens.npz`.
"""

import json
import os

import keras
import numpy as np
import pytest

from kpose.models.backbones.csp_next import CSPNeXt
from kpose.models.heads.rtmcc_head import RTMCCHead
from kpose.models.heads.simcc_head import SimCCHead
from kpose.models.losses.kl_discret_loss import KLDiscretLoss
from kpose.models.utils.accuracy import simcc_pck_accuracy
from kpose.models.utils.rtmcc_block import RTMCCBlock

GOLDENS = os.path.join(os.path.dirname(__file__), "fixtures", "rtmpose_goldens.npz")
ATOL = 1e-4


def fill_value(rng, key, shape):
    """Same recipe as the generator: one state-dict entry's value."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 4:
        return noise / np.sqrt(shape[1] * shape[2] * shape[3])
    if len(shape) == 2 and key.endswith(".weight"):
        return noise / np.sqrt(shape[1])
    if key.endswith("running_var"):
        return np.abs(noise) * 0.5 + 0.5
    if key.endswith((".weight", ".g", ".scale", ".gamma")):
        return 1.0 + 0.1 * noise
    return 0.1 * noise


BN_NAMES = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
            "running_var": "moving_variance"}


def _resolve(layer, tokens):
    """Walks a PyTorch module path: the longest '_'-joined run of tokens that names a
    sublayer is taken first (flat layers like `stage1_1_main_conv_conv`), then the rest
    inside it (nested layers like `gau` -> `uv`)."""
    while tokens:
        for n in range(len(tokens), 0, -1):
            child = getattr(layer, "_".join(tokens[:n]), None)
            if isinstance(child, keras.layers.Layer):
                layer, tokens = child, tokens[n:]
                break
        else:
            raise KeyError(f"no sublayer for {tokens} in {layer.name}")
    return layer


def assign_torch_weight(layers, key, value):
    """Copies one MMPose state-dict entry into the matching Keras variable.

    Args:
        layers: {state-dict prefix: Keras layer}, e.g. {"backbone": ..., "head": ...}.
        key: full state-dict key, e.g. "head.gau.uv.weight".
        value: the PyTorch-layout numpy value.
    """
    prefix, rest = key.split(".", 1)
    tokens = rest.split(".")
    module, param = tokens[:-1], tokens[-1]
    layer = _resolve(layers[prefix], module)
    if isinstance(layer, keras.layers.BatchNormalization):
        variable = getattr(layer, BN_NAMES[param])
    elif isinstance(layer, keras.layers.DepthwiseConv2D) and param == "weight":
        variable = layer.kernel  # (C, 1, kh, kw) -> (kh, kw, C, 1)
        value = value.transpose(2, 3, 0, 1)
    elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)) \
            and param == "weight":
        # conv (out, in, kh, kw) -> (kh, kw, in, out); deconv (in, out, kh, kw) ->
        # Keras' (kh, kw, out, in): the same transpose.
        variable = layer.kernel
        value = value.transpose(2, 3, 1, 0)
    elif isinstance(layer, keras.layers.Dense) and param == "weight":
        variable = layer.kernel  # (out, in) -> (in, out)
        value = value.T
    else:  # biases and plain parameters (ScaleNorm g, Scale scale, GAU w/gamma/beta)
        variable = getattr(layer, param)
    assert tuple(variable.shape) == value.shape, (key, variable.shape, value.shape)
    variable.assign(value)


def load_weights(data, case, layers):
    """Fills `layers` from the case's recipe; returns the RandomState, advanced past
    the weights (the backbone cases' input comes next)."""
    config = json.loads(str(data[f"{case}/config"]))
    rng = np.random.RandomState(config["seed"])
    keys = list(data[f"{case}/keys"])
    for key, shape in zip(keys, data[f"{case}/shapes"]):
        shape = tuple(json.loads(str(shape)))
        assign_torch_weight(layers, key, fill_value(rng, key, shape))
    # Every Keras variable got a value from the state dict, and nothing was left over.
    assert len(keys) == sum(len(layer.weights) for layer in layers.values())
    return rng


def _gau_kwargs(gau_cfg):
    return {f"gau_{k}": v for k, v in gau_cfg.items()}


def build_case(data, case):
    config = json.loads(str(data[f"{case}/config"]))
    backbone_cfg = dict(config["backbone"])
    norm = backbone_cfg.pop("norm_cfg", None)
    # MMPose's BN(momentum 0.1, eps 1e-5) when given as dict(type='BN'), else its
    # class default BN(momentum 0.03, eps 1e-3).
    norm_kwargs = (dict(norm_momentum=0.9, norm_epsilon=1e-5) if norm
                   else dict(norm_momentum=0.97, norm_epsilon=1e-3))
    backbone = CSPNeXt(**backbone_cfg, **norm_kwargs)
    head_cfg = dict(config["head"])
    gau = _gau_kwargs(head_cfg.pop("gau_cfg"))
    in_channels = head_cfg.pop("in_channels")
    head = RTMCCHead(in_channels, **head_cfg, **gau)
    h, w = config["input_hw"]
    backbone.build((None, h, w, 3))
    feat_w, feat_h = head_cfg["in_featuremap_size"]
    head.build([(None, feat_h, feat_w, in_channels)])
    rng = load_weights(data, case, {"backbone": backbone, "head": head})
    image = rng.standard_normal((config["batch"], 3, h, w)).astype(np.float32)
    return backbone, head, image.transpose(0, 2, 3, 1)


@pytest.mark.parametrize("case", ["rtm", "p6"])
def test_cspnext_rtmcc_head_match_mmpose(case):
    data = np.load(GOLDENS)
    backbone, head, image = build_case(data, case)
    feats = backbone(image, training=False)
    for i, feat in enumerate(feats):
        # Features are ~0.1 in size: a tighter bound than the outputs'.
        np.testing.assert_allclose(np.asarray(feat), data[f"{case}/feat{i}"],
                                   rtol=1e-4, atol=1e-5)
    pred_x, pred_y = head(feats, training=False)
    np.testing.assert_allclose(np.asarray(pred_x), data[f"{case}/pred_x"], rtol=1e-4,
                               atol=ATOL)
    np.testing.assert_allclose(np.asarray(pred_y), data[f"{case}/pred_y"], rtol=1e-4,
                               atol=ATOL)


def test_rtmcc_head_loss_matches_mmpose():
    """RTMPose's KLDiscretLoss(beta 10, label softmax) and acc_pose, on MMPose's outputs."""
    data = np.load(GOLDENS)
    head = RTMCCHead(128, out_channels=5, input_size=(64, 96), in_featuremap_size=(2, 3),
                     loss=KLDiscretLoss(beta=10.0, label_softmax=True,
                                        use_target_weight=True))
    outputs = (data["rtm/pred_x"], data["rtm/pred_y"])
    targets = {"keypoint_x_labels": data["loss/gt_x"],
               "keypoint_y_labels": data["loss/gt_y"],
               "keypoint_weights": data["loss/weights"]}
    losses = head.loss(outputs, targets)
    assert set(losses) == set(head.loss_names)
    np.testing.assert_allclose(float(losses["loss_kpt"]), data["loss/loss_kpt"], rtol=1e-5)
    np.testing.assert_allclose(float(losses["acc_pose"]), data["loss/acc_pose"], rtol=1e-6)
    acc, avg, cnt = simcc_pck_accuracy(outputs, (data["loss/gt_x"], data["loss/gt_y"]),
                                       2.0, data["loss/weights"] > 0)
    np.testing.assert_allclose(np.asarray(acc), data["loss/acc"], rtol=1e-6)
    assert int(cnt) == int(data["loss/cnt"])
    assert 0.0 < float(avg) < 1.0  # the fixture mixes hits and misses


@pytest.mark.parametrize("case", ["simcc_deconv", "simcc_plain"])
def test_simcc_head_matches_mmpose(case):
    data = np.load(GOLDENS)
    config = json.loads(str(data[f"{case}/config"]))
    head_cfg = dict(config["head"])
    head = SimCCHead(head_cfg.pop("in_channels"), **head_cfg)
    feat = data[f"{case}/input"]
    head.build([feat.shape])
    load_weights(data, case, {"head": head})
    pred_x, pred_y = head((feat,), training=False)
    np.testing.assert_allclose(np.asarray(pred_x), data[f"{case}/pred_x"], rtol=1e-4,
                               atol=ATOL)
    np.testing.assert_allclose(np.asarray(pred_y), data[f"{case}/pred_y"], rtol=1e-4,
                               atol=ATOL)


@pytest.mark.parametrize("case", ["gau_shortcut", "gau_project"])
def test_rtmcc_block_matches_mmpose(case):
    """Relative position bias (cropped to fewer tokens), rope, ReLU/SiLU, both shortcuts."""
    data = np.load(GOLDENS)
    config = json.loads(str(data[f"{case}/config"]))
    block = RTMCCBlock(**config["block"])
    tokens = data[f"{case}/input"]
    block.build(tokens.shape)
    load_weights(data, case, {"block": block})
    np.testing.assert_allclose(np.asarray(block(tokens)), data[f"{case}/output"],
                               rtol=1e-4, atol=ATOL)
