"""Backbones: normalised images (B, H, W, 3) -> tuple of feature maps (B, h, w, C)."""

from kpose.models.backbones.hrnet import HRNet, hrnet_extra, hrnet_w18, hrnet_w32, hrnet_w48
from kpose.models.backbones.res_net import (ResNet, resnet18, resnet34, resnet50,
                                            resnet101, resnet152)

__all__ = ["HRNet", "ResNet", "hrnet_extra", "hrnet_w18", "hrnet_w32", "hrnet_w48", "resnet18",
           "resnet34", "resnet50", "resnet101", "resnet152"]
