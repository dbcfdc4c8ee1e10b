"""Sub-pixel refinement of heatmap maxima in TF ops, matching MMPose 1.3.2.

Keypoints are `(B, K, 2)` integer (x, y) locations from `get_heatmap_maximum` (or -1 where
a channel has no positive response); heatmaps are `(B, H, W, K)`. Each keypoint reads a
few pixels around its location with a batched gather; keypoints too close to the border
for a rule keep their location, as in MMPose.
"""


import tensorflow as tf

from kpose.codecs.utils.post_processing import flatten_heatmaps, gaussian_blur


def _pixel_reader(heatmaps: tf.Tensor, keypoints: tf.Tensor):
    """Returns (x, y, width, height, read) where read(dx, dy) -> (B, K) pixel values."""
    shape = tf.shape(heatmaps)
    height, width = shape[1], shape[2]
    flat = flatten_heatmaps(heatmaps)
    # numpy's astype(int): truncation, so -1 stays -1.
    x = tf.cast(keypoints[..., 0], tf.int32)
    y = tf.cast(keypoints[..., 1], tf.int32)

    def read(dx: int, dy: int) -> tf.Tensor:
        # Clipped so every gather is in range; callers mask out-of-rule keypoints.
        xx = tf.clip_by_value(x + dx, 0, width - 1)
        yy = tf.clip_by_value(y + dy, 0, height - 1)
        return tf.gather(flat, yy * width + xx, batch_dims=2)

    return x, y, width, height, read


def refine_keypoints(keypoints: tf.Tensor, heatmaps: tf.Tensor) -> tf.Tensor:
    """Moves each maximum a quarter pixel towards its higher neighbour, per axis.

    MMPose's rule, including its bounds: the x step needs `1 < x < W - 1` and `0 < y`,
    the y step needs `1 < y < H - 1` and `0 < x`; equal neighbours give no step.

    Args:
        keypoints: `(B, K, 2)` maxima locations in heatmap pixels.
        heatmaps: `(B, H, W, K)`.

    Returns:
        Refined keypoints `(B, K, 2)` float32.
    """
    keypoints = tf.convert_to_tensor(keypoints, tf.float32)
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    x, y, width, height, read = _pixel_reader(heatmaps, keypoints)
    x_ok = (x > 1) & (x < width - 1) & (y > 0) & (y < height)
    y_ok = (y > 1) & (y < height - 1) & (x > 0) & (x < width)
    dx = tf.where(x_ok, read(1, 0) - read(-1, 0), 0.0)
    dy = tf.where(y_ok, read(0, 1) - read(0, -1), 0.0)
    return keypoints + tf.sign(tf.stack([dx, dy], axis=-1)) * 0.25


def refine_keypoints_dark(keypoints: tf.Tensor, heatmaps: tf.Tensor,
                          blur_kernel_size: int) -> tf.Tensor:
    """Distribution-aware (DARK) refinement: one Newton step on the log heatmap.

    As in MMPose: blur with `gaussian_blur`, clamp at 1e-10, take the log, estimate the
    gradient and Hessian by central differences (step 1 for first derivatives, step 2
    for the second ones), and move by `-H^-1 g`. Keypoints need `1 < x < W - 2` and
    `1 < y < H - 2` and a non-singular Hessian, otherwise they are left as they are.
    The 2x2 inverse is written out (TFLite has no matrix inverse); it differs from
    numpy's LAPACK inverse only by float32 rounding.

    Args:
        keypoints: `(B, K, 2)` maxima locations in heatmap pixels.
        heatmaps: `(B, H, W, K)` raw (unblurred) heatmaps.
        blur_kernel_size: odd size of the modulating Gaussian blur.

    Returns:
        Refined keypoints `(B, K, 2)` float32.
    """
    keypoints = tf.convert_to_tensor(keypoints, tf.float32)
    log_heatmaps = tf.math.log(
        tf.maximum(gaussian_blur(heatmaps, blur_kernel_size), 1e-10))
    x, y, width, height, read = _pixel_reader(log_heatmaps, keypoints)
    inside = (x > 1) & (x < width - 2) & (y > 1) & (y < height - 2)

    centre = read(0, 0)
    # Same operation order as MMPose, to keep float32 rounding alike.
    dx = 0.5 * (read(1, 0) - read(-1, 0))
    dy = 0.5 * (read(0, 1) - read(0, -1))
    dxx = 0.25 * (read(2, 0) - 2.0 * centre + read(-2, 0))
    dyy = 0.25 * (read(0, 2) - 2.0 * centre + read(0, -2))
    dxy = 0.25 * (read(1, 1) - read(1, -1) - read(-1, 1) + read(-1, -1))
    det = dxx * dyy - dxy * dxy
    ok = inside & (det != 0.0)
    safe_det = tf.where(ok, det, 1.0)
    offset_x = -(dyy * dx - dxy * dy) / safe_det
    offset_y = -(dxx * dy - dxy * dx) / safe_det
    offset = tf.where(ok[..., None], tf.stack([offset_x, offset_y], axis=-1), 0.0)
    return keypoints + offset
