"""MMPose goldens of the regression-family heads, shared by their tests.

tests/models/fixtures/regression_heads_goldens.npz was written in the MMPose reference
venv by `/tmp/mmpose-ref/bin/python tools/dev/make_head_goldens.py
tests/models/fixtures/regression_heads_goldens.npz`. Weights are regenerated here from
each case's seed by the generator's recipe (`fill_value`) and copied into the Keras head
by MMPose's state-dict names: `simplebaseline_head.deconv_layers.0.weight` ->
`head.simplebaseline_head.deconv_layers_0.kernel` (attributes, '.' -> '_'), with
PyTorch -> Keras layouts, as a checkpoint converter does.
"""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from kpose.codecs.integral_regression_label import IntegralRegressionLabel

from kpose.models.losses.bce_loss import BCELoss
from kpose.models.losses.js_discret_loss import JSDiscretLoss
from kpose.models.losses.keypoint_mse_loss import KeypointMSELoss
from kpose.models.losses.multiple_loss_wrapper import MultipleLossWrapper
from kpose.models.losses.rle_loss import RLELoss
from kpose.models.losses.smooth_l1_loss import SmoothL1Loss

GOLDENS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures",
                       "regression_heads_goldens.npz")

_LOSSES = {"SmoothL1Loss": SmoothL1Loss, "RLELoss": RLELoss, "BCELoss": BCELoss,
           "JSDiscretLoss": JSDiscretLoss, "KeypointMSELoss": KeypointMSELoss}
_BN = {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
       "running_var": "moving_variance"}


def load(case):
    """The case's arrays (prefix stripped) and its config."""
    data = np.load(GOLDENS)
    prefix = f"{case}/"
    arrays = {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix)}
    arrays["flip_indices"] = [int(i) for i in data["flip_indices"]]
    arrays["input_size"] = tuple(int(s) for s in data["input_size"])
    return arrays, json.loads(str(arrays["config"]))


def count(name):
    """MMPose's (parameters, trainable parameters, state-dict entries) of a full head."""
    return tuple(int(n) for n in np.load(GOLDENS)[f"count/{name}"])


def build_loss(cfg):
    """A kpose loss from an MMPose loss config dict."""
    cfg = dict(cfg)
    kind = cfg.pop("type")
    if kind == "MultipleLossWrapper":
        return MultipleLossWrapper([build_loss(c) for c in cfg["losses"]])
    return _LOSSES[kind](**cfg)


