"""Shared by RandomBlur and RandomMedianBlur: kernel-size limits and the gated cv2 call."""

from typing import Callable, Dict, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

from kpose.datasets.transforms._utils import require_keys, split_seed, uniform


def check_blur_limit(owner: str, blur_limit: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """`(low, high)` odd kernel sizes; an int `n` means `(3, n)` as albumentations."""
    if isinstance(blur_limit, int) and not isinstance(blur_limit, bool):
        limits = (3, blur_limit)
    else:
        try:
            limits = tuple(blur_limit)
        except TypeError:
            limits = ()
    if (len(limits) != 2 or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in limits)
            or not 3 <= limits[0] <= limits[1] or any(v % 2 == 0 for v in limits)):
        raise ValueError(f"{owner}: blur_limit must be an odd int >= 3 or odd (low, high) with "
                         f"3 <= low <= high, received {blur_limit!r}")
    return int(limits[0]), int(limits[1])


def gated_filter(sample: Dict[str, tf.Tensor], owner: str, limits: Tuple[int, int], p: float,
                 filter_fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
                 ksize_key: str) -> Dict[str, tf.Tensor]:
    """With probability `p`, filter `img` with `filter_fn(img, ksize)` and an odd kernel
    drawn uniformly from `limits` (both ends included); `ksize_key` gets the size (0: not applied)."""
    sample = dict(sample)
    require_keys(sample, ["img"], owner, "Place it after TopdownAffine, which decodes the crop.")
    seeds = split_seed(sample, 2, owner)
    apply = uniform(seeds[0]) < p
    choices = (limits[1] - limits[0]) // 2 + 1
    ksize = limits[0] + 2 * tf.random.stateless_uniform([], seeds[1], 0, choices, dtype=tf.int32)
    img = tf.convert_to_tensor(sample["img"])
    if img.dtype != tf.uint8:
        raise ValueError(f"{owner} needs a uint8 'img', received {img.dtype.name}")

    def run():
        out = tf.numpy_function(filter_fn, [img, ksize], tf.uint8, stateful=False)
        return tf.ensure_shape(out, img.shape)

    sample["img"] = tf.cond(apply, run, lambda: img)
    sample[ksize_key] = tf.where(apply, ksize, 0)
    return sample
