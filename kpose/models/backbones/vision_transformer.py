"""Vision Transformer backbone (Dosovitskiy et al., 2021) as mmpretrain builds it for ViTPose.

Patch embedding (a strided conv, optionally padded), learned absolute position
embeddings (resized with PyTorch's bicubic interpolation when the patch grid differs from
the one of `img_size`), pre-norm transformer layers (LayerNorm, multi-head self-attention
with a fused qkv projection, LayerNorm, two-layer GELU MLP; residuals with stochastic
depth), a final LayerNorm. Channels-last: `out_type="featmap"` returns (B, h, w, C).

Layers are flat and named after mmpretrain's modules so checkpoints convert by name:
`patch_embed_projection`, the `pos_embed` (and `cls_token`) weights, `layers_3_ln1`,
`layers_3_attn_qkv`, `layers_3_attn_proj`, `layers_3_ln2`, `layers_3_ffn_layers_0_0`,
`layers_3_ffn_layers_1`, the final `ln1` (and `ln2` for "avg_featmap").
`vit_layer_ids` gives the layer id of each weight for layer-wise learning-rate decay.
"""

from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import gin
import keras
import numpy as np
import tensorflow as tf

from kpose.models.utils.interpolate import interpolation_matrix

# mmpretrain's arch_zoo entries used by ViTPose; "small" is ViTPose's custom small arch
# (mmpretrain's own "small" is a different 768-wide, 8-layer net).
ARCH_SETTINGS = {
    "small": dict(embed_dims=384, num_layers=12, num_heads=12, feedforward_channels=1536),
    "base": dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072),
    "large": dict(embed_dims=1024, num_layers=24, num_heads=16, feedforward_channels=4096),
    "huge": dict(embed_dims=1280, num_layers=32, num_heads=16, feedforward_channels=5120),
}
ARCH_KEYS = ("embed_dims", "num_layers", "num_heads", "feedforward_channels")
OUT_TYPES = ("featmap", "raw", "cls_token", "avg_featmap")
INTERPOLATE_MODES = ("bicubic", "bilinear", "nearest")


