"""Pieces shared by the SimCC-style heads (`SimCCHead`, `RTMCCHead`)."""

import numbers
from typing import Any, Dict, Mapping, Tuple

import keras
import tensorflow as tf

from kpose.models.utils.accuracy import simcc_pck_accuracy


def check_simcc_geometry(input_size: Any, in_featuremap_size: Any,
                         simcc_split_ratio: Any) -> Tuple:
    """Validates the geometry arguments shared by the SimCC heads.

    Args:
        input_size: (w, h) of the model input, pixels.
        in_featuremap_size: (w, h) of the feature map the head reads.
        simcc_split_ratio: bins per input pixel.

    Returns:
        `(input_size, in_featuremap_size, simcc_split_ratio, (Wx, Wy))` normalised to
        tuples / float, with the bin counts truncated as MMPose's heads do.
    """
    for name, size in (("input_size", input_size), ("in_featuremap_size",
                                                    in_featuremap_size)):
        if (not isinstance(size, (list, tuple)) or len(size) != 2
                or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                       for v in size)):
            raise ValueError(f"{name} must be two positive ints (w, h), received {size!r}")
    if (isinstance(simcc_split_ratio, bool)
            or not isinstance(simcc_split_ratio, numbers.Real) or not simcc_split_ratio > 0):
        raise ValueError(f"simcc_split_ratio must be positive, received "
                         f"{simcc_split_ratio!r}")
    # Bins per axis, truncated as MMPose's heads do.
    bins = (int(input_size[0] * simcc_split_ratio), int(input_size[1] * simcc_split_ratio))
    if min(bins) < 1:
        raise ValueError(f"input_size * simcc_split_ratio gives no bins, received "
                         f"{input_size} x {simcc_split_ratio}")
    return tuple(input_size), tuple(in_featuremap_size), float(simcc_split_ratio), bins


def flatten_maps(x):
    """(B, h, w, K) -> (B, K, h * w), each map flattened row by row as PyTorch's
    `flatten(2)` of (B, K, h, w), so converted linear weights line up."""
    _, h, w, k = x.shape
    x = keras.ops.transpose(x, (0, 3, 1, 2))
    # Static h * w when known, so the linear layer after it can build.
    if h is not None and w is not None:
        return keras.ops.reshape(x, (-1, k, h * w))
    return keras.ops.reshape(x, (keras.ops.shape(x)[0], k, -1))


def simcc_loss(loss_module, outputs, targets: Mapping[str, Any], simcc_split_ratio: float,
               head_name: str) -> Dict[str, tf.Tensor]:
    """The loss dict of a SimCC head, as MMPose's SimCC heads compute it.

    Args:
        loss_module: called as `loss((pred_x, pred_y), (gt_x, gt_y), keypoint_weights)`.
        outputs: `(pred_x (B, K, Wx), pred_y (B, K, Wy))`.
        targets: "keypoint_x_labels", "keypoint_y_labels", "keypoint_weights" (B, K).
        simcc_split_ratio: bins per input pixel, for the accuracy.
        head_name: named in the error for missing targets.

    Returns:
        {"loss_kpt": scalar loss, "acc_pose": scalar PCK@0.05 of the argmax bins over
        keypoints with weight > 0, without gradient}.
    """
    keys = ("keypoint_x_labels", "keypoint_y_labels", "keypoint_weights")
    missing = [k for k in keys if k not in targets]
    if missing:
        raise ValueError(f"{head_name}.loss needs targets {missing}, received keys "
                         f"{sorted(targets)}")
    pred_x, pred_y = outputs
    gt = (targets["keypoint_x_labels"], targets["keypoint_y_labels"])
    weights = targets["keypoint_weights"]
    loss_kpt = loss_module((pred_x, pred_y), gt, weights)
    _, acc_pose, _ = simcc_pck_accuracy((pred_x, pred_y), gt, simcc_split_ratio,
                                        weights > 0)
    return {"loss_kpt": loss_kpt, "acc_pose": acc_pose}
