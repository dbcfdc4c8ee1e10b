"""Real MMPose checkpoints and outputs for kpose's converter tests (MMPose reference venv).

    /tmp/mmpose-ref/bin/python tools/dev/make_converter_goldens.py tests/fixtures/converter
    /tmp/mmpose-ref/bin/python tools/dev/make_converter_goldens.py --full_size /tmp/full

For each case, MMPose's own config file (from the installed package) is built at reduced
width, every state-dict entry is drawn from numpy's RandomState (fan-in scaled convs,
non-trivial BatchNorm statistics, so outputs are O(1) and decoding is meaningful) and the
model is saved with `torch.save` the way MMPose's checkpoints are: `{'meta': {...,
'dataset_meta': COCO's parsed metainfo}, 'state_dict': ...}`, in the legacy (non-zip)
format that MMPose's publish_model.py writes, or in the zip format of mmengine's Runner
(with a `message_hub` holding mmengine objects, as training checkpoints do). The npz holds
the input images, MMPose's raw outputs ('tensor' mode) and its decoded keypoints ('predict'
mode: flip test, decoding, back to the image) for the kpose gin experiment named in the
case, with the gin bindings that shrink kpose's model the same way.

Raw outputs are stored in kpose's layout: channels-last heatmaps, SimCC vectors as they
are, RLE's sigmas through the sigmoid (kpose's RLEHead applies it in `call`); `raw` for a
one-tensor output, `raw_0`, `raw_1`, ... for a tuple. The RLE case also records MMPose's
RLE loss on a fixed target, which only the converted RealNVP flow weights can reproduce.

`--full_size DIR` writes the same for the full-width models (not committed; a few GB):
tests/converters/test_full_size.py reads it when KPOSE_CONVERTER_FULL_DIR=DIR is set.
`--cases a,b` limits either run to some cases.
"""
import argparse
import json
import os
import sys
import types

# The reference venv ships a stub torchvision without `ops`, which mmpretrain's evaluation
# package imports (ViTPose's backbone never uses it).
_ops = types.ModuleType("torchvision.ops")
_ops.boxes = types.ModuleType("torchvision.ops.boxes")
sys.modules.setdefault("torchvision.ops", _ops)
sys.modules.setdefault("torchvision.ops.boxes", _ops.boxes)

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.structures import InstanceData

import mmpose
from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.models import build_pose_estimator
from mmpose.structures import PoseDataSample
from mmpose.utils import register_all_modules

CONFIGS = os.path.join(os.path.dirname(mmpose.__file__), ".mim", "configs",
                       "body_2d_keypoint")
GIN_DIR = "gin_configs/experiments/body_2d_keypoint"
HM = "topdown_heatmap/coco/"

# HRNet-W8 with one block per branch; stage 3 keeps two modules (module naming).
TINY_HRNET = dict(
    stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(1,),
                num_channels=(64,)),
    stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(1, 1),
                num_channels=(8, 16)),
    stage3=dict(num_modules=2, num_branches=3, block="BASIC", num_blocks=(1, 1, 1),
                num_channels=(8, 16, 32)),
    stage4=dict(num_modules=1, num_branches=4, block="BASIC", num_blocks=(1, 1, 1, 1),
                num_channels=(8, 16, 32, 64)))

# Narrow ResNets under the heads of other families (the ResNet itself is checked above).
TINY_RESNET = dict(depth=18, stem_channels=8, base_channels=2)  # 16 channels out
TINY_RESNET_GIN = ["RESNET_DEPTH = 18", "ResNet.stem_channels = 8", "ResNet.base_channels = 2"]
TINY_VIT = dict(embed_dims=16, num_layers=2, num_heads=2, feedforward_channels=32)
# CPU runs: SyncBN's eval-mode maths is BatchNorm's (same eps).
PLAIN_BN = dict(norm_cfg=dict(type="BN"))


def _rtmpose(size):
    """A full-size RTMPose case (only for --full_size)."""
    return dict(
        mmpose=f"rtmpose/coco/rtmpose-{size}_8xb256-420e_coco-256x192.py",
        gin=f"rtmpose/coco/rtmpose-{size}_coco-256x192.gin",
        full_only=True, full_backbone=PLAIN_BN, full_head=dict(), legacy_format=True,
        dtype="float32", seed=40)


