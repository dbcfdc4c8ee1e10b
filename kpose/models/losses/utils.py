"""Helpers shared by kpose's losses: argument checks, weight broadcasting, repr."""

from typing import Any, Optional, Sequence

import tensorflow as tf

REDUCTIONS = ("mean", "sum", "none")


def check_number(name: str, value: Any, positive: bool = False) -> float:
    """Returns `value` as a float; raises ValueError for non-numbers (and bools)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ValueError(f"{name} must be a number, received {value!r}")
    if positive and not value > 0:
        raise ValueError(f"{name} must be > 0, received {value!r}")
    return float(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """Returns `value` if it is one of `choices`, else raises ValueError."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, received {value!r}")
    return value


def require_weights(weights: Optional[Any], owner: str) -> tf.Tensor:
    """Casts the keypoint weights to float32; they must be given when used."""
    if weights is None:
        raise ValueError(f"{owner}(use_target_weight=True) needs target_weights, "
                         "received None")
    return tf.cast(weights, tf.float32)


def expand_trailing(weights: tf.Tensor, rank: int) -> tf.Tensor:
    """Appends size-1 axes to `weights` until it has `rank` axes.

    Regression losses take (B, K) keypoint weights for (B, K, D) coordinates, where MMPose's
    heads pass `weights.unsqueeze(-1)`; (B, K, 1) and (B, K, D) pass through unchanged.
    """
    if weights.shape.rank > rank:
        raise ValueError(f"target_weights must have at most {rank} axes, received shape "
                         f"{weights.shape}")
    for _ in range(rank - weights.shape.rank):
        weights = weights[..., None]
    return weights


def channels_last_weights(weights: tf.Tensor, rank: int) -> tf.Tensor:
    """Broadcasts keypoint weights over channels-last maps of `rank` axes.

    (B, K) becomes (B, 1, ..., 1, K) (the keypoint is the last axis, not the second as in
    MMPose's NCHW maps), (B,) becomes (B, 1, ..., 1); full-rank weights pass through.
    """
    if weights.shape.rank == rank:
        return weights
    middle = [1] * (rank - 2)
    if weights.shape.rank == 2:
        shape = tf.concat([tf.shape(weights)[:1], middle, tf.shape(weights)[1:]], 0)
        return tf.reshape(weights, shape)
    if weights.shape.rank == 1:
        return tf.reshape(weights, tf.concat([tf.shape(weights), middle, [1]], 0))
    raise ValueError(f"target_weights must be (B,), (B, K) or of rank {rank}, received "
                     f"shape {weights.shape}")


def format_repr(obj: Any) -> str:
    """`ClassName(arg=value, ...)` from the object's config."""
    config = {k: v for k, v in obj.get_config().items()
              if k not in ("name", "trainable", "dtype")}
    args = ", ".join(f"{k}={v!r}" for k, v in config.items())
    return f"{type(obj).__name__}({args})"


def weighted_coordinates(output: Any, target: Any, target_weights: Optional[Any],
                         use_target_weight: bool, owner: str):
    """Casts (B, K, D) coordinates to float32 and, if asked, weights both.

    MMPose's regression losses multiply prediction and target by the weights before the
    difference; (B, K) weights are broadcast over D.

    Returns:
        (output, target) as float32 tensors.
    """
    output = tf.cast(output, tf.float32)
    target = tf.cast(target, tf.float32)
    if output.shape.rank is not None and output.shape.rank < 2:
        raise ValueError(f"output must be (B, K, D), received shape {output.shape}")
    if use_target_weight:
        weights = expand_trailing(require_weights(target_weights, owner), output.shape.rank)
        output, target = output * weights, target * weights
    return output, target
