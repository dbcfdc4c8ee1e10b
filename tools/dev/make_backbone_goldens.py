"""Golden outputs of MMPose 1.3.2 / mmpretrain 1.2.0 backbones and necks for kpose's tests.

MobileNetV2, ResNetV1d, mmpretrain's VisionTransformer (ViTPose's backbone) at reduced
widths; FPN, FeatureMapProcessor and GlobalAveragePooling; and the parameter counts of
MMPose's zoo models built from their configs. Run in the MMPose reference venv (mmpretrain
installed with `pip install mmpretrain==1.2.0 --no-deps` plus importlib_metadata,
model-index, einops, mat4py):
    /tmp/mmpose-ref/bin/python tools/dev/make_backbone_goldens.py \
        tests/models/fixtures/backbone_goldens.npz

Weights are not stored: every state-dict entry is drawn, in state-dict order, from
numpy's RandomState(seed) by `fill_value`, which the tests repeat. The file holds each
case's config (JSON), state-dict keys and shapes, inputs and outputs (channels-last).
"""
import json
import sys
import types

import numpy as np
import torch

# The reference venv ships a stub torchvision without `ops`; mmpretrain's evaluation
# package imports it at import time but the backbones never use it.
_ops = types.ModuleType("torchvision.ops")
_ops.boxes = types.ModuleType("torchvision.ops.boxes")
sys.modules.setdefault("torchvision.ops", _ops)
sys.modules.setdefault("torchvision.ops.boxes", _ops.boxes)

from mmpose.models.backbones import MobileNetV2, ResNetV1d  # noqa: E402
from mmpose.models.necks import FPN, FeatureMapProcessor, GlobalAveragePooling  # noqa: E402
from mmpretrain.models import VisionTransformer  # noqa: E402

BACKBONES = {
    # Width 0.25 keeps every stage (channels 8..80, the final conv 1280), odd input.
    "mobilenetv2": dict(cls=MobileNetV2, seed=0, input_hw=(67, 45),
                        kwargs=dict(widen_factor=0.25, out_indices=(0, 1, 2, 3, 4, 5, 6, 7))),
    "resnetv1d18": dict(cls=ResNetV1d, seed=1, input_hw=(67, 45),
                        kwargs=dict(depth=18, stem_channels=8, base_channels=4,
                                    out_indices=(0, 1, 2, 3))),
    "resnetv1d50": dict(cls=ResNetV1d, seed=2, input_hw=(67, 45),
                        kwargs=dict(depth=50, stem_channels=8, base_channels=4,
                                    out_indices=(1, 3))),
    # ViTPose's layout (padding 2, no class token, featmap) at a tiny width; two outputs.
    "vit_featmap": dict(cls=VisionTransformer, seed=3, input_hw=(64, 48),
                        kwargs=dict(arch=dict(embed_dims=32, num_layers=3, num_heads=4,
                                              feedforward_channels=64),
                                    img_size=(64, 48), patch_size=8, qkv_bias=True,
                                    drop_path_rate=0.1, with_cls_token=False,
                                    out_type="featmap", out_indices=[1, 2],
                                    patch_cfg=dict(padding=2))),
    # mmpretrain defaults: class token, "corner" padding, layer scale, bias-free qkv.
    "vit_raw": dict(cls=VisionTransformer, seed=4, input_hw=(60, 44),
                    kwargs=dict(arch=dict(embed_dims=24, num_layers=2, num_heads=3,
                                          feedforward_channels=40),
                                img_size=(56, 40), patch_size=8, qkv_bias=False,
                                out_type="raw", layer_scale_init_value=0.1)),
}
# The same ViT weights on inputs whose patch grid differs from img_size's (pos_embed is
# resized bicubically): 80x56 -> 11x8 patches instead of 9x7.
VIT_OTHER_SIZE = (80, 56)

