"""Gaussian heatmap targets, written in TF ops, numerically matching MMPose 1.3.2.

All functions take keypoints already in heatmap pixels and return channels-last heatmaps
`(H, W, K)`; the instance axis N is merged by an element-wise maximum. A 2-D Gaussian is
the outer product of a 1-D profile along x and one along y, so each keypoint costs
`W + H` exponentials (masked to its patch per axis) and one `(H, W)` product, built
straight in the channels-last layout: no Python loop over instances or keypoints, no
transpose of the full heatmaps, and N may be dynamic (for example inside `tf.data`).
This is the training pipeline's per-sample target cost, so it is kept to few ops.
"""

import math
from typing import Sequence, Tuple

import tensorflow as tf


def trunc(x: tf.Tensor) -> tf.Tensor:
    """Rounds towards zero, like numpy's `astype(int)` (unlike `floor` for x < 0)."""
    return tf.where(x < 0, tf.math.ceil(x), tf.math.floor(x))


def _check_inputs(keypoints, keypoints_visible) -> Tuple[tf.Tensor, tf.Tensor]:
    keypoints = tf.convert_to_tensor(keypoints)
    if keypoints.dtype != tf.float32:
        keypoints = tf.cast(keypoints, tf.float32)
    keypoints = keypoints[..., :2]
    keypoints_visible = tf.cast(tf.convert_to_tensor(keypoints_visible), tf.float32)
    return keypoints, keypoints_visible


def _outer_product_heatmaps(profile_x: tf.Tensor, profile_y: tf.Tensor) -> tf.Tensor:
    """Separable Gaussians merged over instances: (N, K, W), (N, K, H) -> (H, W, K).

    `heatmaps[y, x, k] = max_n profile_y[n, k, y] * profile_x[n, k, x]`; zeros when
    N == 0. The profiles are non-negative and already masked.
    """
    if profile_x.shape[0] == 1:  # the top-down case: one instance, nothing to merge
        return _instance_heatmaps(profile_x, profile_y)[0]
    return tf.maximum(tf.reduce_max(_instance_heatmaps(profile_x, profile_y), axis=0), 0.0)


def _instance_heatmaps(profile_x: tf.Tensor, profile_y: tf.Tensor) -> tf.Tensor:
    """One heatmap stack per instance: (N, K, W), (N, K, H) -> (N, H, W, K)."""
    # Transposing the small (N, K, L) profiles is cheap; the (H, W, K) product is not.
    gx = tf.transpose(profile_x, [0, 2, 1])[:, None, :, :]  # (N, 1, W, K)
    gy = tf.transpose(profile_y, [0, 2, 1])[:, :, None, :]  # (N, H, 1, K)
    return gy * gx


def generate_gaussian_heatmaps(
    heatmap_size: Sequence[int],
    keypoints: tf.Tensor,
    keypoints_visible: tf.Tensor,
    sigma: float,
) -> Tuple[tf.Tensor, tf.Tensor]:
    """Gaussian patches centred on the integer pixel nearest each keypoint (MSRA).

    Matches MMPose's `generate_gaussian_heatmaps` value for value, including its integer
    conventions: the centre is `int(kp + 0.5)` (truncation towards zero, so -0.7 goes to
    0), the patch spans `[int(mu - 3 sigma), int(mu + 3 sigma + 1))`, keypoints with
    visibility < 0.5 are skipped (their weight keeps the visibility value), and a keypoint
    gets weight 0 when its patch lies wholly outside the heatmap (`left >= W`, `top >= H`,
    `right < 0` or `bottom < 0`; a patch with `right == 0` draws nothing yet keeps its
    weight, as in MMPose).

    Args:
        heatmap_size: `(W, H)`.
        keypoints: `(N, K, D)` keypoints in heatmap pixels; the first two coordinates
            are used. Computed in float32.
        keypoints_visible: `(N, K)` visibilities.
        sigma: Gaussian standard deviation in heatmap pixels.

    Returns:
        heatmaps `(H, W, K)` float32 and keypoint_weights `(N, K)` float32.
    """
    profile_x, profile_y, keypoint_weights = _gaussian_profiles(heatmap_size, keypoints,
                                                                keypoints_visible, sigma)
    return _outer_product_heatmaps(profile_x, profile_y), keypoint_weights


