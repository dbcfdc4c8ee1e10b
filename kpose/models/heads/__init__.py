"""Heads: feature maps -> outputs, with `loss(outputs, targets)` and `flip_back`."""

from kpose.models.heads.heatmap_head import HeatmapHead

__all__ = ["HeatmapHead"]
