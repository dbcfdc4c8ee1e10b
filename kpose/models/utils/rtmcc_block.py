"""RTMCCBlock: the gated attention unit (GAU, Hua et al., 2022) of RTMPose's head."""

import math
from typing import Any, Dict

import gin
import keras

from kpose.models.utils.scale_norm import ScaleNorm

ACTIVATIONS = {"SiLU": keras.ops.silu, "ReLU": keras.ops.relu}


def rope(x, axis: int = 1):
    """Rotary position embedding along `axis` of (B, L, ..., D), as MMPose's `rope`.

    The two halves of the last axis are rotated by `position * 10000 ** (i / (D / 2))`,
    i = 0..D/2-1 (MMPose's frequencies grow with i, unlike RoFormer's; kept so converted
    weights give the same outputs).

    Args:
        x: (B, L, ..., D) with an even D; positions count along `axis`.
        axis: the sequence axis (1 in RTMCCBlock).

    Returns:
        The rotated tensor, shape and dtype of `x`.
    """
    shape = keras.ops.shape(x)
    rank = len(x.shape)
    half = x.shape[-1] // 2
    position = keras.ops.cast(keras.ops.arange(shape[axis]), "float32")
    inv_freq = keras.ops.power(
        10000.0, keras.ops.arange(half, dtype="float32") / float(half))
    # (L, 1, ..., 1, D/2): broadcast over the axes between `axis` and the last.
    angles = keras.ops.reshape(position, (-1,) + (1,) * (rank - axis - 2) + (1,)) * inv_freq
    sin = keras.ops.cast(keras.ops.sin(angles), x.dtype)
    cos = keras.ops.cast(keras.ops.cos(angles), x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return keras.ops.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


class _Scale(keras.layers.Layer):
    """Element-wise learned scale over the last axis (MMPose's `Scale`, weight `scale`)."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],),
                                     initializer="ones")
        self.built = True

    def call(self, inputs):
        return inputs * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class RTMCCBlock(keras.layers.Layer):
    """Self-attention gated attention unit over K tokens, as MMPose's `RTMCCBlock`.

    `x -> ScaleNorm -> uv Linear -> act -> split (u: e, v: e, base: s)`; the shared
    `base` gives `q = base * gamma[0] + beta[0]`, `k = base * gamma[1] + beta[1]`
    (optionally rotated by `rope`); the attention `relu(q k^T / sqrt(s) + rel_bias)**2`
    mixes `v`, gated by `u`, then `o` projects to `out_token_dims`. When input and output
    dims agree, the input scaled by `res_scale` is added (the shortcut).

    Sublayers and weights carry MMPose's names (`ln.g`, `uv`, `o`, `gamma`, `beta`, `w`,
    `res_scale.scale`) for checkpoint conversion.

    Input: (B, K, in_token_dims). Output: (B, K, out_token_dims).

    Args:
        num_token: number of tokens K (the length of the relative position bias `w` is
            2K - 1; inputs may have fewer tokens).
        in_token_dims: input token width.
        out_token_dims: output token width.
        expansion_factor: `e = int(in_token_dims * expansion_factor)`, the width of u, v.
        s: width of the shared query/key `base`.
        eps: ScaleNorm's lower bound.
        dropout_rate: dropout on the attention kernel in training.
        drop_path: stochastic depth rate of the attention branch in training.
        attn_type: only "self-attn" (MMPose's "cross-attn" is used by no MMPose model).
        act_fn: "SiLU" or "ReLU" after `uv`.
        bias: biases in the `uv` and `o` linear layers.
        use_rel_bias: add the learned relative position bias `w[j - i + K - 1]`.
        pos_enc: rotary position embedding of q and k.
        **kwargs: `keras.layers.Layer` arguments (name, dtype, trainable).
    """

    def __init__(
        self,
        num_token: int,
        in_token_dims: int,
        out_token_dims: int,
        expansion_factor: float = 2,
        s: int = 128,
        eps: float = 1e-5,
        dropout_rate: float = 0.0,
        drop_path: float = 0.0,
        attn_type: str = "self-attn",
        act_fn: str = "SiLU",
        bias: bool = False,
        use_rel_bias: bool = True,
        pos_enc: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (("num_token", num_token), ("in_token_dims", in_token_dims),
                            ("out_token_dims", out_token_dims), ("s", s)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, received {value!r}")
        if attn_type != "self-attn":
            raise ValueError(f"attn_type must be 'self-attn', received {attn_type!r}")
        if act_fn not in ACTIVATIONS:
            raise ValueError(f"act_fn must be one of {sorted(ACTIVATIONS)}, received "
                             f"{act_fn!r}")
        for name, value in (("dropout_rate", dropout_rate), ("drop_path", drop_path)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), received {value!r}")
        if pos_enc and s % 2:
            raise ValueError(f"pos_enc needs an even s, received s={s!r}")
        self.e = int(in_token_dims * expansion_factor)
        if self.e < 1:
            raise ValueError(f"in_token_dims * expansion_factor must be >= 1, received "
                             f"{in_token_dims!r} * {expansion_factor!r}")
        self.num_token = num_token
        self.in_token_dims = in_token_dims
        self.out_token_dims = out_token_dims
        self.expansion_factor = expansion_factor
        self.s = s
        self.eps = float(eps)
        self.dropout_rate = float(dropout_rate)
        self.drop_path = float(drop_path)
        self.attn_type = attn_type
        self.act_fn = act_fn
        self.bias = bias
        self.use_rel_bias = use_rel_bias
        self.pos_enc = pos_enc
        self.shortcut = in_token_dims == out_token_dims

        self.ln = ScaleNorm(in_token_dims, eps=eps, name="ln")
        self.uv = keras.layers.Dense(
            2 * self.e + s, use_bias=bias, kernel_initializer="glorot_uniform", name="uv")
        # PyTorch's default Linear init (Kaiming uniform, a = sqrt(5)).
        self.o = keras.layers.Dense(
            out_token_dims, use_bias=bias, name="o",
            kernel_initializer=keras.initializers.VarianceScaling(
                1.0 / 3.0, mode="fan_in", distribution="uniform"))
        self.res_scale = _Scale(name="res_scale") if self.shortcut else None
        self.dropout = (keras.layers.Dropout(dropout_rate, name="dropout")
                        if dropout_rate > 0 else None)
        self.seed_generator = keras.random.SeedGenerator() if drop_path > 0 else None

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.in_token_dims:
            raise ValueError(f"RTMCCBlock expects {self.in_token_dims} input dims, received "
                             f"input shape {tuple(input_shape)}")
        if input_shape[1] is not None and input_shape[1] > self.num_token:
            raise ValueError(f"RTMCCBlock(num_token={self.num_token}) received "
                             f"{input_shape[1]} tokens")
        # MMPose draws these from U[0, 1).
        uniform = keras.initializers.RandomUniform(0.0, 1.0)
        if self.use_rel_bias:
            self.w = self.add_weight(name="w", shape=(2 * self.num_token - 1,),
                                     initializer=uniform)
        self.gamma = self.add_weight(name="gamma", shape=(2, self.s), initializer=uniform)
        self.beta = self.add_weight(name="beta", shape=(2, self.s), initializer=uniform)
        self.ln.build(input_shape)
        self.uv.build(input_shape)
        self.o.build(tuple(input_shape[:-1]) + (self.e,))
        if self.res_scale is not None:
            self.res_scale.build(input_shape)
        self.built = True

    def _rel_pos_bias(self, length):
        # MMPose's pad/repeat/reshape/crop of `w` amounts to bias[i, j] = w[j - i + L - 1].
        index = (keras.ops.arange(length)[None, :] - keras.ops.arange(length)[:, None]
                 + length - 1)
        return keras.ops.take(self.w, index)

    def _attention(self, x, training):
        x = self.ln(x)
        uv = ACTIVATIONS[self.act_fn](self.uv(x))
        u = uv[..., :self.e]
        v = uv[..., self.e:2 * self.e]
        base = uv[..., 2 * self.e:]
        # (B, K, 1, s) * (2, s) + (2, s) -> (B, K, 2, s)
        base = base[:, :, None, :] * self.gamma + self.beta
        if self.pos_enc:
            base = rope(base, axis=1)
        q, k = base[:, :, 0], base[:, :, 1]
        qk = keras.ops.matmul(q, keras.ops.transpose(k, (0, 2, 1)))  # (B, K, K)
        if self.use_rel_bias:
            qk = qk + keras.ops.cast(self._rel_pos_bias(keras.ops.shape(q)[1]), qk.dtype)
        kernel = keras.ops.square(keras.ops.relu(qk / math.sqrt(self.s)))
        if self.dropout is not None:
            kernel = self.dropout(kernel, training=training)
        return self.o(u * keras.ops.matmul(kernel, v))

    def call(self, inputs, training=None):
        """Runs the unit.

        Args:
            inputs: (B, K, in_token_dims) tokens.
            training: enables dropout and drop path.

        Returns:
            (B, K, out_token_dims) tokens.
        """
        out = self._attention(inputs, training)
        if training and self.drop_path > 0:
            keep = 1.0 - self.drop_path
            batch = keras.ops.shape(out)[0]
            noise = keras.random.uniform((batch, 1, 1), seed=self.seed_generator,
                                         dtype=out.dtype)
            out = out * keras.ops.floor(keep + noise) / keep
        if self.res_scale is not None:
            out = self.res_scale(inputs) + out
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.out_token_dims,)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "num_token": self.num_token,
            "in_token_dims": self.in_token_dims,
            "out_token_dims": self.out_token_dims,
            "expansion_factor": self.expansion_factor,
            "s": self.s,
            "eps": self.eps,
            "dropout_rate": self.dropout_rate,
            "drop_path": self.drop_path,
            "attn_type": self.attn_type,
            "act_fn": self.act_fn,
            "bias": self.bias,
            "use_rel_bias": self.use_rel_bias,
            "pos_enc": self.pos_enc,
        })
        return config
