"""PhotometricDistortion: random brightness, contrast, saturation, hue and channel order."""

from typing import Any, Dict, Sequence

import gin
import tensorflow as tf

from kpose.datasets.transforms._utils import require_keys, split_seed, uniform


@gin.register
class PhotometricDistortion:
    """Colour jitter of the crop `img` (uint8 RGB), with MMPose's arguments.

    Each step runs with probability 0.5: brightness (add U(-delta, delta)), contrast
    (multiply by U(range)) either first or last, a saturation and/or hue change in HSV
    (hue by an integer in [-hue_delta, hue_delta) in OpenCV units of 2 degrees), and a
    random channel permutation. Values are clipped to [0, 255] and truncated to integers
    after brightness and contrast, as MMPose.

    Differences from MMPose, on purpose: it runs on the crop after `TopdownAffine` (the
    pipeline decodes pixels only there), so the zero border of crops that leave the
    image is jittered too; contrast happens exactly once when drawn (MMPose 1.3.2 tests
    the same mode twice and so applies it twice or never); hue wraps around the circle.

    Args:
        brightness_delta: maximum brightness shift, in 0..255 levels.
        contrast_range: `(low, high)` contrast factor.
        saturation_range: `(low, high)` saturation factor.
        hue_delta: maximum hue shift in OpenCV hue units (180 per turn).
    """

    def __init__(self, brightness_delta: int = 32, contrast_range: Sequence[float] = (0.5, 1.5),
                 saturation_range: Sequence[float] = (0.5, 1.5), hue_delta: int = 18) -> None:
        if isinstance(brightness_delta, bool) or not isinstance(brightness_delta, (int, float)) \
                or brightness_delta < 0:
            raise ValueError(f"brightness_delta must be >= 0, received {brightness_delta!r}")
        if isinstance(hue_delta, bool) or not isinstance(hue_delta, int) or not 0 < hue_delta <= 180:
            raise ValueError(f"hue_delta must be an int in (0, 180], received {hue_delta!r}")
        self.brightness_delta = brightness_delta
        self.contrast_range = _check_range("contrast_range", contrast_range)
        self.saturation_range = _check_range("saturation_range", saturation_range)
        self.hue_delta = hue_delta

    def __call__(self, sample: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        sample = dict(sample)
        require_keys(sample, ["img"], "PhotometricDistortion",
                     "Place it after TopdownAffine, which decodes the crop.")
        seeds = split_seed(sample, 3, "PhotometricDistortion")
        coins = uniform(seeds[0], [9])
        flag = coins[:5] < 0.5  # brightness, contrast, contrast last, saturation, hue
        swap = coins[5] < 0.5
        beta = (coins[6] * 2.0 - 1.0) * self.brightness_delta
        c_lo, c_hi = self.contrast_range
        alpha = c_lo + coins[7] * (c_hi - c_lo)
        s_lo, s_hi = self.saturation_range
        sat = s_lo + coins[8] * (s_hi - s_lo)
        hue = tf.random.stateless_uniform([], seeds[1], -self.hue_delta, self.hue_delta, dtype=tf.int32)
        order = tf.argsort(tf.random.stateless_uniform([3], seeds[2]))

        img = tf.cast(sample["img"], tf.float32)

        def levels(x):
            return tf.floor(tf.clip_by_value(x, 0.0, 255.0))

        img = tf.cond(flag[0], lambda: levels(img + beta), lambda: img)
        contrast_first = flag[1] & ~flag[2]
        contrast_last = flag[1] & flag[2]
        img = tf.cond(contrast_first, lambda: levels(img * alpha), lambda: img)

        def hsv_jitter(x):
            hsv = tf.image.rgb_to_hsv(x / 255.0)
            h = hsv[..., 0]
            s = hsv[..., 1]
            s = tf.where(flag[3], tf.clip_by_value(s * sat, 0.0, 1.0), s)
            h = tf.where(flag[4], tf.math.floormod(h + tf.cast(hue, tf.float32) / 180.0, 1.0), h)
            rgb = tf.image.hsv_to_rgb(tf.stack([h, s, hsv[..., 2]], axis=-1))
            return tf.round(rgb * 255.0)

        img = tf.cond(flag[3] | flag[4], lambda: hsv_jitter(img), lambda: img)
        img = tf.cond(contrast_last, lambda: levels(img * alpha), lambda: img)
        img = tf.cond(swap, lambda: tf.gather(img, order, axis=-1), lambda: img)
        sample["img"] = tf.cast(tf.clip_by_value(img, 0.0, 255.0), tf.uint8)
        return sample

    def get_config(self) -> Dict[str, Any]:
        return {"brightness_delta": self.brightness_delta, "contrast_range": self.contrast_range,
                "saturation_range": self.saturation_range, "hue_delta": self.hue_delta}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"PhotometricDistortion({args})"


def _check_range(name: str, value: Sequence[float]):
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (low, high), received {value!r}") from None
    if not 0 <= low <= high:
        raise ValueError(f"{name} must satisfy 0 <= low <= high, received {value!r}")
    return (low, high)
