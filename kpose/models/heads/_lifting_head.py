"""What the pose-lifting heads share: a 1-frame Conv1D to K x 3 values (private)."""

from typing import Any, Dict, Mapping, Optional

import keras
import tensorflow as tf

from kpose.models.losses._joint_distance import safe_norm


def masked_mpjpe(pred: tf.Tensor, target: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """Mean joint distance over joints with weight > 0 (MMPose's training `mpjpe` log);
    no gradient."""
    pred = tf.stop_gradient(tf.cast(pred, tf.float32))
    error = safe_norm(pred - tf.cast(target, tf.float32))
    mask = tf.cast(tf.cast(weights, tf.float32) > 0, tf.float32)
    return tf.math.divide_no_nan(tf.reduce_sum(error * mask), tf.reduce_sum(mask))


class LiftingHead(keras.layers.Layer):
    """Base of `TemporalRegressionHead` and `TrajectoryRegressionHead`.

    `conv` (MMPose's `head.conv`, a kernel-1 Conv1d) maps the last feature (B, T', C) to
    (B, T', K * 3), reshaped to (B * T', K, 3) (T' = 1 for a receptive-field-long input).
    For T' > 1 each row is one frame's pose; MMPose reshapes its (B, K * 3, T') in memory
    order, which interleaves frames and channels (same numbers, another layout).
    Subclasses set the loss names, the weight target key and the default loss.
    """

    loss_names = ()
    _loss_key = ""
    _metric_key = ""
    _weight_key = ""

    def __init__(self, in_channels: int, num_joints: int, loss: Optional[Any] = None,
                 **kwargs):
        super().__init__(**kwargs)
        for name, value in (("in_channels", in_channels), ("num_joints", num_joints)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, received {value!r}")
        if loss is None:
            loss = self._default_loss()
        if not callable(loss):
            raise ValueError(f"loss must be callable, received {loss!r}")
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.loss_module = loss
        # PyTorch's Conv1d default init (MMPose's head init names only Linear layers).
        self.conv = keras.layers.Conv1D(
            num_joints * 3, 1, name="conv",
            kernel_initializer=keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in",
                                                                  "uniform"))

    @staticmethod
    def _default_loss():
        raise NotImplementedError

    @property
    def out_channels(self) -> int:
        return self.num_joints

    def build(self, input_shape):
        last = input_shape[-1] if isinstance(input_shape[0], (list, tuple)) else input_shape
        if last[-1] is not None and last[-1] != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects {self.in_channels} feature "
                             f"channels, received feature shape {tuple(last)}")
        self.conv.build((None, None, self.in_channels))
        self.built = True

    def call(self, feats, training=None):
        """Last feature (B, T', C) -> (B * T', K, 3) coordinates."""
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats
        return keras.ops.reshape(self.conv(x), (-1, self.num_joints, 3))

    def loss(self, outputs, targets: Mapping[str, Any]) -> Dict[str, tf.Tensor]:
        """Loss and training MPJPE of a batch.

        Args:
            outputs: (B, K, 3) from `call`.
            targets: `lifting_target_label` (B, K, 3) (or (B, 1, K, 3)) and the weights
                named by the head, (B, K) (or (B, 1, K)).

        Returns:
            {loss name: scalar loss, MPJPE name: scalar masked MPJPE (no gradient)}.
        """
        for key in ("lifting_target_label", self._weight_key):
            if key not in targets:
                raise ValueError(f"{type(self).__name__}.loss needs targets['{key}'], "
                                 f"received keys {sorted(targets)}")
        label = tf.reshape(tf.cast(targets["lifting_target_label"], tf.float32),
                           (-1, self.num_joints, 3))
        weights = tf.reshape(tf.cast(targets[self._weight_key], tf.float32),
                             (-1, self.num_joints))
        outputs = tf.cast(outputs, tf.float32)
        value = self.loss_module(outputs, label, weights[..., None])
        return {self._loss_key: value,
                self._metric_key: masked_mpjpe(outputs, label, weights)}

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update(in_channels=self.in_channels, num_joints=self.num_joints,
                      loss=keras.saving.serialize_keras_object(self.loss_module))
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]):
        config = dict(config)
        if isinstance(config.get("loss"), dict):
            config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls(**config)
