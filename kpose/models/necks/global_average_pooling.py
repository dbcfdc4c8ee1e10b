"""Global average pooling neck: each (B, h, w, C) map becomes a (B, C) vector."""

from typing import Any, Dict

import gin
import keras


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class GlobalAveragePooling(keras.layers.Layer):
    """Averages every feature map over its spatial axes (MMPose's GlobalAveragePooling).

    Input: a tuple (or list) of (B, h, w, C) maps, or one map. Output: the same structure
    with (B, C) vectors: a tuple for a tuple or list, a tensor for a tensor. No weights.

    Args:
        **kwargs: `keras.layers.Layer` arguments (name, dtype).
    """

    def call(self, inputs):
        if isinstance(inputs, (list, tuple)):
            return tuple(keras.ops.mean(x, axis=(1, 2)) for x in inputs)
        return keras.ops.mean(inputs, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and input_shape \
                and isinstance(input_shape[0], (list, tuple)):
            return tuple((s[0], s[-1]) for s in input_shape)
        return (input_shape[0], input_shape[-1])

    def get_config(self) -> Dict[str, Any]:
        return super().get_config()
