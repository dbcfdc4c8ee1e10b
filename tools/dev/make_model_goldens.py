"""Golden outputs of MMPose 1.3.2 for kpose's model tests (meant for tools/dev/).

ResNet + HeatmapHead features, TopdownPoseEstimator.predict, KeypointMSELoss,
flip_heatmaps and pose_pck_accuracy. Run with the MMPose reference venv:
    /tmp/mmpose-ref/bin/python tools/dev/make_model_goldens.py \
        tests/models/fixtures/resnet_heatmap_head_goldens.npz
    /tmp/mmpose-ref/bin/python tools/dev/make_model_goldens.py --hrnet \
        tests/models/fixtures/hrnet_goldens.npz

Weights are not stored: every state-dict entry is drawn, in state-dict order, from
numpy's RandomState(seed) by the recipe in `fill_value`, which the test repeats. The
file holds the configs, the state-dict keys and shapes, the input and the outputs.
"""
import json
import sys

import numpy as np
import torch
from mmpose.models.backbones import ResNet
from mmpose.models.heads import HeatmapHead

CASES = {
    # BasicBlock, odd input size, every deconv kernel MMPose supports, an extra conv.
    "r18": dict(
        backbone=dict(depth=18, stem_channels=8, base_channels=4, out_indices=(0, 1, 2, 3)),
        head=dict(in_channels=32, out_channels=3, deconv_out_channels=(8, 8, 8),
                  deconv_kernel_sizes=(4, 3, 2), conv_out_channels=(8,),
                  conv_kernel_sizes=(3,)),
        input_hw=(67, 45), seed=0),
    # Bottleneck, the SimpleBaseline head layout.
    "r50": dict(
        backbone=dict(depth=50, stem_channels=8, base_channels=4, out_indices=(3,)),
        head=dict(in_channels=128, out_channels=5, deconv_out_channels=(8, 8, 8),
                  deconv_kernel_sizes=(4, 4, 4)),
        input_hw=(64, 48), seed=1),
}