# name -> MMPose config, kpose gin file and the changes that make both small: `backbone`,
# `neck`, `head` and `codec` update MMPose's config, `gin_params` shrink kpose's model the
# same way (`full_*`: the same for --full_size). `decode` lists more (MMPose config, kpose gin
# file) pairs whose decoded keypoints are recorded with the same weights (HRNet's UDP and
# DARK recipes share its checkpoint). `full_only` cases are written by --full_size only.
CASES = {
    "res18": dict(
        mmpose=HM + "td-hm_res50_8xb64-210e_coco-256x192.py",
        gin=HM + "td-hm_res50_coco-256x192.gin",
        backbone=dict(depth=18, stem_channels=16, base_channels=8),
        head=dict(in_channels=64, deconv_out_channels=(16, 16, 16)),
        gin_params=["RESNET_DEPTH = 18", "ResNet.stem_channels = 16",
                    "ResNet.base_channels = 8",
                    "HeatmapHead.deconv_out_channels = (16, 16, 16)"],
        full_backbone=dict(depth=18), full_head=dict(in_channels=512),
        full_gin_params=["RESNET_DEPTH = 18"],
        legacy_format=True, dtype="float32", seed=11),
    "res50": dict(
        mmpose=HM + "td-hm_res50_8xb64-210e_coco-256x192.py",
        gin=HM + "td-hm_res50_coco-256x192.gin",
        backbone=dict(stem_channels=16, base_channels=8),
        head=dict(in_channels=256, deconv_out_channels=(16, 16, 16)),
        gin_params=["ResNet.stem_channels = 16", "ResNet.base_channels = 8",
                    "HeatmapHead.deconv_out_channels = (16, 16, 16)"],
        full_backbone=dict(), full_head=dict(), full_gin_params=[],
        # A Runner-style checkpoint: zip format, half-precision weights, training state.
        legacy_format=False, dtype="float16", training_state=True, seed=12),
    "hrnet": dict(
        mmpose=HM + "td-hm_hrnet-w32_8xb64-210e_coco-256x192.py",
        gin=HM + "td-hm_hrnet-w32_coco-256x192.gin",
        backbone=dict(extra=TINY_HRNET), head=dict(in_channels=8),
        gin_params=["HRNET_WIDTH = 8", "hrnet_extra.num_modules = (1, 1, 2, 1)",
                    "hrnet_extra.num_blocks = 1"],
        full_backbone=dict(), full_head=dict(), full_gin_params=[],
        decode={
            "udp": (HM + "td-hm_hrnet-w32_udp-8xb64-210e_coco-256x192.py",
                    HM + "td-hm_hrnet-w32_udp_coco-256x192.gin"),
            "dark": (HM + "td-hm_hrnet-w32_dark-8xb64-210e_coco-256x192.py",
                     HM + "td-hm_hrnet-w32_dark_coco-256x192.gin"),
        },
        legacy_format=True, dtype="float32", seed=13),
    # Bottleneck ResNetV1d: deep stem, average-pool shortcuts (strided and not).
    "resnetv1d": dict(
        mmpose=HM + "td-hm_resnetv1d50_8xb64-210e_coco-256x192.py",
        gin=HM + "td-hm_resnetv1d50_coco-256x192.gin",
        backbone=dict(stem_channels=8, base_channels=2),
        head=dict(in_channels=64, deconv_out_channels=(8, 8, 8)),
        codec=dict(input_size=(96, 128), heatmap_size=(24, 32)),
        gin_params=["ResNetV1d.stem_channels = 8", "ResNetV1d.base_channels = 2",
                    "HeatmapHead.deconv_out_channels = (8, 8, 8)",
                    "INPUT_SIZE = (96, 128)", "HEATMAP_SIZE = (24, 32)"],
        legacy_format=True, dtype="float16", seed=21),
    # MobileNetV2 always ends in a 1280-channel conv: no deconvs keep the head small.
    "mobilenetv2": dict(
        mmpose=HM + "td-hm_mobilenetv2_8xb64-210e_coco-256x192.py",
        gin=HM + "td-hm_mobilenetv2_coco-256x192.gin",
        backbone=dict(widen_factor=0.125),
        head=dict(deconv_out_channels=(), deconv_kernel_sizes=()),
        codec=dict(heatmap_size=(6, 8)),
        gin_params=["MobileNetV2.widen_factor = 0.125", "HeatmapHead.deconv_out_channels = ()",
                    "HeatmapHead.deconv_kernel_sizes = ()", "HEATMAP_SIZE = (6, 8)"],
        legacy_format=True, dtype="float16", seed=22),
    "simcc": dict(
        mmpose="simcc/coco/simcc_res50_8xb64-210e_coco-256x192.py",
        gin="simcc/coco/simcc_res50_coco-256x192.gin",
        backbone=TINY_RESNET,
        head=dict(in_channels=16, input_size=(96, 128), in_featuremap_size=(3, 4),
                  deconv_out_channels=(8,), deconv_kernel_sizes=(4,)),
        codec=dict(input_size=(96, 128)),
        gin_params=TINY_RESNET_GIN + [
            "INPUT_SIZE = (96, 128)", "IN_FEATUREMAP_SIZE = (3, 4)",
            "SimCCHead.deconv_out_channels = (8,)", "SimCCHead.deconv_kernel_sizes = (4,)"],
        legacy_format=False, dtype="float32", seed=23),
    # RTMPose-t's depth at 1/16 of RTMPose-l's width, a narrow GAU.
    "rtmpose": dict(
        mmpose="rtmpose/coco/rtmpose-t_8xb256-420e_coco-256x192.py",
        gin="rtmpose/coco/rtmpose-t_coco-256x192.gin",
        backbone=dict(widen_factor=0.0625, **PLAIN_BN),
        head=dict(in_channels=64, input_size=(96, 128), in_featuremap_size=(3, 4),
                  gau_cfg=dict(hidden_dims=32, s=16)),
        codec=dict(input_size=(96, 128)),
        gin_params=["WIDEN_FACTOR = 0.0625", "INPUT_SIZE = (96, 128)",
                    "IN_FEATUREMAP_SIZE = (3, 4)", "RTMCCHead.gau_hidden_dims = 32",
                    "RTMCCHead.gau_s = 16"],
        full_backbone=PLAIN_BN, full_head=dict(),
        legacy_format=False, dtype="float16", seed=24),
    "rle": dict(
        mmpose="topdown_regression/coco/td-reg_res50_rle-8xb64-210e_coco-256x192.py",
        gin="topdown_regression/coco/td-reg_res50_rle_coco-256x192.gin",
        backbone=TINY_RESNET, head=dict(in_channels=16),
        codec=dict(input_size=(96, 128)),
        gin_params=TINY_RESNET_GIN + ["INPUT_SIZE = (96, 128)"],
        full_backbone=dict(), full_head=dict(),
        rle_loss=True, legacy_format=True, dtype="float16", seed=25),
    # MMPose's IPR and DSNT configs both build DSNTHead (they differ in the loss only).
    "ipr": dict(
        mmpose="integral_regression/coco/ipr_res50_8xb64-210e_coco-256x256.py",
        gin="integral_regression/coco/ipr_res50_coco-256x256.gin",
        backbone=TINY_RESNET,
        head=dict(in_channels=16, in_featuremap_size=(4, 4),
                  deconv_out_channels=(8, 8, 8)),
        codec=dict(input_size=(128, 128), heatmap_size=(32, 32)),
        gin_params=TINY_RESNET_GIN + [
            "INPUT_SIZE = (128, 128)", "HEATMAP_SIZE = (32, 32)", "IN_FEATUREMAP_SIZE = (4, 4)",
            "DSNTHead.deconv_out_channels = (8, 8, 8)"],
        decode={"dsnt": ("integral_regression/coco/ipr_res50_dsnt-8xb64-210e_coco-256x256.py",
                         "integral_regression/coco/ipr_res50_dsnt_coco-256x256.gin")},
        legacy_format=True, dtype="float32", seed=26),
    "vitpose": dict(
        mmpose=HM + "td-hm_ViTPose-small-simple_8xb64-210e_coco-256x192.py",
        gin=HM + "td-hm_ViTPose-small-simple_coco-256x192.gin",
        backbone=dict(arch=TINY_VIT, img_size=(128, 96)), head=dict(in_channels=16),
        codec=dict(input_size=(96, 128), heatmap_size=(24, 32)),
        gin_params=[f"VIT_ARCH = {TINY_VIT!r}", "IMG_SIZE_HW = (128, 96)",
                    "INPUT_SIZE = (96, 128)", "HEATMAP_SIZE = (24, 32)"],
        legacy_format=False, dtype="float32", seed=27),
    # Full size only: the other RTMPose sizes and ViTPose-B share the layers above.
    "rtmpose-s": _rtmpose("s"),
    "rtmpose-m": _rtmpose("m"),
    "rtmpose-l": _rtmpose("l"),
    "vitpose-b": dict(
        mmpose=HM + "td-hm_ViTPose-base-simple_8xb64-210e_coco-256x192.py",
        gin=HM + "td-hm_ViTPose-base-simple_coco-256x192.gin",
        full_only=True, full_backbone=dict(), full_head=dict(),
        legacy_format=False, dtype="float32", seed=41),
}
# Buffers MMPose computes (not learnt): kept as built.
FIXED_SUFFIXES = ("linspace_x", "linspace_y", "flow_model.loc", "flow_model.cov",
                  "flow_model.mask")


