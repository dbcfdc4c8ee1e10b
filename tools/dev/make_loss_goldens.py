"""Golden values of MMPose 1.3.2's losses for kpose's loss tests (meant for tools/dev/).

Run with the MMPose reference venv:
    /tmp/mmpose-ref/bin/python tools/dev/make_loss_goldens.py tests/fixtures/goldens/losses.npz

For each loss, small random inputs and MMPose's value for one to three configs. Heatmap
inputs are stored channels-last (B, H, W, K), as kpose takes them; the script transposes
them for MMPose. Keypoint weights are stored (B, K) and unsqueezed for the losses whose
MMPose heads pass (B, K, 1).

RealNVP weights are not stored: every parameter of the flow's state dict (buffers aside)
is drawn, in state-dict order, from numpy's RandomState(seed) by `flow_value`, which the
test repeats. Each RLE case also stores its prior buffers (`loc`, `cov`), one of them
non-standard so that the general Gaussian prior is exercised.
"""
import json
import sys

import numpy as np
import torch

from mmpose.models.losses import (AdaptiveWingLoss, BCELoss, JSDiscretLoss, KLDiscretLoss,
                                  KeypointOHKMMSELoss, L1Loss, MSELoss, RLELoss,
                                  SmoothL1Loss, SoftWingLoss, WingLoss)

FLOW_BUFFERS = ("loc", "cov", "mask")


def flow_value(rng, shape):
    """The value of one RealNVP parameter (the test uses the same recipe)."""
    return (rng.standard_normal(shape) * 0.1).astype(np.float32)


