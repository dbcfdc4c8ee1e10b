"""CoarseDropout: fill random rectangles of the crop, as albumentations' CoarseDropout."""

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import gin
import tensorflow as tf

from kpose.datasets.transforms._utils import check_probability, require_keys, split_seed, uniform

Size = Union[int, float]


@gin.register
class CoarseDropout:
    """With probability `p`, fill `n` random rectangles of `img` with `fill_value`.

    albumentations' (1.x) `CoarseDropout` semantics: `n` is uniform in
    `[min_holes, max_holes]`; each hole's height is uniform in `[min_height,
    max_height]` pixels when the sizes are ints, or `int(H * U(min_height, max_height))`
    when they are floats (fractions of the crop), likewise its width; its top-left
    corner is uniform over the positions that keep it inside the crop. Holes may
    overlap. RTMPose uses one hole of 0.2 to 0.4 of the crop. Pixel sizes larger than
    the crop are cut to the crop. Keypoints are left as they are (occlusion is the
    point), as in MMPose. Pure TF ops.

    Reads and writes `img` (h, w, C); also writes `dropout_holes` (max_holes, 4) int32
    `[x1, y1, x2, y2]` (exclusive ends; zero rows for holes not drawn or not applied).

    Args:
        max_holes: most holes.
        max_height: largest hole height (int pixels, or float fraction in (0, 1]).
        max_width: largest hole width (int pixels, or float fraction in (0, 1]).
        min_holes: fewest holes (default `max_holes`).
        min_height: smallest hole height, same kind as `max_height` (default: it).
        min_width: smallest hole width, same kind as `max_width` (default: it).
        fill_value: a number or one number per channel.
        p: probability of applying.
    """

    def __init__(self, max_holes: int = 8, max_height: Size = 8, max_width: Size = 8,
                 min_holes: Optional[int] = None, min_height: Optional[Size] = None,
                 min_width: Optional[Size] = None, fill_value: Union[float, Sequence[float]] = 0,
                 p: float = 0.5) -> None:
        min_holes = max_holes if min_holes is None else min_holes
        min_height = max_height if min_height is None else min_height
        min_width = max_width if min_width is None else min_width
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (min_holes, max_holes)) \
                or not 0 < min_holes <= max_holes:
            raise ValueError("holes must be ints with 0 < min_holes <= max_holes, received "
                             f"min_holes={min_holes!r}, max_holes={max_holes!r}")
        sizes = (min_height, max_height, min_width, max_width)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in sizes):
            self._fractions = False
            if min(sizes) <= 0:
                raise ValueError(f"pixel hole sizes must be positive, received (min_height, "
                                 f"max_height, min_width, max_width)={sizes!r}")
        elif all(isinstance(v, float) for v in sizes):
            self._fractions = True
            if not all(0.0 < v <= 1.0 for v in sizes):
                raise ValueError(f"fractional hole sizes must be in (0, 1], received (min_height, "
                                 f"max_height, min_width, max_width)={sizes!r}")
        else:
            raise ValueError("hole sizes must be all ints (pixels) or all floats (fractions), "
                             f"received (min_height, max_height, min_width, max_width)={sizes!r}")
        if min_height > max_height or min_width > max_width:
            raise ValueError(f"min sizes must not exceed max sizes, received (min_height, "
                             f"max_height, min_width, max_width)={sizes!r}")
        if isinstance(fill_value, (int, float)) and not isinstance(fill_value, bool):
            self.fill_value: Union[float, Tuple[float, ...]] = fill_value
        else:
            try:
                self.fill_value = tuple(float(v) for v in fill_value)
            except (TypeError, ValueError):
                raise ValueError(f"fill_value must be a number or one number per channel, "
                                 f"received {fill_value!r}") from None
        self.max_holes, self.min_holes = max_holes, min_holes
        self.max_height, self.min_height = max_height, min_height
        self.max_width, self.min_width = max_width, min_width
        self.p = check_probability("p", p)

    def holes(self, seed: tf.Tensor, img_hw: tf.Tensor) -> tf.Tensor:
        """`(max_holes, 4)` int32 `[x1, y1, x2, y2]` holes for a crop of size `img_hw`
        (h, w), drawn from a sample seed (2,); rows past the drawn count are zeros."""
        seeds = split_seed({"seed": seed}, 6, "CoarseDropout")
        n = tf.random.stateless_uniform([], seeds[0], self.min_holes, self.max_holes + 1, dtype=tf.int32)
        h, w = img_hw[0], img_hw[1]
        shape = [self.max_holes]
        if self._fractions:
            def size(seed, low, high, extent):
                frac = tf.random.stateless_uniform(shape, seed, low, high, dtype=tf.float32)
                return tf.cast(tf.floor(frac * tf.cast(extent, tf.float32)), tf.int32)
        else:
            def size(seed, low, high, extent):
                return tf.random.stateless_uniform(shape, seed, low, high + 1, dtype=tf.int32)
        hole_h = tf.minimum(size(seeds[1], self.min_height, self.max_height, h), h)
        hole_w = tf.minimum(size(seeds[2], self.min_width, self.max_width, w), w)

        def corner(seed, room):  # uniform in [0, room], room >= 0
            u = uniform(seed, shape)
            return tf.minimum(tf.cast(tf.floor(u * tf.cast(room + 1, tf.float32)), tf.int32), room)

        y1 = corner(seeds[3], h - hole_h)
        x1 = corner(seeds[4], w - hole_w)
        holes = tf.stack([x1, y1, x1 + hole_w, y1 + hole_h], axis=1)
        drawn = tf.range(self.max_holes) < n
        return tf.where(drawn[:, None], holes, 0)

    def __call__(self, sample: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        sample = dict(sample)
        require_keys(sample, ["img"], "CoarseDropout",
                     "Place it after TopdownAffine, which decodes the crop.")
        seeds = split_seed(sample, 2, "CoarseDropout")
        img = tf.convert_to_tensor(sample["img"])
        img_hw = tf.shape(img)[:2]
        apply = uniform(seeds[0]) < self.p
        holes = tf.where(apply, self.holes(seeds[1], img_hw), 0)
        ys = tf.range(img_hw[0])[None, :, None]
        xs = tf.range(img_hw[1])[None, None, :]
        inside = ((ys >= holes[:, 1, None, None]) & (ys < holes[:, 3, None, None]) &
                  (xs >= holes[:, 0, None, None]) & (xs < holes[:, 2, None, None]))
        mask = tf.reduce_any(inside, axis=0)[..., None]
        fill = tf.cast(tf.broadcast_to(tf.constant(self.fill_value, tf.float32), tf.shape(img)[-1:]),
                       img.dtype)
        sample["img"] = tf.where(mask, fill, img)
        sample["dropout_holes"] = holes
        return sample

    def get_config(self) -> Dict[str, Any]:
        return {"max_holes": self.max_holes, "max_height": self.max_height,
                "max_width": self.max_width, "min_holes": self.min_holes,
                "min_height": self.min_height, "min_width": self.min_width,
                "fill_value": self.fill_value, "p": self.p}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"CoarseDropout({args})"
