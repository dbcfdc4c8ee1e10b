"""Feature pyramid network neck (Lin et al., 2017) as MMPose builds it, channels-last."""

from typing import Any, Dict, List, Optional, Sequence, Union

import gin
import keras

from kpose.models.utils.interpolate import interpolate

EXTRA_SOURCES = ("on_input", "on_lateral", "on_output")


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class FPN(keras.layers.Layer):
    """Feature pyramid: 1x1 laterals, a nearest-upsampling top-down path, 3x3 outputs.

    For the backbone levels `start_level..end_level`, a 1x1 conv (`lateral_convs_i_conv`)
    maps each to `out_channels`; from the coarsest level down, each lateral gets the next
    coarser one added after nearest upsampling to its size (PyTorch's nearest); a 3x3 conv
    (`fpn_convs_i_conv`) makes each output. Extra coarser outputs up to `num_outs` come
    from stride-2 1x1 max pooling of the last output, or with `add_extra_convs` from 3x3/2
    convs (`fpn_convs_j_conv`, j >= the number of backbone levels used). Convs have biases
    and no norm or activation (MMPose's defaults), Xavier-uniform kernels.

    Input: a tuple of (B, h_i, w_i, in_channels[i]) maps, finest first. Output: a tuple of
    `num_outs` (B, h, w, out_channels) maps, finest first.

    Args:
        in_channels: channels of each input level.
        out_channels: channels of every output.
        num_outs: number of outputs.
        start_level: first input level used.
        end_level: last input level used (inclusive); -1 for the last. With an earlier
            end level no extra outputs are allowed.
        add_extra_convs: False (max-pool extra levels), True (same as "on_input"), or the
            extra convs' source: "on_input" (last used input), "on_lateral" (last
            lateral), "on_output" (last output).
        relu_before_extra_convs: ReLU before each extra conv after the first.
        upsample_scale_factor: fixed upsampling factor of the top-down path (MMPose's
            `upsample_cfg=dict(mode='nearest', scale_factor=...)`); None resizes to the
            finer level's size.
        **kwargs: `keras.layers.Layer` arguments (name, dtype, trainable).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int,
        num_outs: int,
        start_level: int = 0,
        end_level: int = -1,
        add_extra_convs: Union[bool, str] = False,
        relu_before_extra_convs: bool = False,
        upsample_scale_factor: Optional[float] = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        try:
            in_channels = tuple(int(c) for c in in_channels)
        except TypeError:
            raise ValueError(f"in_channels must be a sequence of ints, received "
                             f"{in_channels!r}") from None
        if not in_channels or min(in_channels) < 1:
            raise ValueError(f"in_channels must be positive ints, received {in_channels}")
        if not isinstance(out_channels, int) or out_channels < 1:
            raise ValueError(f"out_channels must be a positive int, received {out_channels!r}")
        num_ins = len(in_channels)
        if not 0 <= start_level < num_ins:
            raise ValueError(f"start_level must be in 0..{num_ins - 1}, received "
                             f"{start_level!r}")
        if end_level in (-1, num_ins - 1):
            backbone_end = num_ins
            if num_outs < num_ins - start_level:
                raise ValueError(f"num_outs must be at least {num_ins - start_level} (the "
                                 f"levels used), received {num_outs!r}")
        else:
            if not start_level <= end_level < num_ins:
                raise ValueError(f"end_level must be -1 or in {start_level}..{num_ins - 1}, "
                                 f"received {end_level!r}")
            backbone_end = end_level + 1
            if num_outs != end_level - start_level + 1:
                raise ValueError(f"with end_level={end_level}, num_outs must be "
                                 f"{end_level - start_level + 1}, received {num_outs!r}")
        if add_extra_convs is True:
            extra_source = "on_input"
        elif add_extra_convs is False:
            extra_source = None
        elif add_extra_convs in EXTRA_SOURCES:
            extra_source = add_extra_convs
        else:
            raise ValueError(f"add_extra_convs must be a bool or one of {EXTRA_SOURCES}, "
                             f"received {add_extra_convs!r}")
        if upsample_scale_factor is not None and upsample_scale_factor <= 0:
            raise ValueError(f"upsample_scale_factor must be positive or None, received "
                             f"{upsample_scale_factor!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.start_level = start_level
        self.end_level = end_level
        self.add_extra_convs = add_extra_convs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.upsample_scale_factor = upsample_scale_factor
        self._extra_source = extra_source
        self._backbone_end = backbone_end
        self._num_used = backbone_end - start_level

        for i in range(self._num_used):
            self._conv(f"lateral_convs_{i}_conv", 1, 1)
            self._conv(f"fpn_convs_{i}_conv", 3, 1)
        self._num_extra_convs = 0
        if extra_source is not None:
            self._num_extra_convs = max(num_outs - self._num_used, 0)
            for i in range(self._num_extra_convs):
                self._conv(f"fpn_convs_{self._num_used + i}_conv", 3, 2)

    def _conv(self, name: str, kernel: int, stride: int) -> None:
        padding = "same" if stride == 1 else "valid"
        if stride > 1:  # PyTorch's symmetric padding 1
            setattr(self, f"{name}_pad", keras.layers.ZeroPadding2D(1, name=f"{name}_pad"))
        setattr(self, name, keras.layers.Conv2D(
            self.out_channels, kernel, strides=stride, padding=padding, use_bias=True,
            kernel_initializer="glorot_uniform", name=name))

    def _run_conv(self, name: str, x):
        pad = getattr(self, f"{name}_pad", None)
        return getattr(self, name)(pad(x) if pad is not None else x)

    def build(self, input_shape):
        shapes = list(input_shape)
        if len(shapes) != len(self.in_channels):
            raise ValueError(f"FPN expects {len(self.in_channels)} feature maps, received "
                             f"shapes {shapes}")
        for shape, channels in zip(shapes, self.in_channels):
            if shape[-1] is not None and shape[-1] != channels:
                raise ValueError(f"FPN expects channels {self.in_channels}, received shapes "
                                 f"{shapes}")
        self.compute_output_spec(tuple(keras.KerasTensor(tuple(s)) for s in shapes))
        self.built = True

    def call(self, inputs) -> tuple:
        """Runs the neck on a tuple of (B, h_i, w_i, C_i) maps; returns `num_outs` maps."""
        inputs = list(inputs)
        laterals: List[Any] = [
            self._run_conv(f"lateral_convs_{i}_conv", inputs[self.start_level + i])
            for i in range(self._num_used)]
        for i in range(self._num_used - 1, 0, -1):
            if self.upsample_scale_factor is not None:
                up = interpolate(laterals[i], scale_factor=self.upsample_scale_factor)
            else:
                up = interpolate(laterals[i], size=keras.ops.shape(laterals[i - 1])[1:3])
            laterals[i - 1] = laterals[i - 1] + up
        outs = [self._run_conv(f"fpn_convs_{i}_conv", laterals[i])
                for i in range(self._num_used)]
        if self.num_outs > len(outs):
            if self._extra_source is None:
                for _ in range(self.num_outs - self._num_used):
                    outs.append(outs[-1][:, ::2, ::2, :])  # max_pool2d(kernel 1, stride 2)
            else:
                source = {"on_input": inputs[self._backbone_end - 1],
                          "on_lateral": laterals[-1],
                          "on_output": outs[-1]}[self._extra_source]
                outs.append(self._run_conv(f"fpn_convs_{self._num_used}_conv", source))
                for i in range(self._num_used + 1, self.num_outs):
                    x = keras.ops.relu(outs[-1]) if self.relu_before_extra_convs else outs[-1]
                    outs.append(self._run_conv(f"fpn_convs_{i}_conv", x))
        return tuple(outs)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "in_channels": list(self.in_channels),
            "out_channels": self.out_channels,
            "num_outs": self.num_outs,
            "start_level": self.start_level,
            "end_level": self.end_level,
            "add_extra_convs": self.add_extra_convs,
            "relu_before_extra_convs": self.relu_before_extra_convs,
            "upsample_scale_factor": self.upsample_scale_factor,
        })
        return config
