"""Top-down regression head of DeepPose (Toshev et al., 2014): one Linear to coordinates."""

from typing import Any, Dict, Mapping, Optional, Sequence

import gin
import keras
import tensorflow as tf

from kpose.models.heads._regression_utils import (check_input_size, coordinate_accuracy,
                                                   flip_input_size, regression_targets)
from kpose.models.losses.smooth_l1_loss import SmoothL1Loss
from kpose.models.utils.tta import flip_coordinates


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class RegressionHead(keras.layers.Layer):
    """Regresses K normalised keypoint coordinates with one fully connected layer.

    As MMPose's `RegressionHead`: the last feature is flattened (MMPose's configs put a
    `GlobalAveragePooling` neck first, giving (B, C)) and mapped by `fc` (MMPose's
    `head.fc`) to K * 2 values. A (B, h, w, C) map is flattened in PyTorch's (C, h, w)
    order so that converted MMPose weights line up.

    Input: a tuple of features; the last, (B, C) or (B, h, w, C), is used.
    Output: (B, K, 2) coordinates normalised by the input size (x / w, y / h), which
    `RegressionLabel.batch_decode` turns into pixels.

    Args:
        in_channels: size of the flattened last feature (C, or C * h * w); checked when
            the layer is built (None: take what comes). The only positional argument.
        num_joints: number of keypoints K (keyword-only).
        loss: coordinate loss called as `loss(pred, target, target_weights)`; defaults to
            `SmoothL1Loss(use_target_weight=True)`.
        input_size: `(w, h)` of the model input (the codec's `input_size`); needed by
            `flip_back` when `shift_coords` (MMPose reads it from the sample's metainfo).
        shift_coords: in `flip_back`, move flipped x by one input pixel (MMPose's test_cfg
            `shift_coords`, True in its configs).
        **kwargs: `keras.layers.Layer` arguments (name, dtype, trainable).
    """

    # Keys of the `loss()` dict; the estimator creates one metric tracker per name.
    loss_names = ("loss_kpt", "acc_pose")
    # Values per keypoint: (x, y).
    _values_per_joint = 2

    def __init__(
        self,
        in_channels: Optional[int] = None,
        *,
        num_joints: int,
        loss: Optional[Any] = None,
        input_size: Optional[Sequence[int]] = None,
        shift_coords: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(num_joints, int) or isinstance(num_joints, bool) or num_joints < 1:
            raise ValueError(f"num_joints must be a positive int, received {num_joints!r}")
        if in_channels is not None and (not isinstance(in_channels, int) or in_channels < 1):
            raise ValueError(f"in_channels must be a positive int or None, received "
                             f"{in_channels!r}")
        if loss is None:
            loss = self._default_loss()
        if not callable(loss):
            raise ValueError(f"loss must be callable, received {loss!r}")
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.input_size = check_input_size(input_size)
        self.shift_coords = bool(shift_coords)
        self.loss_module = loss
        # MMPose initialises Linear layers with N(0, 0.01) and zero bias.
        self.fc = keras.layers.Dense(
            num_joints * self._values_per_joint,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
            bias_initializer="zeros", name="fc")

    @staticmethod
    def _default_loss():
        return SmoothL1Loss(use_target_weight=True)

    @property
    def out_channels(self) -> int:
        """Number of keypoints K (the estimator checks `flip_indices` against it)."""
        return self.num_joints

    def build(self, input_shape):
        last = input_shape[-1] if isinstance(input_shape[0], (list, tuple)) else input_shape
        flat = None
        if all(d is not None for d in last[1:]):
            flat = 1
            for d in last[1:]:
                flat *= int(d)
        if self.in_channels is not None and flat is not None and flat != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects {self.in_channels} input "
                             f"features after flattening, received feature shape "
                             f"{tuple(last)}")
        if flat is None and self.in_channels is None:
            raise ValueError(f"{type(self).__name__} needs in_channels or a static feature "
                             f"shape, received feature shape {tuple(last)}")
        self.fc.build((None, flat if flat is not None else self.in_channels))
        self.built = True

    def _flatten(self, x):
        if len(x.shape) == 4:
            # PyTorch flattens (B, C, h, w): move channels first so fc's rows match.
            x = keras.ops.transpose(x, (0, 3, 1, 2))
        if len(x.shape) != 2:
            # fc's input size is the flattened size (static, checked in build).
            x = keras.ops.reshape(x, (-1, self.fc.kernel.shape[0]))
        return x

    def call(self, feats, training=None):
        """Computes normalised coordinates.

        Args:
            feats: sequence of features (the last is used), or one feature.
            training: unused (no dropout or BatchNorm).

        Returns:
            (B, K, 2) coordinates normalised by the input size.
        """
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats
        x = self.fc(self._flatten(x))
        return keras.ops.reshape(x, (-1, self.num_joints, self._values_per_joint))

    def loss(self, outputs, targets: Mapping[str, Any]) -> Dict[str, tf.Tensor]:
        """Loss terms and training accuracy of a batch, as MMPose's `RegressionHead.loss`.

        Args:
            outputs: (B, K, 2) coordinates from `call`.
            targets: dict with "keypoint_labels" (B, K, 2) and "keypoint_weights" (B, K),
                as `RegressionLabel` encodes them.

        Returns:
            {"loss_kpt": scalar loss, "acc_pose": scalar PCK@0.05 of the normalised
            coordinates on keypoints with weight > 0 (no gradient)}.
        """
        labels, weights = regression_targets(targets, type(self).__name__)
        loss_kpt = self.loss_module(outputs, labels, weights[..., None])
        return {"loss_kpt": loss_kpt, "acc_pose": coordinate_accuracy(outputs, labels,
                                                                      weights)}

    def flip_back(self, outputs, flip_indices: Sequence[int], shift_heatmap: bool = False,
                  input_size: Optional[Sequence[int]] = None):
        """Undoes a horizontal flip of the input image on its predicted coordinates.

        Args:
            outputs: (B, K, D) outputs computed on horizontally flipped images.
            flip_indices: (K,) index of each keypoint's mirror keypoint.
            shift_heatmap: ignored (no heatmaps); accepted for the head contract.
            input_size: `(w, h)` of the input; defaults to the head's `input_size`.

        Returns:
            (B, K, D) outputs aligned with the unflipped images.
        """
        del shift_heatmap
        size = flip_input_size(self, input_size)
        return flip_coordinates(outputs, flip_indices, shift_coords=self.shift_coords,
                                input_size=size)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "in_channels": self.in_channels,
            "num_joints": self.num_joints,
            "loss": keras.saving.serialize_keras_object(self.loss_module),
            "input_size": list(self.input_size) if self.input_size is not None else None,
            "shift_coords": self.shift_coords,
        })
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]):
        config = dict(config)
        if isinstance(config.get("loss"), dict):
            config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls(**config)
