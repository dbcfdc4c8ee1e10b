"""ScaleNorm (Nguyen & Salazar, 2019): one learned gain over an L2-normalised vector."""

from typing import Any, Dict, Optional

import gin
import keras


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class ScaleNorm(keras.layers.Layer):
    """Scales each vector along the last axis to L2 norm `sqrt(dim) * g`.

    `y = x / max(||x|| / sqrt(dim), eps) * g` with one scalar weight `g` (initially 1),
    as MMPose's `ScaleNorm` (weight name kept for checkpoint conversion).

    Input and output: (..., dim).

    Args:
        dim: size of the last axis the norm is scaled by; None takes it from the input
            when the layer is built (MMPose's first argument).
        eps: lower bound of the scaled norm (avoids dividing by zero).
        **kwargs: `keras.layers.Layer` arguments (name, dtype, trainable).
    """

    def __init__(self, dim: Optional[int] = None, eps: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 1):
            raise ValueError(f"dim must be a positive int or None, received {dim!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, received {eps!r}")
        self.dim = dim
        self.eps = float(eps)

    def build(self, input_shape):
        last = input_shape[-1]
        if self.dim is not None and last is not None and last != self.dim:
            raise ValueError(f"ScaleNorm(dim={self.dim}) received input shape "
                             f"{tuple(input_shape)}")
        if self.dim is None and last is None:
            raise ValueError("ScaleNorm needs dim or a known last axis, received input "
                             f"shape {tuple(input_shape)}")
        self._scale = float(self.dim or last) ** -0.5
        self.g = self.add_weight(name="g", shape=(1,), initializer="ones")
        self.built = True

    def call(self, inputs):
        # max(||x|| * scale, eps) taken under the square root: same value, and no NaN
        # gradient for an all-zero vector (sqrt'(0) is infinite).
        floor = (self.eps / self._scale) ** 2
        squared = keras.ops.sum(keras.ops.square(inputs), axis=-1, keepdims=True)
        norm = keras.ops.sqrt(keras.ops.maximum(squared, floor)) * self._scale
        return inputs / norm * keras.ops.cast(self.g, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"dim": self.dim, "eps": self.eps})
        return config
