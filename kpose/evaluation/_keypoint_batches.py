"""Accumulates (predicted, ground-truth, visibility) keypoint batches for the distance
metrics (AUC, EPE, NME); private to kpose.evaluation."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


class KeypointBatches:
    """Validates ``update`` dicts and concatenates them in ``columns()``.

    Every batch must hold ``keypoints`` (B, K, D), ``gt_keypoints`` (B, K, D) and
    ``keypoints_visible`` (B, K) or (B, K, 1); ``extra`` names per-instance keys to keep
    with their expected trailing shapes (e.g. ``{"bbox": (4,)}``).
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.batches: list[dict[str, np.ndarray]] = []

    def reset(self) -> None:
        self.batches = []

    def add(self, preds: Mapping[str, np.ndarray], extra: Mapping[str, Sequence[int]] = ()) -> None:
        required = ["keypoints", "gt_keypoints", "keypoints_visible", *extra]
        for key in required:
            if key not in preds:
                raise ValueError(f"{self.owner}.update: preds has no '{key}'; got keys {sorted(preds)}")
        pred = np.asarray(preds["keypoints"])
        gt = np.asarray(preds["gt_keypoints"])
        if pred.ndim != 3:
            raise ValueError(f"'keypoints' must have shape (B, K, D), got {pred.shape}")
        if gt.shape != pred.shape:
            raise ValueError(f"'gt_keypoints' must have the shape of 'keypoints' {pred.shape}, got {gt.shape}")
        b, k = pred.shape[:2]
        visible = np.asarray(preds["keypoints_visible"])
        if visible.ndim == 3 and visible.shape[-1] == 1:
            visible = visible[..., 0]
        if visible.shape != (b, k):
            raise ValueError(f"'keypoints_visible' must have shape (B, K) = {(b, k)}, got {visible.shape}")
        batch = dict(pred=pred, gt=gt, mask=visible.astype(bool))
        for key, tail in dict(extra).items():
            value = np.asarray(preds[key])
            if value.shape != (b, *tail):
                value = value.reshape(b, *tail) if value.size == b * int(np.prod(tail, dtype=int)) else value
            if value.shape != (b, *tail):
                raise ValueError(f"'{key}' must have shape {(b, *tail)}, got {np.shape(preds[key])}")
            batch[key] = value
        if self.batches and (self.batches[0]["pred"].shape[1:] != pred.shape[1:] or set(self.batches[0]) != set(batch)):
            raise ValueError(f"{self.owner}.update: this batch has keypoints {pred.shape[1:]} and keys "
                             f"{sorted(batch)}, earlier ones {self.batches[0]['pred'].shape[1:]} and "
                             f"{sorted(self.batches[0])}")
        self.batches.append(batch)

    def columns(self) -> dict[str, np.ndarray]:
        if not self.batches:
            raise ValueError(f"{self.owner}.result: no batch was given; call update() first")
        return {key: np.concatenate([b[key] for b in self.batches]) for key in self.batches[0]}
