"""Golden outputs of MMPose 1.3.2's RTMPose family for kpose's tests (meant for tools/dev/).

CSPNeXt + RTMCCHead, SimCCHead, RTMCCBlock, KLDiscretLoss + simcc_pck_accuracy as the
heads' `loss` uses them, and the parameter counts of RTMPose-t/s/m/l and SimCC-R50. Run
with the MMPose reference venv:
    /tmp/mmpose-ref/bin/python tools/dev/make_rtmpose_goldens.py \
        tests/models/fixtures/rtmpose_goldens.npz

Weights are not stored: every state-dict entry is drawn, in state-dict order, from
numpy's RandomState(seed) by the recipe in `fill_value`, which the tests repeat; the
backbone cases' input images are drawn next from the same stream (NCHW, then transposed
to channels-last). The file holds the configs, the state-dict keys and shapes, the other
inputs (channels-last) and the outputs.
"""
import json
import sys

import numpy as np
import torch
from mmpose.evaluation.functional import simcc_pck_accuracy
from mmpose.models.backbones import CSPNeXt
from mmpose.models.heads import RTMCCHead, SimCCHead
from mmpose.models.losses import KLDiscretLoss
from mmpose.models.utils.rtmcc_block import RTMCCBlock

# Backbone + head cases. "rtm": RTMPose's layout, narrow. "p6": every other option.
CASES = {
    "rtm": dict(
        backbone=dict(arch="P5", deepen_factor=0.167, widen_factor=0.125,
                      out_indices=(2, 3, 4), channel_attention=True,
                      norm_cfg=dict(type="BN")),
        head=dict(in_channels=128, out_channels=5, input_size=(64, 96),
                  in_featuremap_size=(2, 3), simcc_split_ratio=2.0,
                  final_layer_kernel_size=7,
                  gau_cfg=dict(hidden_dims=32, s=16, expansion_factor=2, dropout_rate=0.,
                               drop_path=0., act_fn="SiLU", use_rel_bias=False,
                               pos_enc=False)),
        input_hw=(96, 64), batch=2, seed=0),
    "p6": dict(
        backbone=dict(arch="P6", deepen_factor=0.33, widen_factor=0.125,
                      out_indices=(0, 1, 2, 3, 4, 5), use_depthwise=True,
                      channel_attention=False, spp_kernel_sizes=(3, 5)),
        head=dict(in_channels=128, out_channels=4, input_size=(64, 128),
                  in_featuremap_size=(1, 2), simcc_split_ratio=1.5,
                  final_layer_kernel_size=3,
                  gau_cfg=dict(hidden_dims=16, s=8, expansion_factor=1.5, dropout_rate=0.,
                               drop_path=0., act_fn="ReLU", use_rel_bias=True,
                               pos_enc=True)),
        input_hw=(128, 64), batch=1, seed=1),
}

SIMCC_CASES = {
    "simcc_deconv": dict(
        head=dict(in_channels=16, out_channels=5, input_size=(32, 48),
                  in_featuremap_size=(2, 3), simcc_split_ratio=2.5,
                  deconv_out_channels=(8, 8), deconv_kernel_sizes=(4, 3),
                  conv_out_channels=(8,), conv_kernel_sizes=(3,)),
        feat_hwc=(3, 2, 16), seed=2),
    "simcc_plain": dict(
        head=dict(in_channels=16, out_channels=5, input_size=(24, 32),
                  in_featuremap_size=(3, 4), simcc_split_ratio=2.0,
                  deconv_out_channels=None),
        feat_hwc=(4, 3, 16), seed=3),
}

BLOCK_CASES = {
    # Fewer tokens than num_token: MMPose crops the relative bias.
    "gau_shortcut": dict(block=dict(num_token=6, in_token_dims=12, out_token_dims=12, s=8,
                                    expansion_factor=2, act_fn="ReLU", use_rel_bias=True,
                                    pos_enc=True),
                         tokens=5, seed=4),
    "gau_project": dict(block=dict(num_token=5, in_token_dims=12, out_token_dims=10, s=6,
                                   expansion_factor=1, act_fn="SiLU", use_rel_bias=False,
                                   pos_enc=False),
                        tokens=5, seed=5),
}