FPN_CASES = {
    "fpn_on_input": dict(kwargs=dict(in_channels=[4, 6, 8, 10], out_channels=5, num_outs=6,
                                     add_extra_convs="on_input"), seed=10),
    "fpn_maxpool": dict(kwargs=dict(in_channels=[4, 6, 8, 10], out_channels=5, num_outs=5,
                                    start_level=1), seed=11),
    "fpn_on_output": dict(kwargs=dict(in_channels=[4, 6, 8, 10], out_channels=5, num_outs=5,
                                      add_extra_convs="on_output",
                                      relu_before_extra_convs=True), seed=12),
    "fpn_end_level": dict(kwargs=dict(in_channels=[4, 6, 8, 10], out_channels=5, num_outs=2,
                                      start_level=1, end_level=2), seed=13),
}
# Sizes whose ratios are not 2 exercise PyTorch's nearest index rule.
FPN_INPUT_HW = [(17, 13), (9, 7), (5, 4), (3, 2)]

FMAP_CASES = {
    "fmap_vitpose": dict(scale_factor=4.0, apply_relu=True),
    "fmap_concat": dict(select_index=(0, 2), concat=True, scale_factor=1.5),
    "fmap_corners": dict(select_index=1, scale_factor=2.5, align_corners=True),
}

ZOO = "/tmp/mmpose-ref/lib/python3.11/site-packages/mmpose/.mim/configs/body_2d_keypoint/" \
      "topdown_heatmap/coco/"
ZOO_CONFIGS = {
    "mobilenetv2_heatmap": "td-hm_mobilenetv2_8xb64-210e_coco-256x192.py",
    "resnetv1d50_heatmap": "td-hm_resnetv1d50_8xb64-210e_coco-256x192.py",
    "vitpose_small_simple": "td-hm_ViTPose-small-simple_8xb64-210e_coco-256x192.py",
    "vitpose_base_simple": "td-hm_ViTPose-base-simple_8xb64-210e_coco-256x192.py",
    "vitpose_small": "td-hm_ViTPose-small_8xb64-210e_coco-256x192.py",
}


