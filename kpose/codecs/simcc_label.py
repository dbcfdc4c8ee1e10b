"""SimCCLabel: keypoints <-> 1-D classification labels per axis (SimCC, RTMPose)."""

import numbers
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import gin
import keras
import numpy as np
import tensorflow as tf

from kpose.codecs.base_keypoint_codec import BaseKeypointCodec
from kpose.codecs.utils import to_numpy, wants_numpy
from kpose.codecs.utils.arguments import check_bool, check_choice, check_positive, \
    check_size
from kpose.codecs.utils.simcc import get_simcc_maximum, refine_simcc_dark

SMOOTHING_TYPES = ("gaussian", "standard")


def _dark_kernel_size(sigma: float) -> int:
    """MMPose's SimCC DARK blur size for a label sigma (in bins), made odd."""
    size = int((sigma * 20 - 7) // 3)
    return size - int(size % 2 == 0)


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class SimCCLabel(BaseKeypointCodec):
    """SimCC labels, as MMPose's `SimCCLabel`: one distribution over x bins and one over
    y bins per keypoint, `simcc_split_ratio` bins per input pixel.

    A keypoint falls in bin `round(kp * simcc_split_ratio)` (round half to even, as
    numpy). `'gaussian'` labels are unnormalised Gaussians of `sigma` bins around that
    bin (divided by `sigma * sqrt(2 pi)` when `normalize`); `'standard'` labels are
    one-hot, smoothed by `label_smooth_weight` spread over the other bins. Decoding
    takes each distribution's argmax (score: the smaller of the two maxima), optionally
    refined by DARK along each axis, divided by `simcc_split_ratio`.

    Args:
        input_size: `(w, h)` of the model input image, in pixels.
        smoothing_type: `'gaussian'` or `'standard'`.
        sigma: Gaussian standard deviation in bins, one number or `(sigma_x, sigma_y)`.
        simcc_split_ratio: bins per input pixel; `Wx = round(w * ratio)`,
            `Wy = round(h * ratio)`.
        label_smooth_weight: probability mass spread over the other bins, in [0, 1]
            (`'standard'` only).
        normalize: divide Gaussian labels by `sigma * sqrt(2 pi)`.
        use_dark: refine decoded bins with DARK (blur size derived from sigma).
        decode_visibility: also decode a visibility per keypoint; `decode` then returns
            `(keypoints, (scores, visibility))`, as MMPose does.
        decode_beta: softmax temperature factor of the visibility decoding.
    """

    def __init__(self,
                 input_size: Sequence[int],
                 smoothing_type: str = "gaussian",
                 sigma: Union[float, Sequence[float]] = 6.0,
                 simcc_split_ratio: float = 2.0,
                 label_smooth_weight: float = 0.0,
                 normalize: bool = True,
                 use_dark: bool = False,
                 decode_visibility: bool = False,
                 decode_beta: float = 150.0) -> None:
        self.input_size = check_size("input_size", input_size)
        self.smoothing_type = check_choice("smoothing_type", smoothing_type,
                                           SMOOTHING_TYPES)
        if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):
            sigmas = (sigma, sigma)
        else:
            try:
                sigmas = tuple(sigma)
            except TypeError:
                sigmas = ()
            if len(sigmas) != 2:
                raise ValueError("`sigma` must be a positive number or two of them "
                                 f"(sigma_x, sigma_y), received {sigma!r}.")
        self.sigma = tuple(check_positive("sigma", s) for s in sigmas)
        self.simcc_split_ratio = check_positive("simcc_split_ratio", simcc_split_ratio)
        if (isinstance(label_smooth_weight, bool) or
                not isinstance(label_smooth_weight, numbers.Real) or
                not 0.0 <= label_smooth_weight <= 1.0):
            raise ValueError("`label_smooth_weight` must be in [0, 1], received "
                             f"{label_smooth_weight!r}.")
        if self.smoothing_type == "gaussian" and label_smooth_weight > 0:
            raise ValueError("`label_smooth_weight` is only used with smoothing_type="
                             f"'standard', received {label_smooth_weight!r} with "
                             "'gaussian'.")
        self.label_smooth_weight = float(label_smooth_weight)
        self.normalize = check_bool("normalize", normalize)
        self.use_dark = check_bool("use_dark", use_dark)
        self.decode_visibility = check_bool("decode_visibility", decode_visibility)
        self.decode_beta = check_positive("decode_beta", decode_beta)
        # Bins per axis, numpy's round half to even as MMPose.
        self.simcc_size = tuple(int(np.around(s * self.simcc_split_ratio))
                                for s in self.input_size)
        if min(self.simcc_size) < 2:
            raise ValueError("input_size * simcc_split_ratio must give at least 2 bins "
                             f"per axis, received {self.input_size} x "
                             f"{self.simcc_split_ratio}.")

    def encode(self,
               keypoints: Any,
               keypoints_visible: Optional[Any] = None) -> Dict[str, Any]:
        """Builds SimCC labels for the instances of one sample.

        Args:
            keypoints: `(N, K, D)` keypoints in input-image pixels (x, y first).
            keypoints_visible: `(N, K)` visibilities; None means all visible.

        Returns:
            `{"keypoint_x_labels": (N, K, Wx), "keypoint_y_labels": (N, K, Wy),
            "keypoint_weights": (N, K)}`, float32. Keypoints with visibility < 0.5 get
            zero labels and keep their visibility as weight; keypoints whose bin (or,
            for 'gaussian', whose 3-sigma window) lies outside get zero labels and
            weight 0.
        """
        numpy_out = wants_numpy(keypoints, keypoints_visible)
        keypoints = tf.convert_to_tensor(keypoints)
        if keypoints.dtype != tf.float32:
            keypoints = tf.cast(keypoints, tf.float32)
        keypoints = keypoints[..., :2]
        if keypoints_visible is None:
            keypoints_visible = tf.ones(tf.shape(keypoints)[:2], tf.float32)
        keypoints_visible = tf.cast(tf.convert_to_tensor(keypoints_visible), tf.float32)

        bins = tf.round(keypoints * self.simcc_split_ratio)  # half to even, as np.around
        bins64 = tf.cast(bins, tf.float64)
        size = tf.constant(self.simcc_size, tf.float64)
        if self.smoothing_type == "gaussian":
            radius = 3.0 * tf.constant(self.sigma, tf.float64)
            outside = tf.reduce_any((bins64 - radius >= size) |
                                    (bins64 + radius + 1.0 < 0), axis=-1)
        else:
            outside = tf.reduce_any((bins64 >= size) | (bins64 < 0), axis=-1)
        # Non-finite keypoints overflow numpy's int cast, i.e. outside.
        outside |= tf.reduce_any(~tf.math.is_finite(keypoints), axis=-1)
        labelled = keypoints_visible >= 0.5
        weights = tf.where(labelled & outside, 0.0, keypoints_visible)
        drawn = (labelled & ~outside)[..., None]

        labels = []
        for axis in (0, 1):
            length = self.simcc_size[axis]
            grid = tf.range(length, dtype=tf.float64)
            centre = bins64[..., axis:axis + 1]
            if self.smoothing_type == "gaussian":
                sigma = self.sigma[axis]
                # float64 as numpy computes it, stored as float32, then normalised.
                label = tf.cast(tf.exp(-tf.square(grid - centre) / (2.0 * sigma**2)),
                                tf.float32)
                label = tf.where(drawn, label, 0.0)
                if self.normalize:
                    label = tf.cast(tf.cast(label, tf.float64) /
                                    (sigma * np.sqrt(np.pi * 2)), tf.float32)
            else:
                smooth = self.label_smooth_weight
                background = np.float32(smooth / (length - 1)) if smooth > 0 else 0.0
                label = tf.where(grid == centre, np.float32(1.0 - smooth), background)
                label = tf.where(drawn, label, 0.0)
            num_keypoints = keypoints.shape[1]
            labels.append(tf.ensure_shape(label, [None, num_keypoints, length]))
        encoded = {"keypoint_x_labels": labels[0], "keypoint_y_labels": labels[1],
                   "keypoint_weights": weights}
        return to_numpy(encoded) if numpy_out else encoded

    def decode(self, encoded: Any) -> Tuple[Any, Any]:
        """Decodes SimCC outputs.

        Args:
            encoded: the pair `(simcc_x, simcc_y)`, each `(N, K, L)` or `(K, L)`.

        Returns:
            keypoints `(N, K, 2)` in input-image pixels and scores `(N, K)`; with
            `decode_visibility`, `(keypoints, (scores, visibility))`.
        """
        simcc_x, simcc_y = self._split(encoded)
        numpy_out = wants_numpy(simcc_x, simcc_y)
        simcc_x = tf.convert_to_tensor(simcc_x)
        simcc_y = tf.convert_to_tensor(simcc_y)
        if simcc_x.shape.rank == 2:
            simcc_x, simcc_y = simcc_x[None], simcc_y[None]
        decoded = self.batch_decode((simcc_x, simcc_y))
        return to_numpy(decoded) if numpy_out else decoded

    def batch_decode(self, batch_outputs: Any) -> Tuple[Any, Any]:
        """Decodes a batch of SimCC outputs (one instance per sample), vectorised.

        Args:
            batch_outputs: the pair `(simcc_x (B, K, Wx), simcc_y (B, K, Wy))`.

        Returns:
            keypoints `(B, K, 2)` in input-image pixels and scores `(B, K)`; with
            `decode_visibility`, `(keypoints, (scores, visibility))`.
        """
        simcc_x, simcc_y = self._split(batch_outputs)
        numpy_out = wants_numpy(simcc_x, simcc_y)
        simcc_x = tf.cast(tf.convert_to_tensor(simcc_x), tf.float32)
        simcc_y = tf.cast(tf.convert_to_tensor(simcc_y), tf.float32)
        locations, scores = get_simcc_maximum(simcc_x, simcc_y)
        if self.use_dark:
            x = refine_simcc_dark(locations[..., 0], simcc_x,
                                  _dark_kernel_size(self.sigma[0]))
            y = refine_simcc_dark(locations[..., 1], simcc_y,
                                  _dark_kernel_size(self.sigma[1]))
            locations = tf.stack([x, y], axis=-1)
        keypoints = locations / self.simcc_split_ratio
        if self.decode_visibility:
            _, visibility = get_simcc_maximum(
                simcc_x * (self.decode_beta * self.sigma[0]),
                simcc_y * (self.decode_beta * self.sigma[1]), apply_softmax=True)
            decoded = (keypoints, (scores, visibility))
        else:
            decoded = (keypoints, scores)
        return to_numpy(decoded) if numpy_out else decoded

    @staticmethod
    def _split(outputs: Any) -> Tuple[Any, Any]:
        if not isinstance(outputs, (tuple, list)) or len(outputs) != 2:
            raise ValueError("SimCCLabel decodes a pair (simcc_x, simcc_y), received "
                             f"{type(outputs).__name__}.")
        return outputs[0], outputs[1]

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments."""
        return {
            "input_size": self.input_size,
            "smoothing_type": self.smoothing_type,
            "sigma": self.sigma,
            "simcc_split_ratio": self.simcc_split_ratio,
            "label_smooth_weight": self.label_smooth_weight,
            "normalize": self.normalize,
            "use_dark": self.use_dark,
            "decode_visibility": self.decode_visibility,
            "decode_beta": self.decode_beta,
        }
