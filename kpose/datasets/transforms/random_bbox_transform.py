"""RandomBBoxTransform: random shift, resize and rotation of the box."""

from typing import Any, Dict, Sequence

import gin
import tensorflow as tf

from kpose.datasets.transforms._utils import (check_probability, require_keys, seed_of, select,
                                              split_seed, truncated_unit_normal, uniform)


@gin.register
class RandomBBoxTransform:
    """Jitter `bbox_center` / `bbox_scale` and draw `bbox_rotation` (MMPose's arguments).

    Each factor comes from N(0, 1) truncated to [-1, 1] (as MMPose's scipy truncnorm):
    the centre moves by `factor * shift_factor * bbox_scale` (with probability
    `shift_prob`), the scale is multiplied by `mu + factor * sigma` where
    `(mu, sigma)` are the middle and half-width of `scale_factor` (probability
    `scale_prob`), and `bbox_rotation` is `factor * rotate_factor` degrees (probability
    `rotate_prob`, else 0).

    `draw(seed)` and `apply(sample, draws)` split the call into its random numbers
    (per sample) and its arithmetic, which also runs on a batch of samples at once
    (the pipeline's vectorised path).

    Args:
        shift_factor: maximum shift as a fraction of the box size.
        shift_prob: probability of shifting.
        scale_factor: `(min, max)` resize factor.
        scale_prob: probability of resizing.
        rotate_factor: maximum rotation in degrees.
        rotate_prob: probability of rotating.
    """

    def __init__(self, shift_factor: float = 0.16, shift_prob: float = 0.3,
                 scale_factor: Sequence[float] = (0.5, 1.5), scale_prob: float = 1.0,
                 rotate_factor: float = 80.0, rotate_prob: float = 0.6) -> None:
        if isinstance(shift_factor, bool) or not isinstance(shift_factor, (int, float)) or shift_factor < 0:
            raise ValueError(f"shift_factor must be a non-negative number, received {shift_factor!r}")
        if isinstance(rotate_factor, bool) or not isinstance(rotate_factor, (int, float)) or rotate_factor < 0:
            raise ValueError(f"rotate_factor must be a non-negative number, received {rotate_factor!r}")
        try:
            low, high = (float(v) for v in scale_factor)
        except (TypeError, ValueError):
            raise ValueError(f"scale_factor must be (min, max), received {scale_factor!r}") from None
        if not 0 < low <= high:
            raise ValueError(f"scale_factor must satisfy 0 < min <= max, received {scale_factor!r}")
        self.shift_factor = float(shift_factor)
        self.shift_prob = check_probability("shift_prob", shift_prob)
        self.scale_factor = (low, high)
        self.scale_prob = check_probability("scale_prob", scale_prob)
        self.rotate_factor = float(rotate_factor)
        self.rotate_prob = check_probability("rotate_prob", rotate_prob)

    def __call__(self, sample: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        return self.apply(sample, self.draw(seed_of(sample, "RandomBBoxTransform")))

    def draw(self, seed: tf.Tensor) -> Dict[str, tf.Tensor]:
        """The sample's random numbers from its stateless `seed` (2,): truncated-normal
        `factors` (4,) (shift x, y, scale, rotation) and uniform `coins` (3,)."""
        seeds = split_seed({"seed": seed}, 2, "RandomBBoxTransform")
        return {"factors": truncated_unit_normal(seeds[0], [4]), "coins": uniform(seeds[1], [3])}

    def apply(self, sample: Dict[str, tf.Tensor], draws: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """The jitter with the numbers of `draw`; `sample` and `draws` may carry a leading
        batch axis B, with the same numbers per sample as a single call."""
        sample = dict(sample)
        require_keys(sample, ["bbox_center", "bbox_scale"], "RandomBBoxTransform",
                     "Put GetBBoxCenterScale first.")
        factors, coins = draws["factors"], draws["coins"]
        low, high = self.scale_factor
        offset = select(coins[..., 0] < self.shift_prob, factors[..., :2] * self.shift_factor, 0.0)
        resize = tf.where(coins[..., 1] < self.scale_prob,
                          factors[..., 2] * (high - low) * 0.5 + (high + low) * 0.5, 1.0)
        rotation = tf.where(coins[..., 2] < self.rotate_prob, factors[..., 3] * self.rotate_factor, 0.0)
        scale = tf.cast(sample["bbox_scale"], tf.float32)
        sample["bbox_center"] = tf.cast(sample["bbox_center"], tf.float32) + offset * scale
        sample["bbox_scale"] = scale * resize[..., None]
        sample["bbox_rotation"] = rotation
        return sample

    def get_config(self) -> Dict[str, Any]:
        return {"shift_factor": self.shift_factor, "shift_prob": self.shift_prob,
                "scale_factor": self.scale_factor, "scale_prob": self.scale_prob,
                "rotate_factor": self.rotate_factor, "rotate_prob": self.rotate_prob}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"RandomBBoxTransform({args})"