def _pair(value, name: str) -> Tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or any(not isinstance(v, (int, np.integer)) or v < 1 for v in pair):
        raise ValueError(f"{name} must be a positive int or (h, w), received {value!r}")
    return int(pair[0]), int(pair[1])


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class VisionTransformer(keras.layers.Layer):
    """Plain ViT encoder (mmpretrain's VisionTransformer), ViTPose's backbone.

    Input: (B, H, W, in_channels) normalised images. Output: a tuple with one entry per
    `out_indices` layer: (B, h, w, C) patch-token maps for "featmap" (h, w the patch grid,
    e.g. 16x12 for 256x192 with patch 16 and padding 2), (B, L, C) tokens for "raw",
    (B, C) for "cls_token" and "avg_featmap". The final norm applies to the last layer's
    output only, as in mmpretrain.

    Args:
        arch: "small" (ViTPose-S: 384 wide, 12 layers, 12 heads), "base", "large", "huge",
            or a dict with `embed_dims`, `num_layers`, `num_heads`, `feedforward_channels`.
        img_size: (H, W) (mmpretrain's order) the position embedding is made for.
        patch_size: patch (kernel and stride) of the patch embedding conv.
        patch_padding: zero padding of the patch conv on every side (ViTPose: 2), or
            "corner" (mmpretrain's default: pad bottom/right to a multiple of the patch).
        in_channels: input channels.
        out_indices: transformer layers (0-based, negative from the end) whose outputs
            are returned.
        drop_rate: dropout after the position embedding, attention projection and MLP.
        attn_drop_rate: dropout on the attention weights.
        drop_path_rate: stochastic depth rate of the last layer; layer i uses
            `drop_path_rate * i / (num_layers - 1)`.
        qkv_bias: bias on the qkv projection.
        layer_norm_eps: LayerNorm epsilon (mmpretrain's ViT: 1e-6).
        final_norm: LayerNorm (`ln1`) after the last layer.
        out_type: "featmap", "raw", "cls_token" or "avg_featmap" (see above).
        with_cls_token: prepend a class token (ViTPose: False). Required by "cls_token".
        frozen_stages: freeze the patch/position embeddings and layers 1..frozen_stages
            (and the final norm when all are frozen); -1 or 0 freezes nothing.
        interpolate_mode: how `pos_embed` is resized for another patch grid: "bicubic"
            (mmpretrain's default), "bilinear" or "nearest", each as PyTorch's.
        layer_scale_init_value: > 0 adds per-channel scales (`layers_i_attn_gamma1`,
            `layers_i_ffn_gamma2`) on both residual branches, initialised to it.
        **kwargs: `keras.layers.Layer` arguments (name, dtype, trainable).
    """

    def __init__(
        self,
        arch: Union[str, Mapping[str, int]] = "base",
        img_size: Union[int, Sequence[int]] = 224,
        patch_size: int = 16,
        patch_padding: Union[int, str] = "corner",
        in_channels: int = 3,
        out_indices: Union[int, Sequence[int]] = -1,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        qkv_bias: bool = True,
        layer_norm_eps: float = 1e-6,
        final_norm: bool = True,
        out_type: str = "featmap",
        with_cls_token: bool = True,
        frozen_stages: int = -1,
        interpolate_mode: str = "bicubic",
        layer_scale_init_value: float = 0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(arch, str):
            if arch not in ARCH_SETTINGS:
                raise ValueError(f"arch must be one of {sorted(ARCH_SETTINGS)} or a dict, "
                                 f"received {arch!r}")
            settings = dict(ARCH_SETTINGS[arch])
        elif isinstance(arch, Mapping) and set(ARCH_KEYS) <= set(arch):
            settings = {k: int(arch[k]) for k in ARCH_KEYS}
        else:
            raise ValueError(f"arch must be a name or a dict with {list(ARCH_KEYS)}, "
                             f"received {arch!r}")
        if min(settings.values()) < 1 or settings["embed_dims"] % settings["num_heads"]:
            raise ValueError(f"arch needs positive sizes and embed_dims divisible by "
                             f"num_heads, received {settings}")
        self.img_size = _pair(img_size, "img_size")
        if not isinstance(patch_size, int) or patch_size < 1:
            raise ValueError(f"patch_size must be a positive int, received {patch_size!r}")
        if patch_padding != "corner" and (not isinstance(patch_padding, int)
                                          or patch_padding < 0):
            raise ValueError(f"patch_padding must be 'corner' or an int >= 0, received "
                             f"{patch_padding!r}")
        if out_type not in OUT_TYPES:
            raise ValueError(f"out_type must be one of {OUT_TYPES}, received {out_type!r}")
        if out_type == "cls_token" and not with_cls_token:
            raise ValueError("out_type='cls_token' needs with_cls_token=True, received "
                             f"with_cls_token={with_cls_token!r}")
        if interpolate_mode not in INTERPOLATE_MODES:
            raise ValueError(f"interpolate_mode must be one of {INTERPOLATE_MODES}, received "
                             f"{interpolate_mode!r}")
        num_layers = settings["num_layers"]
        indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        resolved = []
        for index in indices:
            index = int(index)
            index = index + num_layers if index < 0 else index
            if not 0 <= index < num_layers:
                raise ValueError(f"out_indices must be layer indices in -{num_layers}.."
                                 f"{num_layers - 1}, received {out_indices!r}")
            resolved.append(index)
        if not resolved:
            raise ValueError(f"out_indices must not be empty, received {out_indices!r}")
        for rate_name, rate in (("drop_rate", drop_rate), ("attn_drop_rate", attn_drop_rate),
                                ("drop_path_rate", drop_path_rate)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{rate_name} must be in [0, 1), received {rate!r}")
        if not -1 <= frozen_stages <= num_layers:
            raise ValueError(f"frozen_stages must be in -1..{num_layers}, received "
                             f"{frozen_stages!r}")
        self.arch = arch if isinstance(arch, str) else dict(settings)
        self.arch_settings = settings
        self.embed_dims = settings["embed_dims"]
        self.num_layers = num_layers
        self.num_heads = settings["num_heads"]
        self.feedforward_channels = settings["feedforward_channels"]
        self.patch_size = patch_size
        self.patch_padding = patch_padding
        self.in_channels = in_channels
        self.out_indices = tuple(resolved)
        self.drop_rate = float(drop_rate)
        self.attn_drop_rate = float(attn_drop_rate)
        self.drop_path_rate = float(drop_path_rate)
        self.qkv_bias = qkv_bias
        self.layer_norm_eps = float(layer_norm_eps)
        self.final_norm = final_norm
        self.out_type = out_type
        self.with_cls_token = with_cls_token
        self.frozen_stages = frozen_stages
        self.interpolate_mode = interpolate_mode
        self.layer_scale_init_value = float(layer_scale_init_value)
        self.num_extra_tokens = 1 if with_cls_token else 0
        self.patch_resolution = tuple(self._grid_size(n) for n in self.img_size)
        self.out_channels = (self.embed_dims,) * len(self.out_indices)

        dims = self.embed_dims
        if isinstance(patch_padding, int) and patch_padding > 0:
            self.patch_embed_pad = keras.layers.ZeroPadding2D(patch_padding,
                                                              name="patch_embed_pad")
        self.patch_embed_projection = keras.layers.Conv2D(
            dims, patch_size, strides=patch_size, padding="valid", use_bias=True,
            name="patch_embed_projection")
        self.drop_after_pos = keras.layers.Dropout(self.drop_rate, name="drop_after_pos")
        self._layer_groups: Dict[str, int] = {"patch_embed_projection": 0}
        self._drop_path_rates = [float(r) for r in
                                 np.linspace(0.0, self.drop_path_rate, num_layers)]
        # One generator (a non-trainable state variable) for all stochastic depth masks.
        self.seed_generator = (keras.random.SeedGenerator(name="seed_generator")
                               if self.drop_path_rate > 0 else None)
        for i in range(num_layers):
            prefix = f"layers_{i}"
            for name, layer in (
                ("ln1", self._layer_norm(f"{prefix}_ln1")),
                ("attn_qkv", keras.layers.Dense(3 * dims, use_bias=qkv_bias,
                                                name=f"{prefix}_attn_qkv")),
                ("attn_attn_drop", keras.layers.Dropout(self.attn_drop_rate,
                                                        name=f"{prefix}_attn_attn_drop")),
                ("attn_proj", keras.layers.Dense(dims, name=f"{prefix}_attn_proj")),
                ("attn_proj_drop", keras.layers.Dropout(self.drop_rate,
                                                        name=f"{prefix}_attn_proj_drop")),
                ("ln2", self._layer_norm(f"{prefix}_ln2")),
                ("ffn_layers_0_0", keras.layers.Dense(self.feedforward_channels,
                                                      name=f"{prefix}_ffn_layers_0_0")),
                ("ffn_layers_0_2", keras.layers.Dropout(self.drop_rate,
                                                        name=f"{prefix}_ffn_layers_0_2")),
                ("ffn_layers_1", keras.layers.Dense(dims, name=f"{prefix}_ffn_layers_1")),
                ("ffn_layers_2", keras.layers.Dropout(self.drop_rate,
                                                      name=f"{prefix}_ffn_layers_2")),
            ):
                setattr(self, f"{prefix}_{name}", layer)
                self._layer_groups[f"{prefix}_{name}"] = i + 1
        if final_norm:
            self.ln1 = self._layer_norm("ln1")
        if out_type == "avg_featmap":
            self.ln2 = self._layer_norm("ln2")

    def _grid_size(self, n: int) -> int:
        """Patches along an axis of length n (PyTorch conv arithmetic)."""
        if self.patch_padding == "corner":
            return -(-n // self.patch_size)
        return (n + 2 * self.patch_padding - self.patch_size) // self.patch_size + 1

    def _layer_norm(self, name: str) -> keras.layers.LayerNormalization:
        return keras.layers.LayerNormalization(epsilon=self.layer_norm_eps, name=name)

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.in_channels:
            raise ValueError(f"VisionTransformer expects {self.in_channels} input channels, "
                             f"received input shape {tuple(input_shape)}")
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]
        self.pos_embed = self.add_weight(
            shape=(1, num_patches + self.num_extra_tokens, self.embed_dims),
            initializer=keras.initializers.TruncatedNormal(stddev=0.02), name="pos_embed")
        self.cls_token = None
        if self.with_cls_token:
            self.cls_token = self.add_weight(shape=(1, 1, self.embed_dims),
                                             initializer="zeros", name="cls_token")
        self._scales: Dict[str, Any] = {}
        if self.layer_scale_init_value > 0:
            for i in range(self.num_layers):
                for name in (f"layers_{i}_attn_gamma1", f"layers_{i}_ffn_gamma2"):
                    self._scales[name] = self.add_weight(
                        shape=(self.embed_dims,), name=name,
                        initializer=keras.initializers.Constant(self.layer_scale_init_value))
        self.compute_output_spec(keras.KerasTensor(tuple(input_shape)))
        self._apply_freezing()
        self.built = True

    def _apply_freezing(self) -> None:
        if self.frozen_stages <= 0:
            return
        self.patch_embed_projection.trainable = False
        for variable in (self.pos_embed, self.cls_token):
            if variable is not None:
                variable.trainable = False
        for name, group in self._layer_groups.items():
            if 1 <= group <= self.frozen_stages:
                getattr(self, name).trainable = False
        for name, variable in self._scales.items():
            if int(name.split("_")[1]) < self.frozen_stages:
                variable.trainable = False
        if self.frozen_stages == self.num_layers:
            for name in ("ln1", "ln2"):
                if hasattr(self, name):
                    getattr(self, name).trainable = False

    # Forward -------------------------------------------------------------------------

    def _position_embedding(self, grid_h, grid_w):
        """pos_embed for a (grid_h, grid_w) patch grid, resized as mmpretrain does."""
        src_h, src_w = self.patch_resolution
        if isinstance(grid_h, int) and isinstance(grid_w, int) \
                and (grid_h, grid_w) == (src_h, src_w):
            return self.pos_embed
        pos = tf.convert_to_tensor(self.pos_embed)
        extra = pos[:, :self.num_extra_tokens]
        grid = tf.reshape(pos[:, self.num_extra_tokens:], (src_h, src_w, self.embed_dims))
        rows = interpolation_matrix(src_h, grid_h, self.interpolate_mode)
        cols = interpolation_matrix(src_w, grid_w, self.interpolate_mode)
        grid = tf.einsum("hH,HWc->hWc", tf.cast(rows, grid.dtype), grid)
        grid = tf.einsum("wW,hWc->hwc", tf.cast(cols, grid.dtype), grid)
        grid = tf.reshape(grid, (1, -1, self.embed_dims))
        return tf.concat([extra, grid], axis=1)

    def _attention(self, x, prefix: str, training):
        batch = keras.ops.shape(x)[0]
        length = keras.ops.shape(x)[1]
        head_dims = self.embed_dims // self.num_heads
        qkv = getattr(self, f"{prefix}_attn_qkv")(x)
        qkv = keras.ops.reshape(qkv, (batch, length, 3, self.num_heads, head_dims))
        qkv = keras.ops.transpose(qkv, (2, 0, 3, 1, 4))  # (3, B, heads, L, d)
        q, k, v = qkv[0], qkv[1], qkv[2]
        logits = keras.ops.einsum("bhqd,bhkd->bhqk", q, k) * (head_dims ** -0.5)
        weights = keras.ops.softmax(logits, axis=-1)
        weights = getattr(self, f"{prefix}_attn_attn_drop")(weights, training=training)
        out = keras.ops.einsum("bhqk,bhkd->bhqd", weights, v)
        out = keras.ops.reshape(keras.ops.transpose(out, (0, 2, 1, 3)),
                                (batch, length, self.embed_dims))
        out = getattr(self, f"{prefix}_attn_proj")(out)
        return getattr(self, f"{prefix}_attn_proj_drop")(out, training=training)

    def _mlp(self, x, prefix: str, training):
        x = getattr(self, f"{prefix}_ffn_layers_0_0")(x)
        x = keras.activations.gelu(x, approximate=False)  # PyTorch's nn.GELU (erf)
        x = getattr(self, f"{prefix}_ffn_layers_0_2")(x, training=training)
        x = getattr(self, f"{prefix}_ffn_layers_1")(x)
        return getattr(self, f"{prefix}_ffn_layers_2")(x, training=training)

    def _drop_path(self, x, rate: float, training):
        """Stochastic depth: drops whole samples of a residual branch with prob `rate`."""
        if not training or rate == 0.0:
            return x
        keep = 1.0 - rate
        shape = (keras.ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
        mask = keras.ops.floor(keep + keras.random.uniform(
            shape, dtype=x.dtype, seed=self.seed_generator))
        return x / keep * mask

    def _encoder_layer(self, x, i: int, training):
        prefix = f"layers_{i}"
        rate = self._drop_path_rates[i]
        out = self._attention(getattr(self, f"{prefix}_ln1")(x), prefix, training)
        if self._scales:
            out = out * self._scales[f"{prefix}_attn_gamma1"]
        x = x + self._drop_path(out, rate, training)
        out = self._mlp(getattr(self, f"{prefix}_ln2")(x), prefix, training)
        if self._scales:
            out = out * self._scales[f"{prefix}_ffn_gamma2"]
        return x + self._drop_path(out, rate, training)

    def call(self, inputs, training=None) -> Tuple[Any, ...]:
        """Runs the encoder.

        Args:
            inputs: (B, H, W, in_channels) normalised images.
            training: dropout and stochastic depth on when True.

        Returns:
            Tuple of outputs, one per `out_indices` entry (see the class docstring).
        """
        x = inputs
        if self.patch_padding == "corner":
            pad_h = -keras.ops.shape(x)[1] % self.patch_size
            pad_w = -keras.ops.shape(x)[2] % self.patch_size
            x = tf.pad(x, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])
        elif self.patch_padding:
            x = self.patch_embed_pad(x)
        x = self.patch_embed_projection(x)
        batch = keras.ops.shape(x)[0]
        grid_h, grid_w = keras.ops.shape(x)[1], keras.ops.shape(x)[2]
        x = keras.ops.reshape(x, (batch, -1, self.embed_dims))
        if self.cls_token is not None:
            cls = keras.ops.broadcast_to(self.cls_token, (batch, 1, self.embed_dims))
            x = keras.ops.concatenate([keras.ops.cast(cls, x.dtype), x], axis=1)
        x = x + keras.ops.cast(self._position_embedding(grid_h, grid_w), x.dtype)
        x = self.drop_after_pos(x, training=False if self.frozen_stages > 0 else training)
        outs = []
        for i in range(self.num_layers):
            # Frozen layers run in inference mode (no dropout), as mmpretrain's eval().
            x = self._encoder_layer(x, i, False if i < self.frozen_stages else training)
            if i == self.num_layers - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, batch, grid_h, grid_w))
        return tuple(outs)

    def _format_output(self, x, batch, grid_h, grid_w):
        if self.out_type == "raw":
            return x
        if self.out_type == "cls_token":
            return x[:, 0]
        tokens = x[:, self.num_extra_tokens:]
        if self.out_type == "featmap":
            return keras.ops.reshape(tokens, (batch, grid_h, grid_w, self.embed_dims))
        return self.ln2(keras.ops.mean(tokens, axis=1))

    # Layer-wise learning-rate decay ---------------------------------------------------

    def layer_id(self, variable) -> int:
        """Layer id of a weight as MMPose's LayerDecayOptimWrapperConstructor counts.

        0 for the patch embedding, `pos_embed` and `cls_token`; i + 1 for transformer
        layer i; `num_layers + 1` for everything else (final norm, and any weight not of
        this backbone, e.g. the neck's or head's).
        """
        if not self.built:
            raise ValueError("the VisionTransformer must be built before asking for layer "
                             f"ids, received an unbuilt layer {self.name!r}")
        if not hasattr(self, "_variable_layer_ids"):
            ids = {id(self.pos_embed): 0}
            if self.cls_token is not None:
                ids[id(self.cls_token)] = 0
            for name, variable in self._scales.items():
                ids[id(variable)] = int(name.split("_")[1]) + 1
            for name, group in self._layer_groups.items():
                for weight in getattr(self, name).weights:
                    ids[id(weight)] = group
            self._variable_layer_ids = ids
        return self._variable_layer_ids.get(id(variable), self.num_layers + 1)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "arch": self.arch,
            "img_size": list(self.img_size),
            "patch_size": self.patch_size,
            "patch_padding": self.patch_padding,
            "in_channels": self.in_channels,
            "out_indices": list(self.out_indices),
            "drop_rate": self.drop_rate,
            "attn_drop_rate": self.attn_drop_rate,
            "drop_path_rate": self.drop_path_rate,
            "qkv_bias": self.qkv_bias,
            "layer_norm_eps": self.layer_norm_eps,
            "final_norm": self.final_norm,
            "out_type": self.out_type,
            "with_cls_token": self.with_cls_token,
            "frozen_stages": self.frozen_stages,
            "interpolate_mode": self.interpolate_mode,
            "layer_scale_init_value": self.layer_scale_init_value,
        })
        return config