def fill_value(rng, key, shape):
    """The value of one state-dict entry (the test uses the same recipe)."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 4:  # conv (out, in, kh, kw) / deconv (in, out, kh, kw)
        return noise / np.sqrt(shape[1] * shape[2] * shape[3])
    if key.endswith("running_var"):
        return np.abs(noise) * 0.5 + 0.5
    if key.endswith("weight"):  # BN gamma
        return 1.0 + 0.1 * noise
    return 0.1 * noise  # BN beta, running mean, conv bias


def main(out):
    arrays = {}
    for name, case in CASES.items():
        backbone = ResNet(**case["backbone"])
        head = HeatmapHead(**case["head"])
        backbone.eval()  # ResNet.train() returns None, so no chaining
        head.eval()
        rng = np.random.RandomState(case["seed"])
        keys, shapes = [], []
        for prefix, module in (("backbone", backbone), ("head", head)):
            state = module.state_dict()
            for key, value in state.items():
                if key.endswith("num_batches_tracked"):
                    continue
                full = f"{prefix}.{key}"
                new = fill_value(rng, full, tuple(value.shape))
                value.copy_(torch.from_numpy(new))
                keys.append(full)
                shapes.append(json.dumps(list(value.shape)))
        h, w = case["input_hw"]
        image = rng.standard_normal((1, 3, h, w)).astype(np.float32)
        with torch.no_grad():
            feats = backbone(torch.from_numpy(image))
            heatmaps = head(feats)
        arrays[f"{name}/config"] = np.array(json.dumps(case))
        arrays[f"{name}/keys"] = np.array(keys)
        arrays[f"{name}/shapes"] = np.array(shapes)
        arrays[f"{name}/input"] = image.transpose(0, 2, 3, 1)
        for i, f in enumerate(feats):
            arrays[f"{name}/feat{i}"] = f.numpy().transpose(0, 2, 3, 1)
        arrays[f"{name}/heatmaps"] = heatmaps.numpy().transpose(0, 2, 3, 1)
    arrays.update(functional_goldens())
    arrays.update(topdown_goldens())
    np.savez_compressed(out, **arrays)


def to_nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def to_nhwc(x):
    return x.detach().numpy().transpose(0, 2, 3, 1)


def functional_goldens():
    """KeypointMSELoss, flip_heatmaps and pose_pck_accuracy on random inputs (NHWC)."""
    from mmpose.evaluation.functional import pose_pck_accuracy
    from mmpose.models.losses import KeypointMSELoss
    from mmpose.models.utils.tta import flip_heatmaps
    rng = np.random.RandomState(7)
    b, h, w, k = 3, 8, 6, 4
    output = rng.standard_normal((b, h, w, k)).astype(np.float32)
    target = rng.standard_normal((b, h, w, k)).astype(np.float32)
    target[0, :, :, 1] = 0  # an empty channel for skip_empty_channel
    weights = rng.uniform(0, 1, (b, k)).astype(np.float32)
    weights[1, 2] = 0
    mask = (rng.uniform(0, 1, (b, h, w, 1)) > 0.3).astype(np.float32)
    res = {"fn/output": output, "fn/target": target, "fn/weights": weights, "fn/mask": mask}
    for name, kwargs, call in [
        ("plain", {}, dict()),
        ("weighted", dict(use_target_weight=True), dict(target_weights=weights)),
        ("masked", dict(use_target_weight=True, loss_weight=2.5),
         dict(target_weights=weights, mask=mask)),
        ("skip_empty", dict(skip_empty_channel=True), dict()),
    ]:
        loss = KeypointMSELoss(**kwargs)
        call = {key: (torch.from_numpy(v) if v.ndim == 2 else to_nchw(v))
                for key, v in call.items()}
        res[f"fn/mse_{name}"] = np.float32(loss(to_nchw(output), to_nchw(target), **call))
    flip_indices = [0, 2, 1, 3]
    for mode, channels in (("heatmap", k), ("udp_combined", 3 * k), ("offset", 2 * k)):
        maps = rng.standard_normal((b, h, w, channels)).astype(np.float32)
        res[f"fn/flip_{mode}_in"] = maps
        for shift in (False, True):
            flipped = flip_heatmaps(to_nchw(maps), flip_indices=flip_indices,
                                    flip_mode=mode, shift_heatmap=shift)
            res[f"fn/flip_{mode}_shift{int(shift)}"] = to_nhwc(flipped)
    # PCK: peaked heatmaps near the targets, some channels all negative.
    hm_pred = rng.uniform(-1, 1, (b, 16, 12, 5)).astype(np.float32)
    hm_gt = rng.uniform(-1, 1, (b, 16, 12, 5)).astype(np.float32)
    hm_pred[1, :, :, 3] = -1
    hm_gt[2, :, :, 0] = -1
    pck_mask = rng.uniform(0, 1, (b, 5)) > 0.2
    pck_mask[:, 4] = False  # a keypoint no instance counts
    for name, a, t in (("random", hm_pred, hm_gt), ("perfect", hm_gt, hm_gt)):
        acc, avg, cnt = pose_pck_accuracy(a.transpose(0, 3, 1, 2), t.transpose(0, 3, 1, 2),
                                          pck_mask, thr=0.05)
        res[f"fn/pck_{name}_acc"] = np.asarray(acc, np.float32)
        res[f"fn/pck_{name}_avg"] = np.float32(avg)
        res[f"fn/pck_{name}_cnt"] = np.int32(cnt)
    acc, avg, cnt = pose_pck_accuracy(hm_pred.transpose(0, 3, 1, 2),
                                      hm_gt.transpose(0, 3, 1, 2), pck_mask, thr=0.3)
    res["fn/pck_thr03_acc"], res["fn/pck_thr03_avg"] = np.asarray(acc, np.float32), np.float32(avg)
    res.update({"fn/pck_pred": hm_pred, "fn/pck_gt": hm_gt, "fn/pck_mask": pck_mask})
    return res


TOPDOWN = dict(
    backbone=CASES["r50"]["backbone"], head=CASES["r50"]["head"], seed=3,
    codec=dict(input_size=(64, 64), heatmap_size=(16, 16), sigma=2),
    flip_indices=[0, 2, 1, 4, 3], mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375])


def topdown_goldens():
    """MMPose's TopdownPoseEstimator.predict (flip test, shift, decode, back to image)."""
    from mmengine.structures import InstanceData
    from mmpose.models import build_pose_estimator
    from mmpose.utils import register_all_modules
    register_all_modules()
    from mmpose.structures import PoseDataSample
    cfg = TOPDOWN
    codec = dict(type="MSRAHeatmap", **cfg["codec"])
    model = build_pose_estimator(dict(
        type="TopdownPoseEstimator",
        data_preprocessor=dict(type="PoseDataPreprocessor", mean=cfg["mean"],
                               std=cfg["std"], bgr_to_rgb=False),
        backbone=dict(type="ResNet", **cfg["backbone"]),
        head=dict(type="HeatmapHead", decoder=codec, **cfg["head"]),
        test_cfg=dict(flip_test=True, flip_mode="heatmap", shift_heatmap=True)))
    model.eval()
    rng = np.random.RandomState(cfg["seed"])
    keys, shapes = [], []
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        value.copy_(torch.from_numpy(fill_value(rng, key, tuple(value.shape))))
        keys.append(key)
        shapes.append(json.dumps(list(value.shape)))
    images = rng.randint(0, 256, (2, 64, 64, 3)).astype(np.uint8)
    center = np.array([[100.0, 80.0], [40.5, 300.25]], np.float32)
    scale = np.array([[120.0, 160.0], [75.0, 100.0]], np.float32)
    samples = []
    for i in range(2):
        sample = PoseDataSample(metainfo=dict(
            input_center=center[i], input_scale=scale[i], input_size=(64, 64),
            flip_indices=cfg["flip_indices"]))
        sample.gt_instances = InstanceData(bboxes=np.zeros((1, 4), np.float32),
                                           bbox_scores=np.ones(1, np.float32))
        samples.append(sample)
    data = model.data_preprocessor(dict(
        inputs=[torch.from_numpy(im.transpose(2, 0, 1).copy()) for im in images],
        data_samples=samples), training=False)
    with torch.no_grad():
        results = model(**data, mode="predict")
        raw = model(data["inputs"], None, mode="tensor")
    return {
        "topdown/config": np.array(json.dumps(cfg)),
        "topdown/keys": np.array(keys), "topdown/shapes": np.array(shapes),
        "topdown/images": images, "topdown/center": center, "topdown/scale": scale,
        "topdown/raw": to_nhwc(raw),
        "topdown/keypoints": np.stack([r.pred_instances.keypoints[0] for r in results]),
        "topdown/keypoint_scores": np.stack(
            [r.pred_instances.keypoint_scores[0] for r in results]),
    }


