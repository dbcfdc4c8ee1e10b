"""Golden outputs of MMPose 1.3.2's regression-family heads for kpose's head tests.

RegressionHead, RLEHead, IntegralRegressionHead, DSNTHead and VisPredictHead at tiny
widths: forward outputs, loss terms, and `predict` with flip test (decoded keypoints and
scores), plus the parameter counts of the full-size heads of MMPose's recipes. Run with
the MMPose reference venv:
    /tmp/mmpose-ref/bin/python tools/dev/make_head_goldens.py \
        tests/models/fixtures/regression_heads_goldens.npz

Weights are not stored: every state-dict entry (parameters and BN statistics; the
RealNVP prior buffers and the integral heads' linspaces keep their fixed values) is
drawn, in state-dict order, from numpy's RandomState(seed) by the recipe in
`fill_value`, which the tests repeat. Arrays are stored channels-last.
"""
import json
import sys

import numpy as np
import torch
from mmengine.structures import InstanceData, PixelData
from mmpose.registry import MODELS
from mmpose.structures import PoseDataSample
from mmpose.utils import register_all_modules

# Entries that are constants of the architecture, not weights: left as MMPose sets them.
FIXED_SUFFIXES = ("flow_model.loc", "flow_model.cov", "flow_model.mask", "linspace_x",
                  "linspace_y", "num_batches_tracked")

K = 4
FLIP_INDICES = [0, 2, 1, 3]
INPUT_SIZE = (48, 64)  # (w, h)

CASES = {
    # GAP features (B, C), as MMPose's configs feed the head through GlobalAveragePooling.
    "reg": dict(head=dict(type="RegressionHead", in_channels=16, num_joints=K),
                codec=dict(type="RegressionLabel", input_size=INPUT_SIZE),
                feat_shape=(2, 16), seed=0),
    # A feature map (B, C, h, w): torch.flatten's (C, h, w) order.
    "reg_map": dict(head=dict(type="RegressionHead", in_channels=24, num_joints=K,
                              loss=dict(type="SmoothL1Loss", use_target_weight=True,
                                        loss_weight=2.0)),
                    codec=dict(type="RegressionLabel", input_size=INPUT_SIZE),
                    feat_shape=(2, 6, 2, 2), seed=1),
    "rle": dict(head=dict(type="RLEHead", in_channels=16, num_joints=K,
                          loss=dict(type="RLELoss", use_target_weight=True)),
                codec=dict(type="RegressionLabel", input_size=INPUT_SIZE),
                feat_shape=(2, 16), seed=2),
    "rle_gauss": dict(head=dict(type="RLEHead", in_channels=16, num_joints=K,
                                loss=dict(type="RLELoss", use_target_weight=False,
                                          size_average=False,
                                          q_distribution="gaussian")),
                      codec=dict(type="RegressionLabel", input_size=INPUT_SIZE),
                      feat_shape=(2, 16), seed=3),
    # Deconv + conv + final layer (simplebaseline_head), plain soft-argmax.
    "ipr": dict(head=dict(type="IntegralRegressionHead", in_channels=8,
                          in_featuremap_size=(3, 4), num_joints=K,
                          deconv_out_channels=(8, 6), deconv_kernel_sizes=(4, 3),
                          conv_out_channels=(6,), conv_kernel_sizes=(3,)),
                codec=dict(type="IntegralRegressionLabel", input_size=INPUT_SIZE,
                           heatmap_size=(12, 16), sigma=2.0),
                feat_shape=(2, 8, 4, 3), seed=4),
    # No deconv: a direct final conv; debias with beta 10 (ipr_res50_debias).
    "ipr_debias": dict(head=dict(type="IntegralRegressionHead", in_channels=8,
                                 in_featuremap_size=(6, 5), num_joints=K, debias=True,
                                 beta=10.0, deconv_out_channels=None),
                       codec=dict(type="IntegralRegressionLabel", input_size=INPUT_SIZE,
                                  heatmap_size=(6, 5), sigma=2.0),
                       feat_shape=(2, 8, 5, 6), seed=5),
    # DSNT: coordinate loss + JS divergence on the heatmaps.
    "dsnt": dict(head=dict(type="DSNTHead", in_channels=8, in_featuremap_size=(3, 4),
                           num_joints=K, deconv_out_channels=(8,),
                           deconv_kernel_sizes=(4,),
                           loss=dict(type="MultipleLossWrapper", losses=[
                               dict(type="SmoothL1Loss", use_target_weight=True),
                               dict(type="JSDiscretLoss", use_target_weight=True)])),
                 codec=dict(type="IntegralRegressionLabel", input_size=INPUT_SIZE,
                            heatmap_size=(6, 8), sigma=2.0),
                 feat_shape=(2, 8, 4, 3), seed=6),
    # ipr_res50's recipe: coordinate loss + heatmap MSE.
    "dsnt_mse": dict(head=dict(type="DSNTHead", in_channels=8, in_featuremap_size=(3, 4),
                               num_joints=K, deconv_out_channels=(8,),
                               deconv_kernel_sizes=(4,),
                               loss=dict(type="MultipleLossWrapper", losses=[
                                   dict(type="SmoothL1Loss", use_target_weight=True),
                                   dict(type="KeypointMSELoss", use_target_weight=True)])),
                     codec=dict(type="IntegralRegressionLabel", input_size=INPUT_SIZE,
                                heatmap_size=(6, 8), sigma=2.0),
                     feat_shape=(2, 8, 4, 3), seed=7),
    # td-hm-vis: HeatmapHead + visibility, sigmoid inside, weighted BCE.
    "vis_hm": dict(head=dict(type="VisPredictHead",
                             loss=dict(type="BCELoss", use_target_weight=True,
                                       use_sigmoid=True, loss_weight=1e-3),
                             pose_cfg=dict(type="HeatmapHead", in_channels=8, out_channels=K,
                                           deconv_out_channels=(8,),
                                           deconv_kernel_sizes=(4,))),
                   codec=dict(type="MSRAHeatmap", input_size=INPUT_SIZE,
                              heatmap_size=(6, 8), sigma=2.0),
                   feat_shape=(2, 8, 4, 3), seed=8),
    # Logit visibilities (sigmoid applied by the loss / at prediction), regression pose.
    "vis_reg": dict(head=dict(type="VisPredictHead",
                              loss=dict(type="BCELoss", use_target_weight=False,
                                        use_sigmoid=False),
                              pose_cfg=dict(type="RegressionHead", in_channels=16,
                                            num_joints=K)),
                    codec=dict(type="RegressionLabel", input_size=INPUT_SIZE),
                    feat_shape=(2, 16), seed=9),
}