# MMPose configs whose parameter counts the tests hard-code.
PARAM_CONFIGS = {
    "rtmpose_t": "rtmpose/coco/rtmpose-t_8xb256-420e_coco-256x192.py",
    "rtmpose_s": "rtmpose/coco/rtmpose-s_8xb256-420e_coco-256x192.py",
    "rtmpose_m": "rtmpose/coco/rtmpose-m_8xb256-420e_coco-256x192.py",
    "rtmpose_l": "rtmpose/coco/rtmpose-l_8xb256-420e_coco-256x192.py",
    "simcc_res50": "simcc/coco/simcc_res50_8xb64-210e_coco-256x192.py",
}


def fill_value(rng, key, shape):
    """The value of one state-dict entry (the tests use the same recipe)."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 4:  # conv (out, in/groups, kh, kw) / deconv (in, out, kh, kw)
        return noise / np.sqrt(shape[1] * shape[2] * shape[3])
    if len(shape) == 2 and key.endswith(".weight"):  # linear (out, in)
        return noise / np.sqrt(shape[1])
    if key.endswith("running_var"):
        return np.abs(noise) * 0.5 + 0.5
    if key.endswith((".weight", ".g", ".scale", ".gamma")):  # BN / ScaleNorm / GAU gains
        return 1.0 + 0.1 * noise
    return 0.1 * noise  # biases, running means, GAU beta and w


def fill_module(rng, prefix, module, keys, shapes):
    for key, value in module.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        full = f"{prefix}.{key}"
        value.copy_(torch.from_numpy(fill_value(rng, full, tuple(value.shape))))
        keys.append(full)
        shapes.append(json.dumps(list(value.shape)))


def nhwc(x):
    return x.detach().numpy().transpose(0, 2, 3, 1)


def save_case(arrays, name, config, keys, shapes):
    arrays[f"{name}/config"] = np.array(json.dumps(config))
    arrays[f"{name}/keys"] = np.array(keys)
    arrays[f"{name}/shapes"] = np.array(shapes)


def model_goldens(arrays):
    for name, case in CASES.items():
        backbone = CSPNeXt(**case["backbone"], init_cfg=None)
        head = RTMCCHead(**case["head"])
        backbone.eval()
        head.eval()
        rng = np.random.RandomState(case["seed"])
        keys, shapes = [], []
        fill_module(rng, "backbone", backbone, keys, shapes)
        fill_module(rng, "head", head, keys, shapes)
        h, w = case["input_hw"]
        # Not stored: the tests draw the image from the same stream after the weights.
        image = rng.standard_normal((case["batch"], 3, h, w)).astype(np.float32)
        with torch.no_grad():
            feats = backbone(torch.from_numpy(image))
            pred_x, pred_y = head(feats)
        save_case(arrays, name, case, keys, shapes)
        for i, feat in enumerate(feats):
            arrays[f"{name}/feat{i}"] = nhwc(feat)
        arrays[f"{name}/pred_x"] = pred_x.numpy()
        arrays[f"{name}/pred_y"] = pred_y.numpy()
        if name == "rtm":
            loss_goldens(arrays, rng, pred_x.numpy(), pred_y.numpy(),
                         case["head"]["simcc_split_ratio"])


def loss_goldens(arrays, rng, pred_x, pred_y, ratio):
    """RTMPose's loss (KLDiscretLoss beta 10, label softmax) and acc_pose on labels that
    agree with the prediction's argmax for some keypoints."""
    b, k, wx = pred_x.shape
    wy = pred_y.shape[-1]
    bins = np.stack([pred_x.argmax(-1), pred_y.argmax(-1)], -1)
    # Half the keypoints: label near the predicted bin (within 1 bin); others random.
    jitter = rng.randint(-1, 2, (b, k, 2))
    far = rng.uniform(0, 1, (b, k)) < 0.5
    random_bins = np.stack([rng.randint(0, wx, (b, k)), rng.randint(0, wy, (b, k))], -1)
    centre = np.where(far[..., None], random_bins, bins + jitter).astype(np.float32)
    gx = np.exp(-(np.arange(wx) - centre[..., :1]) ** 2 / (2 * 4.9 ** 2)).astype(np.float32)
    gy = np.exp(-(np.arange(wy) - centre[..., 1:]) ** 2 / (2 * 5.66 ** 2)).astype(np.float32)
    weights = rng.uniform(0.5, 1.0, (b, k)).astype(np.float32)
    weights[0, 1] = 0.0
    loss = KLDiscretLoss(beta=10.0, label_softmax=True, use_target_weight=True)
    value = loss((torch.from_numpy(pred_x), torch.from_numpy(pred_y)),
                 (torch.from_numpy(gx), torch.from_numpy(gy)), torch.from_numpy(weights))
    acc, avg, cnt = simcc_pck_accuracy((pred_x, pred_y), (gx, gy), ratio, weights > 0)
    arrays.update({"loss/gt_x": gx, "loss/gt_y": gy, "loss/weights": weights,
                   "loss/loss_kpt": np.float32(value), "loss/acc": np.float32(acc),
                   "loss/acc_pose": np.float32(avg), "loss/cnt": np.int32(cnt)})


