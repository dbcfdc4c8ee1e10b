"""The RTMPose training transforms (rtmpose-*_coco-256x192 configs), stage 1 and 2."""

from typing import Any, Callable, Dict, List, Sequence

import gin
import tensorflow as tf

from kpose.datasets.transforms.coarse_dropout import CoarseDropout
from kpose.datasets.transforms.generate_target import GenerateTarget
from kpose.datasets.transforms.get_bbox_center_scale import GetBBoxCenterScale
from kpose.datasets.transforms.random_bbox_transform import RandomBBoxTransform
from kpose.datasets.transforms.random_blur import RandomBlur
from kpose.datasets.transforms.random_flip import RandomFlip
from kpose.datasets.transforms.random_half_body import RandomHalfBody
from kpose.datasets.transforms.random_median_blur import RandomMedianBlur
from kpose.datasets.transforms.topdown_affine import TopdownAffine
from kpose.datasets.transforms.yolox_hsv_random_aug import YOLOXHSVRandomAug

Transform = Callable[[Dict[str, tf.Tensor]], Dict[str, tf.Tensor]]


@gin.configurable
def rtmpose_train_transforms(codec: Any, input_size: Sequence[int], stage: int = 1) -> List[Transform]:
    """MMPose's RTMPose COCO training pipeline as kpose transforms.

    Stage 1 (`train_pipeline`): GetBBoxCenterScale, RandomFlip, RandomHalfBody,
    RandomBBoxTransform(scale_factor=(0.6, 1.4), rotate_factor=80), TopdownAffine,
    YOLOXHSVRandomAug, RandomBlur(p=0.1), RandomMedianBlur(p=0.1), CoarseDropout (one
    hole of 0.2-0.4 of the crop, p=1), GenerateTarget. Stage 2 (`train_pipeline_stage2`,
    the last epochs) jitters less: RandomBBoxTransform(shift_factor=0,
    scale_factor=(0.75, 1.25), rotate_factor=60) and CoarseDropout p=0.5.

    Args:
        codec: the codec `GenerateTarget` encodes with (SimCCLabel for RTMPose).
        input_size: crop size `(w, h)`.
        stage: 1 or 2.

    Returns:
        The list of transforms for `build_topdown_pipeline(transforms=...)`.
    """
    if stage not in (1, 2) or isinstance(stage, bool):
        raise ValueError(f"stage must be 1 or 2, received {stage!r}")
    if stage == 1:
        jitter = RandomBBoxTransform(scale_factor=(0.6, 1.4), rotate_factor=80.0)
        dropout_p = 1.0
    else:
        jitter = RandomBBoxTransform(shift_factor=0.0, scale_factor=(0.75, 1.25), rotate_factor=60.0)
        dropout_p = 0.5
    return [
        GetBBoxCenterScale(), RandomFlip(direction="horizontal"), RandomHalfBody(), jitter,
        TopdownAffine(tuple(input_size)), YOLOXHSVRandomAug(), RandomBlur(p=0.1),
        RandomMedianBlur(p=0.1),
        CoarseDropout(max_holes=1, max_height=0.4, max_width=0.4, min_holes=1, min_height=0.2,
                      min_width=0.2, p=dropout_p),
        GenerateTarget(codec),
    ]
