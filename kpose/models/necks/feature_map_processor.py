"""Feature map processor neck: select, concatenate, ReLU and rescale feature maps."""

from typing import Any, Dict, Optional, Sequence, Union

import gin
import keras

from kpose.models.utils.interpolate import interpolate


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class FeatureMapProcessor(keras.layers.Layer):
    """MMPose's FeatureMapProcessor (ViTPose's "simple" decoder neck), channels-last.

    Steps, in order: keep the maps at `select_index`; with `concat`, resize every kept map
    bilinearly to the first one's size and concatenate them along channels; ReLU; resize
    by `scale_factor` (bilinear). Resizing reproduces PyTorch's `F.interpolate`
    exactly (see `kpose.models.utils.interpolate`). No weights.

    Input: a tuple (or list) of (B, h, w, C) maps, or one map (then selection and
    concatenation do not apply). Output: a tuple of maps for a sequence (one map when
    concatenated), a tensor for a tensor.

    Args:
        select_index: index or indices of the maps to keep; None keeps all.
        concat: concatenate the kept maps (at the first one's size).
        scale_factor: resize factor (> 0); 1.0 skips resizing. The output size is
            floor(h * scale_factor) x floor(w * scale_factor).
        apply_relu: apply ReLU before rescaling.
        align_corners: PyTorch's align_corners of the bilinear resizes.
        **kwargs: `keras.layers.Layer` arguments (name, dtype).
    """

    def __init__(
        self,
        select_index: Optional[Union[int, Sequence[int]]] = None,
        concat: bool = False,
        scale_factor: float = 1.0,
        apply_relu: bool = False,
        align_corners: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(select_index, int) and not isinstance(select_index, bool):
            select_index = (select_index,)
        elif select_index is not None:
            try:
                if isinstance(select_index, str):
                    raise TypeError
                select_index = tuple(int(i) for i in select_index)
            except (TypeError, ValueError):
                raise ValueError(f"select_index must be None, an int or ints, received "
                                 f"{select_index!r}") from None
            if not select_index:
                raise ValueError(f"select_index must not be empty, received {select_index!r}")
        if isinstance(scale_factor, bool) or not isinstance(scale_factor, (int, float)) \
                or scale_factor <= 0:
            raise ValueError(f"scale_factor must be a positive number, received "
                             f"{scale_factor!r}")
        self.select_index = select_index
        self.concat = concat
        self.scale_factor = float(scale_factor)
        self.apply_relu = apply_relu
        self.align_corners = align_corners

    def call(self, inputs):
        sequential = isinstance(inputs, (list, tuple))
        maps = list(inputs) if sequential else [inputs]
        if sequential:
            if self.select_index is not None:
                maps = [maps[i] for i in self.select_index]
            if self.concat:
                size = keras.ops.shape(maps[0])[1:3]
                maps = [keras.ops.concatenate(
                    [maps[0]] + [interpolate(x, size=size, mode="bilinear",
                                             align_corners=self.align_corners)
                                 for x in maps[1:]], axis=-1)]
        if self.apply_relu:
            maps = [keras.ops.relu(x) for x in maps]
        if self.scale_factor != 1.0:
            maps = [interpolate(x, scale_factor=self.scale_factor, mode="bilinear",
                                align_corners=self.align_corners) for x in maps]
        return tuple(maps) if sequential else maps[0]

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "select_index": None if self.select_index is None else list(self.select_index),
            "concat": self.concat,
            "scale_factor": self.scale_factor,
            "apply_relu": self.apply_relu,
            "align_corners": self.align_corners,
        })
        return config
