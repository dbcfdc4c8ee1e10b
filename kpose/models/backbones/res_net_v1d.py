"""ResNetV1d (He et al., "Bag of Tricks", 2019) as MMPose builds it, channels-last.

Two changes to ResNet v1: the 7x7 stem becomes three 3x3 conv-BN-ReLU layers
(`stem_0`..`stem_2`, stride 2 on the first), and a strided projection shortcut averages
2x2 (stride x stride) windows before a stride-1 1x1 conv, so the shortcut no longer drops
three quarters of its input. Layer names follow MMPose's modules: `stem_0_conv`,
`stem_0_bn`, and in a strided shortcut `layerI_0_downsample_1` (conv) and
`layerI_0_downsample_2` (BN), the pool being `downsample.0`; an unstrided shortcut keeps
ResNet's `downsample_0`/`downsample_1`.
"""

from typing import List

import gin
import keras

from kpose.models.backbones.res_net import ResNet


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class ResNetV1d(ResNet):
    """ResNet v1d backbone: deep 3x3 stem and average-pool shortcuts.

    Takes exactly `ResNet`'s arguments (see there); `stem_channels` is the output of the
    third stem conv, the first two have `stem_channels // 2`. Input (B, H, W,
    in_channels) normalised images; output a tuple of (B, h_i, w_i, C_i) feature maps,
    one per `out_indices` entry, with the same sizes as `ResNet`.
    """

    def _make_stem(self) -> List[keras.layers.Layer]:
        half = self.stem_channels // 2
        if half < 1:
            raise ValueError(f"ResNetV1d needs stem_channels >= 2, received "
                             f"{self.stem_channels!r}")
        layers = []
        for index, (filters, stride) in enumerate(
                ((half, 2), (half, 1), (self.stem_channels, 1))):
            layers.append(self._make_conv(f"stem_{index}_conv", filters, 3, stride))
            layers.append(self._make_bn(f"stem_{index}_bn"))
        return layers

    def _stem(self, x, training):
        for index in range(3):
            x = self._conv_bn(x, f"stem_{index}_conv", f"stem_{index}_bn", training,
                              relu=True)
        return x

    def _make_downsample(self, name: str, channels_out: int,
                         stride: int) -> List[keras.layers.Layer]:
        if stride == 1:
            return super()._make_downsample(name, channels_out, stride)
        # PyTorch's AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False):
        # "same" pooling pads the bottom/right only and averages the valid cells only.
        setattr(self, f"{name}_downsample_0", keras.layers.AveragePooling2D(
            stride, strides=stride, padding="same", name=f"{name}_downsample_0"))
        return [self._make_conv(f"{name}_downsample_1", channels_out, 1, 1),
                self._make_bn(f"{name}_downsample_2")]

    def _downsample(self, x, name: str, stride: int, training):
        if stride == 1:
            return super()._downsample(x, name, stride, training)
        x = getattr(self, f"{name}_downsample_0")(x)
        return self._conv_bn(x, f"{name}_downsample_1", f"{name}_downsample_2", training,
                             relu=False)


@gin.register
def resnetv1d18(**kwargs) -> ResNetV1d:
    """ResNetV1d-18 (BasicBlock, 2-2-2-2); `kwargs` go to `ResNetV1d`."""
    return ResNetV1d(depth=18, **kwargs)


@gin.register
def resnetv1d34(**kwargs) -> ResNetV1d:
    """ResNetV1d-34 (BasicBlock, 3-4-6-3); `kwargs` go to `ResNetV1d`."""
    return ResNetV1d(depth=34, **kwargs)


@gin.register
def resnetv1d50(**kwargs) -> ResNetV1d:
    """ResNetV1d-50 (Bottleneck, 3-4-6-3); `kwargs` go to `ResNetV1d`."""
    return ResNetV1d(depth=50, **kwargs)


@gin.register
def resnetv1d101(**kwargs) -> ResNetV1d:
    """ResNetV1d-101 (Bottleneck, 3-4-23-3); `kwargs` go to `ResNetV1d`."""
    return ResNetV1d(depth=101, **kwargs)


@gin.register
def resnetv1d152(**kwargs) -> ResNetV1d:
    """ResNetV1d-152 (Bottleneck, 3-8-36-3); `kwargs` go to `ResNetV1d`."""
    return ResNetV1d(depth=152, **kwargs)
