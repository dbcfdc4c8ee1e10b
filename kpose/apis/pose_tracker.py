"""PoseTracker: track ids across video frames by box IoU or keypoint OKS matching."""

from typing import Any, Dict, List, Optional, Sequence

import gin
import numpy as np

from kpose.apis.one_euro_filter import OneEuroFilter

MATCHINGS = ("iou", "oks")


def bbox_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of xyxy boxes a (N, 4) and b (M, 4) -> (N, M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=-1)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=-1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=-1)
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-12)


def keypoint_oks(a: np.ndarray, b: np.ndarray, sigmas: np.ndarray, areas: np.ndarray,
                 visible: Optional[np.ndarray] = None) -> np.ndarray:
    """COCO OKS between keypoints a (N, K, 2) and b (M, K, 2) -> (N, M).

    `areas` (M,) are b's object areas; `visible` (M, K) masks b's keypoints (all if None).
    """
    a = np.asarray(a, np.float64)[:, None]
    b = np.asarray(b, np.float64)[None]
    var = (2.0 * np.asarray(sigmas, np.float64)) ** 2
    d2 = np.sum((a - b) ** 2, axis=-1)  # (N, M, K)
    e = d2 / (2.0 * var[None, None] * (np.asarray(areas, np.float64)[None, :, None] + np.spacing(1)))
    vis = np.ones(d2.shape[1:], bool) if visible is None else np.asarray(visible, bool)
    num = np.maximum(vis.sum(-1), 1)
    return np.sum(np.exp(-e) * vis[None], axis=-1) / num[None]


@gin.register
class PoseTracker:
    """Gives each instance a `track_id` consistent across frames, optionally smoothed.

    Instances of a frame are matched greedily (highest similarity first) to the tracks of
    the previous frame, by box IoU or keypoint OKS; a match needs similarity at least
    `threshold`. Unmatched instances start new tracks; tracks unseen for more than
    `max_age` frames are dropped. With `smoothing`, each track's keypoints run through its
    own `OneEuroFilter` (built by calling `smoothing`, e.g. `OneEuroFilter` or a
    `functools.partial` of it).

    Args:
        matching: "iou" or "oks".
        threshold: minimum IoU / OKS for a match.
        sigmas: (K,) OKS sigmas (the metainfo's); needed for "oks".
        kpt_thr: keypoints scoring below this are ignored by OKS.
        max_age: frames a track survives without a match.
        smoothing: factory of a per-track keypoint filter; None keeps raw keypoints.
    """

    def __init__(self, matching: str = "iou", threshold: float = 0.3,
                 sigmas: Optional[Sequence[float]] = None, kpt_thr: float = 0.3,
                 max_age: int = 1, smoothing: Optional[Any] = None) -> None:
        if matching not in MATCHINGS:
            raise ValueError(f"matching must be one of {MATCHINGS}, received {matching!r}")
        if matching == "oks" and (sigmas is None or len(sigmas) == 0):
            raise ValueError("matching='oks' needs the metainfo's OKS sigmas, received "
                             f"{sigmas!r}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], received {threshold!r}")
        if max_age < 0:
            raise ValueError(f"max_age must be >= 0, received {max_age!r}")
        if smoothing is not None and not callable(smoothing):
            raise ValueError(f"smoothing must be a filter factory (callable), received "
                             f"{smoothing!r}")
        self.matching = matching
        self.threshold = float(threshold)
        self.sigmas = None if sigmas is None else np.asarray(sigmas, np.float64)
        self.kpt_thr = float(kpt_thr)
        self.max_age = int(max_age)
        self.smoothing = smoothing
        self.reset()

    def reset(self) -> None:
        """Forgets all tracks (call between videos)."""
        self._tracks: Dict[int, Dict[str, Any]] = {}
        self._next_id = 0
        self._frame = 0

    def _similarity(self, instances: List[Dict[str, Any]], tracks: List[Dict[str, Any]]):
        if self.matching == "iou":
            return bbox_iou(np.stack([i["bbox"] for i in instances]),
                            np.stack([t["bbox"] for t in tracks]))
        boxes = np.stack([t["bbox"] for t in tracks]).astype(np.float64)
        areas = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)
        visible = np.stack([t["keypoint_scores"] >= self.kpt_thr for t in tracks])
        return keypoint_oks(np.stack([i["keypoints"] for i in instances]),
                            np.stack([t["keypoints"] for t in tracks]), self.sigmas, areas,
                            visible)

    def update(self, instances: List[Dict[str, Any]],
               timestamp: Optional[float] = None) -> List[Dict[str, Any]]:
        """Assigns `track_id` to the instances of the next frame (and smooths them).

        Args:
            instances: dicts with `keypoints` (K, 2), `keypoint_scores` (K,), `bbox` (4,).
            timestamp: the frame's time in seconds, for the filters (None: 1 / freq steps).

        Returns:
            New dicts, each with `track_id` (int) and, when smoothing, smoothed `keypoints`.
        """
        self._frame += 1
        out = [dict(inst) for inst in instances]
        live = [tid for tid, t in self._tracks.items() if self._frame - t["last"] <= self.max_age + 1]
        self._tracks = {tid: self._tracks[tid] for tid in live}
        assigned: Dict[int, int] = {}
        if out and live:
            sim = self._similarity(out, [self._tracks[t] for t in live])
            order = np.dstack(np.unravel_index(np.argsort(-sim, axis=None), sim.shape))[0]
            used = set()
            for i, j in order:
                if sim[i, j] < self.threshold:
                    break
                if i in assigned or j in used:
                    continue
                assigned[i] = live[j]
                used.add(j)
        for i, inst in enumerate(out):
            tid = assigned.get(i)
            if tid is None:
                tid = self._next_id
                self._next_id += 1
                self._tracks[tid] = {"filter": self.smoothing() if self.smoothing else None}
            track = self._tracks[tid]
            keypoints = np.asarray(inst["keypoints"], np.float64)
            if track["filter"] is not None:
                keypoints = track["filter"](keypoints, timestamp)
                inst["keypoints"] = keypoints.astype(np.float32)
            track.update(bbox=np.asarray(inst["bbox"], np.float64), keypoints=keypoints,
                         keypoint_scores=np.asarray(inst["keypoint_scores"], np.float64),
                         last=self._frame)
            inst["track_id"] = int(tid)
        return out
