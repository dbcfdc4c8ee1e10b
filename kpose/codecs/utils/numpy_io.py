"""Numpy in, numpy out: the eager calling convention shared by all codecs.

Codecs are written in TF ops so they run inside `tf.data` and exported graphs. When a
user calls one eagerly on numpy arrays (the common case in notebooks and tests), they
expect numpy back, as from MMPose.
"""

from typing import Any

import numpy as np
import tensorflow as tf


def wants_numpy(*inputs: Any) -> bool:
    """True when running eagerly and no input is a TF tensor or variable.

    `None` inputs (optional arguments left out) do not count.
    """
    if not tf.executing_eagerly():
        return False
    return not any(tf.is_tensor(x) or isinstance(x, tf.Variable) for x in inputs)


def to_numpy(structure: Any) -> Any:
    """Converts every tensor in a nested structure (dict, tuple, list) to numpy."""
    return tf.nest.map_structure(
        lambda t: t.numpy() if tf.is_tensor(t) else np.asarray(t), structure)
