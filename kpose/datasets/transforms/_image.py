"""Image bytes -> shape / pixels, decoding only what a crop needs; the crop's affine warp."""

import functools
from typing import Tuple

import cv2
import numpy as np
import tensorflow as tf

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def image_shape(data: tf.Tensor) -> tf.Tensor:
    """`(h, w)` int32 of encoded image bytes, read from the header for JPEG and PNG."""

    def jpeg():
        return tf.io.extract_jpeg_shape(data)[:2]

    def png():
        # IHDR: width and height are big-endian uint32 at bytes 16..24
        w_h = tf.io.decode_raw(tf.strings.substr(data, 16, 8), tf.int32, little_endian=False)
        return tf.reverse(w_h, [0])

    def other():
        return tf.shape(tf.io.decode_image(data, channels=3, expand_animations=False))[:2]

    is_png = tf.equal(tf.strings.substr(data, 0, 8), _PNG_SIGNATURE)
    return tf.cond(tf.io.is_jpeg(data), jpeg, lambda: tf.cond(is_png, png, other))


def decode_window(data: tf.Tensor, window: tf.Tensor, partial_jpeg: bool = True) -> tf.Tensor:
    """Decode the `window` [y, x, h, w] (int32, inside the image) of image bytes to uint8 RGB.

    JPEGs are decoded only over the window when `partial_jpeg` (libjpeg skips the rows
    outside it); other formats, or `partial_jpeg=False`, decode the whole image and slice.
    """

    def full():
        img = tf.io.decode_image(data, channels=3, expand_animations=False)
        return tf.slice(img, [window[0], window[1], 0], [window[2], window[3], 3])

    if not partial_jpeg:
        return full()
    return tf.cond(tf.io.is_jpeg(data),
                   lambda: tf.io.decode_and_crop_jpeg(data, window, channels=3),
                   full)


def decode_window_reduced(data: tf.Tensor, window: tf.Tensor, ratio: int) -> tf.Tensor:
    """Decode the `window` [y, x, h, w] of a JPEG scaled down by `ratio` (1, 2, 4 or 8).

    libjpeg's DCT scaling: the image decodes to `ceil(size / ratio)` pixels and the
    window is given in those reduced pixels. Scaled pixel i averages source pixels
    `[ratio * i, ratio * (i + 1))`, i.e. its centre is at `ratio * i + (ratio - 1) / 2`.
    """
    return tf.io.decode_and_crop_jpeg(data, window, channels=3, ratio=ratio)


def warp_affine_tf(pixels: tf.Tensor, crop_to_pixels: tf.Tensor, size: Tuple[int, int]) -> tf.Tensor:
    """Bilinear, zero-filled warp of uint8 `pixels` (h', w', 3) into a (h, w, 3) uint8 crop.

    `crop_to_pixels` (2, 3) maps crop pixel (x, y, 1) to `pixels` coordinates. Uses
    `ImageProjectiveTransformV3` in float32 and rounds: within one level of cv2's
    uint8 warp (TF's uint8 path truncates instead of rounding, and is no faster).
    """
    w, h = size
    m = crop_to_pixels
    transform = tf.concat([m[0], m[1], tf.zeros([2])], axis=0)
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(pixels, tf.float32)[None], transforms=transform[None],
        output_shape=tf.constant([h, w], tf.int32), fill_value=tf.constant(0.0),
        interpolation="BILINEAR", fill_mode="CONSTANT")
    out = tf.cast(tf.clip_by_value(tf.round(out[0]), 0.0, 255.0), tf.uint8)
    return tf.ensure_shape(out, [h, w, 3])


def _cv2_warp_inverse(pixels: np.ndarray, crop_to_pixels: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    return cv2.warpAffine(pixels, crop_to_pixels.astype(np.float64), size,
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def warp_affine_cv2(pixels: tf.Tensor, crop_to_pixels: tf.Tensor, size: Tuple[int, int]) -> tf.Tensor:
    """`warp_affine_tf`'s result computed by `cv2.warpAffine` (INTER_LINEAR, zero border).

    Runs through `tf.numpy_function` on uint8: the Python call holds the GIL only briefly
    and cv2 releases it while warping, at ~1/10 of `ImageProjectiveTransformV3`'s cost.
    Not part of a serialisable graph (a py-function): for tf.data, not for export.
    """
    w, h = size
    out = tf.numpy_function(functools.partial(_cv2_warp_inverse, size=(w, h)),
                            [tf.cast(pixels, tf.uint8), tf.cast(crop_to_pixels, tf.float32)],
                            tf.uint8, stateful=False)
    return tf.ensure_shape(out, [h, w, 3])
