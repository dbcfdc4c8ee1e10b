"""Test-time augmentation helpers: undo a horizontal input flip on model outputs.

One helper per output type, as MMPose: `flip_heatmaps` (heatmaps, with or without the
one-pixel shift; UDP combined maps; offset maps), `flip_vectors` (SimCC x / y
distributions), `flip_coordinates` (normalised regression coordinates). A head's
`flip_back` calls the one matching its outputs.
"""

from typing import Optional, Sequence, Tuple

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


def flip_vectors(
    x_labels: tf.Tensor,
    y_labels: tf.Tensor,
    flip_indices: Sequence[int],
) -> Tuple[tf.Tensor, tf.Tensor]:
    """Maps SimCC outputs of a horizontally flipped image back, as MMPose's
    `flip_vectors`: keypoints are swapped with their mirrors, the x distributions are
    reversed along their bins, the y distributions are left as they are.

    Args:
        x_labels: (B, K, Wx) x distributions computed on flipped images.
        y_labels: (B, K, Wy) y distributions.
        flip_indices: (K,) index of each keypoint's mirror keypoint.

    Returns:
        (x_labels, y_labels) aligned with the unflipped image.
    """
    x_labels = tf.convert_to_tensor(x_labels)
    y_labels = tf.convert_to_tensor(y_labels)
    if x_labels.shape.rank != 3 or y_labels.shape.rank != 3:
        raise ValueError(f"flip_vectors needs (B, K, L) inputs, received shapes "
                         f"{x_labels.shape} and {y_labels.shape}")
    for labels in (x_labels, y_labels):
        if labels.shape[1] is not None:
            _check_indices(flip_indices, labels.shape[1], "vectors")
    x_labels = tf.reverse(tf.gather(x_labels, list(flip_indices), axis=1), axis=[2])
    y_labels = tf.gather(y_labels, list(flip_indices), axis=1)
    return x_labels, y_labels


def flip_coordinates(
    coords: tf.Tensor,
    flip_indices: Sequence[int],
    shift_coords: bool = True,
    input_size: Optional[Sequence[int]] = None,
) -> tf.Tensor:
    """Maps normalised coordinates predicted on flipped images back, as MMPose's
    `flip_coordinates`: `x -> 1 - x` (minus one pixel, `1 / w`, with `shift_coords`),
    then keypoints are swapped with their mirrors. Entries after x (y, sigmas) are kept.

    Args:
        coords: (B, K, D) coordinates normalised by the input size (x first).
        flip_indices: (K,) index of each keypoint's mirror keypoint.
        shift_coords: shift by one input pixel so the flipped pass lines up with the
            unflipped one (MMPose's default in regression heads).
        input_size: (w, h) of the input image; needed when `shift_coords`.

    Returns:
        (B, K, D) coordinates aligned with the unflipped image.
    """
    coords = tf.convert_to_tensor(coords)
    if coords.shape.rank != 3:
        raise ValueError(f"flip_coordinates needs (B, K, D) coordinates, received shape "
                         f"{coords.shape}")
    if coords.shape[1] is not None:
        _check_indices(flip_indices, coords.shape[1], "coordinates")
    x = 1.0 - coords[..., :1]
    if shift_coords:
        if input_size is None:
            raise ValueError("flip_coordinates with shift_coords=True needs input_size "
                             "(w, h), received None")
        x = x - 1.0 / float(input_size[0])
    coords = tf.concat([x, coords[..., 1:]], axis=-1)
    return tf.gather(coords, list(flip_indices), axis=1)


def flip_visibility(vis: tf.Tensor, flip_indices: Sequence[int]) -> tf.Tensor:
    """Maps keypoint visibilities predicted on flipped images back, as MMPose's
    `flip_visibility`: each keypoint takes its mirror keypoint's value.

    Args:
        vis: (B, K) visibilities (probabilities or logits) computed on flipped images.
        flip_indices: (K,) index of each keypoint's mirror keypoint.

    Returns:
        (B, K) visibilities aligned with the unflipped image.
    """
    vis = tf.convert_to_tensor(vis)
    if vis.shape.rank != 2:
        raise ValueError(f"flip_visibility needs (B, K) visibilities, received shape "
                         f"{vis.shape}")
    if vis.shape[1] is not None:
        _check_indices(flip_indices, vis.shape[1], "visibility")
    return tf.gather(vis, list(flip_indices), axis=1)