def fill_value(rng, key, shape):
    """A random value for one state-dict entry with O(1) activations downstream."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 4:  # conv (out, in, kh, kw) / deconv (in, out, kh, kw): fan-in scale
        return noise / np.sqrt(shape[1] * shape[2] * shape[3])
    if len(shape) == 2 and key.endswith(".weight"):  # linear (out, in): fan-in scale
        return noise / np.sqrt(shape[1])
    if key.endswith("running_var"):
        return np.abs(noise) * 0.5 + 0.5
    if key.endswith(("weight", ".g", ".scale", ".gamma")):  # norm gains, GAU scales
        return 1.0 + 0.1 * noise
    return 0.1 * noise  # biases, running means, GAU offsets, positional embeddings


def _merge(target, changes):
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def build_model(config_file, backbone, head, codec=None):
    cfg = Config.fromfile(os.path.join(CONFIGS, config_file))
    model_cfg = cfg.model
    _merge(model_cfg.backbone, backbone)
    _merge(model_cfg.head, head)
    if codec:  # the head's decoder is a copy of the codec made when the config was read
        cfg.codec.update(codec)
        model_cfg.head.decoder.update(codec)
    model_cfg.backbone.pop("init_cfg", None)
    # kpose models take RGB pixels; feed MMPose the same RGB array without the swap.
    model_cfg.data_preprocessor.bgr_to_rgb = False
    model = build_pose_estimator(model_cfg)
    model.eval()
    return model, cfg


def predict(model, images, center, scale, input_size, flip_indices):
    samples = []
    for i in range(len(images)):
        sample = PoseDataSample(metainfo=dict(
            input_center=center[i], input_scale=scale[i], input_size=input_size,
            flip_indices=flip_indices))
        sample.gt_instances = InstanceData(bboxes=np.zeros((1, 4), np.float32),
                                           bbox_scores=np.ones(1, np.float32))
        samples.append(sample)
    data = model.data_preprocessor(dict(
        inputs=[torch.from_numpy(im.transpose(2, 0, 1).copy()) for im in images],
        data_samples=samples), training=False)
    with torch.no_grad():
        results = model(**data, mode="predict")
        raw = model(data["inputs"], None, mode="tensor")
    keypoints = np.stack([r.pred_instances.keypoints[0] for r in results])
    scores = np.stack([r.pred_instances.keypoint_scores[0] for r in results])
    return kpose_layout(model, raw), keypoints, scores


def kpose_layout(model, raw):
    """MMPose's 'tensor' outputs as kpose's estimator returns them: a list of arrays."""
    outputs = list(raw) if isinstance(raw, (tuple, list)) else [raw]
    outputs = [o.numpy().transpose(0, 2, 3, 1) if o.ndim == 4 else o.numpy() for o in outputs]
    if type(model.head).__name__ == "RLEHead":  # kpose's call applies the sigmoid
        outputs[0] = np.concatenate([outputs[0][..., :2],
                                     1 / (1 + np.exp(-outputs[0][..., 2:]))], axis=-1)
    return outputs


def rle_loss(model, inputs, rng):
    """MMPose's RLE loss of the head's outputs against a fixed target: a function of the
    RealNVP flow's weights (the prediction itself never uses them)."""
    with torch.no_grad():
        out = model(inputs, None, mode="tensor")
        pred, sigma = out[..., :2], out[..., 2:4]
        target = pred + 0.2 * torch.from_numpy(rng.standard_normal(pred.shape).astype(np.float32))
        weights = torch.from_numpy(rng.randint(0, 2, pred.shape[:2] + (1,)).astype(np.float32))
        loss = model.head.loss_module(pred, sigma, target, weights)
    return {"loss/pred": pred.numpy(), "loss/sigma": sigma.numpy(),
            "loss/target": target.numpy(), "loss/weights": weights.numpy(),
            "loss/value": np.float32(loss.item())}


