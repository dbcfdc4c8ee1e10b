"""Residual log-likelihood estimation loss for coordinate regression (Li et al., 2021)."""

import math
from typing import Any, Dict, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.losses import utils
from kpose.models.utils.real_nvp import RealNVP


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class RLELoss(keras.layers.Layer):
    """RLE loss, MMPose's `RLELoss`: negative log-likelihood under a learned flow.

    The normalised error `e = (pred - target) / (sigmoid(sigma) + 1e-9)` of each keypoint
    is scored by a `RealNVP` flow (`flow_model`, trained with the model). The loss per
    coordinate is `log(s) - log_phi(e)`, plus, if `residual`, the negative log-likelihood
    of a unit Laplace (`log(2 s) + |e|`) or Gaussian (`log(s sqrt(2 pi)) + e**2 / 2`)
    with `s = sigmoid(sigma)`. It is weighted, divided by B if `size_average`, and summed.

    Unlike the other kpose losses this is a Keras layer: the flow's weights are trained
    with the model, so they must be tracked (optimizer, checkpoints, `.keras` files). A
    head that takes it as its loss assigns it to an attribute (MMPose's `loss_module`),
    which makes Keras track it; its weights appear as `loss_module/flow_model/...`.

    Call: `loss(pred, sigma, target, target_weights=None)` -> scalar float32, with
    pred, sigma (raw, before the sigmoid) and target (B, K, 2) and weights (B, K),
    (B, K, 1) or (B, K, 2).

    Args:
        use_target_weight: weight keypoints by `target_weights`.
        size_average: divide the summed loss by the batch size.
        residual: add the Laplace/Gaussian term, so that the flow learns only the
            residual of the error distribution.
        q_distribution: 'laplace' or 'gaussian', the residual's base distribution.
        **kwargs: `keras.layers.Layer` arguments (name, trainable). The dtype is float32
            unless given.
    """

    def __init__(self, use_target_weight: bool = False, size_average: bool = True,
                 residual: bool = True, q_distribution: str = "laplace", **kwargs: Any):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.use_target_weight = bool(use_target_weight)
        self.size_average = bool(size_average)
        self.residual = bool(residual)
        self.q_distribution = utils.check_choice("q_distribution", q_distribution,
                                                 ("laplace", "gaussian"))
        self.flow_model = RealNVP(name="flow_model")

    def build(self, *args: Any, **kwargs: Any) -> None:
        # The flow builds itself on construction; nothing depends on the input shapes.
        self.built = True

    def call(self, pred: tf.Tensor, sigma: tf.Tensor, target: tf.Tensor,
             target_weights: Optional[tf.Tensor] = None) -> tf.Tensor:
        pred = tf.cast(pred, tf.float32)
        target = tf.cast(target, tf.float32)
        if pred.shape.rank != 3 or pred.shape[-1] != 2:
            raise ValueError(f"pred must be (B, K, 2), received shape {pred.shape}")
        sigma = tf.sigmoid(tf.cast(sigma, tf.float32))
        error = (pred - target) / (sigma + 1e-9)
        log_phi = tf.reshape(self.flow_model.log_prob(tf.reshape(error, (-1, 2))),
                             tf.concat([tf.shape(target)[:2], [1]], 0))
        loss = tf.math.log(sigma) - log_phi
        if self.residual:
            if self.q_distribution == "laplace":
                loss += tf.math.log(sigma * 2.0) + tf.abs(error)
            else:
                loss += tf.math.log(sigma * math.sqrt(2.0 * math.pi)) + 0.5 * tf.square(error)
        if self.use_target_weight:
            weights = utils.require_weights(target_weights, "RLELoss")
            loss = loss * utils.expand_trailing(weights, 3)
        if self.size_average:
            loss = loss / tf.cast(tf.shape(loss)[0], tf.float32)
        return tf.reduce_sum(loss)

    def compute_output_shape(self, *args: Any, **kwargs: Any):
        return ()

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"use_target_weight": self.use_target_weight,
                       "size_average": self.size_average, "residual": self.residual,
                       "q_distribution": self.q_distribution})
        return config

    def __repr__(self) -> str:
        return utils.format_repr(self)
