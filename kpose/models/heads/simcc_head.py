"""SimCC head (Li et al., 2022): optional deconvs, a conv to K maps, one linear
classifier over x bins and one over y bins."""

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import gin
import keras
import tensorflow as tf

from kpose.models.heads._simcc_utils import check_simcc_geometry, flatten_maps, simcc_loss
from kpose.models.heads.heatmap_head import HeatmapHead
from kpose.models.losses.kl_discret_loss import KLDiscretLoss
from kpose.models.utils.tta import flip_vectors


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class SimCCHead(keras.layers.Layer):
    """Turns the last feature map into SimCC vectors, as MMPose's `SimCCHead`.

    With deconv layers, a `HeatmapHead` named `deconv_head` (deconvs, convs, final conv)
    makes K maps; without, an optional conv `final_layer`. Each map is flattened and two
    linear layers with bias, `mlp_head_x` and `mlp_head_y`, classify x and y bins. MMPose's
    'vipnas' deconv type is not offered (kpose has no ViPNASHead).

    Input: a tuple of feature maps; the last, (B, h, w, in_channels), is used, with
    `(w, h) == in_featuremap_size`.
    Output: `(pred_x (B, K, Wx), pred_y (B, K, Wy))`, `Wx = int(w_in * ratio)`,
    `Wy = int(h_in * ratio)` for `input_size = (w_in, h_in)`.

    Args:
        in_channels: channels of the last feature map (None: take what comes).
        out_channels: number of keypoints K (keyword-only from here on).
        input_size: (w, h) of the model input, pixels.
        in_featuremap_size: (w, h) of the last feature map.
        simcc_split_ratio: bins per input pixel.
        deconv_out_channels: channels of each deconv layer; () or None for none.
        deconv_kernel_sizes: kernel of each deconv layer (4, 3 or 2).
        conv_out_channels: channels of each conv after the deconvs; None for none.
        conv_kernel_sizes: odd kernel of each such conv.
        final_layer_kernel: kernel of the conv to K maps (MMPose's `final_layer`); None
            for no final conv (then the maps keep the previous layer's channels).
        loss: SimCC loss; defaults to `KLDiscretLoss(use_target_weight=True)`.
        synchronized_bn: BatchNorm of the deconv layers synchronised across replicas.
        **kwargs: `keras.layers.Layer` arguments (name, dtype, trainable).
    """

    loss_names = ("loss_kpt", "acc_pose")

    def __init__(
        self,
        in_channels: Optional[int] = None,
        *,
        out_channels: int,
        input_size: Sequence[int],
        in_featuremap_size: Sequence[int],
        simcc_split_ratio: float = 2.0,
        deconv_out_channels: Optional[Sequence[int]] = (256, 256, 256),
        deconv_kernel_sizes: Optional[Sequence[int]] = (4, 4, 4),
        conv_out_channels: Optional[Sequence[int]] = None,
        conv_kernel_sizes: Optional[Sequence[int]] = None,
        final_layer_kernel: Optional[int] = 1,
        loss: Optional[Any] = None,
        synchronized_bn: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(out_channels, bool) or not isinstance(out_channels, int) \
                or out_channels < 1:
            raise ValueError(f"out_channels must be a positive int, received {out_channels!r}")
        if in_channels is not None and (isinstance(in_channels, bool)
                                        or not isinstance(in_channels, int) or in_channels < 1):
            raise ValueError(f"in_channels must be a positive int or None, received "
                             f"{in_channels!r}")
        (self.input_size, self.in_featuremap_size, self.simcc_split_ratio,
         self.simcc_bins) = check_simcc_geometry(input_size, in_featuremap_size,
                                                 simcc_split_ratio)
        if final_layer_kernel is not None and (
                isinstance(final_layer_kernel, bool) or not isinstance(final_layer_kernel, int)
                or final_layer_kernel < 1 or final_layer_kernel % 2 == 0):
            raise ValueError(f"final_layer_kernel must be an odd positive int or None, "
                             f"received {final_layer_kernel!r}")
        if loss is None:
            loss = KLDiscretLoss(use_target_weight=True)
        if not callable(loss):
            raise ValueError(f"loss must be callable, received {loss!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.deconv_out_channels = tuple(deconv_out_channels or ())
        self.deconv_kernel_sizes = tuple(deconv_kernel_sizes or ())
        self.conv_out_channels = tuple(conv_out_channels or ())
        self.conv_kernel_sizes = tuple(conv_kernel_sizes or ())
        self.final_layer_kernel = final_layer_kernel
        self.loss_module = loss
        self.synchronized_bn = synchronized_bn

        num_deconv = len(self.deconv_out_channels)
        self.deconv_head = None
        self.final_layer = None
        if num_deconv:
            # HeatmapHead checks the deconv/conv arguments itself.
            self.deconv_head = HeatmapHead(
                in_channels, out_channels=out_channels,
                deconv_out_channels=self.deconv_out_channels,
                deconv_kernel_sizes=self.deconv_kernel_sizes,
                conv_out_channels=self.conv_out_channels,
                conv_kernel_sizes=self.conv_kernel_sizes,
                final_layer_kernel=final_layer_kernel, synchronized_bn=synchronized_bn,
                name="deconv_head")
        else:
            if self.conv_out_channels:
                raise ValueError("conv_out_channels need deconv layers in SimCCHead, "
                                 f"received {self.conv_out_channels}")
            if final_layer_kernel:
                self.final_layer = keras.layers.Conv2D(
                    out_channels, final_layer_kernel, padding="same", use_bias=True,
                    kernel_initializer=keras.initializers.RandomNormal(stddev=0.001),
                    name="final_layer")
        scale = 2 ** num_deconv
        self.heatmap_size = (self.in_featuremap_size[0] * scale,
                             self.in_featuremap_size[1] * scale)
        linear_init = dict(kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
                           bias_initializer="zeros")
        self.mlp_head_x = keras.layers.Dense(self.simcc_bins[0], name="mlp_head_x",
                                             **linear_init)
        self.mlp_head_y = keras.layers.Dense(self.simcc_bins[1], name="mlp_head_y",
                                             **linear_init)

    def build(self, input_shape):
        last = input_shape[-1] if isinstance(input_shape[0], (list, tuple)) else input_shape
        if self.in_channels is not None and last[-1] is not None \
                and last[-1] != self.in_channels:
            raise ValueError(f"SimCCHead expects {self.in_channels} input channels, "
                             f"received feature shape {tuple(last)}")
        expected = (self.in_featuremap_size[1], self.in_featuremap_size[0])
        if tuple(last[1:3]) != expected and None not in tuple(last[1:3]):
            raise ValueError(f"SimCCHead(in_featuremap_size={self.in_featuremap_size}) "
                             f"expects (h, w) = {expected}, received feature shape "
                             f"{tuple(last)}")
        # The flattened length comes from in_featuremap_size, so inputs of unknown size
        # still build.
        self.compute_output_spec([keras.KerasTensor(
            (last[0],) + expected + (last[-1],))])
        self.built = True

    def call(self, feats, training=None) -> Tuple[Any, Any]:
        """Computes SimCC vectors.

        Args:
            feats: sequence of (B, h, w, C) feature maps (the last is used), or one map.
            training: BatchNorm mode of the deconv layers.

        Returns:
            `(pred_x (B, K, Wx), pred_y (B, K, Wy))`.
        """
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats
        if self.deconv_head is not None:
            x = self.deconv_head(x, training=training)
        elif self.final_layer is not None:
            x = self.final_layer(x)
        x = flatten_maps(x)
        return self.mlp_head_x(x), self.mlp_head_y(x)

    def loss(self, outputs, targets: Mapping[str, Any]) -> Dict[str, tf.Tensor]:
        """Loss terms and training accuracy of a batch, as MMPose's `SimCCHead.loss`.

        Args:
            outputs: `(pred_x (B, K, Wx), pred_y (B, K, Wy))` from `call`.
            targets: dict with "keypoint_x_labels" (B, K, Wx), "keypoint_y_labels"
                (B, K, Wy) and "keypoint_weights" (B, K), as `SimCCLabel` encodes them.

        Returns:
            {"loss_kpt": scalar loss, "acc_pose": scalar PCK@0.05 of the argmax bins on
            keypoints with weight > 0 (no gradient)}.
        """
        return simcc_loss(self.loss_module, outputs, targets, self.simcc_split_ratio,
                          "SimCCHead")

    def flip_back(self, outputs, flip_indices: Sequence[int], shift_heatmap: bool = False):
        """Undoes a horizontal input flip: x vectors reversed, keypoints swapped.

        Args:
            outputs: `(pred_x, pred_y)` computed on horizontally flipped images.
            flip_indices: (K,) index of each keypoint's mirror keypoint.
            shift_heatmap: ignored (SimCC vectors are never shifted, as in MMPose).

        Returns:
            `(pred_x, pred_y)` aligned with the unflipped images.
        """
        del shift_heatmap
        return flip_vectors(outputs[0], outputs[1], flip_indices)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "input_size": list(self.input_size),
            "in_featuremap_size": list(self.in_featuremap_size),
            "simcc_split_ratio": self.simcc_split_ratio,
            "deconv_out_channels": list(self.deconv_out_channels),
            "deconv_kernel_sizes": list(self.deconv_kernel_sizes),
            "conv_out_channels": list(self.conv_out_channels),
            "conv_kernel_sizes": list(self.conv_kernel_sizes),
            "final_layer_kernel": self.final_layer_kernel,
            "loss": keras.saving.serialize_keras_object(self.loss_module),
            "synchronized_bn": self.synchronized_bn,
        })
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "SimCCHead":
        config = dict(config)
        if isinstance(config.get("loss"), dict):
            config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls(**config)
