"""Keypoint distance metrics in numpy: PCK, its AUC, end-point error and NME.

All functions take predictions and ground truth of shape (N, K, D) and a (N, K) mask
that is True where the ground-truth keypoint is labelled; masked-out keypoints do not
count. Distances are computed in float32-or-wider following the inputs' dtypes, and
the per-keypoint averaging follows MMPose's, so the figures match MMPose's.
"""

from __future__ import annotations

import numpy as np


def _check(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray):
    pred = np.asarray(pred)
    gt = np.asarray(gt)
    mask = np.asarray(mask).astype(bool)
    if pred.ndim != 3 or pred.shape != gt.shape:
        raise ValueError(f"pred and gt must both have shape (N, K, D), got {pred.shape} and "
                         f"{gt.shape}")
    if mask.shape != pred.shape[:2]:
        raise ValueError(f"mask must have shape (N, K) = {pred.shape[:2]}, got {mask.shape}")
    return pred, gt, mask


def keypoint_distances(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray,
                       norm_factor: np.ndarray) -> np.ndarray:
    """Normalised keypoint distances.

    Args:
        pred: (N, K, D) predicted keypoints.
        gt: (N, K, D) ground-truth keypoints.
        mask: (N, K) True where the ground truth is labelled.
        norm_factor: (N, D) per-instance divisor of each coordinate. An instance with a
            zero in it is left out; negative entries are replaced by 1e6 (as MMPose).

    Returns:
        (N, K) float32 distances ``|(pred - gt) / norm_factor|``, -1 where left out.
    """
    pred, gt, mask = _check(pred, gt, mask)
    norm = np.array(norm_factor, copy=True)
    if norm.shape != (pred.shape[0], pred.shape[2]):
        raise ValueError(f"norm_factor must have shape (N, D) = "
                         f"{(pred.shape[0], pred.shape[2])}, got {norm.shape}")
    mask = mask & ~(norm == 0).any(axis=1, keepdims=True)
    norm[norm <= 0] = 1e6
    distances = np.full(mask.shape, -1, dtype=np.float32)
    distances[mask] = np.linalg.norm(((pred - gt) / norm[:, None, :])[mask], axis=-1)
    return distances


def _per_keypoint_accuracy(distances: np.ndarray, thr: float) -> np.ndarray:
    """(K,) share of valid distances below ``thr`` per keypoint; -1 where none is valid."""
    valid = distances != -1
    count = valid.sum(axis=0)
    hits = ((distances < float(thr)) & valid).sum(axis=0)
    return np.where(count > 0, hits / np.maximum(count, 1), -1.0)


def _mean_valid(distances: np.ndarray) -> float:
    """Mean of the (N, K) distances that are not -1, summed keypoint-major like MMPose
    (the float32 sum depends on the order)."""
    valid = distances.T[distances.T != -1]
    return valid.sum() / max(1, len(valid))


def keypoint_pck_accuracy(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, thr: float,
                          norm_factor: np.ndarray) -> tuple[np.ndarray, float, int]:
    """Percentage of Correct Keypoints.

    A keypoint is correct when its normalised distance is below ``thr``.

    Args:
        pred: (N, K, D) predicted keypoints.
        gt: (N, K, D) ground-truth keypoints.
        mask: (N, K) True where the ground truth is labelled.
        thr: threshold on the normalised distance (0.05, 0.1, 0.2, ...).
        norm_factor: (N, D) per-instance normaliser, e.g. the bbox size twice.

    Returns:
        ``(acc, avg_acc, cnt)``: (K,) accuracy per keypoint (-1 where no instance has
        it labelled), the mean over the ``cnt`` keypoints that have a value (0 if none).
    """
    acc = _per_keypoint_accuracy(keypoint_distances(pred, gt, mask, norm_factor), thr)
    valid_acc = acc[acc >= 0]
    cnt = len(valid_acc)
    avg_acc = valid_acc.mean() if cnt > 0 else 0.0
    return acc, avg_acc, cnt


def keypoint_auc(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, norm_factor: float,
                 num_thrs: int = 20) -> float:
    """Area under the PCK curve for thresholds 0, 1/num_thrs, ..., (num_thrs-1)/num_thrs.

    Args:
        pred: (N, K, D) predicted keypoints.
        gt: (N, K, D) ground-truth keypoints.
        mask: (N, K) True where the ground truth is labelled.
        norm_factor: one normaliser for every instance and coordinate (e.g. 30 px).
        num_thrs: number of thresholds.

    Returns:
        The mean PCK over the thresholds.
    """
    if num_thrs < 1:
        raise ValueError(f"num_thrs must be >= 1, got {num_thrs}")
    pred = np.asarray(pred)
    norm = np.tile(np.array([[norm_factor] * pred.shape[-1]]), (pred.shape[0], 1))
    auc = 0
    for i in range(num_thrs):
        _, avg_acc, _ = keypoint_pck_accuracy(pred, gt, mask, i / num_thrs, norm)
        auc += 1.0 / num_thrs * avg_acc
    return auc


def keypoint_nme(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray,
                 normalize_factor: np.ndarray) -> float:
    """Normalised mean error over the labelled keypoints.

    Args:
        pred: (N, K, D) predicted keypoints.
        gt: (N, K, D) ground-truth keypoints.
        mask: (N, K) True where the ground truth is labelled.
        normalize_factor: (N, D) per-instance normaliser (e.g. inter-ocular distance).

    Returns:
        The mean normalised distance (0 when nothing is labelled).
    """
    return _mean_valid(keypoint_distances(pred, gt, mask, normalize_factor))


def keypoint_epe(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray) -> float:
    """End-point error: the mean pixel distance over the labelled keypoints.

    Args:
        pred: (N, K, D) predicted keypoints.
        gt: (N, K, D) ground-truth keypoints.
        mask: (N, K) True where the ground truth is labelled.

    Returns:
        The mean distance (0 when nothing is labelled).
    """
    pred = np.asarray(pred)
    ones = np.ones((pred.shape[0], pred.shape[2]), dtype=np.float32)
    return _mean_valid(keypoint_distances(pred, gt, mask, ones))
