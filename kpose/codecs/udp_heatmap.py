"""UDPHeatmap: keypoints <-> UDP heatmaps (Gaussian or combined), as MMPose 1.3.2."""

from typing import Any, Dict, Optional, Sequence, Tuple

import gin
import keras
import numpy as np
import tensorflow as tf

from kpose.codecs.base_keypoint_codec import BaseKeypointCodec
from kpose.codecs.utils import to_numpy, wants_numpy
from kpose.codecs.utils.arguments import (check_choice, check_odd_kernel,
                                          check_positive, check_size)
from kpose.codecs.utils.post_processing import get_heatmap_maximum
from kpose.codecs.utils.udp_heatmap import (decode_udp_combined,
                                            generate_offset_heatmap,
                                            generate_udp_gaussian_heatmaps,
                                            refine_keypoints_dark_udp)

HEATMAP_TYPES = ("gaussian", "combined")


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class UDPHeatmap(BaseKeypointCodec):
    """Unbiased Data Processing (UDP) heatmaps, MMPose's `UDPHeatmap` channels-last.

    UDP measures the image in pixel intervals: keypoints are scaled to the heatmap by
    `(heatmap_size - 1) / (input_size - 1)`. Two target types:

    - `'gaussian'`: a Gaussian at the exact sub-pixel keypoint, drawn inside MSRA's
      integer 3-sigma patch; `(H, W, K)`. Decoded by argmax plus UDP's DARK step.
    - `'combined'`: per keypoint a binary disk of radius
      `radius_factor * max(W, H)` and the x / y offsets to the keypoint in units of that
      radius; `(H, W, 3K)` with channels `(class, x offset, y offset)` per keypoint.
      Decoded at the maximum of the blurred disk plus the offset read there.

    Decoding maps heatmap pixels back by `input_size / (heatmap_size - 1)`, MMPose's
    own (slightly asymmetric) rule, kept so that the numbers match.

    Args:
        input_size: `(w, h)` of the model input image, in pixels.
        heatmap_size: `(W, H)` of the heatmaps (each at least 2).
        heatmap_type: `'gaussian'` or `'combined'`.
        sigma: Gaussian standard deviation in heatmap pixels (`'gaussian'`).
        radius_factor: disk radius as a fraction of `max(W, H)` (`'combined'`).
        blur_kernel_size: odd blur size; the Gaussian decode's DARK modulation uses it
            directly, the combined decode blurs its disks with `2 * size + 1`.
    """

    def __init__(self,
                 input_size: Sequence[int],
                 heatmap_size: Sequence[int],
                 heatmap_type: str = "gaussian",
                 sigma: float = 2.0,
                 radius_factor: float = 0.0546875,
                 blur_kernel_size: int = 11) -> None:
        self.input_size = check_size("input_size", input_size)
        self.heatmap_size = check_size("heatmap_size", heatmap_size)
        if min(self.heatmap_size) < 2:
            raise ValueError("`heatmap_size` must be at least 2 per side (UDP divides by "
                             f"size - 1), received {heatmap_size!r}.")
        self.heatmap_type = check_choice("heatmap_type", heatmap_type, HEATMAP_TYPES)
        self.sigma = check_positive("sigma", sigma)
        self.radius_factor = check_positive("radius_factor", radius_factor)
        self.blur_kernel_size = check_odd_kernel("blur_kernel_size", blur_kernel_size)
        # Input pixels per heatmap pixel, (x, y), float32 as MMPose rounds it.
        self.scale_factor = ((np.asarray(self.input_size, np.float64) - 1) /
                             (np.asarray(self.heatmap_size, np.float64) - 1)).astype(
                                 np.float32)

    @property
    def num_channels_per_keypoint(self) -> int:
        """Heatmap channels per keypoint: 1 ('gaussian') or 3 ('combined')."""
        return 1 if self.heatmap_type == "gaussian" else 3

    def encode(self,
               keypoints: Any,
               keypoints_visible: Optional[Any] = None) -> Dict[str, Any]:
        """Builds UDP targets for the instances of one sample.

        Args:
            keypoints: `(N, K, D)` keypoints in input-image pixels (x, y first).
            keypoints_visible: `(N, K)` visibilities; None means all visible.

        Returns:
            `{"heatmaps": (H, W, K) or (H, W, 3K) float32, "keypoint_weights": (N, K)}`.
            Gaussians of several instances merge by maximum; combined maps keep the
            last visible instance (as MMPose's generator does).
        """
        numpy_out = wants_numpy(keypoints, keypoints_visible)
        keypoints = tf.convert_to_tensor(keypoints)
        if keypoints.dtype != tf.float32:
            keypoints = tf.cast(keypoints, tf.float32)
        keypoints = keypoints[..., :2]
        if keypoints_visible is None:
            keypoints_visible = tf.ones(tf.shape(keypoints)[:2], tf.float32)
        scaled = keypoints / tf.constant(self.scale_factor)
        if self.heatmap_type == "gaussian":
            heatmaps, weights = generate_udp_gaussian_heatmaps(
                self.heatmap_size, scaled, keypoints_visible, self.sigma)
        else:
            heatmaps, weights = generate_offset_heatmap(
                self.heatmap_size, scaled, keypoints_visible, self.radius_factor)
        width, height = self.heatmap_size
        channels = (keypoints.shape[1] * self.num_channels_per_keypoint
                    if keypoints.shape[1] is not None else None)
        heatmaps = tf.ensure_shape(heatmaps, [height, width, channels])
        encoded = {"heatmaps": heatmaps, "keypoint_weights": weights}
        return to_numpy(encoded) if numpy_out else encoded

    def decode(self, encoded: Any) -> Tuple[Any, Any]:
        """Decodes the heatmaps of one instance.

        Args:
            encoded: `(H, W, K)` ('gaussian') or `(H, W, 3K)` ('combined').

        Returns:
            keypoints `(1, K, 2)` in input-image pixels and scores `(1, K)`.
        """
        numpy_out = wants_numpy(encoded)
        keypoints, scores = self.batch_decode(tf.convert_to_tensor(encoded)[None])
        return to_numpy((keypoints, scores)) if numpy_out else (keypoints, scores)

    def batch_decode(self, batch_outputs: Any) -> Tuple[Any, Any]:
        """Decodes a batch of heatmaps (one instance per sample), vectorised.

        Args:
            batch_outputs: `(B, H, W, K)` or `(B, H, W, 3K)`.

        Returns:
            keypoints `(B, K, 2)` in input-image pixels and scores `(B, K)`.
        """
        numpy_out = wants_numpy(batch_outputs)
        heatmaps = tf.convert_to_tensor(batch_outputs)
        if heatmaps.dtype != tf.float32:
            heatmaps = tf.cast(heatmaps, tf.float32)
        if self.heatmap_type == "gaussian":
            locations, scores = get_heatmap_maximum(heatmaps)
            keypoints = refine_keypoints_dark_udp(locations, heatmaps,
                                                  self.blur_kernel_size)
        else:
            width, height = self.heatmap_size
            heatmaps = tf.ensure_shape(heatmaps, [None, height, width, None])
            keypoints, scores = decode_udp_combined(heatmaps, self.radius_factor,
                                                    self.blur_kernel_size)
        width, height = self.heatmap_size
        keypoints = keypoints * tf.constant(
            [self.input_size[0] / (width - 1), self.input_size[1] / (height - 1)],
            tf.float32)
        return to_numpy((keypoints, scores)) if numpy_out else (keypoints, scores)

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments."""
        return {
            "input_size": self.input_size,
            "heatmap_size": self.heatmap_size,
            "heatmap_type": self.heatmap_type,
            "sigma": self.sigma,
            "radius_factor": self.radius_factor,
            "blur_kernel_size": self.blur_kernel_size,
        }
