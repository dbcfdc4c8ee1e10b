"""Visualisation: keypoints and skeleton in the metainfo colours, boxes, heatmap overlays."""

from kpose.visualization.draw import (draw_bboxes, draw_heatmap_overlay, draw_instances,
                                      draw_keypoints)

__all__ = ["draw_keypoints", "draw_bboxes", "draw_heatmap_overlay", "draw_instances"]
