"""RandomBlur: a box (mean) filter of random odd size, as albumentations' Blur."""

from typing import Any, Dict, Sequence, Union

import cv2
import gin
import numpy as np
import tensorflow as tf

from kpose.datasets.transforms._blur import check_blur_limit, gated_filter
from kpose.datasets.transforms._utils import check_probability


@gin.register
class RandomBlur:
    """With probability `p`, box-blur the crop `img` (albumentations' `Blur`, RTMPose).

    The kernel is `k x k` with `k` drawn uniformly from the odd sizes in `blur_limit`
    (both ends included); pixels are `cv2.blur`'s (mean over the window, borders
    reflected without repeating the edge, rounded to uint8). Also writes
    `blur_ksize` (int32, 0 when not applied), to make the draw inspectable.

    Reads and writes `img` (h, w, 3) uint8; the filter runs in cv2 through
    `tf.numpy_function` (training only, not for exported graphs).

    Args:
        blur_limit: largest odd kernel size (smallest 3), or odd `(low, high)`.
        p: probability of blurring.
    """

    def __init__(self, blur_limit: Union[int, Sequence[int]] = (3, 7), p: float = 0.5) -> None:
        self.blur_limit = check_blur_limit("RandomBlur", blur_limit)
        self.p = check_probability("p", p)

    def __call__(self, sample: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        return gated_filter(sample, "RandomBlur", self.blur_limit, self.p, box_blur, "blur_ksize")

    def get_config(self) -> Dict[str, Any]:
        return {"blur_limit": self.blur_limit, "p": self.p}

    def __repr__(self) -> str:
        return f"RandomBlur(blur_limit={self.blur_limit!r}, p={self.p!r})"


def box_blur(img: np.ndarray, ksize: np.ndarray) -> np.ndarray:
    k = int(ksize)
    return cv2.blur(np.ascontiguousarray(img), (k, k))
