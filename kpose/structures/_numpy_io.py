"""Numpy in, numpy out: the calling convention shared by the geometry functions.

Geometry functions are written in TF ops so they run inside `tf.data` and exported graphs.
Called eagerly with only numpy arrays / Python numbers, they hand back numpy arrays, so
scripts and tests can use them like MMPose's numpy helpers.
"""

import functools
from typing import Any, Callable

import numpy as np
import tensorflow as tf


def _has_tensor(values) -> bool:
    for value in values:
        if isinstance(value, (tf.Tensor, tf.Variable)):
            return True
        if isinstance(value, (list, tuple)) and _has_tensor(value):
            return True
    return False


def _to_numpy(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(_to_numpy(v) for v in value)
    if isinstance(value, (tf.Tensor, tf.Variable)):
        return value.numpy()
    return value


def numpy_io(fn: Callable) -> Callable:
    """Decorate `fn` so that eager calls without tensor arguments return numpy arrays."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        if tf.executing_eagerly() and not _has_tensor(list(args) + list(kwargs.values())):
            return _to_numpy(out)
        return out

    return wrapper


def as_float(x: Any, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """`x` as a float tensor of `dtype` (numpy float64 input is cast, not rejected)."""
    if isinstance(x, (tf.Tensor, tf.Variable)):
        return tf.cast(x, dtype)
    return tf.convert_to_tensor(np.asarray(x, dtype=dtype.as_numpy_dtype))