HRNET_CASE = dict(
    # Reduced widths and depths, every structural feature: a Bottleneck stage 1 with a
    # projection, transitions that adapt channels and open branches, two modules in
    # stages 3 and 4, fuse layers in both directions, all four stage-4 outputs.
    extra=dict(
        stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(2,),
                    num_channels=(8,)),
        stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(1, 2),
                    num_channels=(4, 8)),
        stage3=dict(num_modules=2, num_branches=3, block="BASIC", num_blocks=(1, 1, 1),
                    num_channels=(4, 8, 16)),
        stage4=dict(num_modules=2, num_branches=4, block="BASIC", num_blocks=(1, 1, 1, 1),
                    num_channels=(4, 8, 16, 32), multiscale_output=True)),
    input_hw=(64, 96), seed=5)


def hrnet_goldens(out):
    """MMPose's HRNet features at reduced width (tests/models/backbones/test_hrnet.py)."""
    from mmpose.models.backbones import HRNet
    case = HRNET_CASE
    backbone = HRNet(extra=case["extra"])
    backbone.eval()
    rng = np.random.RandomState(case["seed"])
    keys, shapes = [], []
    for key, value in backbone.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        value.copy_(torch.from_numpy(fill_value(rng, key, tuple(value.shape))))
        keys.append(key)
        shapes.append(json.dumps(list(value.shape)))
    h, w = case["input_hw"]
    image = rng.standard_normal((1, 3, h, w)).astype(np.float32)
    with torch.no_grad():
        feats = backbone(torch.from_numpy(image))
    arrays = {"config": np.array(json.dumps(case)), "keys": np.array(keys),
              "shapes": np.array(shapes), "input": image.transpose(0, 2, 3, 1)}
    for i, f in enumerate(feats):
        arrays[f"feat{i}"] = to_nhwc(f)
    np.savez_compressed(out, **arrays)


if __name__ == "__main__":
    # `--hrnet OUT` writes tests/models/fixtures/hrnet_goldens.npz; one argument, the rest.
    if sys.argv[1] == "--hrnet":
        hrnet_goldens(sys.argv[2])
    else:
        main(sys.argv[1])
