"""BottomupResize: fit a whole image into the model input for evaluation."""

import math
from typing import Any, Dict, Sequence

import gin
import tensorflow as tf

from kpose.datasets.transforms._utils import require_keys
from kpose.datasets.transforms.bottomup_warp import warp_image
from kpose.structures.warp import get_udp_warp_matrix, get_warp_matrix


@gin.register
class BottomupResize:
    """MMPose's `BottomupResize` (single scale): resize keeping the aspect ratio, pad.

    'fit' resizes by the longer side so the image fits in `input_size` (which must be a
    multiple of `size_factor`); 'expand' resizes by the shorter side to cover
    `input_size` ceiled to `size_factor`, the result padded up to a multiple of it (so
    the input size depends on the image). Reads `img`, `img_shape` (h, w); writes `img`,
    `input_size` (padded (w, h) int32), `input_center`, `input_scale` (the source region
    the input shows, what predictions are mapped back with) and `warp_mat`.

    Args:
        input_size: `(w, h)` wanted.
        size_factor: sizes are multiples of it.
        resize_mode: 'fit' or 'expand'.
        use_udp: UDP warp.
    """

    def __init__(self, input_size: Sequence[int], size_factor: int = 32,
                 resize_mode: str = "fit", use_udp: bool = False) -> None:
        if len(tuple(input_size)) != 2 or min(input_size) < 1:
            raise ValueError(f"input_size must be (w, h), received {input_size!r}")
        if not isinstance(size_factor, int) or size_factor < 1:
            raise ValueError(f"size_factor must be a positive int, received {size_factor!r}")
        if resize_mode not in ("fit", "expand"):
            raise ValueError(f"resize_mode must be 'fit' or 'expand', received {resize_mode!r}")
        input_size = tuple(int(s) for s in input_size)
        if resize_mode == "fit" and any(s % size_factor for s in input_size):
            raise ValueError(f"with resize_mode='fit' the input size must be a multiple of "
                             f"size_factor ({size_factor}), received {input_size}")
        self.input_size = input_size
        self.size_factor = size_factor
        self.resize_mode = resize_mode
        self.use_udp = bool(use_udp)

    def _ceil(self, size: tf.Tensor) -> tf.Tensor:
        return tf.math.ceil(size / self.size_factor) * self.size_factor

    def __call__(self, sample: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        require_keys(sample, ["img", "img_shape"], "BottomupResize")
        sample = dict(sample)
        img_hw = tf.cast(sample["img_shape"], tf.float64)
        img_w, img_h = img_hw[1], img_hw[0]
        ratio = img_w / img_h
        wanted = tf.constant([math.ceil(s / self.size_factor) * self.size_factor
                              for s in self.input_size], tf.float64)
        pad_w, pad_h = wanted[0], wanted[1]
        if self.resize_mode == "fit":
            actual = tf.stack([tf.minimum(pad_w, pad_h * ratio), tf.minimum(pad_h, pad_w / ratio)])
            padded = wanted
        else:
            actual = tf.stack([tf.maximum(pad_w, pad_h * ratio), tf.maximum(pad_h, pad_w / ratio)])
            padded = self._ceil(actual)
        if self.use_udp:
            center = tf.stack([(img_w - 1.0) / 2, (img_h - 1.0) / 2])
            scale = tf.stack([img_w, img_h])
            warp = get_udp_warp_matrix(center, scale, 0.0, actual)
        else:
            center = tf.stack([img_w / 2, img_h / 2])
            scale = tf.stack([img_w * padded[0] / actual[0], img_h * padded[1] / actual[1]])
            warp = get_warp_matrix(center, scale, 0.0, padded)
        size = tf.cast(padded, tf.int32)
        sample["img"] = warp_image(sample["img"], warp, size)
        sample["input_size"] = size
        sample["input_center"] = tf.cast(center, tf.float32)
        sample["input_scale"] = tf.cast(scale, tf.float32)
        sample["warp_mat"] = warp
        return sample

    def get_config(self) -> Dict[str, Any]:
        return {"input_size": self.input_size, "size_factor": self.size_factor,
                "resize_mode": self.resize_mode, "use_udp": self.use_udp}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"BottomupResize({args})"
