"""Heatmap post-processing in TF ops: maxima and cv2-compatible Gaussian blur.

Shapes are channels-last: heatmaps `(B, H, W, K)`. Everything here converts to TFLite
with builtin ops only (argmax, reduce_max, gather, conv2d).
"""

from typing import Tuple

import numpy as np
import tensorflow as tf

# cv2.getGaussianKernel(ksize, sigma <= 0) returns these fixed binomial-like tables for
# the small odd sizes instead of sampling a Gaussian.
_CV2_FIXED_KERNELS = {
    1: (1.0,),
    3: (0.25, 0.5, 0.25),
    5: (0.0625, 0.25, 0.375, 0.25, 0.0625),
    7: (0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125),
    9: (0.015625, 0.05078125, 0.1171875, 0.19921875, 0.234375, 0.19921875,
        0.1171875, 0.05078125, 0.015625),
}


def gaussian_kernel_1d(kernel_size: int) -> np.ndarray:
    """The 1-D kernel `cv2.getGaussianKernel(kernel_size, 0, cv2.CV_32F)` builds.

    With sigma 0, cv2 derives `sigma = 0.3 * ((kernel_size - 1) * 0.5 - 1) + 0.8`, except
    for sizes up to 9, which use fixed tables.

    Returns:
        float32 array `(kernel_size,)` summing to 1.
    """
    if kernel_size <= 0 or kernel_size % 2 != 1:
        raise ValueError(
            f"`kernel_size` must be a positive odd integer, received {kernel_size!r}.")
    if kernel_size in _CV2_FIXED_KERNELS:
        return np.asarray(_CV2_FIXED_KERNELS[kernel_size], np.float32)
    sigma = 0.3 * ((kernel_size - 1) * 0.5 - 1) + 0.8
    offsets = np.arange(kernel_size, dtype=np.float64) - (kernel_size - 1) / 2
    kernel = np.exp(-offsets * offsets / (2 * sigma * sigma))
    return (kernel / kernel.sum()).astype(np.float32)


def flatten_heatmaps(heatmaps: tf.Tensor) -> tf.Tensor:
    """(B, H, W, K) -> (B, K, H * W), the layout pixel gathers work on."""
    shape = tf.shape(heatmaps)
    channels_first = tf.transpose(heatmaps, [0, 3, 1, 2])
    return tf.reshape(channels_first, [shape[0], shape[3], shape[1] * shape[2]])


def get_heatmap_maximum(heatmaps: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
    """Location and value of each channel's maximum.

    Ties go to the first pixel in row-major order (as numpy's argmax; TF's argmax also
    returns the first maximum). Like MMPose, channels whose maximum is <= 0 get the
    location (-1, -1); their value is returned unchanged.

    Args:
        heatmaps: `(B, H, W, K)`.

    Returns:
        locations `(B, K, 2)` float32 as (x, y) pixels, and values `(B, K)`.
    """
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    width = tf.shape(heatmaps)[2]
    flat = flatten_heatmaps(heatmaps)
    index = tf.argmax(flat, axis=-1, output_type=tf.int32)
    values = tf.reduce_max(flat, axis=-1)
    locations = tf.cast(tf.stack([index % width, index // width], axis=-1), tf.float32)
    locations = tf.where(values[..., None] > 0.0, locations, -1.0)
    return locations, values


def _rescale_to_max(blurred: tf.Tensor, original_max: tf.Tensor,
                    axes: Tuple[int, ...]) -> tf.Tensor:
    # MMPose restores each channel's original peak height after blurring. A channel that
    # blurs to an all-zero map would divide by zero there (NaN); here it stays zero.
    blurred_max = tf.reduce_max(blurred, axis=axes, keepdims=True)
    return blurred * tf.math.divide_no_nan(original_max, blurred_max)


def gaussian_blur(heatmaps: tf.Tensor, kernel_size: int = 11) -> tf.Tensor:
    """Blurs each channel like MMPose's `gaussian_blur` (DARK heatmap modulation).

    MMPose pads every channel with (kernel_size - 1) / 2 zeros, runs
    `cv2.GaussianBlur(ksize, sigma=0)`, crops and rescales so the channel keeps its
    maximum. Because the zero pad is as wide as the kernel radius, cv2's border mode
    (BORDER_REFLECT_101) never reaches the cropped output: the result equals a
    zero-padded ('SAME') separable convolution with cv2's kernel, done here as a row
    pass then a column pass, the order cv2 uses.

    Args:
        heatmaps: `(B, H, W, K)`.
        kernel_size: odd blur kernel size.

    Returns:
        Blurred heatmaps `(B, H, W, K)` float32.
    """
    kernel = gaussian_kernel_1d(kernel_size)
    heatmaps = tf.convert_to_tensor(heatmaps, tf.float32)
    shape = tf.shape(heatmaps)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    # One single-channel image per (b, k): a plain conv2d then works for any K,
    # static or not.
    images = tf.reshape(tf.transpose(heatmaps, [0, 3, 1, 2]),
                        [batch * channels, height, width, 1])
    original_max = tf.reduce_max(images, axis=(1, 2, 3), keepdims=True)
    row_filter = tf.constant(kernel.reshape(1, kernel_size, 1, 1))
    column_filter = tf.constant(kernel.reshape(kernel_size, 1, 1, 1))
    blurred = tf.nn.conv2d(images, row_filter, strides=1, padding="SAME")
    blurred = tf.nn.conv2d(blurred, column_filter, strides=1, padding="SAME")
    blurred = _rescale_to_max(blurred, original_max, (1, 2, 3))
    blurred = tf.reshape(blurred, [batch, channels, height, width])
    return tf.transpose(blurred, [0, 2, 3, 1])


def gaussian_blur1d(simcc: tf.Tensor, kernel_size: int = 11) -> tf.Tensor:
    """Blurs 1-D distributions like MMPose's `gaussian_blur1d` (SimCC DARK).

    Same zero-pad / cv2 kernel / max-preserving rescale as `gaussian_blur`, along the
    last axis only.

    Args:
        simcc: `(B, K, L)` 1-D distributions (L = bins).
        kernel_size: odd blur kernel size.

    Returns:
        Blurred distributions `(B, K, L)` float32.
    """
    kernel = gaussian_kernel_1d(kernel_size)
    simcc = tf.convert_to_tensor(simcc, tf.float32)
    shape = tf.shape(simcc)
    rows = tf.reshape(simcc, [shape[0] * shape[1], 1, shape[2], 1])
    original_max = tf.reduce_max(rows, axis=(1, 2, 3), keepdims=True)
    blurred = tf.nn.conv2d(rows, tf.constant(kernel.reshape(1, kernel_size, 1, 1)),
                           strides=1, padding="SAME")
    blurred = _rescale_to_max(blurred, original_max, (1, 2, 3))
    return tf.reshape(blurred, shape)