# Full-size heads of MMPose's recipes, for the parameter-count tests.
COUNT_CASES = {
    "RegressionHead_2048_17": dict(type="RegressionHead", in_channels=2048, num_joints=17),
    "RLEHead_2048_17": dict(type="RLEHead", in_channels=2048, num_joints=17,
                            loss=dict(type="RLELoss", use_target_weight=True)),
    "RLEHead_1280_17": dict(type="RLEHead", in_channels=1280, num_joints=17,
                            loss=dict(type="RLELoss", use_target_weight=True)),
    # ipr_res50 / dsnt / debias at 256x256: the same layers.
    "DSNTHead_2048_8x8_17": dict(type="DSNTHead", in_channels=2048,
                                 in_featuremap_size=(8, 8), num_joints=17),
    "IntegralRegressionHead_2048_8x8_17": dict(type="IntegralRegressionHead",
                                               in_channels=2048, in_featuremap_size=(8, 8),
                                               num_joints=17),
    "IntegralRegressionHead_nodeconv_2048_8x8_17": dict(
        type="IntegralRegressionHead", in_channels=2048, in_featuremap_size=(8, 8),
        num_joints=17, deconv_out_channels=None),
    "VisPredictHead_HeatmapHead_2048_17": dict(
        type="VisPredictHead", loss=dict(type="BCELoss", use_target_weight=True,
                                         use_sigmoid=True, loss_weight=1e-3),
        pose_cfg=dict(type="HeatmapHead", in_channels=2048, out_channels=17)),
}