def simcc_goldens(arrays):
    for name, case in SIMCC_CASES.items():
        head = SimCCHead(**case["head"])
        head.eval()
        rng = np.random.RandomState(case["seed"])
        keys, shapes = [], []
        fill_module(rng, "head", head, keys, shapes)
        h, w, c = case["feat_hwc"]
        feat = rng.standard_normal((2, c, h, w)).astype(np.float32)
        with torch.no_grad():
            pred_x, pred_y = head((torch.from_numpy(feat),))
        save_case(arrays, name, case, keys, shapes)
        arrays[f"{name}/input"] = feat.transpose(0, 2, 3, 1)
        arrays[f"{name}/pred_x"] = pred_x.numpy()
        arrays[f"{name}/pred_y"] = pred_y.numpy()


def block_goldens(arrays):
    for name, case in BLOCK_CASES.items():
        block = RTMCCBlock(**case["block"])
        block.eval()
        rng = np.random.RandomState(case["seed"])
        keys, shapes = [], []
        fill_module(rng, "block", block, keys, shapes)
        tokens = rng.standard_normal(
            (2, case["tokens"], case["block"]["in_token_dims"])).astype(np.float32)
        with torch.no_grad():
            out = block(torch.from_numpy(tokens))
        save_case(arrays, name, case, keys, shapes)
        arrays[f"{name}/input"] = tokens
        arrays[f"{name}/output"] = out.numpy()


def param_counts(arrays):
    """(parameters, parameters + BN running stats) of MMPose's whole models."""
    from mmengine.config import Config
    from mmpose.registry import MODELS
    from mmpose.utils import register_all_modules
    register_all_modules()
    import mmdet.models  # noqa: F401  (RTMPose's configs take CSPNeXt from mmdet)
    root = ("/tmp/mmpose-ref/lib/python3.11/site-packages/mmpose/.mim/configs/"
            "body_2d_keypoint/")
    for name, path in PARAM_CONFIGS.items():
        cfg = Config.fromfile(root + path)
        cfg.model.backbone.init_cfg = None
        model = MODELS.build(cfg.model)
        params = sum(p.numel() for p in model.parameters())
        buffers = sum(v.numel() for k, v in model.state_dict().items() if "running" in k)
        arrays[f"params/{name}"] = np.array([params, params + buffers], np.int64)
        print(name, params, params + buffers)


def main(out):
    arrays = {}
    model_goldens(arrays)
    simcc_goldens(arrays)
    block_goldens(arrays)
    param_counts(arrays)
    np.savez_compressed(out, **arrays)


if __name__ == "__main__":
    main(sys.argv[1])
