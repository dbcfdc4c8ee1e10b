"""Pieces shared by the COCO writers."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from kpose.datasets.metainfo.dataset_meta import DatasetMeta

# COCO's rule for annotations without a segmentation (MMPose's, and the synthetic set's):
# the person covers about 0.53 of its box.
AREA_FACTOR = 0.53


def category(meta: DatasetMeta, name: str, category_id: int = 1) -> dict[str, Any]:
    """A COCO keypoint category: keypoint names and 1-based skeleton links."""
    return {"id": int(category_id), "name": name, "supercategory": name,
            "keypoints": list(meta.keypoint_names),
            "skeleton": [[int(a) + 1, int(b) + 1] for a, b in meta.skeleton_links]}


def annotation(ann_id: int, image_id: int, keypoints: np.ndarray, bbox_xyxy: "np.ndarray | None",
               category_id: int = 1) -> dict[str, Any]:
    """A COCO person annotation from keypoints (K, 3) [x, y, v] and a box (xyxy, or None for
    the tight box of the labelled keypoints)."""
    keypoints = np.asarray(keypoints, np.float64).reshape(-1, 3)
    labelled = keypoints[:, 2] > 0
    if bbox_xyxy is None:
        if labelled.any():
            lo, hi = keypoints[labelled, :2].min(axis=0), keypoints[labelled, :2].max(axis=0)
        else:
            lo = hi = np.zeros(2)
        bbox_xyxy = np.concatenate([lo, hi])
    x1, y1, x2, y2 = (float(v) for v in bbox_xyxy)
    w, h = max(0.0, x2 - x1), max(0.0, y2 - y1)
    flat = []
    for x, y, v in keypoints:
        flat += [0.0, 0.0, 0] if v <= 0 else [_round(x), _round(y), int(v)]
    return {"id": int(ann_id), "image_id": int(image_id), "category_id": int(category_id),
            "keypoints": flat, "num_keypoints": int(labelled.sum()),
            "bbox": [_round(x1), _round(y1), _round(w), _round(h)],
            "area": _round(AREA_FACTOR * w * h), "iscrowd": 0}


def _round(value: float) -> float:
    return round(float(value), 3)


def write_json(coco: dict, path: str) -> str:
    """Writes ``coco`` to ``path`` (folders created, atomically replaced); returns the path."""
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(coco, f)
    os.replace(tmp, path)
    return path
