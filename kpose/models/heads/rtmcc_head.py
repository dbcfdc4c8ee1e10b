"""RTMPose's head (Jiang et al., 2023): large-kernel conv, ScaleNorm + linear, a gated
attention unit over the keypoint tokens, then linear x / y bin classifiers."""

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import gin
import keras
import tensorflow as tf

from kpose.models.heads._simcc_utils import check_simcc_geometry, flatten_maps, simcc_loss
from kpose.models.losses.kl_discret_loss import KLDiscretLoss
from kpose.models.utils.rtmcc_block import RTMCCBlock
from kpose.models.utils.scale_norm import ScaleNorm
from kpose.models.utils.tta import flip_vectors


def _linear_init() -> keras.initializers.Initializer:
    # MMPose's RTMCCHead initialises every Linear (also inside the GAU) with N(0, 0.01).
    return keras.initializers.RandomNormal(stddev=0.01)


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class RTMCCHead(keras.layers.Layer):
    """Turns the last feature map into SimCC vectors, as MMPose's `RTMCCHead`.

    Layers, named after MMPose's modules: `final_layer` (conv with bias to K maps,
    kernel `final_layer_kernel_size`, "same" padding), flatten each map, `mlp_0`
    (ScaleNorm) and `mlp_1` (linear, no bias, to `gau_hidden_dims`), `gau` (RTMCCBlock
    over the K keypoint tokens), and the bias-free linear classifiers `cls_x`, `cls_y`.
    MMPose's `gau_cfg` dict is spelt out as the `gau_*` arguments.

    Input: a tuple of feature maps; the last, (B, h, w, in_channels), is used, with
    `(w, h) == in_featuremap_size`.
    Output: `(pred_x (B, K, Wx), pred_y (B, K, Wy))`, `Wx = int(w_in * ratio)`,
    `Wy = int(h_in * ratio)` for `input_size = (w_in, h_in)`.

    Args:
        in_channels: channels of the last feature map (None: take what comes).
        out_channels: number of keypoints K (keyword-only from here on).
        input_size: (w, h) of the model input, pixels.
        in_featuremap_size: (w, h) of the last feature map (input_size // 32 for CSPNeXt).
        simcc_split_ratio: bins per input pixel.
        final_layer_kernel_size: odd kernel of `final_layer` (RTMPose uses 7).
        gau_hidden_dims: token width of the GAU.
        gau_s: width of the GAU's shared query/key.
        gau_expansion_factor: GAU expansion of u and v.
        gau_dropout_rate: dropout on the GAU's attention in training.
        gau_drop_path: stochastic depth rate of the GAU branch in training.
        gau_act_fn: "ReLU" (MMPose's default) or "SiLU" (RTMPose's configs).
        gau_use_rel_bias: relative position bias in the GAU.
        gau_pos_enc: rotary position embedding in the GAU.
        loss: SimCC loss; defaults to `KLDiscretLoss(use_target_weight=True)` (RTMPose's
            configs use `beta=10.0, label_softmax=True`).
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
        final_layer_kernel_size: int = 1,
        gau_hidden_dims: int = 256,
        gau_s: int = 128,
        gau_expansion_factor: float = 2,
        gau_dropout_rate: float = 0.0,
        gau_drop_path: float = 0.0,
        gau_act_fn: str = "ReLU",
        gau_use_rel_bias: bool = False,
        gau_pos_enc: bool = False,
        loss: Optional[Any] = None,
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
        if (isinstance(final_layer_kernel_size, bool)
                or not isinstance(final_layer_kernel_size, int)
                or final_layer_kernel_size < 1 or final_layer_kernel_size % 2 == 0):
            raise ValueError(f"final_layer_kernel_size must be an odd positive int, received "
                             f"{final_layer_kernel_size!r}")
        if loss is None:
            loss = KLDiscretLoss(use_target_weight=True)
        if not callable(loss):
            raise ValueError(f"loss must be callable, received {loss!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.final_layer_kernel_size = final_layer_kernel_size
        self.gau_hidden_dims = gau_hidden_dims
        self.gau_s = gau_s
        self.gau_expansion_factor = gau_expansion_factor
        self.gau_dropout_rate = gau_dropout_rate
        self.gau_drop_path = gau_drop_path
        self.gau_act_fn = gau_act_fn
        self.gau_use_rel_bias = gau_use_rel_bias
        self.gau_pos_enc = gau_pos_enc
        self.loss_module = loss

        flatten_dims = self.in_featuremap_size[0] * self.in_featuremap_size[1]
        # PyTorch pads kernel // 2 on each side: "same" for an odd kernel at stride 1.
        self.final_layer = keras.layers.Conv2D(
            out_channels, final_layer_kernel_size, padding="same", use_bias=True,
            kernel_initializer=keras.initializers.RandomNormal(stddev=0.001),
            name="final_layer")
        self.mlp_0 = ScaleNorm(flatten_dims, name="mlp_0")
        self.mlp_1 = keras.layers.Dense(gau_hidden_dims, use_bias=False,
                                        kernel_initializer=_linear_init(), name="mlp_1")
        self.gau = RTMCCBlock(
            out_channels, gau_hidden_dims, gau_hidden_dims, expansion_factor=gau_expansion_factor,
            s=gau_s, dropout_rate=gau_dropout_rate, drop_path=gau_drop_path,
            attn_type="self-attn", act_fn=gau_act_fn, use_rel_bias=gau_use_rel_bias,
            pos_enc=gau_pos_enc, name="gau")
        # The head's N(0, 0.01) init also covers the GAU's linear layers (set before build).
        self.gau.uv.kernel_initializer = _linear_init()
        self.gau.o.kernel_initializer = _linear_init()
        self.cls_x = keras.layers.Dense(self.simcc_bins[0], use_bias=False,
                                        kernel_initializer=_linear_init(), name="cls_x")
        self.cls_y = keras.layers.Dense(self.simcc_bins[1], use_bias=False,
                                        kernel_initializer=_linear_init(), name="cls_y")

    def build(self, input_shape):
        last = input_shape[-1] if isinstance(input_shape[0], (list, tuple)) else input_shape
        if self.in_channels is not None and last[-1] is not None \
                and last[-1] != self.in_channels:
            raise ValueError(f"RTMCCHead expects {self.in_channels} input channels, "
                             f"received feature shape {tuple(last)}")
        expected = (self.in_featuremap_size[1], self.in_featuremap_size[0])
        if None not in tuple(last[1:3]) and tuple(last[1:3]) != expected:
            raise ValueError(f"RTMCCHead(in_featuremap_size={self.in_featuremap_size}) "
                             f"expects (h, w) = {expected}, received feature shape "
                             f"{tuple(last)}")
        self.compute_output_spec([keras.KerasTensor(
            (last[0],) + expected + (last[-1],))])
        self.built = True

    def call(self, feats, training=None) -> Tuple[Any, Any]:
        """Computes SimCC vectors.

        Args:
            feats: sequence of (B, h, w, C) feature maps (the last is used), or one map.
            training: enables the GAU's dropout and drop path.

        Returns:
            `(pred_x (B, K, Wx), pred_y (B, K, Wy))`.
        """
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats
        x = flatten_maps(self.final_layer(x))  # (B, K, h * w)
        x = self.mlp_1(self.mlp_0(x))
        x = self.gau(x, training=training)
        return self.cls_x(x), self.cls_y(x)

    def loss(self, outputs, targets: Mapping[str, Any]) -> Dict[str, tf.Tensor]:
        """Loss terms and training accuracy of a batch, as MMPose's `RTMCCHead.loss`.

        Args:
            outputs: `(pred_x (B, K, Wx), pred_y (B, K, Wy))` from `call`.
            targets: dict with "keypoint_x_labels" (B, K, Wx), "keypoint_y_labels"
                (B, K, Wy) and "keypoint_weights" (B, K), as `SimCCLabel` encodes them.

        Returns:
            {"loss_kpt": scalar loss, "acc_pose": scalar PCK@0.05 of the argmax bins on
            keypoints with weight > 0 (no gradient)}.
        """
        return simcc_loss(self.loss_module, outputs, targets, self.simcc_split_ratio,
                          "RTMCCHead")

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
            "final_layer_kernel_size": self.final_layer_kernel_size,
            "gau_hidden_dims": self.gau_hidden_dims,
            "gau_s": self.gau_s,
            "gau_expansion_factor": self.gau_expansion_factor,
            "gau_dropout_rate": self.gau_dropout_rate,
            "gau_drop_path": self.gau_drop_path,
            "gau_act_fn": self.gau_act_fn,
            "gau_use_rel_bias": self.gau_use_rel_bias,
            "gau_pos_enc": self.gau_pos_enc,
            "loss": keras.saving.serialize_keras_object(self.loss_module),
        })
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "RTMCCHead":
        config = dict(config)
        if isinstance(config.get("loss"), dict):
            config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls(**config)
