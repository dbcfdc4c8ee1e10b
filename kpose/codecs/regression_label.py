"""RegressionLabel: keypoints <-> coordinates normalised by the input size."""

from typing import Any, Dict, Optional, Sequence, Tuple

import gin
import keras
import tensorflow as tf

from kpose.codecs.base_keypoint_codec import BaseKeypointCodec
from kpose.codecs.utils import to_numpy, wants_numpy
from kpose.codecs.utils.arguments import check_size


def regression_decode(coordinates: tf.Tensor,
                      input_size: Tuple[int, int]) -> Tuple[tf.Tensor, tf.Tensor]:
    """Normalised coordinates `(..., K, 2)` or `(..., K, 4)` -> pixels and scores.

    With D = 4 the last two entries are the predicted sigmas (RLE) and the score is
    `mean(1 - sigma)`; with D = 2 every score is 1. As MMPose's `RegressionLabel`.
    """
    coordinates = tf.convert_to_tensor(coordinates)
    if coordinates.dtype != tf.float32:
        coordinates = tf.cast(coordinates, tf.float32)
    depth = coordinates.shape[-1]
    if depth == 2:
        scores = tf.ones_like(coordinates[..., 0])
    elif depth == 4:
        scores = tf.reduce_mean(1.0 - coordinates[..., 2:4], axis=-1)
    else:
        raise ValueError("Regression outputs need a last dimension of 2 (x, y) or 4 "
                         f"(x, y, sigma_x, sigma_y), received shape {coordinates.shape}.")
    keypoints = coordinates[..., :2] * tf.constant(input_size, tf.float32)
    return keypoints, scores


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class RegressionLabel(BaseKeypointCodec):
    """Keypoints as coordinates divided by the input size, as MMPose's `RegressionLabel`.

    Encoding divides pixels by `(w, h)`; a keypoint gets weight 1 when it is visible
    (> 0.5) and inside `[0, w - 1] x [0, h - 1]`, else 0. Decoding multiplies back;
    outputs with 4 values per keypoint carry RLE's sigmas, giving scores
    `mean(1 - sigma)` (otherwise 1).

    Args:
        input_size: `(w, h)` of the model input image, in pixels.
    """

    def __init__(self, input_size: Sequence[int]) -> None:
        self.input_size = check_size("input_size", input_size)

    def encode(self,
               keypoints: Any,
               keypoints_visible: Optional[Any] = None) -> Dict[str, Any]:
        """Normalised coordinates for the instances of one sample.

        Args:
            keypoints: `(N, K, D)` keypoints in input-image pixels (x, y first).
            keypoints_visible: `(N, K)` visibilities; None means all visible.

        Returns:
            `{"keypoint_labels": (N, K, 2), "keypoint_weights": (N, K)}`, float32.
        """
        numpy_out = wants_numpy(keypoints, keypoints_visible)
        keypoints = tf.convert_to_tensor(keypoints)
        if keypoints.dtype != tf.float32:
            keypoints = tf.cast(keypoints, tf.float32)
        keypoints = keypoints[..., :2]
        if keypoints_visible is None:
            keypoints_visible = tf.ones(tf.shape(keypoints)[:2], tf.float32)
        keypoints_visible = tf.cast(tf.convert_to_tensor(keypoints_visible), tf.float32)
        width, height = self.input_size
        inside = tf.reduce_all(
            (keypoints >= 0) & (keypoints <= tf.constant([width - 1.0, height - 1.0])),
            axis=-1)
        valid = inside & (keypoints_visible > 0.5)
        # numpy divides the float32 keypoints by an int64 array in float64.
        labels = tf.cast(tf.cast(keypoints, tf.float64) /
                         tf.constant([width, height], tf.float64), tf.float32)
        encoded = {"keypoint_labels": labels,
                   "keypoint_weights": tf.cast(valid, tf.float32)}
        return to_numpy(encoded) if numpy_out else encoded

    def decode(self, encoded: Any) -> Tuple[Any, Any]:
        """Decodes normalised coordinates.

        Args:
            encoded: `(N, K, 2)`, or `(N, K, 4)` with sigmas.

        Returns:
            keypoints `(N, K, 2)` in input-image pixels and scores `(N, K)`.
        """
        return self.batch_decode(encoded)

    def batch_decode(self, batch_outputs: Any) -> Tuple[Any, Any]:
        """Decodes a batch `(B, K, 2)` or `(B, K, 4)`; the same rule as `decode`."""
        numpy_out = wants_numpy(batch_outputs)
        decoded = regression_decode(batch_outputs, self.input_size)
        return to_numpy(decoded) if numpy_out else decoded

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments."""
        return {"input_size": self.input_size}
