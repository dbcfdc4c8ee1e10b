"""MPJPE: mean per-joint position error of 3D poses, raw, Procrustes- or scale-aligned."""

from __future__ import annotations

from typing import Mapping, Optional

import gin
import numpy as np

ALIGNMENTS = {"mpjpe": "none", "p-mpjpe": "procrustes", "n-mpjpe": "scale"}


def compute_similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`source` (K, 3) moved by the similarity (scale, rotation, translation) that best
    fits it to `target` (K, 3) in the least-squares sense (orthogonal Procrustes with a
    proper rotation, det R = +1)."""
    mu_s = source.mean(axis=0)
    mu_t = target.mean(axis=0)
    xs = source - mu_s
    xt = target - mu_t
    cov = xs.T @ xt  # (3, 3)
    u, _, vh = np.linalg.svd(cov)
    v = vh.T
    fix = np.eye(3)
    fix[-1, -1] = np.sign(np.linalg.det(u @ v.T))
    rotation = v @ fix @ u.T
    scale = np.trace(rotation @ cov) / np.sum(xs ** 2)
    return scale * xs @ rotation.T + mu_t


def keypoint_mpjpe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray,
                   alignment: str = "none") -> float:
    """Mean Euclidean joint error over `mask`, after an optional alignment of each pose.

    Args:
        pred: (N, K, C) predicted joints.
        gt: (N, K, C) ground truth.
        mask: (N, K) bool, joints to score.
        alignment: 'none'; 'procrustes' (similarity transform per pose, P-MPJPE); 'scale'
            (least-squares scale per pose, N-MPJPE).

    Returns:
        The mean error, in the units of the inputs.
    """
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, np.float64)
    mask = np.asarray(mask, bool)
    if pred.shape != gt.shape or pred.ndim != 3:
        raise ValueError(f"pred and gt must be (N, K, C) of one shape, received {pred.shape} "
                         f"and {gt.shape}")
    if mask.shape != pred.shape[:2]:
        raise ValueError(f"mask must be (N, K) = {pred.shape[:2]}, received {mask.shape}")
    if not mask.any():
        raise ValueError("mask selects no joint: nothing to score")
    if alignment == "procrustes":
        pred = np.stack([compute_similarity_transform(p, g) for p, g in zip(pred, gt)])
    elif alignment == "scale":
        factor = np.einsum("nkc,nkc->n", pred, gt) / np.einsum("nkc,nkc->n", pred, pred)
        pred = pred * factor[:, None, None]
    elif alignment != "none":
        raise ValueError(f"alignment must be 'none', 'procrustes' or 'scale', received "
                         f"{alignment!r}")
    return float(np.linalg.norm(pred - gt, axis=-1)[mask].mean())


@gin.register
class MPJPE:
    """Mean per-joint position error, as MMPose's `MPJPE` metric.

    Modes: 'mpjpe' (no alignment), 'p-mpjpe' (each prediction Procrustes-aligned to its
    ground truth: scale, rotation, translation) and 'n-mpjpe' (scale-aligned).

    `update(preds)` takes numpy batches: `keypoints` (B, K, 3) predicted, the ground
    truth `lifting_target` (B, K, 3) (or (B, 1, K, 3)) and `lifting_target_visible`
    (B, K) (> 0 where scored; all joints when absent), as `PoseLifter.predict` passes
    them through from the lifting pipeline's meta. `result()` returns
    `{'MPJPE' | 'P-MPJPE' | 'N-MPJPE': error * unit_scale}`.

    MMPose also reports per-action errors from H36M image names; the pipeline drops
    strings from the meta, so those are not computed here.

    Args:
        mode: 'mpjpe', 'p-mpjpe' or 'n-mpjpe'.
        unit_scale: factor on the reported error; Human3.6M's preprocessed annotations are
            in metres, so 1000 reports millimetres as MMPose's model zoo does.
        name: name of the metric in logs; defaults to `mode`.
    """

    def __init__(self, mode: str = "mpjpe", unit_scale: float = 1.0,
                 name: Optional[str] = None) -> None:
        if mode not in ALIGNMENTS:
            raise ValueError(f"mode must be one of {sorted(ALIGNMENTS)}, received {mode!r}")
        if isinstance(unit_scale, bool) or not isinstance(unit_scale, (int, float)) \
                or unit_scale <= 0:
            raise ValueError(f"unit_scale must be a positive number, received {unit_scale!r}")
        self.mode = mode
        self.unit_scale = float(unit_scale)
        self.name = name or mode
        self._batches: list = []

    def get_config(self) -> dict:
        return dict(mode=self.mode, unit_scale=self.unit_scale, name=self.name)

    def reset(self) -> None:
        """Forget every batch seen so far."""
        self._batches = []

    def update(self, preds: Mapping[str, np.ndarray]) -> None:
        """Add one batch (see the class docstring)."""
        for key in ("keypoints", "lifting_target"):
            if key not in preds:
                raise ValueError(f"MPJPE.update: preds has no '{key}'; got keys {sorted(preds)}")
        pred = np.asarray(preds["keypoints"], np.float64)
        gt = np.asarray(preds["lifting_target"], np.float64)
        if pred.ndim == 4 and pred.shape[1] == 1:
            pred = pred[:, 0]
        if gt.ndim == 4 and gt.shape[1] == 1:
            gt = gt[:, 0]
        if pred.shape != gt.shape or pred.ndim != 3:
            raise ValueError(f"'keypoints' {pred.shape} and 'lifting_target' {gt.shape} must be "
                             "(B, K, 3) of one shape")
        visible = preds.get("lifting_target_visible")
        mask = np.ones(pred.shape[:2], bool) if visible is None else \
            np.asarray(visible).reshape(pred.shape[:2]) > 0
        self._batches.append((pred, gt, mask))

    def result(self) -> dict:
        """`{MODE: error}` over every batch since the last `reset()`."""
        if not self._batches:
            raise ValueError("MPJPE.result: no batch was given; call update() first")
        pred, gt, mask = (np.concatenate(parts) for parts in zip(*self._batches))
        error = keypoint_mpjpe(pred, gt, mask, ALIGNMENTS[self.mode])
        return {self.mode.upper(): error * self.unit_scale}
