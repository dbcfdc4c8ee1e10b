"""RandomMedianBlur: a median filter of random odd size, as albumentations' MedianBlur."""

from typing import Any, Dict, Sequence, Union

import cv2
import gin
import numpy as np
import tensorflow as tf

from kpose.datasets.transforms._blur import check_blur_limit, gated_filter
from kpose.datasets.transforms._utils import check_probability


@gin.register
class RandomMedianBlur:
    """With probability `p`, median-filter the crop `img` (albumentations' `MedianBlur`).

    The aperture is `k x k` with `k` drawn uniformly from the odd sizes in `blur_limit`
    (both ends included), per channel, with `cv2.medianBlur`'s replicated border. Also
    writes `median_blur_ksize` (int32, 0 when not applied).

    Reads and writes `img` (h, w, 3) uint8; the filter runs in cv2 through
    `tf.numpy_function` (training only, not for exported graphs).

    Args:
        blur_limit: largest odd aperture (smallest 3), or odd `(low, high)`.
        p: probability of filtering.
    """

    def __init__(self, blur_limit: Union[int, Sequence[int]] = (3, 7), p: float = 0.5) -> None:
        self.blur_limit = check_blur_limit("RandomMedianBlur", blur_limit)
        self.p = check_probability("p", p)

    def __call__(self, sample: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        return gated_filter(sample, "RandomMedianBlur", self.blur_limit, self.p, median_blur,
                            "median_blur_ksize")

    def get_config(self) -> Dict[str, Any]:
        return {"blur_limit": self.blur_limit, "p": self.p}

    def __repr__(self) -> str:
        return f"RandomMedianBlur(blur_limit={self.blur_limit!r}, p={self.p!r})"


def median_blur(img: np.ndarray, ksize: np.ndarray) -> np.ndarray:
    return cv2.medianBlur(np.ascontiguousarray(img), int(ksize))