def batch_generate_gaussian_heatmaps(
    heatmap_size: Sequence[int],
    keypoints: tf.Tensor,
    keypoints_visible: tf.Tensor,
    sigma: float,
) -> Tuple[tf.Tensor, tf.Tensor]:
    """`generate_gaussian_heatmaps` for a batch of single-instance samples at once.

    Args:
        heatmap_size: `(W, H)`.
        keypoints: `(B, K, D)` keypoints in heatmap pixels, one instance per sample.
        keypoints_visible: `(B, K)` visibilities.
        sigma: Gaussian standard deviation in heatmap pixels.

    Returns:
        heatmaps `(B, H, W, K)` float32, each equal (bit for bit) to the sample's own
        `generate_gaussian_heatmaps`, and keypoint_weights `(B, K)`.
    """
    profile_x, profile_y, keypoint_weights = _gaussian_profiles(heatmap_size, keypoints,
                                                                keypoints_visible, sigma)
    return _instance_heatmaps(profile_x, profile_y), keypoint_weights


def _gaussian_profiles(heatmap_size, keypoints, keypoints_visible, sigma):
    """MSRA's masked 1-D profiles (N, K, W), (N, K, H) and keypoint weights (N, K)."""
    width, height = int(heatmap_size[0]), int(heatmap_size[1])
    keypoints, keypoints_visible = _check_inputs(keypoints, keypoints_visible)

    radius = 3.0 * float(sigma)
    patch_extent = 2.0 * radius + 1.0
    # MMPose samples the patch at np.arange(0, 2r + 1): ceil(2r + 1) taps, peak at the
    # floor of half the extent (both matter only for non-integer 3 sigma).
    num_taps = float(math.ceil(patch_extent))
    peak = float(patch_extent // 2)

    centre = trunc(keypoints + 0.5)
    # Patch bounds in float64 so that `mu - r` truncates exactly as numpy's int64 /
    # float64 arithmetic does, whatever the value of sigma.
    centre64 = tf.cast(centre, tf.float64)
    lower = trunc(centre64 - radius)  # (N, K, 2): left, top
    upper = trunc(centre64 + radius + 1.0)  # right, bottom
    size = tf.constant([width, height], tf.float64)
    outside = tf.reduce_any((lower >= size) | (upper < 0), axis=-1)
    # Non-finite keypoints overflow numpy's int cast to INT_MIN, i.e. outside.
    outside |= tf.reduce_any(~tf.math.is_finite(keypoints), axis=-1)
    labelled = keypoints_visible >= 0.5
    keypoint_weights = tf.where(labelled & outside, 0.0, keypoints_visible)
    drawn = labelled & ~outside

    def axis_profile(length: int, axis: int) -> Tuple[tf.Tensor, tf.Tensor]:
        """Squared patch offsets (N, K, L) along one axis and where the patch covers."""
        pixels = tf.range(length, dtype=tf.float64)
        tap = pixels - lower[..., axis:axis + 1]  # index into the patch
        covered = (tap >= 0) & (pixels < upper[..., axis:axis + 1]) & (tap < num_taps)
        offset = tf.cast(tap, tf.float32) - peak
        return tf.square(offset), covered

    # exp(-(dx2 + dy2) / 2s^2) = exp(-dx2 / 2s^2) * exp(-dy2 / 2s^2): within a few
    # float32 ulps of MMPose's 2-D exponential. The patch is a rectangle, so its mask
    # splits per axis too; `drawn` rides on the x profile.
    dx2, cover_x = axis_profile(width, 0)
    dy2, cover_y = axis_profile(height, 1)
    inv_two_var = tf.constant(-0.5 / float(sigma)**2, tf.float32)
    profile_x = tf.where(cover_x & drawn[..., None], tf.exp(dx2 * inv_two_var), 0.0)
    profile_y = tf.where(cover_y, tf.exp(dy2 * inv_two_var), 0.0)
    return profile_x, profile_y, keypoint_weights


def generate_unbiased_gaussian_heatmaps(
    heatmap_size: Sequence[int],
    keypoints: tf.Tensor,
    keypoints_visible: tf.Tensor,
    sigma: float,
) -> Tuple[tf.Tensor, tf.Tensor]:
    """Gaussians centred on the exact (float) keypoint over the whole heatmap (DARK).

    Matches MMPose's `generate_unbiased_gaussian_heatmaps`: no truncation to 3 sigma,
    the same visibility / out-of-bounds weight rules as `generate_gaussian_heatmaps`
    but with float bounds `mu - 3 sigma` and `mu + 3 sigma + 1`.

    Args:
        heatmap_size: `(W, H)`.
        keypoints: `(N, K, D)` keypoints in heatmap pixels (first two coordinates used).
        keypoints_visible: `(N, K)` visibilities.
        sigma: Gaussian standard deviation in heatmap pixels.

    Returns:
        heatmaps `(H, W, K)` float32 and keypoint_weights `(N, K)` float32.
    """
    profile_x, profile_y, keypoint_weights = _unbiased_profiles(heatmap_size, keypoints,
                                                                keypoints_visible, sigma)
    return _outer_product_heatmaps(profile_x, profile_y), keypoint_weights


def batch_generate_unbiased_gaussian_heatmaps(
    heatmap_size: Sequence[int],
    keypoints: tf.Tensor,
    keypoints_visible: tf.Tensor,
    sigma: float,
) -> Tuple[tf.Tensor, tf.Tensor]:
    """`generate_unbiased_gaussian_heatmaps` for a batch of single-instance samples.

    Args:
        heatmap_size: `(W, H)`.
        keypoints: `(B, K, D)` keypoints in heatmap pixels, one instance per sample.
        keypoints_visible: `(B, K)` visibilities.
        sigma: Gaussian standard deviation in heatmap pixels.

    Returns:
        heatmaps `(B, H, W, K)` float32 (each the sample's own result, bit for bit) and
        keypoint_weights `(B, K)`.
    """
    profile_x, profile_y, keypoint_weights = _unbiased_profiles(heatmap_size, keypoints,
                                                                keypoints_visible, sigma)
    return _instance_heatmaps(profile_x, profile_y), keypoint_weights


def _unbiased_profiles(heatmap_size, keypoints, keypoints_visible, sigma):
    """DARK's 1-D profiles (N, K, W), (N, K, H) and keypoint weights (N, K)."""
    width, height = int(heatmap_size[0]), int(heatmap_size[1])
    keypoints, keypoints_visible = _check_inputs(keypoints, keypoints_visible)
    radius = tf.constant(3.0 * float(sigma), tf.float32)

    lower = keypoints - radius
    upper = keypoints + radius + 1.0
    size = tf.constant([width, height], tf.float32)
    outside = tf.reduce_any((lower >= size) | (upper < 0), axis=-1)
    labelled = keypoints_visible >= 0.5
    keypoint_weights = tf.where(labelled & outside, 0.0, keypoints_visible)
    drawn = labelled & ~outside

    inv_two_var = tf.constant(-0.5 / float(sigma)**2, tf.float32)
    dx2 = tf.square(tf.range(width, dtype=tf.float32) - keypoints[..., 0:1])
    dy2 = tf.square(tf.range(height, dtype=tf.float32) - keypoints[..., 1:2])
    profile_x = tf.where(drawn[..., None], tf.exp(dx2 * inv_two_var), 0.0)
    profile_y = tf.exp(dy2 * inv_two_var)
    return profile_x, profile_y, keypoint_weights