def fill_value(rng, key, shape):
    """The value of one state-dict entry (the tests use the same recipe)."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 4:  # conv (out, in / groups, kh, kw)
        return noise / np.sqrt(shape[1] * shape[2] * shape[3])
    if len(shape) == 2:  # linear (out, in)
        return noise / np.sqrt(shape[1])
    if key.endswith("running_var"):
        return np.abs(noise) * 0.5 + 0.5
    if key.endswith("weight"):  # BN / LN gamma, layer scale
        return 1.0 + 0.1 * noise
    return 0.1 * noise  # biases, BN running mean, pos_embed, cls_token


def fill_module(module, rng):
    keys, shapes = [], []
    for key, value in module.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        value.copy_(torch.from_numpy(fill_value(rng, key, tuple(value.shape))))
        keys.append(key)
        shapes.append(json.dumps(list(value.shape)))
    return np.array(keys), np.array(shapes)


def to_nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def to_nhwc(x):
    x = x.detach().numpy()
    return x.transpose(0, 2, 3, 1) if x.ndim == 4 else x


def backbone_goldens():
    arrays = {}
    for name, case in BACKBONES.items():
        module = case["cls"](**case["kwargs"])
        module.eval()
        rng = np.random.RandomState(case["seed"])
        keys, shapes = fill_module(module, rng)
        images = [rng.standard_normal((1, *case["input_hw"], 3)).astype(np.float32)]
        if name == "vit_featmap":
            images.append(rng.standard_normal((1, *VIT_OTHER_SIZE, 3)).astype(np.float32))
        config = {k: v for k, v in case.items() if k != "cls"}
        arrays[f"{name}/config"] = np.array(json.dumps(config))
        arrays[f"{name}/keys"], arrays[f"{name}/shapes"] = keys, shapes
        for j, image in enumerate(images):
            with torch.no_grad():
                outs = module(to_nchw(image))
            arrays[f"{name}/input{j}"] = image
            for i, out in enumerate(outs):
                arrays[f"{name}/out{j}_{i}"] = to_nhwc(out)
    return arrays


def neck_goldens():
    arrays = {}
    for name, case in FPN_CASES.items():
        module = FPN(**case["kwargs"])
        module.eval()
        rng = np.random.RandomState(case["seed"])
        keys, shapes = fill_module(module, rng)
        inputs = [rng.standard_normal((2, h, w, c)).astype(np.float32)
                  for (h, w), c in zip(FPN_INPUT_HW, case["kwargs"]["in_channels"])]
        with torch.no_grad():
            outs = module([to_nchw(x) for x in inputs])
        arrays[f"{name}/config"] = np.array(json.dumps(case))
        arrays[f"{name}/keys"], arrays[f"{name}/shapes"] = keys, shapes
        for i, x in enumerate(inputs):
            arrays[f"{name}/input{i}"] = x
        for i, out in enumerate(outs):
            arrays[f"{name}/out{i}"] = to_nhwc(out)
    rng = np.random.RandomState(20)
    maps = [rng.standard_normal((2, h, w, 3)).astype(np.float32) for h, w in
            ((7, 5), (4, 3), (3, 2))]
    for i, x in enumerate(maps):
        arrays[f"fmap/input{i}"] = x
    for name, kwargs in FMAP_CASES.items():
        with torch.no_grad():
            outs = FeatureMapProcessor(**kwargs)([to_nchw(x) for x in maps])
        arrays[f"{name}/config"] = np.array(json.dumps(kwargs))
        for i, out in enumerate(outs):
            arrays[f"{name}/out{i}"] = to_nhwc(out)
    with torch.no_grad():
        outs = GlobalAveragePooling()(tuple(to_nchw(x) for x in maps))
    for i, out in enumerate(outs):
        arrays[f"gap/out{i}"] = out.numpy()
    return arrays


INTERP_CASES = {
    "nearest_size": dict(size=(7, 9), mode="nearest"),
    "nearest_down": dict(size=(3, 2), mode="nearest"),
    "nearest_scale": dict(scale_factor=1.7, mode="nearest"),
    "bilinear_size": dict(size=(7, 9), mode="bilinear", align_corners=False),
    "bilinear_scale": dict(scale_factor=2.5, mode="bilinear", align_corners=False),
    "bilinear_corners": dict(size=(9, 2), mode="bilinear", align_corners=True),
    "bicubic_size": dict(size=(8, 11), mode="bicubic", align_corners=False),
    "bicubic_down": dict(size=(3, 3), mode="bicubic", align_corners=False),
    "bicubic_corners": dict(scale_factor=1.5, mode="bicubic", align_corners=True),
}


def interpolate_goldens():
    """torch.nn.functional.interpolate on a (1, 5, 4, 2) map, channels-last."""
    x = np.random.RandomState(30).standard_normal((1, 5, 4, 2)).astype(np.float32)
    arrays = {"interp/input": x}
    for name, kwargs in INTERP_CASES.items():
        out = torch.nn.functional.interpolate(to_nchw(x), **kwargs)
        arrays[f"interp/{name}/config"] = np.array(json.dumps(kwargs))
        arrays[f"interp/{name}/out"] = to_nhwc(out)
    return arrays


def zoo_parameter_counts():
    """sum(p.numel()) of the zoo models, as built from their configs."""
    from mmengine.config import Config
    from mmpose.models import build_pose_estimator
    from mmpose.utils import register_all_modules
    register_all_modules()
    import mmpretrain.models  # noqa: F401  registers mmpretrain.VisionTransformer
    counts = {}
    for name, path in ZOO_CONFIGS.items():
        cfg = Config.fromfile(ZOO + path)
        cfg.model.backbone.pop("init_cfg", None)
        model = build_pose_estimator(cfg.model)
        counts[name] = int(sum(p.numel() for p in model.parameters()))
        print(name, counts[name])
    return {"zoo/param_counts": np.array(json.dumps(counts))}


def main(out):
    arrays = {}
    arrays.update(backbone_goldens())
    arrays.update(neck_goldens())
    arrays.update(interpolate_goldens())
    arrays.update(zoo_parameter_counts())
    np.savez_compressed(out, **arrays)


if __name__ == "__main__":
    main(sys.argv[1])
