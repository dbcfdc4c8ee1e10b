"""Shared helpers of the per-sample transforms: seeds, sampling, key checks."""

import math
from typing import Mapping, Sequence

import tensorflow as tf

# Standard normal CDF at -1 and +1: MMPose draws its bbox jitter from N(0, 1) truncated
# to [-1, 1] (scipy's truncnorm), which TF's truncated_normal (cut at 2 sigma) is not.
_CDF_LOW = 0.5 * (1.0 + math.erf(-1.0 / math.sqrt(2.0)))
_CDF_HIGH = 0.5 * (1.0 + math.erf(1.0 / math.sqrt(2.0)))


def seed_of(sample: Mapping[str, tf.Tensor], owner: str) -> tf.Tensor:
    """The sample's stateless `seed` (2,), or a ValueError saying how to add one."""
    if "seed" not in sample:
        raise ValueError(
            f"{owner} needs a per-sample 'seed' (int (2,)) in the sample; got keys {sorted(sample)}. "
            "build_topdown_pipeline adds one; add it yourself when calling a transform directly.")
    return sample["seed"]


def split_seed(sample: Mapping[str, tf.Tensor], num: int, owner: str) -> tf.Tensor:
    """`num` independent stateless seeds `(num, 2)` from the sample's `seed`."""
    return tf.random.experimental.stateless_split(tf.cast(seed_of(sample, owner), tf.int64), num)


def uniform(seed: tf.Tensor, shape: Sequence[int] = ()) -> tf.Tensor:
    """Uniform [0, 1) float32 from a stateless seed."""
    return tf.random.stateless_uniform(shape, seed=seed, dtype=tf.float32)


def truncated_unit_normal(seed: tf.Tensor, shape: Sequence[int] = ()) -> tf.Tensor:
    """N(0, 1) truncated to [-1, 1], by inverting the CDF of a uniform draw."""
    u = tf.random.stateless_uniform(shape, seed=seed, minval=_CDF_LOW, maxval=_CDF_HIGH,
                                    dtype=tf.float64)
    return tf.cast(tf.clip_by_value(tf.math.ndtri(u), -1.0, 1.0), tf.float32)


def require_keys(sample: Mapping[str, tf.Tensor], keys: Sequence[str], owner: str, hint: str = "") -> None:
    """Raise ValueError naming the keys `owner` needs but `sample` lacks."""
    missing = [k for k in keys if k not in sample]
    if missing:
        raise ValueError(f"{owner} needs sample keys {missing}, got {sorted(sample)}. {hint}".strip())


def check_probability(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], received {value!r}")
    return float(value)


def select(cond: tf.Tensor, a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """`tf.where(cond, a, b)` with `cond` (...) broadcast over the trailing axes of `a`.

    Lets one transform body run on a sample (`cond` a scalar) or on a batch of them
    (`cond` (B,), values (B, ...)) with the same element-wise numbers.
    """
    cond = tf.convert_to_tensor(cond)
    a = tf.convert_to_tensor(a)
    extra = a.shape.rank - cond.shape.rank
    if extra > 0:
        cond = tf.reshape(cond, tf.concat([tf.shape(cond), tf.ones([extra], tf.int32)], axis=0))
    return tf.where(cond, a, b)
