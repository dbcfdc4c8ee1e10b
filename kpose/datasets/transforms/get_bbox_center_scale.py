"""GetBBoxCenterScale: xyxy box -> center and (padded) scale."""

from typing import Any, Dict

import gin
import tensorflow as tf

from kpose.datasets.transforms._utils import require_keys
from kpose.structures.bbox import bbox_xyxy2cs


@gin.register
class GetBBoxCenterScale:
    """Turn the sample's box into `bbox_center` and a padded `bbox_scale` (MMPose's).

    Reads `bbox` (4,) xyxy and writes `bbox_center` (2,) and `bbox_scale` (2,) =
    box size x `padding`. If the sample already has both, only the padding is applied
    to `bbox_scale`, as MMPose does.

    Args:
        padding: factor on the box width and height (MMPose's top-down default 1.25).
    """

    def __init__(self, padding: float = 1.25) -> None:
        if isinstance(padding, bool) or not isinstance(padding, (int, float)) or padding <= 0:
            raise ValueError(f"padding must be a positive number, received {padding!r}")
        self.padding = float(padding)

    def __call__(self, sample: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        return self.apply(sample, {})

    def apply(self, sample: Dict[str, tf.Tensor], draws: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """The transform (it draws nothing: `draws` is unused); `sample` may carry a
        leading batch axis B (the pipeline's vectorised path)."""
        del draws
        sample = dict(sample)
        if "bbox_center" in sample and "bbox_scale" in sample:
            sample["bbox_scale"] = tf.cast(sample["bbox_scale"], tf.float32) * self.padding
            return sample
        require_keys(sample, ["bbox"], "GetBBoxCenterScale")
        sample["bbox_center"], sample["bbox_scale"] = bbox_xyxy2cs(
            tf.cast(sample["bbox"], tf.float32), padding=self.padding)
        return sample

    def get_config(self) -> Dict[str, Any]:
        return {"padding": self.padding}

    def __repr__(self) -> str:
        return f"GetBBoxCenterScale(padding={self.padding})"