def vit_layer_ids(backbone: VisionTransformer,
                  weights: Optional[Sequence[Any]] = None) -> List[int]:
    """Layer ids for layer-wise learning-rate decay (MMPose's LayerDecayOptimWrapper).

    With `num_layers + 2` ids in all, a weight with id i gets the learning rate scaled by
    `decay_rate ** (num_layers + 1 - i)`.

    Args:
        backbone: a built VisionTransformer.
        weights: the weights to label, e.g. the whole estimator's `trainable_weights`;
            None for the backbone's trainable weights.

    Returns:
        One id per weight, in order (see `VisionTransformer.layer_id`).
    """
    if weights is None:
        weights = backbone.trainable_weights
    return [backbone.layer_id(w) for w in weights]


def _vitpose_defaults(kwargs: Dict[str, Any], drop_path_rate: float) -> Dict[str, Any]:
    defaults = dict(img_size=(256, 192), patch_size=16, patch_padding=2, qkv_bias=True,
                    drop_path_rate=drop_path_rate, with_cls_token=False, out_type="featmap")
    defaults.update(kwargs)
    return defaults


@gin.register
def vit_small(**kwargs) -> VisionTransformer:
    """ViTPose-S backbone (384 wide, 12 layers, 12 heads) for 256x192 inputs; `kwargs`
    override (e.g. `img_size=(384, 288)`)."""
    return VisionTransformer(arch="small", **_vitpose_defaults(kwargs, 0.1))


@gin.register
def vit_base(**kwargs) -> VisionTransformer:
    """ViTPose-B backbone (768 wide, 12 layers) for 256x192 inputs; `kwargs` override."""
    return VisionTransformer(arch="base", **_vitpose_defaults(kwargs, 0.3))


@gin.register
def vit_large(**kwargs) -> VisionTransformer:
    """ViTPose-L backbone (1024 wide, 24 layers) for 256x192 inputs; `kwargs` override."""
    return VisionTransformer(arch="large", **_vitpose_defaults(kwargs, 0.5))


@gin.register
def vit_huge(**kwargs) -> VisionTransformer:
    """ViTPose-H backbone (1280 wide, 32 layers) for 256x192 inputs; `kwargs` override."""
    return VisionTransformer(arch="huge", **_vitpose_defaults(kwargs, 0.55))
