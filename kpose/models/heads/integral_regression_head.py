"""Top-down integral regression head of IPR (Sun et al., 2018): soft-argmax of heatmaps."""

from typing import Any, Dict, Mapping, Optional, Sequence

import gin
import keras
import numpy as np
import tensorflow as tf

from kpose.models.heads._regression_utils import (check_input_size, coordinate_accuracy,
                                                   flip_input_size, regression_targets)
from kpose.models.heads.heatmap_head import HeatmapHead
from kpose.models.losses.smooth_l1_loss import SmoothL1Loss
from kpose.models.utils.tta import flip_coordinates, flip_heatmaps


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class IntegralRegressionHead(keras.layers.Layer):
    """Heatmaps, then their soft-argmax as coordinates, as MMPose's `IntegralRegressionHead`.

    With deconv layers, a `HeatmapHead` (deconvs, optional convs, final conv) named
    `simplebaseline_head` makes K heatmap logits, as MMPose; without, a conv
    `final_layer` (or nothing, if `final_layer_kernel` is None) does. The logits times
    `beta` go through a softmax over each map; the coordinates are the expected
    `(x / W, y / H)` under it (MMPose's `linspace_x`/`linspace_y`, kept as non-trainable
    weights with MMPose's shapes so checkpoints convert one to one). `debias` removes the
    bias of the soft-argmax towards the centre (Gu et al., 2021).

    Input: a tuple of feature maps; the last, (B, h, w, C), is used.
    Output: `(coords (B, K, 2) normalised by the input size, heatmaps (B, H, W, K))`, H, W
    = h, w times 2**len(deconv_out_channels); float32 (the softmax over H * W bins is
    computed in float32 under mixed precision). `IntegralRegressionLabel.batch_decode`
    decodes the pair.

    Args:
        in_channels: channels of the last feature map; checked when built (None: take
            what comes). The only positional argument.
        in_featuremap_size: `(w, h)` of the last feature map; checked when built (None:
            take what comes). The linspace weights are sized from it.
        num_joints: number of keypoints K (keyword-only).
        debias: remove the soft-argmax bias (MMPose's `debias`).
        beta: factor on the logits before the softmax.
        deconv_out_channels: channels of each deconv layer; () or None for none.
        deconv_kernel_sizes: kernel of each deconv layer: 4, 3 or 2.
        conv_out_channels: channels of each intermediate conv (only with deconvs).
        conv_kernel_sizes: odd kernel of each intermediate conv.
        final_layer_kernel: odd kernel of the final conv to K channels ("same"
            padding); None for none (the last feature map must then have K channels).
        loss: coordinate loss `loss(pred, target, target_weights)`; defaults to
            `SmoothL1Loss(use_target_weight=True)`.
        input_size: `(w, h)` of the model input (the codec's `input_size`); needed by
            `flip_back` when `shift_coords`.
        shift_coords: in `flip_back`, move flipped x by one input pixel (MMPose's
            test_cfg `shift_coords`).
        synchronized_bn: BatchNorm synchronised across replicas under tf.distribute.
        **kwargs: `keras.layers.Layer` arguments (name, dtype, trainable).
    """

    # Keys of the `loss()` dict; the estimator creates one metric tracker per name.
    loss_names = ("loss_kpt", "acc_pose")

    def __init__(
        self,
        in_channels: Optional[int] = None,
        *,
        num_joints: int,
        in_featuremap_size: Optional[Sequence[int]] = None,
        debias: bool = False,
        beta: float = 1.0,
        deconv_out_channels: Optional[Sequence[int]] = (256, 256, 256),
        deconv_kernel_sizes: Optional[Sequence[int]] = (4, 4, 4),
        conv_out_channels: Optional[Sequence[int]] = None,
        conv_kernel_sizes: Optional[Sequence[int]] = None,
        final_layer_kernel: Optional[int] = 1,
        loss: Optional[Any] = None,
        input_size: Optional[Sequence[int]] = None,
        shift_coords: bool = True,
        synchronized_bn: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(num_joints, int) or isinstance(num_joints, bool) or num_joints < 1:
            raise ValueError(f"num_joints must be a positive int, received {num_joints!r}")
        if in_channels is not None and (not isinstance(in_channels, int) or in_channels < 1):
            raise ValueError(f"in_channels must be a positive int or None, received "
                             f"{in_channels!r}")
        if not isinstance(beta, (int, float)) or isinstance(beta, bool) or beta <= 0:
            raise ValueError(f"beta must be a positive number, received {beta!r}")
        deconv_out_channels = tuple(deconv_out_channels or ())
        deconv_kernel_sizes = tuple(deconv_kernel_sizes or ())
        conv_out_channels = tuple(conv_out_channels or ())
        conv_kernel_sizes = tuple(conv_kernel_sizes or ())
        if not deconv_out_channels:
            # Kernel sizes mean nothing without deconvs (MMPose's defaults keep them).
            deconv_kernel_sizes = ()
            if conv_out_channels or conv_kernel_sizes:
                # MMPose silently drops intermediate convs when there is no deconv.
                raise ValueError("conv_out_channels need deconv layers; received "
                                 f"deconv_out_channels=(), conv_out_channels="
                                 f"{conv_out_channels}")
        if final_layer_kernel is not None and (
                not isinstance(final_layer_kernel, int) or final_layer_kernel < 1
                or final_layer_kernel % 2 == 0):
            raise ValueError("final_layer_kernel must be an odd positive int or None, "
                             f"received {final_layer_kernel!r}")
        if loss is None:
            loss = SmoothL1Loss(use_target_weight=True)
        if not callable(loss):
            raise ValueError(f"loss must be callable, received {loss!r}")
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.in_featuremap_size = check_input_size(in_featuremap_size, "in_featuremap_size")
        self.debias = bool(debias)
        self.beta = float(beta)
        self.deconv_out_channels = deconv_out_channels
        self.deconv_kernel_sizes = deconv_kernel_sizes
        self.conv_out_channels = conv_out_channels
        self.conv_kernel_sizes = conv_kernel_sizes
        self.final_layer_kernel = final_layer_kernel
        self.loss_module = loss
        self.input_size = check_input_size(input_size)
        self.shift_coords = bool(shift_coords)
        self.synchronized_bn = bool(synchronized_bn)
        self.simplebaseline_head = None
        self.final_layer = None
        if deconv_out_channels:
            # HeatmapHead checks the deconv/conv arguments.
            self.simplebaseline_head = HeatmapHead(
                in_channels, out_channels=num_joints,
                deconv_out_channels=deconv_out_channels,
                deconv_kernel_sizes=deconv_kernel_sizes,
                conv_out_channels=conv_out_channels, conv_kernel_sizes=conv_kernel_sizes,
                final_layer_kernel=final_layer_kernel, synchronized_bn=synchronized_bn,
                name="simplebaseline_head")
        elif final_layer_kernel:
            # MMPose leaves this conv at PyTorch's default init: U(+-1/sqrt(fan_in)).
            self.final_layer = keras.layers.Conv2D(
                num_joints, final_layer_kernel, padding="same", use_bias=True,
                kernel_initializer=keras.initializers.VarianceScaling(
                    1.0 / 3.0, mode="fan_in", distribution="uniform"),
                name="final_layer")
        self.linspace_x = None
        self.linspace_y = None

    @property
    def out_channels(self) -> int:
        """Number of keypoints K (the estimator checks `flip_indices` against it)."""
        return self.num_joints

    def build(self, input_shape):
        last = input_shape[-1] if isinstance(input_shape[0], (list, tuple)) else input_shape
        if len(last) != 4:
            raise ValueError(f"{type(self).__name__} needs (B, h, w, C) feature maps, "
                             f"received shape {tuple(last)}")
        _, h, w, c = last
        if self.in_channels is not None and c is not None and c != self.in_channels:
            raise ValueError(f"{type(self).__name__} expects {self.in_channels} input "
                             f"channels, received feature shape {tuple(last)}")
        if h is None or w is None:
            if self.in_featuremap_size is None:
                raise ValueError(f"{type(self).__name__} needs a static feature map size "
                                 "or in_featuremap_size, received feature shape "
                                 f"{tuple(last)}")
            w, h = self.in_featuremap_size
        elif self.in_featuremap_size is not None and (w, h) != self.in_featuremap_size:
            raise ValueError(f"{type(self).__name__} expects in_featuremap_size (w, h) "
                             f"{self.in_featuremap_size}, received feature shape "
                             f"{tuple(last)}")
        if self.simplebaseline_head is not None:
            self.simplebaseline_head.build((None, h, w, c))
            factor = 2 ** len(self.deconv_out_channels)
            h, w = h * factor, w * factor
            channels = (self.conv_out_channels or self.deconv_out_channels)[-1]
            if self.final_layer_kernel:
                channels = self.num_joints
        elif self.final_layer is not None:
            self.final_layer.build((None, h, w, c))
            channels = self.num_joints
        else:
            channels = c
        if channels is not None and channels != self.num_joints:
            raise ValueError(f"{type(self).__name__} without a final layer needs "
                             f"{self.num_joints} heatmap channels, received {channels}")
        # MMPose's buffers-as-parameters, shapes (1, 1, 1, W) and (1, 1, H, 1) (NCHW).
        self.linspace_x = self.add_weight(
            shape=(1, 1, 1, w), name="linspace_x", trainable=False,
            initializer=keras.initializers.Constant(
                (np.arange(w, dtype=np.float32) / w).reshape(1, 1, 1, w)))
        self.linspace_y = self.add_weight(
            shape=(1, 1, h, 1), name="linspace_y", trainable=False,
            initializer=keras.initializers.Constant(
                (np.arange(h, dtype=np.float32) / h).reshape(1, 1, h, 1)))
        self.built = True

    def call(self, feats, training=None):
        """Computes coordinates and normalised heatmaps.

        Args:
            feats: sequence of (B, h, w, C) feature maps (the last is used), or one map.
            training: BatchNorm mode.

        Returns:
            `(coords (B, K, 2), heatmaps (B, H, W, K))`, float32; each heatmap sums to 1.
        """
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats
        if self.simplebaseline_head is not None:
            x = self.simplebaseline_head(x, training=training)
        elif self.final_layer is not None:
            x = self.final_layer(x)
        x = keras.ops.cast(x, "float32")
        shape = keras.ops.shape(x)
        b, h, w, k = shape[0], shape[1], shape[2], shape[3]
        # (B, K, H*W): one softmax per keypoint over all pixels.
        logits = keras.ops.reshape(keras.ops.transpose(x, (0, 3, 1, 2)), (b, k, h * w))
        probs = keras.ops.softmax(logits * self.beta, axis=-1)
        heatmaps = keras.ops.transpose(keras.ops.reshape(probs, (b, k, h, w)), (0, 2, 3, 1))
        lin_x = keras.ops.reshape(keras.ops.cast(self.linspace_x, "float32"), (1, 1, -1, 1))
        lin_y = keras.ops.reshape(keras.ops.cast(self.linspace_y, "float32"), (1, -1, 1, 1))
        pred_x = keras.ops.sum(heatmaps * lin_x, axis=(1, 2))  # (B, K)
        pred_y = keras.ops.sum(heatmaps * lin_y, axis=(1, 2))
        if self.debias:
            # MMPose: C = sum(exp(x)), pred = C / (C - 1) * (pred - 1 / (2C)). Written
            # with 1/C = exp(-logsumexp(x)) so large logits do not overflow exp.
            inv_c = keras.ops.exp(-keras.ops.logsumexp(logits, axis=-1))
            pred_x = (pred_x - 0.5 * inv_c) / (1.0 - inv_c)
            pred_y = (pred_y - 0.5 * inv_c) / (1.0 - inv_c)
        coords = keras.ops.stack([pred_x, pred_y], axis=-1)
        return coords, heatmaps

    def loss(self, outputs, targets: Mapping[str, Any]) -> Dict[str, tf.Tensor]:
        """Loss terms and training accuracy of a batch, as MMPose's
        `IntegralRegressionHead.loss` (the coordinates only).

        Args:
            outputs: `(coords (B, K, 2), heatmaps (B, H, W, K))` from `call`.
            targets: dict with "keypoint_labels" (B, K, 2) and "keypoint_weights" (B, K).

        Returns:
            {"loss_kpt": scalar loss, "acc_pose": scalar PCK@0.05 of the normalised
            coordinates on keypoints with weight > 0 (no gradient)}.
        """
        coords = outputs[0]
        labels, weights = regression_targets(targets, type(self).__name__)
        loss_kpt = self.loss_module(coords, labels, weights)
        return {"loss_kpt": loss_kpt, "acc_pose": coordinate_accuracy(coords, labels,
                                                                      weights)}

    def flip_back(self, outputs, flip_indices: Sequence[int], shift_heatmap: bool = False,
                  input_size: Optional[Sequence[int]] = None):
        """Undoes a horizontal flip of the input image on both outputs.

        Args:
            outputs: `(coords (B, K, 2), heatmaps (B, H, W, K))` of flipped images.
            flip_indices: (K,) index of each keypoint's mirror keypoint.
            shift_heatmap: shift the heatmaps one pixel right (MMPose's test_cfg).
            input_size: `(w, h)` of the input; defaults to the head's `input_size`.

        Returns:
            `(coords, heatmaps)` aligned with the unflipped images.
        """
        coords, heatmaps = outputs
        size = flip_input_size(self, input_size)
        coords = flip_coordinates(coords, flip_indices, shift_coords=self.shift_coords,
                                  input_size=size)
        heatmaps = flip_heatmaps(heatmaps, flip_indices, flip_mode="heatmap",
                                 shift_heatmap=shift_heatmap)
        return coords, heatmaps

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "in_channels": self.in_channels,
            "num_joints": self.num_joints,
            "in_featuremap_size": (list(self.in_featuremap_size)
                                   if self.in_featuremap_size is not None else None),
            "debias": self.debias,
            "beta": self.beta,
            "deconv_out_channels": list(self.deconv_out_channels),
            "deconv_kernel_sizes": list(self.deconv_kernel_sizes),
            "conv_out_channels": list(self.conv_out_channels),
            "conv_kernel_sizes": list(self.conv_kernel_sizes),
            "final_layer_kernel": self.final_layer_kernel,
            "loss": keras.saving.serialize_keras_object(self.loss_module),
            "input_size": list(self.input_size) if self.input_size is not None else None,
            "shift_coords": self.shift_coords,
            "synchronized_bn": self.synchronized_bn,
        })
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]):
        config = dict(config)
        if isinstance(config.get("loss"), dict):
            config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls(**config)
