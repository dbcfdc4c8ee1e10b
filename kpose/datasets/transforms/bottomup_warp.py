"""Whole-image warps of the bottom-up transforms (cv2 through `tf.numpy_function`)."""

import cv2
import numpy as np
import tensorflow as tf


def _warp(pixels: np.ndarray, matrix: np.ndarray, size: np.ndarray) -> np.ndarray:
    # The forward matrix, as MMPose hands it to cv2.warpAffine (cv2 inverts it itself).
    return cv2.warpAffine(pixels, matrix.astype(np.float64), (int(size[0]), int(size[1])),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))


def warp_image(pixels: tf.Tensor, source_to_output: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """Warps uint8 `pixels` (h, w, 3) by `source_to_output` (2, 3) into `size` (w, h).

    `size` may be a tensor (BottomupResize's padded size depends on the image).
    Bilinear, zero border, as MMPose's `cv2.warpAffine` calls.
    """
    out = tf.numpy_function(_warp, [tf.cast(pixels, tf.uint8),
                                    tf.cast(source_to_output, tf.float32),
                                    tf.cast(size, tf.int32)], tf.uint8, stateful=False)
    return tf.ensure_shape(out, [None, None, 3])


def _valid_mask(img_hw: np.ndarray, matrix: np.ndarray, input_size: np.ndarray,
                mask_size: np.ndarray) -> np.ndarray:
    mask = np.ones((int(img_hw[0]), int(img_hw[1])), np.float32)
    mask = cv2.warpAffine(mask, matrix.astype(np.float64), (int(input_size[0]), int(input_size[1])),
                          flags=cv2.INTER_LINEAR)
    if tuple(mask_size) != tuple(input_size):
        mask = cv2.resize(mask, (int(mask_size[0]), int(mask_size[1])),
                          interpolation=cv2.INTER_LINEAR)
    return mask > 0.5


def valid_region_mask(img_hw: tf.Tensor, source_to_input: tf.Tensor, input_size: tf.Tensor,
                      mask_size: tf.Tensor) -> tf.Tensor:
    """Where the warped image has content: ones over the source image, warped into
    `input_size` (w, h), resized (bilinear) to `mask_size` (w, h), thresholded at 0.5.

    Returns:
        (H, W) bool.
    """
    out = tf.numpy_function(_valid_mask, [tf.cast(img_hw, tf.int32),
                                          tf.cast(source_to_input, tf.float32),
                                          tf.cast(input_size, tf.int32),
                                          tf.cast(mask_size, tf.int32)], tf.bool, stateful=False)
    return tf.ensure_shape(out, [None, None])