def checkpoint_meta(cfg, config_file):
    dataset_meta = parse_pose_metainfo(dict(from_file="configs/_base_/datasets/coco.py"))
    return dict(dataset_meta=dataset_meta, epoch=210, iter=122010, seed=0,
                experiment_name=config_file[:-3], time="20230101_000000",
                mmengine_version=__import__("mmengine").__version__,
                cfg=f"# reduced-width random-weight copy of {config_file}\n")


def make_case(name, case, out_dir, full):
    backbone = case.get("full_backbone", {}) if full else case["backbone"]
    head = case.get("full_head", {}) if full else case["head"]
    codec_changes = {} if full else case.get("codec", {})
    model, cfg = build_model(case["mmpose"], backbone, head, codec_changes)
    rng = np.random.RandomState(case["seed"])
    torch_dtype = getattr(torch, case["dtype"])
    codec = cfg.codec
    w, h = codec["input_size"]
    num = 1 if full else 2
    # 8x8-pixel blocks of random colour: real variation, and they compress well.
    images = rng.randint(0, 256, (num, h // 8, w // 8, 3)).astype(np.uint8)
    images = images.repeat(8, axis=1).repeat(8, axis=2)
    center = np.array([[100.0, 80.0], [40.5, 300.25]], np.float32)[:num]
    scale = np.array([[120.0, 160.0], [75.0, 100.0]], np.float32)[:num]

    state = model.state_dict()
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            value.fill_(int(rng.randint(0, 1000)))
            continue
        if key.endswith(FIXED_SUFFIXES):
            continue
        new = torch.from_numpy(fill_value(rng, key, tuple(value.shape)))
        if key == "head.final_layer.bias":
            new = new * 0.1 + 0.3
        value.copy_(new)
    # Heatmap-like outputs, as trained models give: the final conv is rescaled so that
    # heatmaps span bias +- 0.5 (every channel peaks above zero; random HRNet-W32 features
    # would otherwise give heatmaps in the hundreds, where DARK/UDP decoding clips and
    # degenerates).
    preprocessor = model.data_preprocessor
    inputs = (torch.from_numpy(images.transpose(0, 3, 1, 2).copy()).float()
              - preprocessor.mean) / preprocessor.std
    if type(model.head).__name__ == "HeatmapHead":
        final = state["head.final_layer.weight"]
        bias = state["head.final_layer.bias"]
        with torch.no_grad():
            raw = model(inputs, None, mode="tensor") - bias[None, :, None, None]
        final.mul_(0.5 / float(raw.abs().max()))
    elif hasattr(model.head, "simplebaseline_head"):
        # IPR / DSNT: softmax logits spanning +-16 give peaked heatmaps whose expectations
        # differ per keypoint (small random logits give flat maps, all at the centre).
        deconv = model.head.simplebaseline_head
        bias = state["head.simplebaseline_head.final_layer.bias"]
        with torch.no_grad():
            logits = deconv(model.extract_feat(inputs)) - bias[None, :, None, None]
        state["head.simplebaseline_head.final_layer.weight"].mul_(
            16.0 / float(logits.abs().max()))
    for value in state.values():
        if value.is_floating_point():
            # MMPose runs on the weights exactly as stored (rounded when stored in fp16).
            value.copy_(value.to(torch_dtype).float())
    checkpoint = {"meta": checkpoint_meta(cfg, case["mmpose"]),
                  "state_dict": {k: (v.to(torch_dtype) if v.is_floating_point() else v)
                                 for k, v in model.state_dict().items()}}
    if case.get("training_state"):
        buffer = HistoryBuffer()
        buffer.update(0.5)
        checkpoint["message_hub"] = {"log_scalars": {"train/loss": buffer},
                                     "runtime_info": {"epoch": 210}}
    path = os.path.join(out_dir, f"{name}.pth")
    torch.save(checkpoint, path,
               _use_new_zipfile_serialization=not case["legacy_format"])

    flip_indices = checkpoint["meta"]["dataset_meta"]["flip_indices"]
    raw, keypoints, scores = predict(model, images, center, scale, tuple(codec["input_size"]),
                                     flip_indices)
    arrays = {
        "images": images, "center": center, "scale": scale,
        "keypoints": keypoints, "keypoint_scores": scores,
        "config": np.array(json.dumps(dict(
            mmpose=case["mmpose"], gin=f"{GIN_DIR}/{case['gin']}",
            gin_params=case.get("full_gin_params", []) if full else case["gin_params"],
            checkpoint=os.path.basename(path), dtype=case["dtype"],
            legacy_format=case["legacy_format"], decode={}))),
    }
    # One image's raw outputs keep the fixture small.
    if len(raw) == 1:
        arrays["raw"] = raw[0][:1]
    else:
        arrays.update({f"raw_{i}": r[:1] for i, r in enumerate(raw)})
    if case.get("rle_loss"):
        arrays.update(rle_loss(model, inputs, rng))
    decode_info = {}
    for variant, (config_file, gin_file) in case.get("decode", {}).items():
        other, _ = build_model(config_file, backbone, head, codec_changes)
        other.load_state_dict(model.state_dict())
        _, kpts, kpt_scores = predict(other, images, center, scale,
                                      tuple(codec["input_size"]), flip_indices)
        arrays[f"{variant}/keypoints"] = kpts
        arrays[f"{variant}/keypoint_scores"] = kpt_scores
        decode_info[variant] = dict(mmpose=config_file, gin=f"{GIN_DIR}/{gin_file}")
    config = json.loads(str(arrays["config"]))
    config["decode"] = decode_info
    arrays["config"] = np.array(json.dumps(config))
    np.savez_compressed(os.path.join(out_dir, f"{name}.npz"), **arrays)
    print(f"{name}: {path} ({os.path.getsize(path) / 1e6:.2f} MB), "
          f"{sum(v.numel() for v in model.state_dict().values())} state-dict values")


def make_dtypes(out_dir):
    """Tensors of every storage dtype, views and shared storages, in both file formats."""
    base = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4) / 8 - 1
    state = {
        "float32": base, "float64": base.double(), "float16": base.half(),
        "bfloat16": base.bfloat16(), "int64": torch.arange(5), "int32": torch.arange(5).int(),
        "int16": torch.arange(5).short(), "int8": torch.arange(-2, 3).char(),
        "uint8": torch.arange(5).byte(), "bool": torch.tensor([True, False, True]),
        "transposed": base[0].t(), "column": base[:, 1, :], "offset_view": base.view(-1)[7:13],
        "scalar": torch.tensor(3.5), "empty": torch.zeros(0, 3),
    }
    expected = {k: (v.float() if v.dtype == torch.bfloat16 else v).numpy()
                for k, v in state.items()}
    for fmt, zip_format in (("zip", True), ("legacy", False)):
        torch.save({"meta": {"note": "dtypes"}, "state_dict": state},
                   os.path.join(out_dir, f"dtypes_{fmt}.pth"),
                   _use_new_zipfile_serialization=zip_format)
    np.savez_compressed(os.path.join(out_dir, "dtypes.npz"), **expected)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", nargs="?", default="tests/fixtures/converter")
    parser.add_argument("--full_size", default=None,
                        help="write full-width checkpoints and outputs into this folder")
    parser.add_argument("--cases", default=None, help="comma-separated case names")
    args = parser.parse_args()
    register_all_modules()
    import mmpretrain.models  # noqa: F401  registers mmpretrain.VisionTransformer
    torch.manual_seed(0)
    out_dir = args.full_size or args.out_dir
    os.makedirs(out_dir, exist_ok=True)
    full = bool(args.full_size)
    names = args.cases.split(",") if args.cases else [
        n for n, c in CASES.items() if full or not c.get("full_only")]
    for name in names:
        make_case(name, CASES[name], out_dir, full=full)
    if not args.full_size and not args.cases:
        make_dtypes(out_dir)


if __name__ == "__main__":
    main()
