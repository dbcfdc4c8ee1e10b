"""Models: backbones, necks, heads, losses and the estimators that join them.

Importing this package registers every model class with gin and Keras serialization.
"""

from kpose.models.backbones import (HRNet, ResNet, hrnet_extra, hrnet_w18, hrnet_w32,
                                    hrnet_w48, resnet18, resnet34, resnet50, resnet101,
                                    resnet152)
from kpose.models.estimators import TopdownPoseEstimator
from kpose.models.heads import HeatmapHead
from kpose.models.losses import KeypointMSELoss

__all__ = [
    "HRNet",
    "HeatmapHead",
    "KeypointMSELoss",
    "ResNet",
    "TopdownPoseEstimator",
    "hrnet_extra",
    "hrnet_w18",
    "hrnet_w32",
    "hrnet_w48",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
]
