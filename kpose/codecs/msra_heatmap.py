"""MSRAHeatmap: keypoints <-> Gaussian heatmaps (SimpleBaseline / DARK), as MMPose 1.3.2."""

from typing import Any, Dict, Optional, Sequence, Tuple

import gin
import keras
import numpy as np
import tensorflow as tf

from kpose.codecs.base_keypoint_codec import BaseKeypointCodec
from kpose.codecs.utils.arguments import (check_bool, check_odd_kernel, check_positive,
                                          check_size)
from kpose.codecs.utils.gaussian_heatmap import (batch_generate_gaussian_heatmaps,
                                                 batch_generate_unbiased_gaussian_heatmaps)
from kpose.codecs.utils import (generate_gaussian_heatmaps,
                                generate_unbiased_gaussian_heatmaps,
                                get_heatmap_maximum, refine_keypoints,
                                refine_keypoints_dark, to_numpy, wants_numpy)


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class MSRAHeatmap(BaseKeypointCodec):
    """Encodes keypoints as Gaussian heatmaps and decodes heatmaps to keypoints.

    Same class name, arguments and numbers as MMPose's `MSRAHeatmap`, with channels-last
    heatmaps. Encoding draws, per keypoint, an unnormalised Gaussian (peak 1) on the
    heatmap grid: with `unbiased=False` a patch of radius 3 sigma centred on the nearest
    integer pixel; with `unbiased=True` a full-map Gaussian at the exact sub-pixel
    position (DARK). Decoding takes each channel's argmax and refines it, by a quarter
    pixel towards the higher neighbour, or with `unbiased=True` by DARK's Taylor step on
    the blurred log heatmap.

    Written in TF ops: runs eagerly (numpy in -> numpy out), inside `tf.data` and inside
    `tf.function` / exported graphs (decode converts to TFLite with builtin ops).

    Args:
        input_size: `(w, h)` of the model input image, in pixels.
        heatmap_size: `(W, H)` of the heatmaps. Keypoints are scaled by
            `heatmap_size / input_size` to encode and back to decode.
        sigma: Gaussian standard deviation, in heatmap pixels.
        unbiased: use DARK's unbiased encoding and decoding.
        blur_kernel_size: odd size of the Gaussian blur applied before DARK decoding
            (cv2's kernel for sigma 0, i.e. `sigma = 0.3 * ((ks - 1) * 0.5 - 1) + 0.8`:
            11 matches sigma 2, 17 sigma 3). Unused unless `unbiased`.
    """

    def __init__(self,
                 input_size: Sequence[int],
                 heatmap_size: Sequence[int],
                 sigma: float = 2.0,
                 unbiased: bool = False,
                 blur_kernel_size: int = 11) -> None:
        self.input_size = check_size("input_size", input_size)
        self.heatmap_size = check_size("heatmap_size", heatmap_size)
        self.sigma = check_positive("sigma", sigma)
        self.unbiased = check_bool("unbiased", unbiased)
        self.blur_kernel_size = check_odd_kernel("blur_kernel_size", blur_kernel_size)
        # Input pixels per heatmap pixel, (x, y); float32 as MMPose rounds it.
        self.scale_factor = (np.asarray(self.input_size, np.float64) /
                             np.asarray(self.heatmap_size, np.float64)).astype(np.float32)

    def encode(self,
               keypoints: Any,
               keypoints_visible: Optional[Any] = None) -> Dict[str, Any]:
        """Builds heatmap targets for the instances of one sample.

        Args:
            keypoints: `(N, K, D)` keypoints in input-image pixels (x, y first);
                computed in float32, as MMPose does with float32 keypoints.
            keypoints_visible: `(N, K)` visibilities; None means all visible. Entries
                below 0.5 draw nothing.

        Returns:
            `{"heatmaps": (H, W, K) float32, "keypoint_weights": (N, K) float32}`; the
            instances' Gaussians are merged by maximum. A weight is the visibility, or 0
            where the keypoint's Gaussian falls wholly outside the heatmap.
        """
        numpy_out = wants_numpy(keypoints, keypoints_visible)
        keypoints = tf.convert_to_tensor(keypoints)
        if keypoints.dtype != tf.float32:
            keypoints = tf.cast(keypoints, tf.float32)
        keypoints = keypoints[..., :2]
        if keypoints_visible is None:
            keypoints_visible = tf.ones(tf.shape(keypoints)[:2], tf.float32)
        generate = (generate_unbiased_gaussian_heatmaps
                    if self.unbiased else generate_gaussian_heatmaps)
        heatmaps, keypoint_weights = generate(
            self.heatmap_size, keypoints / tf.constant(self.scale_factor),
            keypoints_visible, self.sigma)
        width, height = self.heatmap_size
        heatmaps = tf.ensure_shape(heatmaps, [height, width, keypoints.shape[1]])
        encoded = {"heatmaps": heatmaps, "keypoint_weights": keypoint_weights}
        return to_numpy(encoded) if numpy_out else encoded

    def batch_encode(self,
                     keypoints: Any,
                     keypoints_visible: Optional[Any] = None) -> Dict[str, Any]:
        """`encode` for a batch of single-instance samples, vectorised (the pipeline's
        target step).

        Args:
            keypoints: `(B, K, D)` keypoints in input-image pixels, one instance per sample.
            keypoints_visible: `(B, K)` visibilities; None means all visible.

        Returns:
            `{"heatmaps": (B, H, W, K), "keypoint_weights": (B, K)}` float32; sample b's
            entries equal `encode(keypoints[b:b + 1], keypoints_visible[b:b + 1])` bit for
            bit.
        """
        numpy_out = wants_numpy(keypoints, keypoints_visible)
        keypoints = tf.convert_to_tensor(keypoints)
        if keypoints.dtype != tf.float32:
            keypoints = tf.cast(keypoints, tf.float32)
        keypoints = keypoints[..., :2]
        if keypoints_visible is None:
            keypoints_visible = tf.ones(tf.shape(keypoints)[:2], tf.float32)
        generate = (batch_generate_unbiased_gaussian_heatmaps
                    if self.unbiased else batch_generate_gaussian_heatmaps)
        heatmaps, keypoint_weights = generate(
            self.heatmap_size, keypoints / tf.constant(self.scale_factor),
            keypoints_visible, self.sigma)
        width, height = self.heatmap_size
        heatmaps = tf.ensure_shape(heatmaps, [None, height, width, keypoints.shape[1]])
        encoded = {"heatmaps": heatmaps, "keypoint_weights": keypoint_weights}
        return to_numpy(encoded) if numpy_out else encoded

    def decode(self, encoded: Any) -> Tuple[Any, Any]:
        """Decodes the heatmaps of one instance.

        Args:
            encoded: heatmaps `(H, W, K)`.

        Returns:
            keypoints `(1, K, 2)` in input-image pixels and scores `(1, K)` (each
            channel's maximum). A channel whose maximum is <= 0 decodes to
            `-scale_factor`, MMPose's (-1, -1) heatmap location scaled.
        """
        numpy_out = wants_numpy(encoded)
        keypoints, scores = self.batch_decode(tf.convert_to_tensor(encoded)[None])
        return to_numpy((keypoints, scores)) if numpy_out else (keypoints, scores)

    def batch_decode(self, batch_outputs: Any) -> Tuple[Any, Any]:
        """Decodes a batch of heatmaps (one instance per sample), vectorised.

        Args:
            batch_outputs: heatmaps `(B, H, W, K)`.

        Returns:
            keypoints `(B, K, 2)` in input-image pixels and scores `(B, K)`.
        """
        numpy_out = wants_numpy(batch_outputs)
        heatmaps = tf.convert_to_tensor(batch_outputs)
        if heatmaps.dtype != tf.float32:
            heatmaps = tf.cast(heatmaps, tf.float32)
        locations, scores = get_heatmap_maximum(heatmaps)
        if self.unbiased:
            keypoints = refine_keypoints_dark(locations, heatmaps, self.blur_kernel_size)
        else:
            keypoints = refine_keypoints(locations, heatmaps)
        keypoints = keypoints * tf.constant(self.scale_factor)
        return to_numpy((keypoints, scores)) if numpy_out else (keypoints, scores)

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments."""
        return {
            "input_size": self.input_size,
            "heatmap_size": self.heatmap_size,
            "sigma": self.sigma,
            "unbiased": self.unbiased,
            "blur_kernel_size": self.blur_kernel_size,
        }
