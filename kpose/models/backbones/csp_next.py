"""CSPNeXt backbone (RTMDet, Lyu et al., 2022), the backbone of RTMPose, channels-last.

Layers are flat and named after MMPose's PyTorch modules with '.' -> '_'
(`stem_0_conv` is `stem.0.conv`, `stage2_1_blocks_0_conv2_depthwise_conv_bn` is
`stage2.1.blocks.0.conv2.depthwise_conv.bn`), so converted RTMPose checkpoints map one
to one. The blocks live in `_csp_blocks.py`.
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import gin
import keras

from kpose.models.backbones._csp_blocks import BlockFactory

# Per stage: in_channels, out_channels, num_blocks, add_identity, use_spp (at widen 1).
ARCH_SETTINGS = {
    "P5": ((64, 128, 3, True, False), (128, 256, 6, True, False),
           (256, 512, 6, True, False), (512, 1024, 3, False, True)),
    "P6": ((64, 128, 3, True, False), (128, 256, 6, True, False),
           (256, 512, 6, True, False), (512, 768, 3, True, False),
           (768, 1024, 3, False, True)),
}


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class CSPNeXt(keras.layers.Layer):
    """CSPNeXt: a 3-conv stem (stride 2), then stages of a stride-2 conv, an SPP block
    (last stage only) and a CSPLayer of CSPNeXt blocks (3x3 conv + 5x5 depthwise-separable
    conv, channel attention). Every conv is followed by BatchNorm and SiLU.

    Input: (B, H, W, 3) normalised images. Output: a tuple of (B, h_i, w_i, C_i) maps,
    one per `out_indices` entry, where index 0 is the stem (stride 2) and index i >= 1 the
    i-th stage (stride 2**(i + 1)); `out_channels` lists the C_i.

    Args:
        arch: "P5" (4 stages, stride 32) or "P6" (5 stages, stride 64).
        deepen_factor: blocks per CSPLayer = max(round(n * deepen_factor), 1).
        widen_factor: channels = int(c * widen_factor).
        out_indices: indices (0 = stem, 1.. = stages) whose outputs are returned, in order.
        frozen_stages: freeze the stem and stages 1..frozen_stages (weights not trained,
            BatchNorm in inference mode); -1 freezes nothing, 0 only the stem.
        use_depthwise: depthwise-separable convs for the stride-2 convs and the 3x3 conv
            of each block.
        expand_ratio: CSPLayer hidden width = int(out_channels * expand_ratio).
        arch_overwrite: stage settings replacing `ARCH_SETTINGS[arch]`, as tuples
            (in_channels, out_channels, num_blocks, add_identity, use_spp) (MMPose spells
            the argument `arch_ovewrite`).
        spp_kernel_sizes: max-pool kernels of the SPP block.
        channel_attention: channel attention in each CSPLayer.
        norm_momentum: BatchNorm momentum in Keras' convention (1 - PyTorch's). MMPose's
            class default is PyTorch's 0.03 (0.97 here); RTMPose configs use SyncBN's
            0.1 (0.9 here, see the factories).
        norm_epsilon: BatchNorm epsilon (MMPose's class default 1e-3; RTMPose's 1e-5).
        norm_eval: run every BatchNorm in inference mode, also in training.
        synchronized_bn: BatchNorm synchronised across replicas under tf.distribute
            (MMPose's SyncBN).
        **kwargs: `keras.layers.Layer` arguments (name, dtype, trainable).
    """

    def __init__(
        self,
        arch: str = "P5",
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        out_indices: Sequence[int] = (2, 3, 4),
        frozen_stages: int = -1,
        use_depthwise: bool = False,
        expand_ratio: float = 0.5,
        arch_overwrite: Optional[Sequence[Sequence[Any]]] = None,
        spp_kernel_sizes: Sequence[int] = (5, 9, 13),
        channel_attention: bool = True,
        norm_momentum: float = 0.97,
        norm_epsilon: float = 1e-3,
        norm_eval: bool = False,
        synchronized_bn: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if arch not in ARCH_SETTINGS:
            raise ValueError(f"arch must be one of {sorted(ARCH_SETTINGS)}, received {arch!r}")
        settings = arch_overwrite if arch_overwrite else ARCH_SETTINGS[arch]
        try:
            settings = tuple((int(i), int(o), int(n), bool(a), bool(s))
                             for i, o, n, a, s in settings)
        except (TypeError, ValueError):
            raise ValueError("arch_overwrite must be a list of (in_channels, out_channels, "
                             f"num_blocks, add_identity, use_spp), received "
                             f"{arch_overwrite!r}") from None
        for name, value in (("deepen_factor", deepen_factor), ("widen_factor", widen_factor),
                            ("expand_ratio", expand_ratio)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number, received {value!r}")
        num_stages = len(settings)
        out_indices = tuple(int(i) for i in out_indices)
        if not out_indices or any(not 0 <= i <= num_stages for i in out_indices):
            raise ValueError(f"out_indices must be in 0..{num_stages} (0 is the stem), "
                             f"received {out_indices}")
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f"frozen_stages must be in -1..{num_stages}, received "
                             f"{frozen_stages!r}")
        spp_kernel_sizes = tuple(int(k) for k in spp_kernel_sizes)
        if not spp_kernel_sizes or any(k < 1 or k % 2 == 0 for k in spp_kernel_sizes):
            raise ValueError("spp_kernel_sizes must be odd positive ints, received "
                             f"{spp_kernel_sizes}")
        if not 0.0 <= norm_momentum < 1.0:
            raise ValueError(f"norm_momentum must be in [0, 1), received {norm_momentum!r}")
        if norm_epsilon <= 0:
            raise ValueError(f"norm_epsilon must be positive, received {norm_epsilon!r}")
        self.arch = arch
        self.deepen_factor = float(deepen_factor)
        self.widen_factor = float(widen_factor)
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.use_depthwise = use_depthwise
        self.expand_ratio = float(expand_ratio)
        self.arch_overwrite = settings if arch_overwrite else None
        self.spp_kernel_sizes = spp_kernel_sizes
        self.channel_attention = channel_attention
        self.norm_momentum = float(norm_momentum)
        self.norm_epsilon = float(norm_epsilon)
        self.norm_eval = norm_eval
        self.synchronized_bn = synchronized_bn

        factory = BlockFactory(self, self.norm_momentum, self.norm_epsilon, synchronized_bn)
        # `int(c * w // 2)` as MMPose: floor division of the float product.
        stem_mid = int(settings[0][0] * widen_factor // 2)
        stem_out = int(settings[0][0] * widen_factor)
        stem = [factory.conv_module("stem_0", stem_mid, 3, stride=2),
                factory.conv_module("stem_1", stem_mid, 3),
                factory.conv_module("stem_2", stem_out, 3)]
        # One list of block callables per layer (stem, stage1, ...); layer_weights holds
        # each one's Keras layers, for freezing.
        self._layer_blocks: List[List[Any]] = [stem]
        layer_weights = [list(factory.created)]
        channels = [stem_out]
        for i, (in_ch, out_ch, num_blocks, add_identity, use_spp) in enumerate(settings):
            start = len(factory.created)
            in_ch, out_ch = int(in_ch * widen_factor), int(out_ch * widen_factor)
            num_blocks = max(round(num_blocks * deepen_factor), 1)
            name = f"stage{i + 1}"
            blocks = [factory.conv(f"{name}_0", in_ch, out_ch, 3, 2, use_depthwise)]
            if use_spp:
                blocks.append(factory.spp_bottleneck(f"{name}_1", out_ch, out_ch,
                                                     spp_kernel_sizes))
            blocks.append(factory.csp_layer(
                f"{name}_{len(blocks)}", out_ch, out_ch, expand_ratio, num_blocks,
                add_identity, use_depthwise, channel_attention))
            self._layer_blocks.append(blocks)
            layer_weights.append(factory.created[start:])
            channels.append(out_ch)
        self.out_channels = tuple(channels[i] for i in out_indices)

        for index in range(frozen_stages + 1):
            for layer in layer_weights[index]:
                layer.trainable = False

    def build(self, input_shape):
        # MMPose's stem takes exactly 3 channels; other widths would change its weights.
        if input_shape[-1] is not None and input_shape[-1] != 3:
            raise ValueError(f"CSPNeXt expects 3 input channels, received input shape "
                             f"{tuple(input_shape)}")
        # Tracing `call` symbolically builds every sublayer with its true input shape.
        self.compute_output_spec(keras.KerasTensor(tuple(input_shape)))
        self.built = True

    def call(self, inputs, training=None) -> Tuple[Any, ...]:
        """Runs the backbone.

        Args:
            inputs: (B, H, W, 3) normalised images.
            training: BatchNorm mode (ignored, i.e. inference, when `norm_eval`).

        Returns:
            Tuple of (B, h, w, C) feature maps, one per `out_indices` entry.
        """
        if self.norm_eval:
            training = False
        x = inputs
        outs = {}
        for index, blocks in enumerate(self._layer_blocks):
            for block in blocks:
                x = block(x, training)
            if index in self.out_indices:
                outs[index] = x
        return tuple(outs[i] for i in self.out_indices)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "arch": self.arch,
            "deepen_factor": self.deepen_factor,
            "widen_factor": self.widen_factor,
            "out_indices": list(self.out_indices),
            "frozen_stages": self.frozen_stages,
            "use_depthwise": self.use_depthwise,
            "expand_ratio": self.expand_ratio,
            "arch_overwrite": ([list(s) for s in self.arch_overwrite]
                               if self.arch_overwrite else None),
            "spp_kernel_sizes": list(self.spp_kernel_sizes),
            "channel_attention": self.channel_attention,
            "norm_momentum": self.norm_momentum,
            "norm_epsilon": self.norm_epsilon,
            "norm_eval": self.norm_eval,
            "synchronized_bn": self.synchronized_bn,
        })
        return config


def _rtmpose_cspnext(deepen_factor: float, widen_factor: float, kwargs) -> CSPNeXt:
    # RTMPose's configs: P5, last stage only, SyncBN with PyTorch's defaults (pass
    # synchronized_bn=True for MMPose's SyncBN under tf.distribute).
    settings = dict(arch="P5", expand_ratio=0.5, out_indices=(4,), channel_attention=True,
                    norm_momentum=0.9, norm_epsilon=1e-5)
    settings.update(kwargs)
    return CSPNeXt(deepen_factor=deepen_factor, widen_factor=widen_factor, **settings)


@gin.register
def cspnext_t(**kwargs) -> CSPNeXt:
    """RTMPose-t's CSPNeXt (deepen 0.167, widen 0.375; 384 output channels)."""
    return _rtmpose_cspnext(0.167, 0.375, kwargs)


@gin.register
def cspnext_s(**kwargs) -> CSPNeXt:
    """RTMPose-s's CSPNeXt (deepen 0.33, widen 0.5; 512 output channels)."""
    return _rtmpose_cspnext(0.33, 0.5, kwargs)


@gin.register
def cspnext_m(**kwargs) -> CSPNeXt:
    """RTMPose-m's CSPNeXt (deepen 0.67, widen 0.75; 768 output channels)."""
    return _rtmpose_cspnext(0.67, 0.75, kwargs)


@gin.register
def cspnext_l(**kwargs) -> CSPNeXt:
    """RTMPose-l's CSPNeXt (deepen 1.0, widen 1.0; 1024 output channels)."""
    return _rtmpose_cspnext(1.0, 1.0, kwargs)
