"""Golden outputs of MMPose 1.3.2 for kpose's pose-lifting tests (meant for tools/dev/).

Codecs (ImagePoseLifting, VideoPoseLifting encode/decode), flip_keypoints_custom_center,
MPJPELoss / MPJPEVelocityJointLoss, keypoint_mpjpe (none / procrustes / scale), and TCN +
TemporalRegressionHead forwards with their parameter counts. Run with the reference venv:
    /tmp/mmpose-ref/bin/python tools/dev/make_lifting_goldens.py \
        tests/fixtures/goldens/pose_lifting.npz

Weights are not stored: every state-dict entry is drawn, in state-dict order, from numpy's
RandomState(seed) by `fill_value`, which the test repeats. Keys are `<case>/<name>`; the
case configs are stored as JSON under `configs`.
"""
import json
import sys

import numpy as np
import torch
from mmpose.codecs import ImagePoseLifting, VideoPoseLifting
from mmpose.evaluation.functional import keypoint_mpjpe
from mmpose.models.backbones import TCN
from mmpose.models.heads import TemporalRegressionHead
from mmpose.models.losses import MPJPELoss, MPJPEVelocityJointLoss
from mmpose.structures.keypoint import flip_keypoints_custom_center

K = 17
FLIP = [0, 4, 5, 6, 1, 2, 3, 7, 8, 9, 10, 14, 15, 16, 11, 12, 13]

IMAGE_CASES = {
    "img_default": dict(num_keypoints=K),
    "img_remove_root": dict(num_keypoints=K, root_index=0, remove_root=True, save_index=True),
    "img_multi_root_vis": dict(num_keypoints=K, root_index=[1, 4], concat_vis=True),
    "img_stats": dict(num_keypoints=K, remove_root=True, reshape_keypoints=False,
                      stats=True),
}
VIDEO_CASES = {
    "vid_default": dict(num_keypoints=K),
    "vid_remove_root": dict(num_keypoints=K, remove_root=True, save_index=True),
    "vid_vis_camera": dict(num_keypoints=K, concat_vis=True, normalize_camera=True,
                           root_index=[1, 4]),
    "vid_no_center": dict(num_keypoints=K, zero_center=False, reshape_keypoints=False),
}
TCN_CASES = {
    "tcn_dilated": dict(backbone=dict(in_channels=K * 2, stem_channels=16, num_blocks=2,
                                      kernel_sizes=(3, 3, 3), dropout=0.25),
                        head=dict(in_channels=16, num_joints=K), frames=27, seed=3),
    "tcn_stride": dict(backbone=dict(in_channels=K * 2, stem_channels=16, num_blocks=2,
                                     kernel_sizes=(3, 3, 3), use_stride_conv=True),
                       head=dict(in_channels=16, num_joints=K), frames=27, seed=4),
    "tcn_causal": dict(backbone=dict(in_channels=K * 3, stem_channels=12, num_blocks=1,
                                     kernel_sizes=(3, 5), causal=True, residual=True),
                       head=dict(in_channels=12, num_joints=K), frames=20, seed=5),
    "tcn_causal_stride_nores": dict(
        backbone=dict(in_channels=K * 2, stem_channels=8, num_blocks=2,
                      kernel_sizes=(3, 3, 3), causal=True, residual=False,
                      use_stride_conv=True),
        head=dict(in_channels=8, num_joints=K), frames=27, seed=6),
}
FULL_TCN = {
    "243frm": dict(in_channels=2 * K, stem_channels=1024, num_blocks=4,
                   kernel_sizes=(3, 3, 3, 3, 3), dropout=0.25, use_stride_conv=True),
    "27frm": dict(in_channels=2 * K, stem_channels=1024, num_blocks=2,
                  kernel_sizes=(3, 3, 3), dropout=0.25, use_stride_conv=True),
}