def t(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def nchw(x):
    return t(x.transpose(0, 3, 1, 2))


def heatmap_goldens(rng, res):
    b, h, w, k = 2, 4, 3, 5
    output = rng.standard_normal((b, h, w, k)).astype(np.float32)
    target = rng.standard_normal((b, h, w, k)).astype(np.float32)
    weights = rng.uniform(0, 1, (b, k)).astype(np.float32)
    weights[1, 3] = 0
    res.update({"ohkm/output": output, "ohkm/target": target, "ohkm/weights": weights})
    cases = {
        "plain": dict(topk=3),
        "weighted": dict(topk=2, use_target_weight=True, loss_weight=2.0),
        "all": dict(topk=5, use_target_weight=True),
    }
    for name, kwargs in cases.items():
        loss = KeypointOHKMMSELoss(**kwargs)(nchw(output), nchw(target), t(weights))
        res[f"ohkm/{name}"] = np.float32(loss)
    res["ohkm/configs"] = np.array(json.dumps(cases))

    # Adaptive wing: targets in [0, 1] as heatmaps; predictions spread over both branches.
    target = rng.uniform(0, 1, (b, h, w, k)).astype(np.float32)
    target[0, 0, 0, :] = 0
    output = (target + rng.uniform(-1.2, 1.2, (b, h, w, k))).astype(np.float32)
    output[0, 0, 0, 0] = 0  # delta exactly 0
    pixel_weights = rng.uniform(0, 1, (b, h, w, k)).astype(np.float32)
    res.update({"awing/output": output, "awing/target": target, "awing/weights": weights,
                "awing/pixel_weights": pixel_weights})
    cases = {
        "plain": dict(),
        "weighted": dict(alpha=2.0, omega=10, epsilon=0.5, theta=0.3,
                         use_target_weight=True, loss_weight=0.7),
    }
    for name, kwargs in cases.items():
        loss = AdaptiveWingLoss(**kwargs)(nchw(output), nchw(target), t(weights))
        res[f"awing/{name}"] = np.float32(loss)
    loss = AdaptiveWingLoss(use_target_weight=True)(nchw(output), nchw(target),
                                                   nchw(pixel_weights))
    res["awing/pixel"] = np.float32(loss)
    cases["pixel"] = dict(use_target_weight=True)
    res["awing/configs"] = np.array(json.dumps(cases))


def regression_goldens(rng, res):
    b, k, d = 2, 3, 2
    # Wide spread so that Wing/SoftWing/SmoothL1 see both of their branches.
    output = (rng.standard_normal((b, k, d)) * 8).astype(np.float32)
    target = (rng.standard_normal((b, k, d)) * 8).astype(np.float32)
    output[0, 0] = target[0, 0] + np.array([0.3, -0.6], np.float32)
    weights = rng.uniform(0, 1, (b, k)).astype(np.float32)
    weights[0, 1] = 0
    res.update({"reg/output": output, "reg/target": target, "reg/weights": weights})
    cases = {
        "L1Loss": {"plain": dict(), "weighted": dict(use_target_weight=True, loss_weight=0.5),
                   "sum": dict(reduction="sum", use_target_weight=True),
                   "none": dict(reduction="none")},
        "SmoothL1Loss": {"plain": dict(), "weighted": dict(use_target_weight=True,
                                                           loss_weight=3.0)},
        "MSELoss": {"plain": dict(), "weighted": dict(use_target_weight=True,
                                                      loss_weight=0.25)},
        "WingLoss": {"plain": dict(),
                     "weighted": dict(omega=5.0, epsilon=1.5, use_target_weight=True,
                                      loss_weight=2.0)},
        "SoftWingLoss": {"plain": dict(),
                         "weighted": dict(omega1=1.0, omega2=10.0, epsilon=0.8,
                                          use_target_weight=True, loss_weight=0.5)},
    }
    classes = dict(L1Loss=L1Loss, SmoothL1Loss=SmoothL1Loss, MSELoss=MSELoss,
                   WingLoss=WingLoss, SoftWingLoss=SoftWingLoss)
    for cls_name, configs in cases.items():
        for name, kwargs in configs.items():
            loss = classes[cls_name](**kwargs)
            # MMPose's RegressionHead passes keypoint_weights.unsqueeze(-1).
            value = loss(t(output), t(target), t(weights[..., None]))
            res[f"reg/{cls_name}/{name}"] = value.numpy().astype(np.float32)
    res["reg/configs"] = np.array(json.dumps(cases))


def rle_goldens(rng, res):
    b, k = 2, 3
    pred = rng.standard_normal((b, k, 2)).astype(np.float32)
    sigma = rng.standard_normal((b, k, 2)).astype(np.float32)
    target = (pred + rng.standard_normal((b, k, 2)) * 0.3).astype(np.float32)
    weights = rng.uniform(0, 1, (b, k)).astype(np.float32)
    weights[1, 0] = 0
    flow_x = rng.standard_normal((7, 2)).astype(np.float32) * 2
    res.update({"rle/pred": pred, "rle/sigma": sigma, "rle/target": target,
                "rle/weights": weights, "rle/flow_x": flow_x})
    cases = {
        "default": dict(kwargs=dict(), seed=11, loc=[0.0, 0.0], cov=[[1.0, 0.0], [0.0, 1.0]]),
        "weighted_gaussian": dict(
            kwargs=dict(use_target_weight=True, q_distribution="gaussian"), seed=12,
            loc=[0.1, -0.2], cov=[[1.5, 0.3], [0.3, 0.8]]),
        "no_residual_sum": dict(
            kwargs=dict(use_target_weight=True, size_average=False, residual=False),
            seed=13, loc=[0.0, 0.0], cov=[[1.0, 0.0], [0.0, 1.0]]),
    }
    for name, case in cases.items():
        loss = RLELoss(**case["kwargs"])
        rs = np.random.RandomState(case["seed"])
        keys = []
        for key, value in loss.flow_model.state_dict().items():
            if key in FLOW_BUFFERS:
                continue
            value.copy_(t(flow_value(rs, tuple(value.shape))))
            keys.append(key)
        loss.flow_model.loc.copy_(torch.tensor(case["loc"]))
        loss.flow_model.cov.copy_(torch.tensor(case["cov"]))
        pred_t = t(pred).requires_grad_(True)
        sigma_t = t(sigma).requires_grad_(True)
        value = loss(pred_t, sigma_t, t(target), t(weights[..., None]))
        value.backward()
        res[f"rle/{name}"] = np.float32(value.detach())
        res[f"rle/{name}/grad_pred"] = pred_t.grad.numpy()
        res[f"rle/{name}/grad_sigma"] = sigma_t.grad.numpy()
        with torch.no_grad():
            res[f"rle/{name}/log_prob"] = loss.flow_model.log_prob(t(flow_x)).numpy()
        res["rle/state_keys"] = np.array(keys)
        res["rle/state_shapes"] = np.array(
            [json.dumps(list(loss.flow_model.state_dict()[key].shape)) for key in keys])
    res["rle/configs"] = np.array(json.dumps(cases))


def classification_goldens(rng, res):
    b, k, wx, wy = 2, 3, 8, 10
    pred_x = rng.standard_normal((b, k, wx)).astype(np.float32)
    pred_y = rng.standard_normal((b, k, wy)).astype(np.float32)
    # SimCC-like labels: Gaussians with some exact zeros (xlogy at 0).
    gx = np.exp(-0.5 * (np.arange(wx) - rng.uniform(0, wx, (b, k, 1))) ** 2)
    gy = np.exp(-0.5 * (np.arange(wy) - rng.uniform(0, wy, (b, k, 1))) ** 2)
    gx[gx < 0.05] = 0
    gy[gy < 0.05] = 0
    gx, gy = gx.astype(np.float32), gy.astype(np.float32)
    weights = rng.uniform(0, 1, (b, k)).astype(np.float32)
    weights[0, 2] = 0
    res.update({"kl/pred_x": pred_x, "kl/pred_y": pred_y, "kl/target_x": gx,
                "kl/target_y": gy, "kl/weights": weights})
    cases = {
        "rtmpose": dict(use_target_weight=True, beta=10.0, label_softmax=True),
        "default": dict(),
        "masked": dict(use_target_weight=False, label_softmax=True, label_beta=2.0,
                       mask=[0, 2], mask_weight=0.5),
    }
    for name, kwargs in cases.items():
        loss = KLDiscretLoss(**kwargs)((t(pred_x), t(pred_y)), (t(gx), t(gy)), t(weights))
        res[f"kl/{name}"] = np.float32(loss)
    res["kl/configs"] = np.array(json.dumps(cases))

    # JS: normalised heatmaps, channels-last.
    h, w = 4, 5
    pred = rng.uniform(0, 1, (b, h, w, k)).astype(np.float32)
    pred /= pred.sum(axis=(1, 2), keepdims=True)
    gt = rng.uniform(0, 1, (b, h, w, k)).astype(np.float32)
    gt[gt < 0.3] = 0
    gt /= gt.sum(axis=(1, 2), keepdims=True)
    res.update({"js/pred": pred, "js/target": gt, "js/weights": weights})
    cases = {"default": dict(), "plain_sum": dict(use_target_weight=False,
                                                  size_average=False)}
    for name, kwargs in cases.items():
        loss = JSDiscretLoss(**kwargs)(nchw(pred), nchw(gt), t(weights))
        res[f"js/{name}"] = np.float32(loss)
    res["js/configs"] = np.array(json.dumps(cases))

    # BCE on logits and on probabilities.
    logits = (rng.standard_normal((b, k)) * 3).astype(np.float32)
    probs = rng.uniform(0, 1, (b, k)).astype(np.float32)
    probs[0, 0] = 0.0  # log(0) clamped at -100 in PyTorch
    labels = rng.uniform(0, 1, (b, k)).astype(np.float32)
    labels[0, 0] = 1.0
    sample_weights = rng.uniform(0, 1, (b,)).astype(np.float32)
    res.update({"bce/logits": logits, "bce/probs": probs, "bce/target": labels,
                "bce/weights": weights, "bce/sample_weights": sample_weights})
    cases = {
        "logits_mean": (dict(), "logits", "weights"),
        "logits_sum_1d": (dict(use_target_weight=True, reduction="sum", loss_weight=2.0),
                          "logits", "sample_weights"),
        "probs_none": (dict(use_target_weight=True, reduction="none", use_sigmoid=True),
                       "probs", "weights"),
    }
    for name, (kwargs, inp, wkey) in cases.items():
        loss = BCELoss(**kwargs)(t(res[f"bce/{inp}"]), t(labels), t(res[f"bce/{wkey}"]))
        res[f"bce/{name}"] = loss.numpy().astype(np.float32)
    res["bce/configs"] = np.array(json.dumps(cases))


def main(out):
    torch.manual_seed(0)
    rng = np.random.RandomState(2024)
    res = {}
    heatmap_goldens(rng, res)
    regression_goldens(rng, res)
    rle_goldens(rng, res)
    classification_goldens(rng, res)
    np.savez_compressed(out, **res)
    print(f"wrote {len(res)} arrays to {out}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/goldens/losses.npz")
