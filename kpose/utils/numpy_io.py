"""Numpy in, numpy out: the eager calling convention of kpose's TF-op functions.

Geometry functions and codecs are written in TF ops so they run inside `tf.data` and
exported graphs. Called eagerly with numpy arrays and Python numbers only (the common case
in notebooks, scripts and tests), they hand back numpy arrays, as MMPose's helpers do.
"""

import functools
from typing import Any, Callable

import numpy as np
import tensorflow as tf


def wants_numpy(*inputs: Any) -> bool:
    """True when running eagerly and no input (nested lists/dicts included) is a tensor.

    `None` inputs (optional arguments left out) do not count.
    """
    if not tf.executing_eagerly():
        return False
    return not any(tf.is_tensor(x) or isinstance(x, tf.Variable)
                   for x in tf.nest.flatten(list(inputs)))


def to_numpy(structure: Any) -> Any:
    """Converts every tensor in a nested structure (dict, tuple, list) to numpy; None stays."""

    def convert(t):
        if t is None:
            return None
        return t.numpy() if tf.is_tensor(t) else np.asarray(t)

    return tf.nest.map_structure(convert, structure)


def numpy_io(fn: Callable) -> Callable:
    """Decorates `fn` so that eager calls without tensor arguments return numpy arrays."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        out = fn(*args, **kwargs)
        if wants_numpy(*args, *kwargs.values()):
            return to_numpy(out)
        return out

    return wrapper


def as_float(x: Any, dtype: tf.DType = tf.float32) -> tf.Tensor:
    """`x` as a float tensor of `dtype` (numpy float64 input is cast, not rejected)."""
    if isinstance(x, (tf.Tensor, tf.Variable)):
        return tf.cast(x, dtype)
    return tf.convert_to_tensor(np.asarray(x, dtype=dtype.as_numpy_dtype))
