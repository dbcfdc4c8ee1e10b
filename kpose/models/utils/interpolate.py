"""PyTorch's `F.interpolate` for channels-last maps, exactly, as separable linear maps.

TF's resize kernels place samples differently from PyTorch's for non-integer factors
(`scale_factor` given: PyTorch maps coordinates with 1 / scale_factor, TF with in / out),
and TF's bicubic uses another kernel (a = -0.5, renormalised at the border) than
PyTorch's (a = -0.75, border clamped). Resizing is linear along each axis, so we build
PyTorch's (out, in) sampling matrix per axis and apply both with one einsum: exact for
every mode, static or dynamic sizes, and plain matmuls for export.
"""

from typing import Optional, Sequence, Union

import tensorflow as tf

MODES = ("nearest", "bilinear", "bicubic")
_CUBIC_A = -0.75  # PyTorch's bicubic kernel parameter


def _cubic_weights(t):
    """PyTorch's four cubic-convolution weights for taps at offsets -1, 0, 1, 2."""
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a

    return [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]


def interpolation_matrix(size_in, size_out, mode: str = "bilinear",
                         align_corners: bool = False,
                         scale_factor: Optional[float] = None) -> tf.Tensor:
    """PyTorch's sampling matrix along one axis.

    Args:
        size_in: input length (int or scalar int tensor).
        size_out: output length (int or scalar int tensor).
        mode: "nearest", "bilinear" (linear along the axis) or "bicubic".
        align_corners: PyTorch's flag (ignored by "nearest").
        scale_factor: the factor PyTorch was given, if any; it, not in / out, then sets
            the coordinate mapping (PyTorch's default `recompute_scale_factor=None`).

    Returns:
        (size_out, size_in) float32 matrix M with output = M @ input.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, received {mode!r}")
    n_in = tf.cast(size_in, tf.int32)
    n_out = tf.cast(size_out, tf.int32)
    dst = tf.cast(tf.range(n_out), tf.float32)
    if scale_factor is not None:
        scale = tf.constant(1.0 / float(scale_factor), tf.float32)
    else:
        scale = tf.cast(n_in, tf.float32) / tf.cast(n_out, tf.float32)
    if mode == "nearest":
        index = tf.minimum(tf.cast(tf.floor(dst * scale), tf.int32), n_in - 1)
        return tf.one_hot(index, n_in, dtype=tf.float32)
    if align_corners:
        corner_scale = tf.where(
            n_out > 1,
            tf.cast(n_in - 1, tf.float32) / tf.cast(tf.maximum(n_out - 1, 1), tf.float32),
            0.0)
        src = dst * corner_scale
    else:
        src = scale * (dst + 0.5) - 0.5
    if mode == "bilinear":
        src = tf.maximum(src, 0.0)  # PyTorch clamps linear (not cubic) sources at 0
        low = tf.cast(tf.floor(src), tf.int32)
        high = tf.minimum(low + 1, n_in - 1)
        frac = (src - tf.cast(low, tf.float32))[:, None]
        return (tf.one_hot(low, n_in) * (1.0 - frac) + tf.one_hot(high, n_in) * frac)
    floor = tf.floor(src)
    t = src - floor
    base = tf.cast(floor, tf.int32)
    matrix = 0.0
    for offset, weight in zip(range(-1, 3), _cubic_weights(t)):
        index = tf.clip_by_value(base + offset, 0, n_in - 1)
        matrix += tf.one_hot(index, n_in) * weight[:, None]
    return matrix


def interpolate(x, size: Optional[Sequence[int]] = None,
                scale_factor: Optional[Union[float, Sequence[float]]] = None,
                mode: str = "nearest", align_corners: bool = False) -> tf.Tensor:
    """`torch.nn.functional.interpolate` on a (B, H, W, C) map.

    Args:
        x: (B, H, W, C) tensor.
        size: output (h, w); exactly one of `size` and `scale_factor` is given.
        scale_factor: one factor or (factor_h, factor_w); the output is
            floor(H * factor_h) x floor(W * factor_w), as PyTorch.
        mode: "nearest", "bilinear" or "bicubic".
        align_corners: PyTorch's flag for the (bi)linear and bicubic modes.

    Returns:
        (B, h, w, C) tensor of x's dtype.
    """
    if (size is None) == (scale_factor is None):
        raise ValueError(f"give exactly one of size and scale_factor, received size={size!r}, "
                         f"scale_factor={scale_factor!r}")
    x = tf.convert_to_tensor(x)
    shape = tf.shape(x)
    static = x.shape
    sizes_in = [static[1] if static[1] is not None else shape[1],
                static[2] if static[2] is not None else shape[2]]
    if size is not None:
        sizes_out, factors = list(size), [None, None]
    else:
        factors = (list(scale_factor) if isinstance(scale_factor, (list, tuple))
                   else [scale_factor, scale_factor])
        if any(f is None or f <= 0 for f in factors):
            raise ValueError(f"scale_factor must be positive, received {scale_factor!r}")
        sizes_out = []
        for n, f in zip(sizes_in, factors):
            if isinstance(n, int):
                sizes_out.append(int(n * float(f)))  # floor, as PyTorch
            else:
                sizes_out.append(tf.cast(tf.floor(tf.cast(n, tf.float64) * float(f)), tf.int32))
    if all(isinstance(a, int) and isinstance(b, int) for a, b in zip(sizes_in, sizes_out)) \
            and sizes_in == sizes_out and factors == [None, None]:
        return x  # PyTorch's same-size resize is the identity
    rows = interpolation_matrix(sizes_in[0], sizes_out[0], mode, align_corners, factors[0])
    cols = interpolation_matrix(sizes_in[1], sizes_out[1], mode, align_corners, factors[1])
    compute = tf.float32 if x.dtype in (tf.float16, tf.bfloat16) else x.dtype
    y = tf.einsum("hH,bHWc->bhWc", tf.cast(rows, compute), tf.cast(x, compute))
    y = tf.einsum("wW,bhWc->bhwc", tf.cast(cols, compute), y)
    return tf.cast(y, x.dtype)
