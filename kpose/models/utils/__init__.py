"""Model helpers: test-time flips and training-time accuracy, in TF ops."""

from kpose.models.utils.accuracy import heatmap_argmax, pose_pck_accuracy
from kpose.models.utils.tta import flip_heatmaps

__all__ = ["flip_heatmaps", "heatmap_argmax", "pose_pck_accuracy"]
