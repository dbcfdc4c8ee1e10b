"""Drawing on RGB images: keypoints and skeleton in the metainfo colours, boxes, heatmaps.

Images are (H, W, 3) uint8 RGB; every function returns a new image and leaves its input
unchanged. Colours are RGB, as the metainfo stores them.
"""

from typing import Any, Dict, Optional, Sequence

import cv2
import numpy as np

DEFAULT_KEYPOINT_COLOR = (255, 128, 0)
DEFAULT_LINK_COLOR = (96, 96, 255)
DEFAULT_BBOX_COLOR = (0, 255, 0)


def _check_image(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB, received {image.dtype} "
                         f"{image.shape}")
    return image


def _color(colors: Optional[np.ndarray], index: int, default: Sequence[int]):
    if colors is None or index >= len(colors):
        return tuple(int(c) for c in default)
    return tuple(int(c) for c in colors[index])


def draw_keypoints(image: np.ndarray, keypoints: np.ndarray,
                   keypoint_scores: Optional[np.ndarray] = None, metainfo: Any = None,
                   kpt_thr: float = 0.3, radius: int = 3, thickness: int = 2,
                   draw_skeleton: bool = True) -> np.ndarray:
    """Draws the keypoints (and skeleton links) of several instances.

    Args:
        image: (H, W, 3) uint8 RGB.
        keypoints: (N, K, 2) or (K, 2) in image pixels.
        keypoint_scores: (N, K) or (K,); keypoints scoring below `kpt_thr` (and links
            touching them) are not drawn. None draws all.
        metainfo: a `DatasetMeta` giving `keypoint_colors`, `skeleton_links` and
            `skeleton_link_colors`; None draws points in one colour and no links.
        kpt_thr: score threshold.
        radius: keypoint circle radius in pixels.
        thickness: link line width in pixels.
        draw_skeleton: draw the links.

    Returns:
        A new (H, W, 3) uint8 image.
    """
    out = _check_image(image).copy()
    keypoints = np.asarray(keypoints, np.float32)
    if keypoints.ndim == 2:
        keypoints = keypoints[None]
    if keypoints.ndim != 3 or keypoints.shape[-1] < 2:
        raise ValueError(f"keypoints must be (N, K, 2), received shape {keypoints.shape}")
    n, k = keypoints.shape[:2]
    if keypoint_scores is None:
        scores = np.ones((n, k), np.float32)
    else:
        scores = np.asarray(keypoint_scores, np.float32).reshape(n, k)
    kpt_colors = getattr(metainfo, "keypoint_colors", None)
    links = getattr(metainfo, "skeleton_links", ()) if draw_skeleton else ()
    link_colors = getattr(metainfo, "skeleton_link_colors", None)
    h, w = out.shape[:2]
    for kpts, scs in zip(keypoints, scores):
        visible = (scs >= kpt_thr) & np.all(np.isfinite(kpts[:, :2]), axis=1)
        for li, (a, b) in enumerate(links):
            if a >= k or b >= k or not (visible[a] and visible[b]):
                continue
            pa = tuple(int(round(v)) for v in kpts[a, :2])
            pb = tuple(int(round(v)) for v in kpts[b, :2])
            cv2.line(out, pa, pb, _color(link_colors, li, DEFAULT_LINK_COLOR), thickness,
                     cv2.LINE_AA)
        for j in range(k):
            x, y = kpts[j, :2]
            if not visible[j] or not (0 <= x < w and 0 <= y < h):
                continue
            cv2.circle(out, (int(round(x)), int(round(y))), radius,
                       _color(kpt_colors, j, DEFAULT_KEYPOINT_COLOR), -1, cv2.LINE_AA)
    return out


def draw_bboxes(image: np.ndarray, bboxes: np.ndarray, labels: Optional[Sequence[str]] = None,
                color: Sequence[int] = DEFAULT_BBOX_COLOR, thickness: int = 1) -> np.ndarray:
    """Draws (N, 4) xyxy boxes, each with an optional text label above it."""
    out = _check_image(image).copy()
    bboxes = np.asarray(bboxes, np.float32).reshape(-1, 4)
    color = tuple(int(c) for c in color)
    for i, (x1, y1, x2, y2) in enumerate(bboxes):
        cv2.rectangle(out, (int(round(x1)), int(round(y1))), (int(round(x2)), int(round(y2))),
                      color, thickness)
        if labels is not None and i < len(labels) and labels[i]:
            cv2.putText(out, str(labels[i]), (int(x1), max(int(y1) - 3, 10)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, color, 1, cv2.LINE_AA)
    return out


def draw_heatmap_overlay(image: np.ndarray, heatmaps: np.ndarray, alpha: float = 0.5,
                         colormap: int = cv2.COLORMAP_JET) -> np.ndarray:
    """Blends the per-pixel maximum over keypoints of (H', W', K) heatmaps onto the image.

    The heatmaps are resized to the image (bilinear) and scaled to [0, 1] by their
    maximum; `alpha` is the heatmap's weight.
    """
    out = _check_image(image)
    heatmaps = np.asarray(heatmaps, np.float32)
    if heatmaps.ndim == 2:
        heatmaps = heatmaps[..., None]
    if heatmaps.ndim != 3:
        raise ValueError(f"heatmaps must be (H, W, K), received shape {heatmaps.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], received {alpha}")
    peak = np.clip(heatmaps.max(axis=-1), 0.0, None)
    peak = peak / max(float(peak.max()), 1e-12)
    peak = cv2.resize(peak, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_LINEAR)
    colored = cv2.applyColorMap(np.uint8(np.clip(peak, 0, 1) * 255), colormap)
    colored = cv2.cvtColor(colored, cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(out, 1.0 - alpha, colored, alpha, 0.0)


def draw_instances(image: np.ndarray, instances: Sequence[Dict[str, Any]], metainfo: Any = None,
                   kpt_thr: float = 0.3, show_bbox: bool = True, radius: int = 3,
                   thickness: int = 2) -> np.ndarray:
    """Draws MMPose-style instance dicts (`keypoints`, `keypoint_scores`, optional `bbox`,
    `track_id`) on an image; boxes are labelled with their track id when present."""
    out = _check_image(image).copy()
    if not instances:
        return out
    if show_bbox:
        boxes = [inst["bbox"] for inst in instances if inst.get("bbox") is not None]
        labels = [f"id {inst['track_id']}" if inst.get("track_id") is not None else ""
                  for inst in instances if inst.get("bbox") is not None]
        if boxes:
            out = draw_bboxes(out, np.asarray(boxes), labels)
    keypoints = np.stack([np.asarray(inst["keypoints"], np.float32) for inst in instances])
    scores = np.stack([np.asarray(inst["keypoint_scores"], np.float32) for inst in instances])
    return draw_keypoints(out, keypoints, scores, metainfo, kpt_thr, radius, thickness)