def fill_value(rng, key, shape):
    """The value of one state-dict entry (the tests use the same recipe)."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 4:  # conv (out, in, kh, kw) / deconv (in, out, kh, kw)
        return noise / np.sqrt(shape[1] * shape[2] * shape[3])
    if len(shape) == 2:  # linear (out, in)
        return noise / np.sqrt(shape[1])
    if key.endswith("running_var"):
        return np.abs(noise) * 0.5 + 0.5
    if key.endswith("weight"):  # BN gamma
        return 1.0 + 0.1 * noise
    return 0.1 * noise  # BN beta, running mean, biases


def to_nhwc(x):
    x = x.detach().numpy()
    return x.transpose(0, 2, 3, 1) if x.ndim == 4 else x


def to_nchw(x):
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))


def fill_state(module, rng):
    keys, shapes = [], []
    for key, value in module.state_dict().items():
        if key.endswith(FIXED_SUFFIXES):
            continue
        value.copy_(torch.from_numpy(fill_value(rng, key, tuple(value.shape))))
        keys.append(key)
        shapes.append(json.dumps(list(value.shape)))
    return keys, shapes


def samples_for(rng, b, heatmap_hw=None, near=None):
    """Data samples with random regression labels (some weights zero) and, when asked,
    normalised target heatmaps; returns them and the arrays (channels-last).

    `near` (B, K, 2): predicted coordinates; even keypoints get labels within PCK@0.05
    of them, odd ones far away, so that `acc_pose` is neither 0 nor 1.
    """
    labels = rng.uniform(0, 1, (b, K, 2)).astype(np.float32)
    if near is not None:
        spread = np.where(np.arange(K) % 2 == 0, 0.01, 0.5)[None, :, None]
        labels = (near + spread * rng.standard_normal((b, K, 2))).astype(np.float32)
    weights = (rng.uniform(0, 1, (b, K)) > 0.3).astype(np.float32)
    weights[0, 0] = 0.0
    weights[:, 2] = 1.0  # a near keypoint that always counts
    vis_weights = rng.uniform(0.5, 1.5, (b, K)).astype(np.float32)
    arrays = {"keypoint_labels": labels, "keypoint_weights": weights,
              "keypoints_visible_weights": vis_weights}
    heatmaps = None
    if heatmap_hw is not None:
        h, w = heatmap_hw
        logits = rng.standard_normal((b, h, w, K)).astype(np.float32) * 2
        heatmaps = np.exp(logits) / np.exp(logits).sum(axis=(1, 2), keepdims=True)
        arrays["heatmaps"] = heatmaps.astype(np.float32)
    samples = []
    for i in range(b):
        sample = PoseDataSample(metainfo=dict(flip_indices=FLIP_INDICES,
                                              input_size=INPUT_SIZE))
        sample.gt_instance_labels = InstanceData(
            keypoint_labels=torch.from_numpy(labels[i:i + 1]),
            keypoint_weights=torch.from_numpy(weights[i:i + 1]),
            keypoints_visible_weights=torch.from_numpy(vis_weights[i:i + 1]))
        if heatmaps is not None:
            sample.gt_fields = PixelData(
                heatmaps=torch.from_numpy(heatmaps[i].transpose(2, 0, 1).copy()))
        sample.gt_instances = InstanceData(bboxes=np.zeros((1, 4), np.float32),
                                           bbox_scores=np.ones(1, np.float32))
        samples.append(sample)
    return samples, arrays


def heatmap_hw(head):
    """(H, W) of a head's heatmap outputs (targets for heatmap losses)."""
    if hasattr(head, "heatmap_size"):
        w, h = head.heatmap_size
        return h, w
    return None


def as_feats(x):
    # A fresh tensor each time: VisPredictHead unsqueezes (B, C) features in place.
    return (torch.from_numpy(x.copy()),)


