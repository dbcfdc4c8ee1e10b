"""Backbones: normalised images (B, H, W, 3) -> tuple of feature maps (B, h, w, C)."""

from kpose.models.backbones.res_net import (ResNet, resnet18, resnet34, resnet50,
                                            resnet101, resnet152)

__all__ = ["ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]