def fill_value(rng, key, shape):
    """Same recipe as the generator: one state-dict entry's value."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 4:
        return noise / np.sqrt(shape[1] * shape[2] * shape[3])
    if len(shape) == 2:
        return noise / np.sqrt(shape[1])
    if key.endswith("running_var"):
        return np.abs(noise) * 0.5 + 0.5
    if key.endswith("weight"):
        return 1.0 + 0.1 * noise
    return 0.1 * noise


def _resolve(layer, parts):
    """The sublayer at MMPose module path `parts`, joining parts with '_' greedily."""
    i = 0
    while i < len(parts):
        for j in range(len(parts), i, -1):
            child = getattr(layer, "_".join(parts[i:j]), None)
            if isinstance(child, keras.layers.Layer):
                layer, i = child, j
                break
        else:
            raise KeyError(f"no sublayer for {'.'.join(parts[i:])} in {layer.name}")
    return layer


def assign(head, key, value):
    """Copies one MMPose head state-dict entry into the matching Keras variable."""
    module, param = key.rsplit(".", 1) if "." in key else ("", key)
    layer = _resolve(head, module.split(".") if module else [])
    if isinstance(layer, keras.layers.BatchNormalization):
        variable = getattr(layer, _BN[param])
    elif param == "weight":
        variable = layer.kernel
        if value.ndim == 4:  # conv (O, I, kh, kw) / deconv (I, O, kh, kw)
            value = value.transpose(2, 3, 1, 0)
        elif value.ndim == 2:  # linear (O, I)
            value = value.T
    elif param == "bias":
        variable = layer.bias
    else:  # a plain parameter of the layer itself (linspace_x, ...)
        variable = getattr(layer, param)
    assert tuple(variable.shape) == value.shape, (key, variable.shape, value.shape)
    variable.assign(value)
    return variable


def load_weights(head, arrays, seed):
    """Assigns every recorded MMPose entry; returns the set of Keras variable paths set."""
    rng = np.random.RandomState(seed)
    flow = {}
    assigned = set()
    for key, shape in zip(arrays["keys"], arrays["shapes"]):
        key = str(key)
        value = fill_value(rng, key, tuple(json.loads(str(shape))))
        if ".flow_model." in key:
            # RealNVP keeps its nets in lists; it loads MMPose's names itself.
            flow[key.split(".flow_model.", 1)[1]] = value
            continue
        assigned.add(assign(head, key, value).path)
    if flow:
        head.loss_module.flow_model.load_state_dict(flow)
        assigned.update(w.path for w in head.loss_module.flow_model.trainable_weights)
    return assigned


def integral_head_from_mmpose(cfg, cls, **extra):
    """Our head for an MMPose head config dict (tiny cases of the goldens)."""
    cfg = dict(cfg)
    kwargs = dict(num_joints=cfg["num_joints"], in_featuremap_size=cfg["in_featuremap_size"],
                  debias=cfg.get("debias", False), beta=cfg.get("beta", 1.0),
                  deconv_out_channels=cfg.get("deconv_out_channels", (256, 256, 256)),
                  deconv_kernel_sizes=cfg.get("deconv_kernel_sizes", (4, 4, 4)),
                  conv_out_channels=cfg.get("conv_out_channels"),
                  conv_kernel_sizes=cfg.get("conv_kernel_sizes"))
    if "loss" in cfg:
        kwargs["loss"] = build_loss(cfg["loss"])
    kwargs.update(extra)
    return cls(cfg["in_channels"], **kwargs)


def check_integral_head(case, cls):
    """Checks an integral head class (or DSNTHead) against the MMPose case: weights,
    outputs, loss terms and flip-test prediction."""
    arrays, config = load(case)
    head = integral_head_from_mmpose(config["head"], cls, input_size=arrays["input_size"])
    head((arrays["feat"],))
    assigned = load_weights(head, arrays, config["seed"])
    # Every variable came from MMPose's state dict except the constant linspaces.
    assert assigned | {head.linspace_x.path, head.linspace_y.path} == \
        {w.path for w in head.weights}
    h, w = arrays["out1"].shape[1:3]
    # MMPose's torch.arange(0., W) / W in float32.
    np.testing.assert_array_equal(head.linspace_x.numpy().ravel(),
                                  np.arange(w, dtype=np.float32) / np.float32(w))
    np.testing.assert_array_equal(head.linspace_y.numpy().ravel(),
                                  np.arange(h, dtype=np.float32) / np.float32(h))
    coords, heatmaps = head((arrays["feat"],))
    np.testing.assert_allclose(coords, arrays["out0"], atol=1e-5)
    np.testing.assert_allclose(heatmaps, arrays["out1"], atol=1e-6)
    targets = {k[len("target_"):]: v for k, v in arrays.items() if k.startswith("target_")}
    terms = head.loss((coords, heatmaps), targets)
    np.testing.assert_allclose(terms["loss_kpt"], arrays["loss/loss_kpt"], rtol=1e-5)
    np.testing.assert_allclose(terms["acc_pose"], arrays["loss/acc_pose"], atol=1e-6)
    assert 0.0 < float(terms["acc_pose"]) < 1.0
    # predict: flip test with shift_coords and shift_heatmap, then the codec.
    mean = flip_average(head, (coords, heatmaps), head((arrays["feat_flip"],)), arrays)
    codec = IntegralRegressionLabel(arrays["input_size"], heatmap_size=(w, h), sigma=2.0)
    keypoints, scores = codec.batch_decode(mean)
    np.testing.assert_allclose(keypoints, arrays["pred_keypoints"], atol=1e-4)
    np.testing.assert_allclose(scores, arrays["pred_scores"])
    return head


def flip_average(head, out, out_flip, arrays):
    """The estimator's flip test: mean of the outputs and the flipped pass mapped back."""
    flipped = head.flip_back(out_flip, arrays["flip_indices"], shift_heatmap=True)
    return tf.nest.map_structure(lambda a, b: (a + b) * 0.5, out, flipped)
