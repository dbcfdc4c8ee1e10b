"""EPE: mean end-point error in pixels."""

from __future__ import annotations

from typing import Mapping

import gin
import numpy as np

from kpose.evaluation._keypoint_batches import KeypointBatches
from kpose.evaluation.functional.keypoint_eval import keypoint_epe


@gin.register
class EPE:
    """End-point error, as MMPose's ``EPE`` metric: the mean Euclidean distance in pixels
    between predicted and labelled ground-truth keypoints.

    ``update(preds)`` takes numpy arrays with leading batch axis B: ``keypoints``
    (B, K, D), ``gt_keypoints`` (B, K, D) and ``keypoints_visible`` (B, K) (> 0 where
    labelled). ``result()`` returns ``{'EPE': float}``.

    Args:
        name: name of the metric (for logs).
    """

    def __init__(self, name: str = "epe") -> None:
        self.name = name
        self._data = KeypointBatches("EPE")

    def get_config(self) -> dict:
        return dict(name=self.name)

    def reset(self) -> None:
        """Forget every batch seen so far."""
        self._data.reset()

    def update(self, preds: Mapping[str, np.ndarray]) -> None:
        """Add one batch (see the class docstring)."""
        self._data.add(preds)

    def result(self) -> dict[str, float]:
        """The EPE over every batch since the last ``reset()``."""
        cols = self._data.columns()
        return {"EPE": float(keypoint_epe(cols["pred"], cols["gt"], cols["mask"]))}
