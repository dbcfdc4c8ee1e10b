"""Heads: feature maps -> outputs, with `loss(outputs, targets)` and `flip_back`."""

from kpose.models.heads.dsnt_head import DSNTHead
from kpose.models.heads.heatmap_head import HeatmapHead
from kpose.models.heads.integral_regression_head import IntegralRegressionHead
from kpose.models.heads.regression_head import RegressionHead
from kpose.models.heads.rle_head import RLEHead
from kpose.models.heads.rtmcc_head import RTMCCHead
from kpose.models.heads.simcc_head import SimCCHead
from kpose.models.heads.vis_predict_head import VisPredictHead
from kpose.models.heads.temporal_regression_head import TemporalRegressionHead
from kpose.models.heads.trajectory_regression_head import TrajectoryRegressionHead
from kpose.models.heads.ae_head import AssociativeEmbeddingHead

__all__ = [
    "DSNTHead",
    "HeatmapHead",
    "IntegralRegressionHead",
    "RLEHead",
    "RTMCCHead",
    "RegressionHead",
    "SimCCHead",
    "VisPredictHead", "TemporalRegressionHead", "TrajectoryRegressionHead", "AssociativeEmbeddingHead"]
