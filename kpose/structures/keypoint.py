"""Keypoint geometry: flips with left/right swaps.

TF ops (usable in `tf.data` and graphs); eager calls on numpy return numpy.
"""

from typing import Optional, Sequence, Tuple, Union

import tensorflow as tf

from kpose.utils.numpy_io import as_float, numpy_io
from kpose.structures.bbox import _check_direction


@numpy_io
def flip_keypoints(
    keypoints,
    keypoints_visible,
    image_size: Union[Sequence[float], tf.Tensor],
    flip_indices: Union[Sequence[int], tf.Tensor],
    direction: str = "horizontal",
) -> Tuple[tf.Tensor, Optional[tf.Tensor]]:
    """Flip keypoints inside an image and swap the symmetric ones.

    Args:
        keypoints: `(..., K, D)` keypoints; only x and y (the first two of D) change.
        keypoints_visible: `(..., K)` visibility (or `(..., K, V)`), or None.
        image_size: `(w, h)`; x maps to `w - 1 - x` (MMPose's convention).
        flip_indices: `(K,)` index of each keypoint's mirror partner (e.g. left eye ->
            right eye).
        direction: 'horizontal', 'vertical' or 'diagonal'. A diagonal flip (a 180 degree
            turn) keeps left and right, so it does not swap keypoints, as MMPose.

    Returns:
        `(keypoints (..., K, D), keypoints_visible)`; visibility is None if given None.
    """
    _check_direction(direction)
    keypoints = as_float(keypoints)
    rank = keypoints.shape.rank
    if rank is None or rank < 2:
        raise ValueError(f"keypoints must be (..., K, D), got shape {keypoints.shape}")
    k_axis = rank - 2
    if direction != "diagonal":
        flip_indices = tf.cast(flip_indices, tf.int32)
        keypoints = tf.gather(keypoints, flip_indices, axis=k_axis)
        if keypoints_visible is not None:
            keypoints_visible = tf.gather(as_float(keypoints_visible), flip_indices, axis=k_axis)
    elif keypoints_visible is not None:
        keypoints_visible = as_float(keypoints_visible)
    w, h = tf.unstack(as_float(image_size))
    x, y = keypoints[..., 0], keypoints[..., 1]
    if direction in ("horizontal", "diagonal"):
        x = w - 1.0 - x
    if direction in ("vertical", "diagonal"):
        y = h - 1.0 - y
    keypoints = tf.concat([tf.stack([x, y], axis=-1), keypoints[..., 2:]], axis=-1)
    return keypoints, keypoints_visible
