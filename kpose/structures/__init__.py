"""Geometry: bounding-box formats, warp matrices, keypoint flips (TF ops, no I/O)."""

from kpose.structures.bbox import (
    bbox_cs2xywh,
    bbox_cs2xyxy,
    bbox_xywh2cs,
    bbox_xywh2xyxy,
    bbox_xyxy2cs,
    bbox_xyxy2xywh,
    fix_aspect_ratio,
    flip_bbox,
)
from kpose.structures.keypoint import flip_keypoints
from kpose.structures.warp import (
    compose_affine,
    get_flip_matrix,
    get_udp_warp_matrix,
    get_warp_matrix,
    invert_affine,
    transform_points,
)

__all__ = [
    "bbox_cs2xywh",
    "bbox_cs2xyxy",
    "bbox_xywh2cs",
    "bbox_xywh2xyxy",
    "bbox_xyxy2cs",
    "bbox_xyxy2xywh",
    "compose_affine",
    "fix_aspect_ratio",
    "flip_bbox",
    "flip_keypoints",
    "get_flip_matrix",
    "get_udp_warp_matrix",
    "get_warp_matrix",
    "invert_affine",
    "transform_points",
]
