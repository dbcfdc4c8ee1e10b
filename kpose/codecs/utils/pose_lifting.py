"""TF helpers shared by the pose-lifting codecs (ImagePoseLifting, VideoPoseLifting)."""

import numbers
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf


def check_root_index(root_index: Union[int, Sequence[int]]) -> List[int]:
    """`root_index` as a non-empty list of non-negative ints (MMPose accepts int or list)."""
    items = [root_index] if isinstance(root_index, numbers.Integral) else root_index
    try:
        items = list(items)
    except TypeError:
        items = []
    if not items or any(isinstance(i, bool) or not isinstance(i, numbers.Integral) or i < 0
                        for i in items):
        raise ValueError(f"root_index must be a non-negative int or a non-empty list of them, "
                         f"received {root_index!r}")
    return [int(i) for i in items]


def check_num_keypoints(num_keypoints: Any, root_index: Sequence[int]) -> int:
    """A positive int larger than every root index."""
    if isinstance(num_keypoints, bool) or not isinstance(num_keypoints, numbers.Integral) \
            or num_keypoints < 1:
        raise ValueError(f"num_keypoints must be a positive int, received {num_keypoints!r}")
    if max(root_index) >= num_keypoints:
        raise ValueError(f"root_index {list(root_index)} must be < num_keypoints "
                         f"({num_keypoints})")
    return int(num_keypoints)


def as_float(x: Any) -> tf.Tensor:
    """float32 tensor of `x`."""
    x = tf.convert_to_tensor(x)
    return x if x.dtype == tf.float32 else tf.cast(x, tf.float32)


def root_of(target: tf.Tensor, root_index: Sequence[int]) -> tf.Tensor:
    """Mean of the root joints: (..., K, C) -> (..., C)."""
    return tf.reduce_mean(tf.gather(target, list(root_index), axis=-2), axis=-2)


def delete_joint(x: tf.Tensor, index: int, axis: int) -> tf.Tensor:
    """`np.delete(x, index, axis)` for a static-size axis."""
    size = x.shape[axis]
    keep = [i for i in range(size) if i != index]
    return tf.gather(x, keep, axis=axis)


def insert_joint(x: tf.Tensor, index: int, value: tf.Tensor) -> tf.Tensor:
    """Inserts `value` (..., C) as joint `index` of `x` (..., K-1, C) -> (..., K, C)."""
    value = tf.broadcast_to(value[..., None, :], tf.concat([tf.shape(x)[:-2], [1],
                                                            tf.shape(x)[-1:]], 0))
    return tf.concat([x[..., :index, :], value, x[..., index:, :]], axis=-2)


def target_weights(lifting_target: tf.Tensor, lifting_target_visible: Optional[Any]
                   ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """(visibility, weights, trajectory_weights) of a (T, K, C) target, as MMPose.

    Without a visibility every joint weighs 1 and the trajectory weights are MMPose's
    `1 / lifting_target[:, 2]` (the third joint's coordinates of each frame, (T, C): a
    quirk kept for parity; datasets always give a visibility).
    """
    if lifting_target_visible is None:
        visible = tf.ones(tf.shape(lifting_target)[:-1], tf.float32)
        return visible, visible, 1.0 / lifting_target[:, 2]
    visible = as_float(lifting_target_visible)
    weights = tf.where(visible > 0.5, 1.0, 0.0)
    return visible, weights, weights


def flatten_keypoints(labels: tf.Tensor) -> tf.Tensor:
    """(T, K, D) -> (T, K * D): channels-last twin of MMPose's (K * D, T) layout.

    Channel k * D + d holds joint k's coordinate d, as in MMPose, so a Conv1D over time
    sees the same channels as MMPose's Conv1d.
    """
    shape = tf.shape(labels)
    return tf.reshape(labels, tf.stack([shape[0], shape[1] * shape[2]]))


def stats_array(name: str, value: Any, num: int) -> Optional[np.ndarray]:
    """A mean/std table reshaped to (1, num, C) float32, or None."""
    if value is None:
        return None
    array = np.asarray(value, np.float32)
    if array.size == 0 or array.size % num:
        raise ValueError(f"{name} must hold {num} x C values, received shape {array.shape}")
    return array.reshape(1, num, -1)
