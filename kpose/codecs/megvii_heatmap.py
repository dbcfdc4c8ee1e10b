"""MegviiHeatmap: keypoints <-> blurred-delta heatmaps (MSPN / RSN), as MMPose 1.3.2."""

from typing import Any, Dict, Optional, Sequence, Tuple

import gin
import keras
import numpy as np
import tensorflow as tf

from kpose.codecs.base_keypoint_codec import BaseKeypointCodec
from kpose.codecs.utils.gaussian_heatmap import trunc
from kpose.codecs.utils import to_numpy, wants_numpy
from kpose.codecs.utils.arguments import check_odd_kernel, check_size
from kpose.codecs.utils.post_processing import (flatten_heatmaps, gaussian_blur,
                                                get_heatmap_maximum)
from kpose.codecs.utils.reflect_blur import reflect101_blur_matrix


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class MegviiHeatmap(BaseKeypointCodec):
    """Heatmaps of MSPN / RSN, as MMPose's `MegviiHeatmap`, channels-last.

    Encoding puts a 1 at the heatmap pixel `int(kp / scale_factor)` (truncation) and
    blurs it with `cv2.GaussianBlur(kernel_size, sigma 0)` and cv2's default reflected
    border, then scales the map so that pixel is 255. A blurred delta is the outer
    product of two 1-D blurred deltas, so each target is read from two small constant
    matrices (`reflect101_blur_matrix`), with no convolution at encode time. Decoding
    blurs (`gaussian_blur`), takes the maximum, adds a quarter pixel towards the higher
    neighbour plus half a pixel (only for `1 < x < W - 1` and `1 < y < H - 1`) and maps
    scores to `max / 255 + 0.5`.

    Args:
        input_size: `(w, h)` of the model input image, in pixels.
        heatmap_size: `(W, H)` of the heatmaps.
        kernel_size: odd Gaussian kernel size of the targets and of the decode blur.
    """

    def __init__(self,
                 input_size: Sequence[int],
                 heatmap_size: Sequence[int],
                 kernel_size: int) -> None:
        self.input_size = check_size("input_size", input_size)
        self.heatmap_size = check_size("heatmap_size", heatmap_size)
        self.kernel_size = check_odd_kernel("kernel_size", kernel_size)
        self.scale_factor = (np.asarray(self.input_size, np.float64) /
                             np.asarray(self.heatmap_size, np.float64)).astype(
                                 np.float32)
        width, height = self.heatmap_size
        # Row j of the transpose: the blurred profile of a delta at pixel j.
        self._profiles_x = reflect101_blur_matrix(width, self.kernel_size).T.copy()
        self._profiles_y = reflect101_blur_matrix(height, self.kernel_size).T.copy()

    def encode(self,
               keypoints: Any,
               keypoints_visible: Optional[Any] = None) -> Dict[str, Any]:
        """Builds the targets of one sample.

        Args:
            keypoints: `(N, K, D)` keypoints in input-image pixels (x, y first). MMPose
                accepts N = 1 only; several instances are merged by maximum here.
            keypoints_visible: `(N, K)` visibilities; None means all visible.

        Returns:
            `{"heatmaps": (H, W, K) float32 (peak 255), "keypoint_weights": (N, K)}`.
            Keypoints below visibility 0.5 draw nothing and keep their visibility;
            keypoints whose pixel lies outside the heatmap get weight 0.
        """
        numpy_out = wants_numpy(keypoints, keypoints_visible)
        keypoints = tf.convert_to_tensor(keypoints)
        if keypoints.dtype != tf.float32:
            keypoints = tf.cast(keypoints, tf.float32)
        keypoints = keypoints[..., :2]
        if keypoints_visible is None:
            keypoints_visible = tf.ones(tf.shape(keypoints)[:2], tf.float32)
        keypoints_visible = tf.cast(tf.convert_to_tensor(keypoints_visible), tf.float32)
        width, height = self.heatmap_size
        pixel = trunc(keypoints / tf.constant(self.scale_factor))  # (N, K, 2)
        outside = tf.reduce_any(
            (pixel < 0) | (pixel >= tf.constant([width, height], tf.float32)) |
            ~tf.math.is_finite(keypoints), axis=-1)
        labelled = keypoints_visible >= 0.5
        weights = tf.where(labelled & outside, 0.0, keypoints_visible)
        drawn = labelled & ~outside
        index = tf.cast(tf.where(drawn[..., None], pixel, 0.0), tf.int32)
        profile_x = tf.gather(tf.constant(self._profiles_x), index[..., 0])  # (N, K, W)
        profile_y = tf.gather(tf.constant(self._profiles_y), index[..., 1])  # (N, K, H)
        peak_x = tf.gather(profile_x, index[..., 0:1], batch_dims=2)  # (N, K, 1)
        peak_y = tf.gather(profile_y, index[..., 1:2], batch_dims=2)
        peak = (peak_y * peak_x)[:, None, None, :, 0]  # (N, 1, 1, K)
        blurred = (tf.transpose(profile_y, [0, 2, 1])[:, :, None, :] *
                   tf.transpose(profile_x, [0, 2, 1])[:, None, :, :])  # (N, H, W, K)
        heatmaps = blurred / peak * 255.0
        heatmaps = tf.where(drawn[:, None, None, :], heatmaps, 0.0)
        heatmaps = tf.maximum(tf.reduce_max(heatmaps, axis=0), 0.0)  # zeros when N == 0
        heatmaps = tf.ensure_shape(heatmaps, [height, width, keypoints.shape[1]])
        encoded = {"heatmaps": heatmaps, "keypoint_weights": weights}
        return to_numpy(encoded) if numpy_out else encoded

    def decode(self, encoded: Any) -> Tuple[Any, Any]:
        """Decodes the heatmaps `(H, W, K)` of one instance.

        Returns:
            keypoints `(1, K, 2)` in input-image pixels and scores `(1, K)`.
        """
        numpy_out = wants_numpy(encoded)
        decoded = self.batch_decode(tf.convert_to_tensor(encoded)[None])
        return to_numpy(decoded) if numpy_out else decoded

    def batch_decode(self, batch_outputs: Any) -> Tuple[Any, Any]:
        """Decodes a batch of heatmaps `(B, H, W, K)`, vectorised.

        Returns:
            keypoints `(B, K, 2)` in input-image pixels and scores `(B, K)`.
        """
        numpy_out = wants_numpy(batch_outputs)
        heatmaps = tf.convert_to_tensor(batch_outputs)
        if heatmaps.dtype != tf.float32:
            heatmaps = tf.cast(heatmaps, tf.float32)
        blurred = gaussian_blur(heatmaps, self.kernel_size)
        locations, scores = get_heatmap_maximum(blurred)
        shape = tf.shape(blurred)
        height, width = shape[1], shape[2]
        flat = flatten_heatmaps(blurred)
        x = tf.cast(locations[..., 0], tf.int32)
        y = tf.cast(locations[..., 1], tf.int32)

        def read(dx: int, dy: int) -> tf.Tensor:
            xx = tf.clip_by_value(x + dx, 0, width - 1)
            yy = tf.clip_by_value(y + dy, 0, height - 1)
            return tf.gather(flat, yy * width + xx, batch_dims=2)

        inside = (x > 1) & (x < width - 1) & (y > 1) & (y < height - 1)
        diff = tf.stack([read(1, 0) - read(-1, 0), read(0, 1) - read(0, -1)], axis=-1)
        step = tf.where(inside[..., None], tf.sign(diff) * 0.25 + 0.5, 0.0)
        keypoints = (locations + step) * tf.constant(self.scale_factor)
        scores = scores / 255.0 + 0.5
        decoded = (keypoints, scores)
        return to_numpy(decoded) if numpy_out else decoded

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments."""
        return {"input_size": self.input_size, "heatmap_size": self.heatmap_size,
                "kernel_size": self.kernel_size}
