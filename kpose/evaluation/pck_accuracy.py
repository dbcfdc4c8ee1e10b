"""PCKAccuracy: Percentage of Correct Keypoints over a whole evaluation."""

from __future__ import annotations

import warnings
from typing import Mapping, Sequence, Union

import gin
import numpy as np

from kpose.evaluation.functional.keypoint_eval import keypoint_pck_accuracy

# norm_item -> the key of the figure it produces (MMPose's names)
_RESULT_NAMES = {"bbox": "PCK", "head": "PCKh", "torso": "tPCK"}


@gin.register
class PCKAccuracy:
    """PCK accumulated over batches, normalised per instance like MMPose's PCKAccuracy.

    A keypoint counts as correct when ``|pred - gt| / size < thr``; the figure is the
    mean over keypoints of the per-keypoint share of correct instances (only labelled
    keypoints count). The instance size depends on ``norm_item``:

    - ``'bbox'`` -> ``'PCK'``: the longer side of the ground-truth box.
    - ``'head'`` -> ``'PCKh'``: the given head size.
    - ``'torso'`` -> ``'tPCK'``: the distance between keypoints 4 and 5 (JHMDB's
      shoulder and hip); when the ground truth gives less than 1 pixel, the predicted
      keypoints' distance is used instead (with a warning).

    ``update(preds)`` takes a dict of numpy arrays with leading batch axis B:

    - ``keypoints`` (B, K, 2): predicted keypoints in image pixels.
    - ``gt_keypoints`` (B, K, 2): ground-truth keypoints.
    - ``keypoints_visible`` (B, K) (or (B, K, 1)): > 0 where the ground truth is
      labelled.
    - ``bbox`` (B, 4): ground-truth box xyxy (needed for ``'bbox'``).
    - ``head_size`` (B,): head size in pixels (needed for ``'head'``).

    Other keys are ignored. ``result()`` returns ``{'PCK': ...}`` (and ``'PCKh'``,
    ``'tPCK'`` for those norm items).

    Args:
        thr: threshold on the normalised distance.
        norm_item: ``'bbox'``, ``'head'``, ``'torso'`` or a sequence of them.
        name: name of the metric (for logs).
    """

    def __init__(self, thr: float = 0.05, norm_item: Union[str, Sequence[str]] = "bbox",
                 name: str = "pck") -> None:
        if isinstance(thr, (bool, str)) or not np.isscalar(thr) or not thr > 0:
            raise ValueError(f"thr must be a positive number, got {thr!r}")
        items = [norm_item] if isinstance(norm_item, str) else list(norm_item)
        if not items or any(item not in _RESULT_NAMES for item in items):
            raise ValueError(f"norm_item must be one of {sorted(_RESULT_NAMES)} or a sequence "
                             f"of them, got {norm_item!r}")
        self.thr = float(thr)
        self.norm_item = items
        self.name = name
        self._batches: list[dict[str, np.ndarray]] = []

    def get_config(self) -> dict:
        return dict(thr=self.thr, norm_item=list(self.norm_item), name=self.name)

    def reset(self) -> None:
        """Forget every batch seen so far."""
        self._batches = []

    def _required_keys(self) -> list[str]:
        keys = ["keypoints", "gt_keypoints", "keypoints_visible"]
        if "bbox" in self.norm_item:
            keys.append("bbox")
        if "head" in self.norm_item:
            keys.append("head_size")
        return keys

    def update(self, preds: Mapping[str, np.ndarray]) -> None:
        """Add one batch (see the class docstring for the keys and shapes)."""
        for key in self._required_keys():
            if key not in preds:
                raise ValueError(f"PCKAccuracy.update: preds has no '{key}' (norm_item "
                                 f"{self.norm_item}); got keys {sorted(preds)}")
        pred = np.asarray(preds["keypoints"])
        gt = np.asarray(preds["gt_keypoints"])
        if pred.ndim != 3 or pred.shape[-1] != 2:
            raise ValueError(f"'keypoints' must have shape (B, K, 2), got {pred.shape}")
        if gt.shape != pred.shape:
            raise ValueError(f"'gt_keypoints' must have the shape of 'keypoints' {pred.shape}, "
                             f"got {gt.shape}")
        b, k = pred.shape[:2]
        visible = np.asarray(preds["keypoints_visible"])
        if visible.ndim == 3 and visible.shape[-1] == 1:
            visible = visible[..., 0]
        if visible.shape != (b, k):
            raise ValueError(f"'keypoints_visible' must have shape (B, K) = {(b, k)}, got "
                             f"{visible.shape}")
        batch = dict(pred=pred, gt=gt, mask=visible.astype(bool))
        if "bbox" in self.norm_item:
            bbox = np.asarray(preds["bbox"])
            if bbox.shape != (b, 4):
                raise ValueError(f"'bbox' must have shape (B, 4) = {(b, 4)}, got {bbox.shape}")
            size = (bbox[:, 2:] - bbox[:, :2]).max(axis=1)
            batch["bbox"] = np.stack([size, size], axis=1)
        if "head" in self.norm_item:
            head = np.asarray(preds["head_size"]).reshape(-1)
            if head.shape != (b,):
                raise ValueError(f"'head_size' must have shape (B,) = ({b},), got "
                                 f"{np.shape(preds['head_size'])}")
            batch["head"] = np.stack([head, head], axis=1)
        if "torso" in self.norm_item:
            if k < 6:
                raise ValueError(f"norm_item 'torso' measures keypoints 4 and 5, but "
                                 f"'keypoints' has only K={k}")
            batch["torso"] = self._torso_size(pred, gt)
        self._batches.append(batch)

    @staticmethod
    def _torso_size(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
        # per instance, as MMPose (a vectorised norm rounds differently in float32)
        size = np.array([np.linalg.norm(g[4] - g[5]) for g in gt])
        small = size < 1
        if small.any():
            warnings.warn(f"{int(small.sum())} ground-truth torso size(s) < 1 px; using the "
                          "predicted keypoints' torso size for those instances")
            size[small] = [np.linalg.norm(p[4] - p[5]) for p in pred[small]]
        return np.stack([size, size], axis=1)

    def result(self) -> dict[str, float]:
        """The PCK figures over every batch since the last ``reset()``."""
        if not self._batches:
            raise ValueError("PCKAccuracy.result: no batch was given; call update() first")
        pred = np.concatenate([b["pred"] for b in self._batches])
        gt = np.concatenate([b["gt"] for b in self._batches])
        mask = np.concatenate([b["mask"] for b in self._batches])
        out = {}
        for item in self.norm_item:
            norm = np.concatenate([b[item] for b in self._batches])
            _, avg_acc, _ = keypoint_pck_accuracy(pred, gt, mask, self.thr, norm)
            out[_RESULT_NAMES[item]] = float(avg_acc)
        return out
