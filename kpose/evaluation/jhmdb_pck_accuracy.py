"""JhmdbPCKAccuracy: PCK / tPCK on JHMDB with its per-joint-group report."""

from __future__ import annotations

from typing import Sequence, Union

import gin
import numpy as np

from kpose.evaluation.functional.keypoint_eval import keypoint_pck_accuracy
from kpose.evaluation.pck_accuracy import PCKAccuracy

# JHMDB keypoint ids (kpose.datasets.metainfo.load("jhmdb")): (left, right) per group.
_GROUPS = {"Head": (2,), "Sho": (3, 4), "Elb": (7, 8), "Wri": (11, 12), "Hip": (5, 6), "Knee": (9, 10),
           "Ank": (13, 14)}
_SUFFIX = {"bbox": "PCK", "torso": "tPCK"}


@gin.register
class JhmdbPCKAccuracy(PCKAccuracy):
    """PCK on JHMDB (15 keypoints), as MMPose's ``JhmdbPCKAccuracy``.

    Normalised by the box's longer side (``'bbox'`` -> ``'PCK'``) and/or by the torso
    (``'torso'`` -> ``'tPCK'``: the distance of keypoints 4 and 5, JHMDB's right
    shoulder and left hip). Per group it reports the mean of the left and right joint
    (``'Sho PCK'``, ``'Elb tPCK'``, ...), and the mean over all joints (``'PCK'``,
    ``'tPCK'``). Values are fractions in [0, 1], as in MMPose.

    ``update(preds)`` takes ``keypoints`` (B, 15, 2), ``gt_keypoints`` (B, 15, 2),
    ``keypoints_visible`` (B, 15) and, for ``'bbox'``, ``bbox`` (B, 4) xyxy.

    Args:
        thr: threshold on the normalised distance.
        norm_item: ``'bbox'``, ``'torso'`` or both.
        name: name of the metric (for logs).
    """

    def __init__(self, thr: float = 0.05, norm_item: Union[str, Sequence[str]] = "bbox",
                 name: str = "jhmdb_pck") -> None:
        items = [norm_item] if isinstance(norm_item, str) else list(norm_item)
        if not items or any(item not in _SUFFIX for item in items):
            raise ValueError(f"norm_item must be 'bbox', 'torso' or both, got {norm_item!r}")
        super().__init__(thr=thr, norm_item=items, name=name)

    def update(self, preds) -> None:
        """Add one batch (see the class docstring)."""
        k = np.shape(preds.get("keypoints", np.zeros((0, 15, 2))))[1]
        if k != 15:
            raise ValueError(f"JhmdbPCKAccuracy needs JHMDB's 15 keypoints, got 'keypoints' with K={k}")
        super().update(preds)

    def result(self) -> dict[str, float]:
        """The PCK figures over every batch since the last ``reset()``."""
        if not self._batches:
            raise ValueError("JhmdbPCKAccuracy.result: no batch was given; call update() first")
        pred = np.concatenate([b["pred"] for b in self._batches])
        gt = np.concatenate([b["gt"] for b in self._batches])
        mask = np.concatenate([b["mask"] for b in self._batches])
        out = {}
        for item in ("bbox", "torso"):
            if item not in self.norm_item:
                continue
            norm = np.concatenate([b[item] for b in self._batches])
            per_joint, mean, _ = keypoint_pck_accuracy(pred, gt, mask, self.thr, norm)
            suffix = _SUFFIX[item]
            for group, ids in _GROUPS.items():
                value = per_joint[ids[0]] if len(ids) == 1 else 0.5 * per_joint[ids[0]] + 0.5 * per_joint[ids[1]]
                out[f"{group} {suffix}"] = float(value)
            out[suffix] = float(mean)
        return out
