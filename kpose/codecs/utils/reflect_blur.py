"""`cv2.GaussianBlur` with its default border (BORDER_REFLECT_101), in TF ops.

MMPose blurs with OpenCV's default border in two places that kpose must reproduce: the
class maps of UDP's 'combined' decoding, and MegviiHeatmap's targets (a one-pixel delta
blurred in place). Unlike `post_processing.gaussian_blur` (zero padded, rescaled to the
original maximum), the border here mirrors the image without repeating the edge pixel
(`gfedcb|abcdefgh|gfedcba`) and the result is not rescaled.

Because the heatmap sizes are static, the reflected padding is a gather with indices
computed once in numpy: it works for any kernel size (cv2 keeps reflecting when the
kernel is wider than the image) and converts to TFLite (gather + conv2d).
"""

import numpy as np
import tensorflow as tf

from kpose.codecs.utils.post_processing import gaussian_kernel_1d


def reflect101(position: int, length: int) -> int:
    """Index that `position` reads under BORDER_REFLECT_101 (cv2's borderInterpolate)."""
    if length == 1:
        return 0
    while not 0 <= position < length:
        position = -position if position < 0 else 2 * length - 2 - position
    return position


def reflect101_indices(length: int, pad: int) -> np.ndarray:
    """int32 `(length + 2 * pad,)`: the source index of each padded position."""
    return np.asarray([reflect101(p, length) for p in range(-pad, length + pad)],
                      np.int32)


def reflect101_blur_matrix(length: int, kernel_size: int) -> np.ndarray:
    """float32 `(length, length)` matrix `M` with `blur(v) = M @ v` along one axis.

    `M[j, x]` is the weight pixel `x` gets in output `j`: the sum of the kernel taps
    that read `x` once reflected (a border pixel can be read by two taps). Column `x`
    is therefore the blurred profile of a unit delta at `x`. Taps are accumulated in
    float32, as cv2 does for float32 images.
    """
    kernel = gaussian_kernel_1d(kernel_size)
    radius = (kernel_size - 1) // 2
    matrix = np.zeros((length, length), np.float32)
    for j in range(length):
        for i in range(kernel_size):
            source = reflect101(j - radius + i, length)
            matrix[j, source] = np.float32(matrix[j, source] + kernel[i])
    return matrix


def gaussian_blur_reflect101(images: tf.Tensor, kernel_size: int) -> tf.Tensor:
    """`cv2.GaussianBlur(image, (ks, ks), 0)` on each channel, channels-last.

    Args:
        images: `(B, H, W, C)` with static H and W.
        kernel_size: odd kernel size (cv2's sigma-0 kernel, see `gaussian_kernel_1d`).

    Returns:
        `(B, H, W, C)` float32 blurred channels (not rescaled).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    height, width = images.shape[1], images.shape[2]
    if height is None or width is None:
        raise ValueError(f"gaussian_blur_reflect101 needs static H and W, received "
                         f"shape {images.shape}")
    kernel = gaussian_kernel_1d(kernel_size)
    pad = (kernel_size - 1) // 2
    shape = tf.shape(images)
    batch, channels = shape[0], shape[3]
    # One single-channel image per (b, c) so a plain conv2d handles any C.
    planes = tf.reshape(tf.transpose(images, [0, 3, 1, 2]),
                        [batch * channels, height, width, 1])
    # Row pass then column pass, cv2's order.
    padded = tf.gather(planes, reflect101_indices(width, pad), axis=2)
    planes = tf.nn.conv2d(padded, tf.constant(kernel.reshape(1, kernel_size, 1, 1)),
                          strides=1, padding="VALID")
    padded = tf.gather(planes, reflect101_indices(height, pad), axis=1)
    planes = tf.nn.conv2d(padded, tf.constant(kernel.reshape(kernel_size, 1, 1, 1)),
                          strides=1, padding="VALID")
    planes = tf.reshape(planes, [batch, channels, height, width])
    return tf.transpose(planes, [0, 2, 3, 1])
