"""SimCC (1-D classification) maxima and DARK refinement in TF ops, as MMPose 1.3.2.

SimCC outputs are pairs `(B, K, Wx)` and `(B, K, Wy)`: one distribution over x bins and
one over y bins per keypoint. Everything here is batched and converts to TFLite with
builtin ops (argmax, reduce_max, gather, conv2d).
"""

from typing import Tuple

import tensorflow as tf

from kpose.codecs.utils.post_processing import gaussian_blur1d


def get_simcc_maximum(simcc_x: tf.Tensor, simcc_y: tf.Tensor,
                      apply_softmax: bool = False) -> Tuple[tf.Tensor, tf.Tensor]:
    """Bin of each distribution's maximum, and the smaller of the two maxima.

    As MMPose's `get_simcc_maximum`: the score is `min(max_x, max_y)`; keypoints whose
    score is <= 0 get the location (-1, -1). Ties go to the first bin.

    Args:
        simcc_x: `(B, K, Wx)`.
        simcc_y: `(B, K, Wy)`.
        apply_softmax: normalise each distribution with a softmax first.

    Returns:
        locations `(B, K, 2)` float32 as (x bin, y bin) and scores `(B, K)` float32.
    """
    simcc_x = tf.convert_to_tensor(simcc_x, tf.float32)
    simcc_y = tf.convert_to_tensor(simcc_y, tf.float32)
    if apply_softmax:
        simcc_x = tf.nn.softmax(simcc_x, axis=-1)
        simcc_y = tf.nn.softmax(simcc_y, axis=-1)
    locations = tf.cast(tf.stack([tf.argmax(simcc_x, axis=-1, output_type=tf.int32),
                                  tf.argmax(simcc_y, axis=-1, output_type=tf.int32)],
                                 axis=-1), tf.float32)
    scores = tf.minimum(tf.reduce_max(simcc_x, axis=-1), tf.reduce_max(simcc_y, axis=-1))
    locations = tf.where(scores[..., None] > 0.0, locations, -1.0)
    return locations, scores


def refine_simcc_dark(coordinates: tf.Tensor, simcc: tf.Tensor,
                      blur_kernel_size: int) -> tf.Tensor:
    """DARK step along one axis: `x - f'(x) / f''(x)` on the blurred log distribution.

    As MMPose's `refine_simcc_dark`: blur with `gaussian_blur1d`, clip to [1e-3, 50],
    log, pad two edge bins each side and take central differences (step 1 for the
    first derivative, 2 for the second, plus 1e-9). Bin reads use numpy's wrap-around
    on the padded row, so a location of -1 reads what MMPose reads.

    Args:
        coordinates: `(B, K)` bin positions (argmax locations, or -1).
        simcc: `(B, K, L)` raw distributions along this axis.
        blur_kernel_size: odd size of the modulating blur.

    Returns:
        Refined positions `(B, K)` float32, in bins.
    """
    coordinates = tf.convert_to_tensor(coordinates, tf.float32)
    log_simcc = tf.math.log(tf.clip_by_value(
        gaussian_blur1d(simcc, blur_kernel_size), 1e-3, 50.0))
    length = tf.shape(log_simcc)[-1]
    padded_length = length + 4
    # Index into the edge-padded row [x0, x0, x0..x(L-1), x(L-1), x(L-1)].
    position = tf.cast(coordinates + 2.5, tf.int32)

    def read(delta: int) -> tf.Tensor:
        padded_index = tf.math.floormod(position + delta, padded_length)
        source = tf.clip_by_value(padded_index - 2, 0, length - 1)
        return tf.gather(log_simcc, source[..., None], batch_dims=2)[..., 0]

    centre = read(0)
    dx = 0.5 * (read(1) - read(-1))
    dxx = 1e-9 + 0.25 * (read(2) - 2.0 * centre + read(-2))
    return coordinates - dx / dxx