def run_case(name, case):
    cfg = dict(case["head"])
    if cfg["type"] == "VisPredictHead":
        cfg["pose_cfg"] = dict(cfg["pose_cfg"], decoder=case["codec"])
    else:
        cfg["decoder"] = case["codec"]
    head = MODELS.build(cfg)
    head.eval()
    rng = np.random.RandomState(case["seed"])
    keys, shapes = fill_state(head, rng)
    feat = rng.standard_normal(case["feat_shape"]).astype(np.float32)
    feat_flip = rng.standard_normal(case["feat_shape"]).astype(np.float32)
    b = feat.shape[0]
    if cfg["type"] == "VisPredictHead":
        hw = None
        if cfg["pose_cfg"]["type"] == "HeatmapHead":  # one deconv doubles h and w
            hw = (case["feat_shape"][2] * 2, case["feat_shape"][3] * 2)
    else:
        hw = heatmap_hw(head)
    with torch.no_grad():
        out = head.forward(as_feats(feat))
    pose_out = out[0] if isinstance(out, tuple) else out
    near = pose_out.numpy()[..., :2] if pose_out.ndim == 3 else None
    samples, targets = samples_for(rng, b, hw, near)
    res = {"config": np.array(json.dumps(case)), "keys": np.array(keys),
           "shapes": np.array(shapes), "feat": to_nhwc(torch.from_numpy(feat)),
           "feat_flip": to_nhwc(torch.from_numpy(feat_flip))}
    for key, value in targets.items():
        res[f"target_{key}"] = value
    # VisPredictHead: (pose outputs, vis); integral heads: (coords, heatmaps).
    for i, o in enumerate(out if isinstance(out, tuple) else (out,)):
        res[f"out{i}"] = to_nhwc(o)
    with torch.no_grad():
        losses = head.loss(as_feats(feat), samples)
        for key, value in losses.items():
            res[f"loss/{key}"] = np.float32(value)
        test_cfg = dict(flip_test=True, shift_coords=True, shift_heatmap=True)
        preds = head.predict([as_feats(feat), as_feats(feat_flip)], samples, test_cfg)
    instances = preds[0] if isinstance(preds, tuple) else preds
    res["pred_keypoints"] = np.stack([p.keypoints[0] for p in instances]).astype(np.float32)
    res["pred_scores"] = np.stack([p.keypoint_scores[0] for p in instances]).astype(
        np.float32)
    if hasattr(instances[0], "keypoints_visible"):
        res["pred_visible"] = np.stack([np.asarray(p.keypoints_visible).reshape(-1)
                                        for p in instances]).astype(np.float32)
    return {f"{name}/{k}": v for k, v in res.items()}


def count_case(cfg):
    head = MODELS.build(cfg)
    params = sum(p.numel() for p in head.parameters())
    trainable = sum(p.numel() for p in head.parameters() if p.requires_grad)
    state = sum(v.numel() for k, v in head.state_dict().items()
                if not k.endswith("num_batches_tracked"))
    return np.array([params, trainable, state], np.int64)


def pck_goldens():
    """MMPose's keypoint_pck_accuracy with its edge cases: a keypoint no instance counts,
    a zero normaliser row (the instance is dropped), a negative normaliser (-> 1e6)."""
    from mmpose.evaluation.functional import keypoint_pck_accuracy
    rng = np.random.RandomState(11)
    pred = rng.uniform(0, 10, (4, 5, 2)).astype(np.float32)
    gt = (pred + rng.standard_normal((4, 5, 2)) * 2).astype(np.float32)
    mask = rng.uniform(0, 1, (4, 5)) > 0.2
    mask[:, 4] = False
    norm = rng.uniform(5, 20, (4, 2)).astype(np.float32)
    norm[1, 0] = 0.0
    norm[2, 1] = -3.0
    res = {"pck/pred": pred, "pck/gt": gt, "pck/mask": mask, "pck/norm": norm}
    for thr in (0.1, 0.3):
        acc, avg, cnt = keypoint_pck_accuracy(pred, gt, mask.copy(), thr, norm.copy())
        res[f"pck/thr{thr}_acc"] = np.asarray(acc, np.float32)
        res[f"pck/thr{thr}_avg"] = np.float32(avg)
        res[f"pck/thr{thr}_cnt"] = np.int32(cnt)
    return res


def main(out):
    register_all_modules()
    torch.manual_seed(0)
    arrays = {}
    for name, case in CASES.items():
        arrays.update(run_case(name, case))
    for name, cfg in COUNT_CASES.items():
        arrays[f"count/{name}"] = count_case(cfg)
    arrays.update(pck_goldens())
    arrays["flip_indices"] = np.array(FLIP_INDICES, np.int32)
    arrays["input_size"] = np.array(INPUT_SIZE, np.int32)
    np.savez_compressed(out, **arrays)
    for key, value in arrays.items():
        if key.startswith(("count/",)) or "/loss/" in key:
            print(key, value)


if __name__ == "__main__":
    main(sys.argv[1])
