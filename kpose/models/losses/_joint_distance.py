"""Joint distances shared by the pose-lifting losses and heads (private)."""

from typing import Any, Optional

import tensorflow as tf

from kpose.models.losses import utils


def safe_norm(x: tf.Tensor) -> tf.Tensor:
    """L2 norm over the last axis whose gradient at 0 is 0 (as torch.norm), not NaN."""
    squared = tf.reduce_sum(tf.square(x), axis=-1)
    positive = squared > 0
    return tf.where(positive, tf.sqrt(tf.where(positive, squared, 1.0)), 0.0)


def weighted(x: tf.Tensor, weights: Optional[Any], use_target_weight: bool,
             owner: str) -> tf.Tensor:
    """`x * weights` when `use_target_weight` (weights required), else `x`."""
    if not use_target_weight:
        return x
    return x * utils.require_weights(weights, owner)
