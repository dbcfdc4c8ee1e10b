"""Backbones: normalised images (B, H, W, 3) -> tuple of feature maps (B, h, w, C)."""

from kpose.models.backbones.csp_next import (CSPNeXt, cspnext_l, cspnext_m, cspnext_s,
                                             cspnext_t)
from kpose.models.backbones.hrnet import HRNet, hrnet_extra, hrnet_w18, hrnet_w32, hrnet_w48
from kpose.models.backbones.mobile_net_v2 import MobileNetV2, mobilenetv2
from kpose.models.backbones.res_net import (ResNet, resnet18, resnet34, resnet50,
                                            resnet101, resnet152)
from kpose.models.backbones.res_net_v1d import (ResNetV1d, resnetv1d18, resnetv1d34,
                                                resnetv1d50, resnetv1d101, resnetv1d152)
from kpose.models.backbones.vision_transformer import (VisionTransformer, vit_base,
                                                       vit_huge, vit_large, vit_layer_ids,
                                                       vit_small)
from kpose.models.backbones.tcn import TCN

__all__ = ["CSPNeXt", "HRNet", "MobileNetV2", "ResNet", "ResNetV1d", "VisionTransformer", "cspnext_l", "cspnext_m", "cspnext_s", "cspnext_t", "hrnet_extra",
           "hrnet_w18", "hrnet_w32", "hrnet_w48", "mobilenetv2", "resnet18", "resnet34",
           "resnet50", "resnet101", "resnet152", "resnetv1d18", "resnetv1d34", "resnetv1d50",
           "resnetv1d101", "resnetv1d152", "vit_base", "vit_huge", "vit_large",
           "vit_layer_ids", "vit_small", "TCN"]