def fill_value(rng, key, shape):
    """The value of one state-dict entry (the test uses the same recipe)."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 3:  # Conv1d (out, in, k)
        return noise / np.sqrt(shape[1] * shape[2])
    if key.endswith("running_var"):
        return np.abs(noise) * 0.5 + 0.5
    if key.endswith("num_batches_tracked"):
        return np.zeros(shape, np.float32)
    if key.endswith("weight"):  # BN gamma
        return 1.0 + 0.1 * noise
    return 0.1 * noise  # BN beta, running mean, conv bias


def put(arrays, prefix, values):
    for key, value in values.items():
        if isinstance(value, dict):
            put(arrays, f"{prefix}/{key}", value)
        elif isinstance(value, (bool, int)) and not isinstance(value, np.ndarray):
            arrays[f"{prefix}/{key}"] = np.asarray(value)
        else:
            arrays[f"{prefix}/{key}"] = np.asarray(value)


def codecs(arrays, configs, rng):
    kpts = rng.uniform(0, 1000, (1, K, 2)).astype(np.float32)
    vis = (rng.uniform(size=(1, K)) > 0.2).astype(np.float32)
    target = rng.normal(0, 0.5, (1, K, 3)).astype(np.float32) + np.float32([0.1, 0.2, 4.5])
    target_vis = (rng.uniform(size=(1, K)) > 0.1).astype(np.float32)
    arrays.update({"img_in/keypoints": kpts, "img_in/keypoints_visible": vis,
                   "img_in/lifting_target": target, "img_in/lifting_target_visible": target_vis})
    for name, cfg in IMAGE_CASES.items():
        cfg = dict(cfg)
        if cfg.pop("stats", False):
            joints = K - 1 if cfg.get("remove_root") else K
            cfg.update(keypoints_mean=rng.uniform(400, 600, (K, 2)).tolist(),
                       keypoints_std=rng.uniform(50, 150, (K, 2)).tolist(),
                       target_mean=rng.normal(0, 0.1, (joints, 3)).tolist(),
                       target_std=rng.uniform(0.1, 0.4, (joints, 3)).tolist())
        configs[name] = cfg
        codec = ImagePoseLifting(**cfg)
        enc = codec.encode(kpts.copy(), vis.copy(), target.copy(), target_vis.copy())
        put(arrays, name, {k: v for k, v in enc.items() if k in (
            "keypoint_labels", "keypoint_labels_visible", "lifting_target_label",
            "lifting_target_weight", "trajectory_weights", "target_root")})
        out = enc["lifting_target_label"].copy()
        dec, scores = codec.decode(out, target_root=enc["target_root"][None])
        arrays[f"{name}/decoded"] = dec
        arrays[f"{name}/decoded_no_root"] = codec.decode(out)[0]

    seq = rng.uniform(0, 1000, (27, K, 2)).astype(np.float32)
    seq_vis = (rng.uniform(size=(27, K)) > 0.2).astype(np.float32)
    camera = dict(w=1000, h=1002, f=np.float32([[1145.0], [1143.8]]),
                  c=np.float32([[512.5], [515.4]]))
    arrays.update({"vid_in/keypoints": seq, "vid_in/keypoints_visible": seq_vis,
                   "vid_in/camera_w": np.asarray(1000), "vid_in/camera_h": np.asarray(1002),
                   "vid_in/camera_f": camera["f"], "vid_in/camera_c": camera["c"]})
    for name, cfg in VIDEO_CASES.items():
        configs[name] = cfg
        codec = VideoPoseLifting(**cfg)
        enc = codec.encode(seq.copy(), seq_vis.copy(), target.copy(), target_vis.copy(),
                           camera_param=dict(camera))
        keep = {k: v for k, v in enc.items() if k in (
            "keypoint_labels", "keypoints_visible", "lifting_target_label",
            "lifting_target_weight", "trajectory_weights", "target_root")}
        if "camera_param" in enc:
            keep["camera_f"] = enc["camera_param"]["f"]
            keep["camera_c"] = enc["camera_param"]["c"]
        put(arrays, name, keep)
        root = enc.get("target_root")
        dec = codec.decode(enc["lifting_target_label"].copy(),
                           target_root=None if root is None else root[None])[0]
        arrays[f"{name}/decoded"] = dec

    # Flip about a static line and about the root of one frame.
    for name, cfg in {"flip_static": dict(center_mode="static", center_x=0.5),
                      "flip_root": dict(center_mode="root", center_index=0),
                      "flip_root_list": dict(center_mode="root", center_index=[1, 4])}.items():
        f_kpts, f_vis = flip_keypoints_custom_center(target.copy(), target_vis.copy(), FLIP,
                                                     **cfg)
        configs[name] = cfg
        arrays[f"{name}/keypoints"] = f_kpts
        arrays[f"{name}/keypoints_visible"] = f_vis


def losses(arrays, configs, rng):
    out = rng.normal(0, 1, (3, 5, K, 3)).astype(np.float32)
    tgt = rng.normal(0, 1, (3, 5, K, 3)).astype(np.float32)
    w = (rng.uniform(size=(3, 1, K, 1)) > 0.3).astype(np.float32)
    arrays.update({"loss_in/output": out, "loss_in/target": tgt, "loss_in/weight": w})
    cases = {
        "mpjpe": (MPJPELoss, dict()),
        "mpjpe_w": (MPJPELoss, dict(use_target_weight=True, loss_weight=2.0)),
        "vel": (MPJPEVelocityJointLoss, dict()),
        "vel_w": (MPJPEVelocityJointLoss, dict(use_target_weight=True, loss_weight=0.5,
                                               lambda_scale=0.3, lambda_3d_velocity=10.0)),
    }
    for name, (cls, cfg) in cases.items():
        configs[f"loss_{name}"] = cfg
        value = cls(**cfg)(torch.from_numpy(out), torch.from_numpy(tgt), torch.from_numpy(w))
        arrays[f"loss_{name}/value"] = np.asarray(value.item(), np.float32)


def metrics(arrays, rng):
    gt = rng.normal(0, 0.3, (6, K, 3))
    pred = gt @ np.array([[0.9, -0.3, 0.1], [0.3, 0.95, 0.0], [0.0, 0.05, 1.0]]) * 1.1 + \
        rng.normal(0, 0.05, (6, K, 3)) + 0.2
    mask = rng.uniform(size=(6, K)) > 0.2
    arrays.update({"mpjpe_in/pred": pred, "mpjpe_in/gt": gt, "mpjpe_in/mask": mask})
    for alignment in ("none", "procrustes", "scale"):
        arrays[f"mpjpe_{alignment}/value"] = np.asarray(keypoint_mpjpe(pred, gt, mask,
                                                                       alignment))


def models(arrays, configs, rng):
    for name, case in TCN_CASES.items():
        backbone = TCN(**case["backbone"])
        head = TemporalRegressionHead(**case["head"])
        backbone.eval()
        head.eval()
        wrng = np.random.RandomState(case["seed"])
        keys, shapes = [], []
        for prefix, module in (("backbone", backbone), ("head", head)):
            state = module.state_dict()
            for key, value in state.items():
                full = f"{prefix}.{key}"
                state[key] = torch.from_numpy(np.asarray(fill_value(wrng, full,
                                                                    tuple(value.shape)))
                                              ).to(value.dtype)
                keys.append(full)
                shapes.append(list(value.shape))
            module.load_state_dict(state)
        x = rng.normal(0, 1, (2, case["frames"], case["backbone"]["in_channels"])
                       ).astype(np.float32)
        with torch.no_grad():
            feats = backbone(torch.from_numpy(x).permute(0, 2, 1))
            out = head(feats)
        configs[name] = dict(case, keys=keys, shapes=shapes)
        arrays[f"{name}/inputs"] = x
        for i, f in enumerate(feats):
            arrays[f"{name}/feat{i}"] = f.permute(0, 2, 1).numpy()
        arrays[f"{name}/outputs"] = out.numpy()
        arrays[f"{name}/num_params"] = np.asarray(
            sum(p.numel() for p in backbone.parameters()) +
            sum(p.numel() for p in head.parameters()))
    for name, cfg in FULL_TCN.items():
        backbone = TCN(**cfg)
        head = TemporalRegressionHead(in_channels=1024, num_joints=K)
        configs[f"full_{name}"] = cfg
        arrays[f"full_{name}/num_params"] = np.asarray(
            sum(p.numel() for p in backbone.parameters()) +
            sum(p.numel() for p in head.parameters()))


def main(out):
    rng = np.random.RandomState(0)
    arrays, configs = {}, {}
    codecs(arrays, configs, rng)
    losses(arrays, configs, rng)
    metrics(arrays, rng)
    models(arrays, configs, rng)
    arrays["configs"] = np.asarray(json.dumps(configs))
    np.savez_compressed(out, **arrays)
    print(f"wrote {len(arrays)} arrays to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/goldens/pose_lifting.npz")
