"""Writes MMPose 1.3.2 golden fixtures for kpose's AssociativeEmbedding codec and loss.

Run with the MMPose reference venv:

    /tmp/mmpose-ref/bin/python tools/dev/make_ae_goldens.py --out tests/fixtures/goldens/

Writes `associative_embedding.npz`: encode cases (keypoints in, heatmaps / indices /
weights out), decode cases (synthetic multi-person heatmaps and tag maps in, MMPose's
grouped keypoints, scores and instance scores out, padded to a fixed number of people)
and AssociativeEmbeddingLoss cases (tag maps + indices in, pull / push losses out).
Everything is stored channels-last, as kpose's tests read it (no torch there).
"""

import argparse
import os

import numpy as np
import torch

from mmpose.codecs import AssociativeEmbedding
from mmpose.models.losses import AssociativeEmbeddingLoss

SEED = 20261121
MAX_N = 12
ENCODE_CASES = {
    # name: codec kwargs, number of people, keypoints
    "msra": (dict(input_size=(64, 48), heatmap_size=(32, 24), sigma=2.0), 3, 5),
    "udp": (dict(input_size=(64, 64), heatmap_size=(16, 16), use_udp=True), 2, 4),
}
DECODE_CASES = {
    "plain": dict(input_size=(96, 64), heatmap_size=(48, 32), decode_topk=10,
                  decode_keypoint_order=[0, 1, 2, 3, 4]),
    "shifted": dict(input_size=(128, 128), heatmap_size=(32, 32), decode_center_shift=0.5,
                    decode_keypoint_order=[2, 0, 1, 3, 4], decode_max_instances=3,
                    decode_topk=8),
    "tag2": dict(input_size=(64, 64), heatmap_size=(32, 32), decode_tag_thr=0.8,
                 decode_keypoint_thr=0.2, decode_keypoint_order=[4, 3, 2, 1, 0]),
    "udp": dict(input_size=(64, 64), heatmap_size=(32, 32), use_udp=True,
                decode_center_shift=0.0, decode_keypoint_order=[1, 0, 2, 3, 4]),
}


def _people(rng, num, num_kpts, size):
    w, h = size
    kpts = rng.uniform([2, 2], [w - 3, h - 3], size=(num, num_kpts, 2))
    vis = (rng.random((num, num_kpts)) > 0.2).astype(np.float32)
    return kpts.astype(np.float32), vis


def make_encode(rng, out):
    for name, (kwargs, num, num_kpts) in ENCODE_CASES.items():
        codec = AssociativeEmbedding(**kwargs)
        kpts, vis = _people(rng, num, num_kpts, kwargs["input_size"])
        kpts[0, 0] = [-1.2, 3.0]   # outside: invalid index, and truncation towards zero
        kpts[0, 1] = [-0.7, 5.0]   # rounds to pixel 0 by truncation: still valid
        kpts[-1, -1] = [kwargs["input_size"][0] + 0.4, 4.0]
        enc = codec.encode(kpts, vis)
        out[f"enc_{name}__keypoints"] = kpts
        out[f"enc_{name}__keypoints_visible"] = vis
        out[f"enc_{name}__heatmaps"] = enc["heatmaps"].transpose(1, 2, 0).astype(np.float32)
        out[f"enc_{name}__keypoint_indices"] = enc["keypoint_indices"]
        out[f"enc_{name}__keypoint_weights"] = enc["keypoint_weights"].astype(np.float32)


def _maps(rng, codec_kwargs, num_kpts=5, batch=2, dim=1):
    """Heatmaps of a few people (Gaussians + noise) and tag maps: each person's tag near
    its own value (noisy, so the assignment has work), background random."""
    W, H = codec_kwargs["heatmap_size"]
    heatmaps = np.zeros((batch, num_kpts, H, W), np.float32)
    tags = rng.normal(0, 3, size=(batch, dim * num_kpts, H, W)).astype(np.float32)
    yy, xx = np.mgrid[0:H, 0:W]
    for b in range(batch):
        num = rng.integers(2, 6)
        person_tags = rng.permutation(np.arange(num) * 1.7)[:, None] + \
            rng.normal(0, 0.3, size=(num, dim))
        for n in range(num):
            for k in range(num_kpts):
                if rng.random() < 0.15:
                    continue  # missing: later filled from the tags
                x, y = rng.uniform(1, W - 2), rng.uniform(1, H - 2)
                peak = rng.uniform(0.15, 1.0)
                g = peak * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.5 ** 2))
                heatmaps[b, k] = np.maximum(heatmaps[b, k], g)
                xi, yi = int(round(x)), int(round(y))
                for l in range(dim):
                    patch = tags[b, l * num_kpts + k, max(yi - 2, 0):yi + 3, max(xi - 2, 0):xi + 3]
                    patch[...] = person_tags[n, l] + rng.normal(0, 0.15, size=patch.shape)
        heatmaps[b] += rng.uniform(0, 0.05, size=heatmaps[b].shape).astype(np.float32)
    # Tags on a 1/64 grid keep the fixture small (they compress); heatmaps stay generic so
    # that no two candidates tie.
    return heatmaps, (np.round(tags * 64) / 64).astype(np.float32)


