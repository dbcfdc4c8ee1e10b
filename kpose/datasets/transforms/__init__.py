"""Per-sample transforms: callables `sample dict -> sample dict` on tensors.

A sample is a record row plus the dataset meta (see docs/architecture.md) and a
per-sample `seed` (int (2,)) from which each random transform draws stateless numbers,
so results depend only on the seed (eagerly or inside `tf.data`).
"""

from kpose.datasets.transforms.coarse_dropout import CoarseDropout
from kpose.datasets.transforms.generate_target import GenerateTarget
from kpose.datasets.transforms.get_bbox_center_scale import GetBBoxCenterScale
from kpose.datasets.transforms.photometric_distortion import PhotometricDistortion
from kpose.datasets.transforms.random_bbox_transform import RandomBBoxTransform
from kpose.datasets.transforms.random_blur import RandomBlur
from kpose.datasets.transforms.random_flip import RandomFlip
from kpose.datasets.transforms.random_half_body import RandomHalfBody
from kpose.datasets.transforms.random_median_blur import RandomMedianBlur
from kpose.datasets.transforms.rtmpose_transforms import rtmpose_train_transforms
from kpose.datasets.transforms.topdown_affine import TopdownAffine
from kpose.datasets.transforms.yolox_hsv_random_aug import YOLOXHSVRandomAug
from kpose.datasets.transforms.random_flip_around_root import RandomFlipAroundRoot
from kpose.datasets.transforms.bottomup_get_heatmap_mask import BottomupGetHeatmapMask
from kpose.datasets.transforms.bottomup_random_affine import BottomupRandomAffine
from kpose.datasets.transforms.bottomup_resize import BottomupResize

__all__ = [
    "CoarseDropout",
    "GenerateTarget",
    "GetBBoxCenterScale",
    "PhotometricDistortion",
    "RandomBBoxTransform",
    "RandomBlur",
    "RandomFlip",
    "RandomHalfBody",
    "RandomMedianBlur",
    "TopdownAffine",
    "YOLOXHSVRandomAug",
    "rtmpose_train_transforms", "RandomFlipAroundRoot", "BottomupGetHeatmapMask", "BottomupRandomAffine", "BottomupResize"]
