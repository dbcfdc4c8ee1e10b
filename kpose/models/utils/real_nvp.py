"""RealNVP normalising flow on 2-D points, the density model of RLE (Li et al., 2021)."""

import math
from typing import Any, Dict, Mapping, Tuple

import gin
import keras
import numpy as np
import tensorflow as tf

# Three pairs of alternating coupling masks: even layers transform x, odd layers y.
_MASKS = np.array([[0, 1], [1, 0]] * 3, np.float32)
_HIDDEN = 64
# nn.LeakyReLU's default slope (Keras' default is 0.3).
_LEAKY_SLOPE = 0.01


def _linear(name: str, fan_in: int, units: int) -> keras.layers.Dense:
    # MMPose: Xavier-uniform kernels with gain 0.01 (a near-identity flow at the start),
    # biases left at PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    bound = 1.0 / math.sqrt(fan_in)
    layer = keras.layers.Dense(
        units, name=name, dtype="float32",
        kernel_initializer=keras.initializers.VarianceScaling(
            scale=0.01 ** 2, mode="fan_avg", distribution="uniform"),
        bias_initializer=keras.initializers.RandomUniform(-bound, bound))
    layer.build((None, fan_in))
    return layer


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class RealNVP(keras.layers.Layer):
    """Six affine coupling layers mapping 2-D points to a Gaussian, MMPose's `RealNVP`.

    Layer i keeps the coordinate where `mask[i]` is 1 and maps the other one as
    `(z - t_i(z_kept)) * exp(-s_i(z_kept))`, with `s_i` (2-64-64-2 MLP, LeakyReLU, tanh
    output) and `t_i` (same without tanh). `log_prob(x)` is the Gaussian prior's log
    density of the latent point plus the log-determinant of the mapping.

    Weights mirror MMPose's state dict for checkpoint conversion: the Dense layers
    `s_{i}_{j}` / `t_{i}_{j}` are `s.{i}.{j}` / `t.{i}.{j}` (j = 0, 2, 4; kernels are the
    transposed `weight`s) and the non-trainable `loc` (2,), `cov` (2, 2) (the prior) and
    `mask` (6, 2) are MMPose's buffers. The layer is built on construction: the input is
    always (N, 2), and a loss that owns it must have its weights before the first call so
    that checkpoints load into a fresh model.

    Call: `x` (N, 2) -> log-probabilities (N,), float32.

    Args:
        **kwargs: `keras.layers.Layer` arguments (name, trainable). The dtype is float32
            unless given: the flow is part of a loss.
    """

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        num_layers = len(_MASKS)
        self.loc = self.add_weight(shape=(2,), initializer="zeros", trainable=False,
                                   name="loc")
        self.cov = self.add_weight(shape=(2, 2), initializer="identity", trainable=False,
                                   name="cov")
        self.mask = self.add_weight(shape=_MASKS.shape, trainable=False, name="mask",
                                    initializer=keras.initializers.Constant(_MASKS))
        self.s = []
        self.t = []
        # Under this layer's scope, as Keras' own build would do: paths `flow_model/s_0_0/...`.
        with keras.name_scope(self.name, caller=self):
            for prefix, nets in (("s", self.s), ("t", self.t)):
                for i in range(num_layers):
                    nets.append([_linear(f"{prefix}_{i}_0", 2, _HIDDEN),
                                 _linear(f"{prefix}_{i}_2", _HIDDEN, _HIDDEN),
                                 _linear(f"{prefix}_{i}_4", _HIDDEN, 2)])
        self.built = True

    def build(self, input_shape: Tuple[int, ...]) -> None:
        # Everything was created in __init__; only check the input.
        if input_shape[-1] != 2:
            raise ValueError(f"RealNVP takes (N, 2) points, received shape {input_shape}")

    @staticmethod
    def _mlp(layers, x: tf.Tensor, tanh: bool) -> tf.Tensor:
        x = tf.nn.leaky_relu(layers[0](x), alpha=_LEAKY_SLOPE)
        x = tf.nn.leaky_relu(layers[1](x), alpha=_LEAKY_SLOPE)
        x = layers[2](x)
        return tf.tanh(x) if tanh else x

    def backward_p(self, x: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
        """Maps data points to the latent space.

        Args:
            x: (N, 2) points.

        Returns:
            (z (N, 2) latent points, (N,) log-determinant of the Jacobian dz/dx).
        """
        z = tf.cast(x, tf.float32)
        if z.shape.rank != 2 or z.shape[-1] != 2:
            raise ValueError(f"RealNVP takes (N, 2) points, received shape {z.shape}")
        mask = tf.convert_to_tensor(self.mask)
        log_det = tf.zeros_like(z[:, 0])
        for i in reversed(range(len(self.s))):
            keep = mask[i]
            kept = keep * z
            s = self._mlp(self.s[i], kept, tanh=True) * (1.0 - keep)
            t = self._mlp(self.t[i], kept, tanh=False) * (1.0 - keep)
            z = (1.0 - keep) * (z - t) * tf.exp(-s) + kept
            log_det -= tf.reduce_sum(s, axis=1)
        return z, log_det

    def prior_log_prob(self, z: tf.Tensor) -> tf.Tensor:
        """Log density of the Gaussian prior N(loc, cov) at (N, 2) points, (N,)."""
        chol = tf.linalg.cholesky(tf.convert_to_tensor(self.cov))
        centered = z - tf.convert_to_tensor(self.loc)
        # Solve chol @ y = centered for every point: |y|^2 is the Mahalanobis distance.
        y = tf.linalg.triangular_solve(chol, tf.transpose(centered), lower=True)
        half_log_det = tf.reduce_sum(tf.math.log(tf.linalg.diag_part(chol)))
        return -0.5 * tf.reduce_sum(tf.square(y), axis=0) - half_log_det - math.log(2 * math.pi)

    def log_prob(self, x: tf.Tensor) -> tf.Tensor:
        """Log density of the flow at (N, 2) points, (N,)."""
        z, log_det = self.backward_p(x)
        return self.prior_log_prob(z) + log_det

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return self.log_prob(x)

    def compute_output_shape(self, input_shape: Tuple[int, ...]) -> Tuple[int, ...]:
        return tuple(input_shape[:1])

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Assigns MMPose `RealNVP` state-dict values (numpy arrays) by their names.

        Args:
            state: `{"s.0.0.weight": (64, 2) array, ..., "loc": ..., "cov": ...}` with
                the keys of MMPose's flow (no prefix); buffers may be left out, every
                `s`/`t` parameter must be present.
        """
        state = dict(state)
        for name in ("loc", "cov", "mask"):
            if name in state:
                getattr(self, name).assign(np.asarray(state.pop(name), np.float32))
        for prefix, nets in (("s", self.s), ("t", self.t)):
            for i, layers in enumerate(nets):
                for j, layer in zip((0, 2, 4), layers):
                    key = f"{prefix}.{i}.{j}"
                    try:
                        weight = np.asarray(state.pop(f"{key}.weight"), np.float32)
                        bias = np.asarray(state.pop(f"{key}.bias"), np.float32)
                    except KeyError as missing:
                        raise ValueError(f"state lacks {missing}, received keys "
                                         f"{sorted(state)}") from None
                    layer.kernel.assign(weight.T)  # PyTorch stores (out, in)
                    layer.bias.assign(bias)
        if state:
            raise ValueError(f"unknown RealNVP state keys, received {sorted(state)}")

    def get_config(self) -> Dict[str, Any]:
        return super().get_config()
