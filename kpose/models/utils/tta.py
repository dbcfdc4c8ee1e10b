"""Test-time augmentation helpers: undo a horizontal input flip on model outputs."""

from typing import Optional, Sequence

import tensorflow as tf

FLIP_MODES = ("heatmap", "udp_combined", "offset")


def flip_heatmaps(
    heatmaps: tf.Tensor,
    flip_indices: Optional[Sequence[int]] = None,
    flip_mode: str = "heatmap",
    shift_heatmap: bool = False,
) -> tf.Tensor:
    """Maps the heatmaps of a horizontally flipped image back to the unflipped image.

    Mirrors each map along W and swaps the channels of symmetric keypoints, as MMPose's
    `flip_heatmaps` does (channels-last here).

    Args:
        heatmaps: (B, H, W, C) outputs computed on flipped images.
        flip_indices: (K,) index of each keypoint's mirror keypoint; None keeps the order.
        flip_mode: "heatmap": C = K heatmaps. "udp_combined": C = 3K, per keypoint
            (heatmap, x offset, y offset); the x offsets change sign. "offset": C = 2K,
            per keypoint (x offset, y offset); the x offsets change sign.
        shift_heatmap: move the result one pixel right (column 0 is kept), which MSRA
            (non-UDP) heatmaps need to line up with the unflipped pass.

    Returns:
        (B, H, W, C) heatmaps aligned with the unflipped image.
    """
    if flip_mode not in FLIP_MODES:
        raise ValueError(f"flip_mode must be one of {FLIP_MODES}, received {flip_mode!r}")
    heatmaps = tf.convert_to_tensor(heatmaps)
    channels = heatmaps.shape[-1]
    if channels is None:
        raise ValueError("flip_heatmaps needs a static channel count, received shape "
                         f"{heatmaps.shape}")
    heatmaps = tf.reverse(heatmaps, axis=[2])
    if flip_mode == "heatmap":
        if flip_indices is not None:
            _check_indices(flip_indices, channels, flip_mode)
            heatmaps = tf.gather(heatmaps, list(flip_indices), axis=-1)
    else:
        # Channels are grouped per keypoint: (B, H, W, K, G).
        group = 3 if flip_mode == "udp_combined" else 2
        if channels % group:
            raise ValueError(f"flip_mode {flip_mode!r} needs channels divisible by {group}, "
                             f"received {channels}")
        shape = tf.shape(heatmaps)
        grouped = tf.reshape(heatmaps, tf.concat([shape[:3], [channels // group, group]], 0))
        if flip_indices is not None:
            _check_indices(flip_indices, channels // group, flip_mode)
            grouped = tf.gather(grouped, list(flip_indices), axis=3)
        # The x offset is channel 1 of a UDP triple and channel 0 of an offset group.
        x_channel = 1 if flip_mode == "udp_combined" else 0
        sign = [1.0] * group
        sign[x_channel] = -1.0
        grouped = grouped * tf.constant(sign, grouped.dtype)
        heatmaps = tf.reshape(grouped, shape)
    if shift_heatmap:
        heatmaps = tf.concat([heatmaps[:, :, :1], heatmaps[:, :, :-1]], axis=2)
    return heatmaps


def _check_indices(flip_indices: Sequence[int], num: int, flip_mode: str) -> None:
    if len(flip_indices) != num:
        raise ValueError(f"flip_mode {flip_mode!r} needs {num} flip_indices, received "
                         f"{len(flip_indices)}")
