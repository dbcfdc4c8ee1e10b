"""AUC: area under the PCK curve over a range of pixel thresholds."""

from __future__ import annotations

from typing import Mapping

import gin
import numpy as np

from kpose.evaluation._keypoint_batches import KeypointBatches
from kpose.evaluation.functional.keypoint_eval import keypoint_auc


@gin.register
class AUC:
    """Area under the PCK curve, as MMPose's ``AUC`` metric (hand datasets).

    PCK is computed at the thresholds ``i / num_thrs * norm_factor`` pixels for
    ``i = 0 .. num_thrs - 1`` and averaged.

    ``update(preds)`` takes numpy arrays with leading batch axis B: ``keypoints``
    (B, K, D), ``gt_keypoints`` (B, K, D) and ``keypoints_visible`` (B, K) (> 0 where
    labelled). ``result()`` returns ``{'AUC': float}``.

    Args:
        norm_factor: the largest threshold, in pixels.
        num_thrs: number of thresholds.
        name: name of the metric (for logs).
    """

    def __init__(self, norm_factor: float = 30.0, num_thrs: int = 20, name: str = "auc") -> None:
        if isinstance(norm_factor, (bool, str)) or not np.isscalar(norm_factor) or not norm_factor > 0:
            raise ValueError(f"norm_factor must be a positive number, got {norm_factor!r}")
        if isinstance(num_thrs, bool) or not isinstance(num_thrs, (int, np.integer)) or num_thrs < 1:
            raise ValueError(f"num_thrs must be a positive int, got {num_thrs!r}")
        self.norm_factor = float(norm_factor)
        self.num_thrs = int(num_thrs)
        self.name = name
        self._data = KeypointBatches("AUC")

    def get_config(self) -> dict:
        return dict(norm_factor=self.norm_factor, num_thrs=self.num_thrs, name=self.name)

    def reset(self) -> None:
        """Forget every batch seen so far."""
        self._data.reset()

    def update(self, preds: Mapping[str, np.ndarray]) -> None:
        """Add one batch (see the class docstring)."""
        self._data.add(preds)

    def result(self) -> dict[str, float]:
        """The AUC over every batch since the last ``reset()``."""
        cols = self._data.columns()
        return {"AUC": float(keypoint_auc(cols["pred"], cols["gt"], cols["mask"], self.norm_factor,
                                          self.num_thrs))}
