"""UDP targets and decoding in TF ops, numerically matching MMPose 1.3.2.

Targets take keypoints already in heatmap pixels and return channels-last maps; the
instance axis N is handled without Python loops, so N may be dynamic inside `tf.data`.
Decoding works on batches `(B, H, W, C)`, one instance per sample.
"""

import math
from typing import Sequence, Tuple

import numpy as np
import tensorflow as tf

from kpose.codecs.utils.gaussian_heatmap import trunc
from kpose.codecs.utils.post_processing import (flatten_heatmaps, gaussian_blur,
                                                get_heatmap_maximum)
from kpose.codecs.utils.reflect_blur import gaussian_blur_reflect101


def _as_float32(keypoints, keypoints_visible) -> Tuple[tf.Tensor, tf.Tensor]:
    keypoints = tf.convert_to_tensor(keypoints)
    if keypoints.dtype != tf.float32:
        keypoints = tf.cast(keypoints, tf.float32)
    return keypoints[..., :2], tf.cast(tf.convert_to_tensor(keypoints_visible),
                                       tf.float32)


def generate_udp_gaussian_heatmaps(
    heatmap_size: Sequence[int],
    keypoints: tf.Tensor,
    keypoints_visible: tf.Tensor,
    sigma: float,
) -> Tuple[tf.Tensor, tf.Tensor]:
    """Gaussians centred on the exact keypoint, drawn inside MSRA's integer patch (UDP).

    As MMPose's `generate_udp_gaussian_heatmaps`: the patch and the weight rules are
    those of `generate_gaussian_heatmaps` (patch `[int(mu - 3s), int(mu + 3s + 1))`
    around `mu = int(kp + 0.5)`, weight 0 when it lies wholly outside, invisible
    (< 0.5) keypoints skipped), but the Gaussian's peak sits at the sub-pixel keypoint.
    Instances are merged by maximum. The offsets from the centre are formed in float64
    as numpy does; the Gaussian itself is the product of two float32 1-D profiles,
    within a few float32 ulps of MMPose's float64 2-D exponential.

    Args:
        heatmap_size: `(W, H)`.
        keypoints: `(N, K, D)` keypoints in heatmap pixels (first two coordinates used).
        keypoints_visible: `(N, K)` visibilities.
        sigma: Gaussian standard deviation in heatmap pixels.

    Returns:
        heatmaps `(H, W, K)` float32 and keypoint_weights `(N, K)` float32.
    """
    width, height = int(heatmap_size[0]), int(heatmap_size[1])
    keypoints, keypoints_visible = _as_float32(keypoints, keypoints_visible)
    radius = 3.0 * float(sigma)
    extent = 2.0 * radius + 1.0
    num_taps = float(math.ceil(extent))  # np.arange(0, 2r + 1)
    peak = float(extent // 2)

    centre = tf.cast(trunc(keypoints + 0.5), tf.float64)
    lower = trunc(centre - radius)
    upper = trunc(centre + radius + 1.0)
    size = tf.constant([width, height], tf.float64)
    outside = tf.reduce_any((lower >= size) | (upper < 0), axis=-1)
    outside |= tf.reduce_any(~tf.math.is_finite(keypoints), axis=-1)
    labelled = keypoints_visible >= 0.5
    keypoint_weights = tf.where(labelled & outside, 0.0, keypoints_visible)
    drawn = labelled & ~outside
    # Where the Gaussian peaks, in patch coordinates: MMPose's x0 = size // 2 + kp - mu.
    mean = peak + (tf.cast(keypoints, tf.float64) - centre)

    inv_two_var = -0.5 / float(sigma)**2

    def profile(length: int, axis: int) -> tf.Tensor:
        pixels = tf.range(length, dtype=tf.float64)
        tap = pixels - lower[..., axis:axis + 1]
        covered = (tap >= 0) & (pixels < upper[..., axis:axis + 1]) & (tap < num_taps)
        offset = tf.cast(tap - mean[..., axis:axis + 1], tf.float32)
        return tf.where(covered, tf.exp(tf.square(offset) * inv_two_var), 0.0)

    profile_x = tf.where(drawn[..., None], profile(width, 0), 0.0)  # (N, K, W)
    profile_y = profile(height, 1)  # (N, K, H)
    gaussians = (tf.transpose(profile_y, [0, 2, 1])[:, :, None, :] *
                 tf.transpose(profile_x, [0, 2, 1])[:, None, :, :])  # (N, H, W, K)
    heatmaps = tf.maximum(tf.reduce_max(gaussians, axis=0), 0.0)  # zeros when N == 0
    return heatmaps, keypoint_weights


def generate_offset_heatmap(
    heatmap_size: Sequence[int],
    keypoints: tf.Tensor,
    keypoints_visible: tf.Tensor,
    radius_factor: float,
) -> Tuple[tf.Tensor, tf.Tensor]:
    """UDP's 'combined' target: a binary disk and two offset maps per keypoint.

    As MMPose's `generate_offset_heatmap`, channels-last: channel `3k` is 1 within
    `r = radius_factor * max(W, H)` of keypoint k, channels `3k + 1` and `3k + 2` hold
    `(kp_x - x) / r` and `(kp_y - y) / r` at every pixel. Offsets and the disk test are
    computed in float64 (as numpy does) and stored as float32. With several instances
    the last visible one wins (MMPose overwrites rather than merges); keypoints with
    visibility < 0.5 draw nothing. Weights are the visibilities unchanged (this target
    has no out-of-bounds rule).

    Args:
        heatmap_size: `(W, H)`.
        keypoints: `(N, K, D)` keypoints in heatmap pixels.
        keypoints_visible: `(N, K)` visibilities.
        radius_factor: disk radius as a fraction of `max(W, H)`.

    Returns:
        heatmaps `(H, W, 3K)` float32 and keypoint_weights `(N, K)` float32.
    """
    width, height = int(heatmap_size[0]), int(heatmap_size[1])
    keypoints, keypoints_visible = _as_float32(keypoints, keypoints_visible)
    radius = float(radius_factor) * max(width, height)
    labelled = keypoints_visible >= 0.5  # (N, K)
    num_instances = tf.shape(keypoints)[0]
    # Last labelled instance per keypoint; `any_labelled` says whether one exists.
    order = tf.range(num_instances)[:, None]
    last = tf.reduce_max(tf.where(labelled, order, -1), axis=0)  # (K,)
    any_labelled = last >= 0
    chosen = tf.gather(tf.transpose(keypoints, [1, 0, 2]), tf.maximum(last, 0),
                       batch_dims=1)  # (K, 2)
    chosen = tf.cast(chosen, tf.float64)
    x_offset = (chosen[:, 0:1] - tf.range(width, dtype=tf.float64)) / radius  # (K, W)
    y_offset = (chosen[:, 1:2] - tf.range(height, dtype=tf.float64)) / radius  # (K, H)
    x_map = tf.transpose(x_offset)[None, :, :]  # (1, W, K)
    y_map = tf.transpose(y_offset)[:, None, :]  # (H, 1, K)
    disk = tf.cast(x_map * x_map + y_map * y_map <= 1.0, tf.float32)  # (H, W, K)
    x_map = tf.broadcast_to(tf.cast(x_map, tf.float32), tf.shape(disk))
    y_map = tf.broadcast_to(tf.cast(y_map, tf.float32), tf.shape(disk))
    maps = tf.stack([disk, x_map, y_map], axis=-1)  # (H, W, K, 3)
    maps = tf.where(any_labelled[:, None], maps, 0.0)
    num_keypoints = keypoints.shape[1] if keypoints.shape[1] is not None else tf.shape(
        keypoints)[1]
    heatmaps = tf.reshape(maps, [height, width, 3 * num_keypoints])
    return heatmaps, keypoints_visible


def _wrapped_reader(flat: tf.Tensor, index: tf.Tensor):
    """read(delta) -> flat[b, (index + delta) mod size]: numpy's negative-index wrap."""
    size = tf.shape(flat)[1]

    def read(delta) -> tf.Tensor:
        return tf.gather(flat, tf.math.floormod(index + delta, size), batch_dims=1)

    return read


def refine_keypoints_dark_udp(keypoints: tf.Tensor, heatmaps: tf.Tensor,
                              blur_kernel_size: int) -> tf.Tensor:
    """DARK refinement as UDP does it: one Newton step on the blurred log heatmap.

    As MMPose's `refine_keypoints_dark_udp`: blur (`gaussian_blur`), clip to
    [1e-3, 50], log, pad each channel by one edge pixel, take unit-step central
    differences and move by `-(Hessian + eps I)^-1 gradient`, with no border rule.
    Reads index the flattened padded (K, H+2, W+2) maps of each sample with numpy's
    wrap-around, so a channel without a positive maximum (location -1) reads the same
    neighbours as in MMPose. The 2x2 solve is written out with float64-like accuracy in
    double-float32 arithmetic, as numpy's float64 inverse; an exactly singular system
    (where numpy raises) leaves the keypoint in place. Where the Hessian is near
    singular the step still magnifies float32 differences of the blurred maps (TF's
    convolution vs cv2's), so such keypoints agree with MMPose only approximately.

    Args:
        keypoints: `(B, K, 2)` maxima locations in heatmap pixels.
        heatmaps: `(B, H, W, K)` raw heatmaps.
        blur_kernel_size: odd size of the modulating blur.

    Returns:
        Refined keypoints `(B, K, 2)` float32.
    """
    keypoints = tf.convert_to_tensor(keypoints, tf.float32)
    log_maps = tf.math.log(tf.clip_by_value(
        gaussian_blur(heatmaps, blur_kernel_size), 1e-3, 50.0))
    padded = tf.pad(log_maps, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")
    shape = tf.shape(padded)
    row, plane = shape[2], shape[1] * shape[2]
    flat = flatten_heatmaps(padded)  # (B, K * (H+2) * (W+2)) after the reshape below
    flat = tf.reshape(flat, [shape[0], -1])
    x = tf.cast(keypoints[..., 0], tf.int32)
    y = tf.cast(keypoints[..., 1], tf.int32)
    index = x + 1 + (y + 1) * row + plane * tf.range(shape[3])[None, :]
    read = _wrapped_reader(flat, index)
    centre, right, left = read(0), read(1), read(-1)
    down, up = read(row), read(-row)
    down_right, up_left = read(row + 1), read(-row - 1)
    dx = 0.5 * (right - left)
    dy = 0.5 * (down - up)
    dxx = right - 2.0 * centre + left
    dyy = down - 2.0 * centre + up
    dxy = 0.5 * (down_right - right - down + centre + centre - left - up + up_left)
    # MMPose adds eps * I and inverts in float64 (numpy promotes the float32 Hessian).
    # Near-singular Hessians (flat clipped maps, wrapped reads) make the step hinge on
    # that precision, so the determinant and numerators are formed in double-float32
    # arithmetic (exact products and sums, float64-like accuracy; TFLite has no
    # float64 kernels) and rounded once.
    eps = float(np.finfo(np.float32).eps)  # added to the Hessian's diagonal
    a, d = _two_sum(dxx, eps), _two_sum(dyy, eps)
    det = _round(_sub(_mul(a, d), _two_prod(dxy, dxy)))
    numerator_x = _round(_sub(_mul(d, (dx, 0.0)), _two_prod(dxy, dy)))
    numerator_y = _round(_sub(_mul(a, (dy, 0.0)), _two_prod(dxy, dx)))
    ok = det != 0.0
    safe_det = tf.where(ok, det, 1.0)
    offset = tf.stack([numerator_x / safe_det, numerator_y / safe_det], axis=-1)
    offset = tf.where(ok[..., None], offset, 0.0)
    return keypoints - offset


# Double-float32 arithmetic: a value is an unevaluated sum (hi, lo) of two float32s.
# TwoSum (Knuth) and TwoProduct (Dekker's split) are exact in float32 rounding.
_SPLIT = 4097.0  # 2**12 + 1 splits a 24-bit mantissa into two 12-bit halves


def _two_sum(a, b):
    total = a + b
    b_virtual = total - a
    error = (a - (total - b_virtual)) + (b - b_virtual)
    return total, error


def _split(a):
    scaled = _SPLIT * a
    high = scaled - (scaled - a)
    return high, a - high


def _two_prod(a, b):
    product = a * b
    a_high, a_low = _split(a)
    b_high, b_low = _split(b)
    error = ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low
    return product, error


def _mul(x, y):
    product, error = _two_prod(x[0], y[0])
    return _two_sum(product, error + (x[0] * y[1] + x[1] * y[0]))


def _sub(x, y):
    total, error = _two_sum(x[0], -y[0])
    return _two_sum(total, error + (x[1] - y[1]))


def _round(x):
    return x[0] + x[1]


def decode_udp_combined(heatmaps: tf.Tensor, radius_factor: float,
                        blur_kernel_size: int) -> Tuple[tf.Tensor, tf.Tensor]:
    """Keypoints from UDP 'combined' maps: blurred disk maximum plus its offset.

    As MMPose's `UDPHeatmap.decode` for `heatmap_type='combined'`: each class map is
    blurred by `cv2.GaussianBlur` with kernel `2 * blur_kernel_size + 1` and cv2's
    default reflected border (no rescale); its maximum gives the location and score,
    and the offsets read there (times `r = radius_factor * max(W, H)`) are added.
    Locations of channels without a positive maximum (-1) read the offset maps with
    numpy's wrap-around, as MMPose does.

    Args:
        heatmaps: `(B, H, W, 3K)`, per keypoint (class, x offset, y offset).
        radius_factor: the encoder's disk radius factor.
        blur_kernel_size: the codec's blur kernel size.

    Returns:
        keypoints `(B, K, 2)` in heatmap pixels and scores `(B, K)`.
    """
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    height, width = heatmaps.shape[1], heatmaps.shape[2]
    radius = float(radius_factor) * max(width, height)
    classes = gaussian_blur_reflect101(heatmaps[..., 0::3], 2 * blur_kernel_size + 1)
    locations, scores = get_heatmap_maximum(classes)
    x = tf.cast(locations[..., 0], tf.int32)
    y = tf.cast(locations[..., 1], tf.int32)
    num_keypoints = tf.shape(locations)[1]
    index = x + y * width + width * height * tf.range(num_keypoints)[None, :]
    batch = tf.shape(heatmaps)[0]
    x_read = _wrapped_reader(
        tf.reshape(flatten_heatmaps(heatmaps[..., 1::3] * radius), [batch, -1]), index)
    y_read = _wrapped_reader(
        tf.reshape(flatten_heatmaps(heatmaps[..., 2::3] * radius), [batch, -1]), index)
    keypoints = locations + tf.stack([x_read(0), y_read(0)], axis=-1)
    return keypoints, scores
