"""BottomupGetHeatmapMask: where the heatmap loss applies."""

from typing import Any, Dict, Optional, Sequence

import gin
import tensorflow as tf

from kpose.datasets.transforms._utils import require_keys
from kpose.datasets.transforms.bottomup_warp import valid_region_mask


@gin.register
class BottomupGetHeatmapMask:
    """The heatmap mask of MMPose's `BottomupGetHeatmapMask`: 1 where the input shows the
    image, 0 over the zero padding the warp brought in.

    The source image's ones are warped with `warp_mat` (from BottomupRandomAffine, the
    flip included) into `input_size`, resized bilinearly to `heatmap_size` and
    thresholded at 0.5, as MMPose. MMPose also masks out the segmentation of crowd and
    unlabelled people (`invalid_segs`); kpose's records carry no segmentation yet, so
    that part is not applied.

    Writes `heatmap_mask` (H, W) bool.

    Args:
        heatmap_size: `(W, H)` of the mask; None: the input size.
    """

    def __init__(self, heatmap_size: Optional[Sequence[int]] = None) -> None:
        if heatmap_size is not None and (len(tuple(heatmap_size)) != 2 or min(heatmap_size) < 1):
            raise ValueError(f"heatmap_size must be (W, H) or None, received {heatmap_size!r}")
        self.heatmap_size = tuple(int(s) for s in heatmap_size) if heatmap_size else None

    def __call__(self, sample: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        require_keys(sample, ["img_shape", "warp_mat", "input_size"], "BottomupGetHeatmapMask",
                     "Put BottomupRandomAffine first.")
        sample = dict(sample)
        input_size = tf.cast(sample["input_size"], tf.int32)
        size = tf.constant(self.heatmap_size, tf.int32) if self.heatmap_size else input_size
        mask = valid_region_mask(sample["img_shape"], sample["warp_mat"], input_size, size)
        if self.heatmap_size:
            mask = tf.ensure_shape(mask, [self.heatmap_size[1], self.heatmap_size[0]])
        sample["heatmap_mask"] = mask
        return sample

    def get_config(self) -> Dict[str, Any]:
        return {"heatmap_size": self.heatmap_size}

    def __repr__(self) -> str:
        return f"BottomupGetHeatmapMask(heatmap_size={self.heatmap_size!r})"