def make_decode(rng, out):
    for name, kwargs in DECODE_CASES.items():
        dim = 2 if name == "tag2" else 1
        codec = AssociativeEmbedding(**kwargs)
        heatmaps, tags = _maps(rng, kwargs, dim=dim)
        out[f"dec_{name}__heatmaps"] = heatmaps.transpose(0, 2, 3, 1).copy()
        out[f"dec_{name}__tags"] = tags.transpose(0, 2, 3, 1).copy()
        kpts, scores, inst = codec.batch_decode(torch.from_numpy(heatmaps.copy()),
                                                torch.from_numpy(tags.copy()))
        B, K = heatmaps.shape[:2]
        pk = np.zeros((B, MAX_N, K, 2), np.float32)
        ps = np.zeros((B, MAX_N, K), np.float32)
        pi = np.zeros((B, MAX_N), np.float32)
        num = np.zeros((B,), np.int64)
        for b in range(B):
            n = len(kpts[b])
            assert n <= MAX_N, n
            num[b] = n
            pk[b, :n], ps[b, :n], pi[b, :n] = kpts[b], scores[b], inst[b]
        out[f"dec_{name}__keypoints"] = pk
        out[f"dec_{name}__scores"] = ps
        out[f"dec_{name}__instance_scores"] = pi
        out[f"dec_{name}__num"] = num
        print(name, "people per image", num.tolist())


def make_loss(rng, out):
    loss = AssociativeEmbeddingLoss(loss_weight=0.001, push_loss_factor=0.5)
    for name, (batch, num, num_kpts, dim) in {"l1": (2, 4, 5, 1), "l2": (3, 3, 4, 2)}.items():
        H, W = 8, 10
        tags = rng.normal(0, 1, size=(batch, dim * num_kpts, H, W)).astype(np.float32)
        idx = np.zeros((batch, num, num_kpts, 2), np.int64)
        idx[..., 0] = rng.integers(0, H * W, size=(batch, num, num_kpts))
        idx[..., 1] = rng.random((batch, num, num_kpts)) > 0.3
        idx[0, -1, :, 1] = 0          # a padded person: no valid keypoint
        if batch > 2:
            idx[2, 1:, :, 1] = 0      # an image with one person: no push term
        t = torch.from_numpy(tags).requires_grad_(True)
        pull, push = loss(t, [torch.from_numpy(i) for i in idx])
        (pull + push).backward()
        out[f"loss_{name}__tags"] = tags.transpose(0, 2, 3, 1).copy()
        out[f"loss_{name}__keypoint_indices"] = idx
        out[f"loss_{name}__pull"] = np.float32(pull.item())
        out[f"loss_{name}__push"] = np.float32(push.item())
        out[f"loss_{name}__grad"] = t.grad.numpy().transpose(0, 2, 3, 1).copy()


def make_transforms(rng, out):
    """BottomupResize (fit / expand / UDP), a deterministic BottomupRandomAffine (every
    probability 0) and BottomupGetHeatmapMask on small random images."""
    from mmpose.datasets.transforms import (BottomupGetHeatmapMask, BottomupRandomAffine,
                                            BottomupResize)
    resize_cases = {
        "fit": (dict(input_size=(64, 64), size_factor=32, resize_mode="fit"), (50, 70)),
        "expand": (dict(input_size=(64, 64), size_factor=32, resize_mode="expand"), (50, 70)),
        "expand_tall": (dict(input_size=(64, 48), size_factor=16, resize_mode="expand"), (90, 40)),
        "udp": (dict(input_size=(64, 64), size_factor=32, resize_mode="expand", use_udp=True),
                (50, 70)),
    }
    for name, (kwargs, (h, w)) in resize_cases.items():
        img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        res = BottomupResize(**kwargs)(dict(img=img.copy(), ori_shape=(h, w), img_shape=(h, w)))
        out[f"resize_{name}__img_in"] = img
        out[f"resize_{name}__img"] = res["img"]
        out[f"resize_{name}__input_center"] = np.asarray(res["input_center"], np.float32)
        out[f"resize_{name}__input_scale"] = np.asarray(res["input_scale"], np.float32)
        out[f"resize_{name}__input_size"] = np.asarray(res["input_size"], np.int32)
    for name, (kwargs, (h, w)) in {
            "short": (dict(input_size=(48, 64), scale_type="short"), (40, 70)),
            "long": (dict(input_size=(48, 64), scale_type="long"), (40, 70)),
            "udp": (dict(input_size=(64, 48), use_udp=True, transform_mode="affine_udp"),
                    (60, 50))}.items():
        t = BottomupRandomAffine(shift_prob=0.0, scale_prob=0.0, rotate_prob=0.0, **kwargs)
        img = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
        kpts = rng.uniform(0, [w, h], size=(2, 5, 2)).astype(np.float32)
        res = t(dict(img=img.copy(), img_shape=(h, w), keypoints=kpts.copy(),
                     keypoints_visible=np.ones((2, 5), np.float32)))
        out[f"affine_{name}__img_in"] = img
        out[f"affine_{name}__keypoints_in"] = kpts
        out[f"affine_{name}__img"] = res["img"]
        out[f"affine_{name}__keypoints"] = res["keypoints"].astype(np.float32)
        out[f"affine_{name}__warp_mat"] = res["warp_mat"].astype(np.float32)
        mask = BottomupGetHeatmapMask()(dict(
            img_shape=(h, w), input_size=kwargs["input_size"], warp_mat=res["warp_mat"],
            heatmaps=np.zeros((3, kwargs["input_size"][1] // 4, kwargs["input_size"][0] // 4))))
        out[f"affine_{name}__heatmap_mask"] = mask["heatmap_mask"]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="tests/fixtures/goldens/")
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    out = {}
    make_encode(rng, out)
    make_decode(rng, out)
    make_loss(rng, out)
    make_transforms(rng, out)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "associative_embedding.npz")
    np.savez_compressed(path, **out)
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
