"""Image bytes -> shape / pixels, decoding only what a crop needs when the format allows."""

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
