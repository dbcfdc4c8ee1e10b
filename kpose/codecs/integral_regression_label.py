"""IntegralRegressionLabel: normalised coordinates plus normalised heatmaps (DSNT / IPR)."""

from typing import Any, Dict, Optional, Sequence, Tuple

import gin
import keras
import tensorflow as tf

from kpose.codecs.base_keypoint_codec import BaseKeypointCodec
from kpose.codecs.msra_heatmap import MSRAHeatmap
from kpose.codecs.regression_label import RegressionLabel, regression_decode
from kpose.codecs.utils import to_numpy, wants_numpy
from kpose.codecs.utils.arguments import check_bool


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class IntegralRegressionLabel(BaseKeypointCodec):
    """Targets for integral regression heads, as MMPose's `IntegralRegressionLabel`.

    Encoding gives `RegressionLabel`'s normalised coordinates and weights, plus
    `MSRAHeatmap`'s heatmaps, each channel divided by its sum (+1e-24) when
    `normalize`. Decoding reads the regressed coordinates only.

    Args:
        input_size: `(w, h)` of the model input image, in pixels.
        heatmap_size: `(W, H)` of the heatmaps.
        sigma: Gaussian standard deviation in heatmap pixels.
        unbiased: DARK (sub-pixel) Gaussian targets.
        blur_kernel_size: `MSRAHeatmap`'s blur size (unused by decoding here).
        normalize: make each heatmap channel sum to 1.
    """

    def __init__(self,
                 input_size: Sequence[int],
                 heatmap_size: Sequence[int],
                 sigma: float,
                 unbiased: bool = False,
                 blur_kernel_size: int = 11,
                 normalize: bool = True) -> None:
        self.heatmap_codec = MSRAHeatmap(input_size, heatmap_size, sigma, unbiased,
                                         blur_kernel_size)
        self.keypoint_codec = RegressionLabel(input_size)
        self.normalize = check_bool("normalize", normalize)

    @property
    def input_size(self) -> Tuple[int, int]:
        """`(w, h)` of the model input image."""
        return self.keypoint_codec.input_size

    @property
    def heatmap_size(self) -> Tuple[int, int]:
        """`(W, H)` of the heatmaps."""
        return self.heatmap_codec.heatmap_size

    def encode(self,
               keypoints: Any,
               keypoints_visible: Optional[Any] = None) -> Dict[str, Any]:
        """Regression labels and heatmaps for the instances of one sample.

        Args:
            keypoints: `(N, K, D)` keypoints in input-image pixels.
            keypoints_visible: `(N, K)` visibilities; None means all visible.

        Returns:
            `{"keypoint_labels": (N, K, 2), "heatmaps": (H, W, K),
            "keypoint_weights": (N, K)}`, float32; weights follow `RegressionLabel`.
        """
        numpy_out = wants_numpy(keypoints, keypoints_visible)
        keypoints = tf.convert_to_tensor(keypoints)
        if keypoints_visible is not None:
            keypoints_visible = tf.convert_to_tensor(keypoints_visible)
        heatmaps = self.heatmap_codec.encode(keypoints, keypoints_visible)["heatmaps"]
        labels = self.keypoint_codec.encode(keypoints, keypoints_visible)
        if self.normalize:
            heatmaps = heatmaps / (tf.reduce_sum(heatmaps, axis=(0, 1), keepdims=True) +
                                   1e-24)
        encoded = {"keypoint_labels": labels["keypoint_labels"], "heatmaps": heatmaps,
                   "keypoint_weights": labels["keypoint_weights"]}
        return to_numpy(encoded) if numpy_out else encoded

    def decode(self, encoded: Any) -> Tuple[Any, Any]:
        """Decodes regressed coordinates `(N, K, 2)` (see `RegressionLabel.decode`)."""
        return self.batch_decode(encoded)

    def batch_decode(self, batch_outputs: Any) -> Tuple[Any, Any]:
        """Decodes `(B, K, 2)` coordinates, or a head's `(coordinates, heatmaps)` pair
        (the heatmaps are not needed to decode).

        Returns:
            keypoints `(B, K, 2)` in input-image pixels and scores `(B, K)`.
        """
        if isinstance(batch_outputs, (tuple, list)):
            batch_outputs = batch_outputs[0]
        numpy_out = wants_numpy(batch_outputs)
        decoded = regression_decode(batch_outputs, self.input_size)
        return to_numpy(decoded) if numpy_out else decoded

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments."""
        return {
            "input_size": self.input_size,
            "heatmap_size": self.heatmap_size,
            "sigma": self.heatmap_codec.sigma,
            "unbiased": self.heatmap_codec.unbiased,
            "blur_kernel_size": self.heatmap_codec.blur_kernel_size,
            "normalize": self.normalize,
        }
