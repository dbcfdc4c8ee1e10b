"""Codecs: keypoints <-> learning targets (heatmaps, ...), one codec a file."""

from kpose.codecs.msra_heatmap import MSRAHeatmap

__all__ = ["MSRAHeatmap"]
