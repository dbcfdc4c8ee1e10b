"""MpiiPCKAccuracy: PCKh@0.5 with MPII's per-joint-group report."""

from __future__ import annotations

import gin
import numpy as np

from kpose.evaluation.functional.keypoint_eval import keypoint_pck_accuracy
from kpose.evaluation.pck_accuracy import PCKAccuracy

# MPII keypoint ids (kpose.datasets.metainfo.load("mpii")): left/right pairs per group.
_GROUPS = {"Head PCK": (9,), "Shoulder PCK": (13, 12), "Elbow PCK": (14, 11), "Wrist PCK": (15, 10),
           "Hip PCK": (3, 2), "Knee PCK": (4, 1), "Ankle PCK": (5, 0)}
_EXCLUDED = (6, 7)  # pelvis and thorax do not enter the mean, as in MPII's evaluation


@gin.register
class MpiiPCKAccuracy(PCKAccuracy):
    """PCKh on MPII (16 keypoints) with MMPose's conventions.

    - Predictions are shifted by +1 pixel before the comparison: MMPose's MPII
      annotations keep MATLAB's 1-based joint coordinates while predictions are
      0-based, and MMPose's metric adds 1 to the predictions.
    - A joint is correct when its distance is below ``thr * head_size`` (PCKh@0.5 by
      default); ``head_size`` is 0.6 x the head box diagonal (see the MPII reader).
    - ``'PCK'`` is the mean over joints other than pelvis and thorax, weighted by how
      often each joint is labelled; ``'PCK@0.1'`` the same at threshold 0.1.

    ``update(preds)`` takes ``keypoints`` (B, 16, 2), ``gt_keypoints`` (B, 16, 2),
    ``keypoints_visible`` (B, 16) and ``head_size`` (B,). ``result()`` returns (in
    percent) ``'Head PCK'``, ``'Shoulder PCK'``, ``'Elbow PCK'``, ``'Wrist PCK'``,
    ``'Hip PCK'``, ``'Knee PCK'``, ``'Ankle PCK'``, ``'PCK'`` and ``'PCK@0.1'``.

    Args:
        thr: threshold on the head-normalised distance.
        name: name of the metric (for logs).
    """

    def __init__(self, thr: float = 0.5, name: str = "mpii_pck") -> None:
        super().__init__(thr=thr, norm_item="head", name=name)

    def get_config(self) -> dict:
        return dict(thr=self.thr, name=self.name)

    def update(self, preds) -> None:
        """Add one batch (see the class docstring)."""
        k = np.shape(preds.get("keypoints", np.zeros((0, 16, 2))))[1]
        if k != 16:
            raise ValueError(f"MpiiPCKAccuracy needs MPII's 16 keypoints, got 'keypoints' with K={k}")
        super().update(preds)

    def result(self) -> dict[str, float]:
        """The PCKh figures over every batch since the last ``reset()``."""
        if not self._batches:
            raise ValueError("MpiiPCKAccuracy.result: no batch was given; call update() first")
        pred = np.concatenate([b["pred"] for b in self._batches]) + 1.0
        gt = np.concatenate([b["gt"] for b in self._batches])
        mask = np.concatenate([b["mask"] for b in self._batches])
        head = np.concatenate([b["head"] for b in self._batches])
        pckh = 100.0 * keypoint_pck_accuracy(pred, gt, mask, self.thr, head)[0]
        pck_01 = 100.0 * keypoint_pck_accuracy(pred, gt, mask, 0.1, head)[0].astype(np.float32)
        used = np.ones(16, dtype=bool)
        used[list(_EXCLUDED)] = False
        count = mask.sum(axis=0)
        # excluded joints weigh 0; summing all 16 terms keeps MMPose's float rounding
        ratio = np.where(used, count / count[used].sum().astype(np.float64), 0.0)
        out = {}
        for name, ids in _GROUPS.items():
            out[name] = float(pckh[ids[0]] if len(ids) == 1 else 0.5 * (pckh[ids[0]] + pckh[ids[1]]))
        out["PCK"] = float(np.sum(np.where(used, pckh * ratio, 0.0)))
        out["PCK@0.1"] = float(np.sum(np.where(used, pck_01 * ratio, 0.0)))
        return out
