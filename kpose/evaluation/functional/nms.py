"""Object Keypoint Similarity (OKS) and OKS-based non-maximum suppression, in numpy.

The instance format follows MMPose's ``kpts_db``: a list of dicts, one per instance of
one image, each holding

- ``keypoints``: (K, 3) array of x, y and a per-keypoint score or visibility (any
  shape that flattens to K*3 works),
- ``score``: the instance score (or a (K,) array of per-keypoint scores when
  ``score_per_joint=True``),
- ``area``: the instance area in pixels^2, which sets the OKS scale.

The arithmetic and dtypes mirror MMPose's (OKS values are float32, compared with the
threshold in float32), so kept indices match MMPose's exactly.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

# COCO's per-keypoint OKS sigmas (17 body keypoints), used when none are given.
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07,
                        .87, .87, .89, .89]) / 10.0


def _as_sigmas(sigmas: Optional[np.ndarray], num_keypoints: int) -> np.ndarray:
    sigmas = COCO_SIGMAS if sigmas is None else np.asarray(sigmas)
    if sigmas.shape != (num_keypoints,):
        raise ValueError(f"sigmas must have shape (K,) = ({num_keypoints},) to match the "
                         f"keypoints, got shape {sigmas.shape}")
    return sigmas


def oks_iou(g: np.ndarray, d: np.ndarray, a_g: float, a_d: np.ndarray,
            sigmas: Optional[np.ndarray] = None,
            vis_thr: Optional[float] = None) -> np.ndarray:
    """OKS between one instance and N others.

    Args:
        g: (K*3,) keypoints of the reference instance, interleaved x, y, v.
        d: (N, K*3) keypoints of the other instances.
        a_g: area of the reference instance.
        a_d: (N,) areas of the other instances; the OKS scale is the mean of the two.
        sigmas: (K,) per-keypoint sigmas; COCO's 17 when None.
        vis_thr: when given, only keypoints whose v exceeds it in both instances count;
            an instance pair with no such keypoint gets OKS 0.

    Returns:
        (N,) float32 OKS values.
    """
    g = np.asarray(g)
    d = np.asarray(d)
    if d.ndim != 2 or g.ndim != 1 or d.shape[1] != g.shape[0] or g.shape[0] % 3:
        raise ValueError(f"oks_iou expects g of shape (K*3,) and d of shape (N, K*3), got "
                         f"g {g.shape} and d {d.shape}")
    a_d = np.asarray(a_d)
    if a_d.shape != (d.shape[0],):
        raise ValueError(f"a_d must have shape (N,) = ({d.shape[0]},), got {a_d.shape}")
    sigmas = _as_sigmas(sigmas, g.shape[0] // 3)
    variances = (sigmas * 2) ** 2
    dx = d[:, 0::3] - g[0::3]
    dy = d[:, 1::3] - g[1::3]
    # same operation order as MMPose so the float results agree bit for bit
    scale = (a_g + a_d) / 2 + np.spacing(1)
    e = (dx ** 2 + dy ** 2) / variances / scale[:, None] / 2
    if vis_thr is None:
        return (np.exp(-e).sum(axis=1) / e.shape[1]).astype(np.float32)
    used = (g[2::3] > vis_thr) & (d[:, 2::3] > vis_thr)
    count = used.sum(axis=1)
    total = np.where(used, np.exp(-e), 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0).astype(np.float32)


def _unpack(kpts_db: Sequence[Mapping], score_per_joint: bool):
    for i, inst in enumerate(kpts_db):
        for key in ("keypoints", "score", "area"):
            if key not in inst:
                raise ValueError(f"kpts_db[{i}] has no '{key}' (keys: {sorted(inst)})")
    if score_per_joint:
        scores = np.array([np.asarray(k["score"]).mean() for k in kpts_db])
    else:
        scores = np.array([k["score"] for k in kpts_db])
    kpts = np.array([np.asarray(k["keypoints"]).reshape(-1) for k in kpts_db])
    areas = np.array([k["area"] for k in kpts_db])
    if kpts.ndim != 2 or kpts.shape[1] % 3:
        raise ValueError("every kpts_db['keypoints'] must flatten to K*3 values (x, y, v), "
                         f"got a stack of shape {kpts.shape}")
    if scores.ndim != 1:
        raise ValueError("kpts_db['score'] must be a scalar per instance (pass "
                         f"score_per_joint=True for (K,) scores), got shape {scores.shape[1:]}")
    return kpts, scores, areas


def _oks_matrix(kpts: np.ndarray, areas: np.ndarray, sigmas, vis_thr) -> np.ndarray:
    """(N, N) OKS of every pair; OKS is symmetric, so one pass serves the greedy loop."""
    return np.stack([oks_iou(kpts[i], kpts, areas[i], areas, sigmas, vis_thr)
                     for i in range(len(kpts))])


def oks_nms(kpts_db: Sequence[Mapping], thr: float, sigmas: Optional[np.ndarray] = None,
            vis_thr: Optional[float] = None, score_per_joint: bool = False) -> np.ndarray:
    """Greedy OKS-NMS over the instances of one image.

    Takes the highest-scoring instance, drops every remaining one whose OKS with it
    exceeds ``thr``, and repeats.

    Args:
        kpts_db: N instance dicts (see the module docstring).
        thr: OKS above which an instance is suppressed.
        sigmas: (K,) per-keypoint sigmas; COCO's 17 when None.
        vis_thr: see :func:`oks_iou`.
        score_per_joint: ``score`` holds (K,) keypoint scores, averaged into one.

    Returns:
        int array of kept indices into ``kpts_db``, best first.
    """
    if len(kpts_db) == 0:
        return np.zeros((0,), dtype=np.int64)
    kpts, scores, areas = _unpack(kpts_db, score_per_joint)
    oks = _oks_matrix(kpts, areas, sigmas, vis_thr)
    thr = float(thr)  # a Python float compares in the OKS dtype (float32), as MMPose
    order = scores.argsort()[::-1]
    keep = []
    while len(order) > 0:
        best = order[0]
        keep.append(best)
        rest = order[1:]
        order = rest[oks[best, rest] <= thr]
    return np.array(keep, dtype=np.int64)


def soft_oks_nms(kpts_db: Sequence[Mapping], thr: float, max_dets: int = 20,
                 sigmas: Optional[np.ndarray] = None, vis_thr: Optional[float] = None,
                 score_per_joint: bool = False) -> np.ndarray:
    """Soft OKS-NMS (Gaussian decay) over the instances of one image.

    Instead of dropping overlapping instances, each pick multiplies the remaining
    scores by ``exp(-oks^2 / thr)`` and re-ranks them; picking stops after
    ``max_dets`` instances.

    Args:
        kpts_db: N instance dicts (see the module docstring).
        thr: width of the Gaussian decay.
        max_dets: the most instances to keep.
        sigmas: (K,) per-keypoint sigmas; COCO's 17 when None.
        vis_thr: see :func:`oks_iou`.
        score_per_joint: ``score`` holds (K,) keypoint scores, averaged into one.

    Returns:
        int array of at most ``max_dets`` kept indices into ``kpts_db``, in pick order.
    """
    if max_dets < 0:
        raise ValueError(f"max_dets must be >= 0, got {max_dets}")
    if len(kpts_db) == 0:
        return np.zeros((0,), dtype=np.intp)
    kpts, scores, areas = _unpack(kpts_db, score_per_joint)
    oks = _oks_matrix(kpts, areas, sigmas, vis_thr)
    thr = float(thr)
    order = scores.argsort()[::-1]
    scores = scores[order]
    keep = []
    while len(order) > 0 and len(keep) < max_dets:
        best = order[0]
        keep.append(best)
        order = order[1:]
        scores = scores[1:] * np.exp(-oks[best, order] ** 2 / thr)
        rank = scores.argsort()[::-1]
        order = order[rank]
        scores = scores[rank]
    return np.array(keep, dtype=np.intp)
