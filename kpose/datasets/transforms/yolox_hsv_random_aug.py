"""YOLOXHSVRandomAug: random integer shifts of hue, saturation and value in OpenCV's HSV."""

from typing import Any, Dict

import cv2
import gin
import numpy as np
import tensorflow as tf

from kpose.datasets.transforms._utils import require_keys, split_seed


@gin.register
class YOLOXHSVRandomAug:
    """HSV jitter of the crop `img` (uint8 RGB), as mmdet's `YOLOXHSVRandomAug` (RTMPose).

    Three gains are drawn: `U(-1, 1) * delta` for hue, saturation and value, each kept
    with probability 0.5 (else 0) and truncated towards zero to an integer. The crop is
    converted to OpenCV's uint8 HSV (hue in 0..179), hue is shifted modulo 180,
    saturation and value are shifted and clipped to 0..255, and it is converted back.
    The conversions run in cv2 (through `tf.numpy_function`), so the pixels equal
    mmdet's for the same gains; the gains come from the sample's stateless `seed`.

    Reads and writes `img` (h, w, 3) uint8. Training-only: the py-function keeps it out
    of exported graphs.

    Args:
        hue_delta: largest hue shift, in OpenCV hue units (2 degrees).
        saturation_delta: largest saturation shift, in 0..255 levels.
        value_delta: largest value (brightness) shift, in 0..255 levels.
    """

    def __init__(self, hue_delta: int = 5, saturation_delta: int = 30, value_delta: int = 30) -> None:
        for name, value in (("hue_delta", hue_delta), ("saturation_delta", saturation_delta),
                            ("value_delta", value_delta)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 255:
                raise ValueError(f"{name} must be a number in [0, 255], received {value!r}")
        self.hue_delta = hue_delta
        self.saturation_delta = saturation_delta
        self.value_delta = value_delta

    def gains(self, seed: tf.Tensor) -> tf.Tensor:
        """The (hue, saturation, value) int32 gains (3,) drawn from a sample seed (2,)."""
        seeds = split_seed({"seed": seed}, 2, "YOLOXHSVRandomAug")
        deltas = tf.constant([self.hue_delta, self.saturation_delta, self.value_delta], tf.float32)
        magnitude = tf.random.stateless_uniform([3], seeds[0], -1.0, 1.0) * deltas
        keep = tf.random.stateless_uniform([3], seeds[1]) < 0.5
        # mmdet casts the float gains to int16: truncation towards zero
        return tf.cast(tf.where(keep, magnitude, 0.0), tf.int32)

    def __call__(self, sample: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        sample = dict(sample)
        require_keys(sample, ["img"], "YOLOXHSVRandomAug",
                     "Place it after TopdownAffine, which decodes the crop.")
        split_seed(sample, 1, "YOLOXHSVRandomAug")  # names the missing seed clearly
        gains = self.gains(sample["seed"])
        img = tf.convert_to_tensor(sample["img"])
        if img.dtype != tf.uint8:
            raise ValueError(f"YOLOXHSVRandomAug needs a uint8 'img', received {img.dtype.name}")
        out = tf.numpy_function(shift_hsv, [img, gains], tf.uint8, stateful=False)
        sample["img"] = tf.ensure_shape(out, img.shape)
        return sample

    def get_config(self) -> Dict[str, Any]:
        return {"hue_delta": self.hue_delta, "saturation_delta": self.saturation_delta,
                "value_delta": self.value_delta}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"YOLOXHSVRandomAug({args})"


def shift_hsv(img: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """Add integer `gains` (3,) to an RGB uint8 image's OpenCV HSV channels (numpy, cv2)."""
    img = np.ascontiguousarray(img)
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.int16)
    hsv[..., 0] = (hsv[..., 0] + int(gains[0])) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] + int(gains[1]), 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] + int(gains[2]), 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
