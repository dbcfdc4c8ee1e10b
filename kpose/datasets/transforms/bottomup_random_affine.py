"""BottomupRandomAffine: random shift, scale and rotation of a whole image."""

from typing import Any, Dict, Sequence

import gin
import tensorflow as tf

from kpose.datasets.transforms._utils import (check_probability, require_keys, split_seed,
                                              truncated_unit_normal, uniform)
from kpose.datasets.transforms.bottomup_warp import warp_image
from kpose.structures.warp import (compose_affine, get_flip_matrix, get_udp_warp_matrix,
                                   get_warp_matrix, transform_points)


@gin.register
class BottomupRandomAffine:
    """MMPose's `BottomupRandomAffine` ('affine' / 'affine_udp' modes) on a whole image.

    Draws (N(0, 1) truncated to [-1, 1] as scipy's truncnorm, or uniform) a shift of
    `shift_factor` times the image size, a scale in `scale_factor` and a rotation of up
    to `rotate_factor` degrees; the region, fixed to the input's aspect ratio by its
    `scale_type` side, is warped to `input_size`. Keypoints `(N, K, 2)` follow.

    A horizontal flip drawn before it by `RandomFlip` (which flips the coordinates and
    records `flip_x`) is folded into the same warp, so pixels are warped once: the
    same as flipping first, in distribution the same as MMPose's affine-then-flip (the
    affine's draws are symmetric).

    Reads `img` (h, w, 3) and `img_shape` (h, w); writes `img` (input h, w, 3),
    `keypoints`, `input_size` (w, h) and `warp_mat` (2, 3), the source -> input matrix
    (flip included) that `BottomupGetHeatmapMask` reuses.

    Args:
        input_size: `(w, h)` of the model input.
        shift_factor, shift_prob, scale_factor, scale_prob, scale_type, rotate_factor,
            rotate_prob: MMPose's augmentation ranges and probabilities.
        use_udp: UDP warp ('affine_udp': centre at `(size - 1) / 2`).
        distribution: 'trunc_norm' or 'uniform'.
    """

    def __init__(self, input_size: Sequence[int], shift_factor: float = 0.2,
                 shift_prob: float = 1.0, scale_factor: Sequence[float] = (0.75, 1.5),
                 scale_prob: float = 1.0, scale_type: str = "short",
                 rotate_factor: float = 30.0, rotate_prob: float = 1.0,
                 use_udp: bool = False, distribution: str = "trunc_norm") -> None:
        if len(tuple(input_size)) != 2 or min(input_size) < 1:
            raise ValueError(f"input_size must be (w, h), received {input_size!r}")
        if len(tuple(scale_factor)) != 2 or not 0 < scale_factor[0] <= scale_factor[1]:
            raise ValueError(f"scale_factor must be (min, max) with 0 < min <= max, received "
                             f"{scale_factor!r}")
        if scale_type not in ("short", "long"):
            raise ValueError(f"scale_type must be 'short' or 'long', received {scale_type!r}")
        if distribution not in ("trunc_norm", "uniform"):
            raise ValueError(f"distribution must be 'trunc_norm' or 'uniform', received "
                             f"{distribution!r}")
        self.input_size = tuple(int(s) for s in input_size)
        self.shift_factor = float(shift_factor)
        self.shift_prob = check_probability("shift_prob", shift_prob)
        self.scale_factor = tuple(float(s) for s in scale_factor)
        self.scale_prob = check_probability("scale_prob", scale_prob)
        self.scale_type = scale_type
        self.rotate_factor = float(rotate_factor)
        self.rotate_prob = check_probability("rotate_prob", rotate_prob)
        self.use_udp = bool(use_udp)
        self.distribution = distribution

    def _random(self, seed, shape=()):
        if self.distribution == "trunc_norm":
            return truncated_unit_normal(seed, shape)
        return uniform(seed, shape) * 2.0 - 1.0

    def _fix_aspect_ratio(self, scale: tf.Tensor) -> tf.Tensor:
        w, h = scale[0], scale[1]
        ratio = self.input_size[0] / self.input_size[1]
        wider = w > h * ratio
        keep_h = wider if self.scale_type == "short" else tf.logical_not(wider)
        return tf.where(keep_h, tf.stack([h * ratio, h]), tf.stack([w, w / ratio]))

    def __call__(self, sample: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        require_keys(sample, ["img", "img_shape"], "BottomupRandomAffine")
        sample = dict(sample)
        seeds = split_seed(sample, 6, "BottomupRandomAffine")
        img_h = tf.cast(sample["img_shape"][0], tf.float32)
        img_w = tf.cast(sample["img_shape"][1], tf.float32)
        size = tf.stack([img_w, img_h])
        offset = tf.where(uniform(seeds[0]) < self.shift_prob,
                          self._random(seeds[1], (2,)) * self.shift_factor, 0.0)
        low, high = self.scale_factor
        rate = tf.where(uniform(seeds[2]) < self.scale_prob,
                        low + (high - low) * (self._random(seeds[3]) + 1.0) / 2.0, 1.0)
        rotate = tf.where(uniform(seeds[4]) < self.rotate_prob,
                          self._random(seeds[5]) * self.rotate_factor, 0.0)
        scale = self._fix_aspect_ratio(rate * size)
        w, h = self.input_size
        if self.use_udp:
            center = (size - 1.0) / 2.0
            warp = get_udp_warp_matrix(center + offset * size, scale, rotate, (w, h))
        else:
            center = size / 2.0
            warp = get_warp_matrix(center + offset * size, scale, rotate, (w, h))
        if "keypoints" in sample:
            sample["keypoints"] = transform_points(tf.cast(sample["keypoints"], tf.float32), warp)
        flip = get_flip_matrix(size, "horizontal")
        flipped = tf.cast(sample.get("flip_x", False), tf.bool)
        source_to_input = tf.cond(flipped, lambda: compose_affine(warp, flip), lambda: warp)
        sample["img"] = tf.ensure_shape(
            warp_image(sample["img"], source_to_input, tf.constant([w, h])), [h, w, 3])
        sample["warp_mat"] = source_to_input
        sample["input_size"] = tf.constant([w, h], tf.int32)
        return sample

    def get_config(self) -> Dict[str, Any]:
        return {"input_size": self.input_size, "shift_factor": self.shift_factor,
                "shift_prob": self.shift_prob, "scale_factor": self.scale_factor,
                "scale_prob": self.scale_prob, "scale_type": self.scale_type,
                "rotate_factor": self.rotate_factor, "rotate_prob": self.rotate_prob,
                "use_udp": self.use_udp, "distribution": self.distribution}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"BottomupRandomAffine({args})"
