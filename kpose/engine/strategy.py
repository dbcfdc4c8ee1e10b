"""Choice of the tf.distribute strategy."""

import logging

import gin
import tensorflow as tf

logger = logging.getLogger(__name__)

_KINDS = ("auto", "default", "mirrored", "multi_worker", "tpu")


@gin.register
def get_strategy(kind: str = "auto", tpu: str = "") -> tf.distribute.Strategy:
    """Returns the strategy training and evaluation run under.

    Args:
        kind: "auto" (MirroredStrategy when several GPUs are visible, otherwise the default
            strategy), "default", "mirrored" (all visible devices) or "multi_worker"
            (MultiWorkerMirroredStrategy configured from the TF_CONFIG environment variable)
            or "tpu" (TPUStrategy on the TPU named by `tpu`; not testable on CPU machines).
        tpu: TPU name or address for `TPUClusterResolver` ("" = the local TPU VM).

    Under "multi_worker", create the strategy before any other TensorFlow op (tools/train.py
    does): it starts the collective runtime. Keras splits each global batch between workers.
    """
    if kind not in _KINDS:
        raise ValueError(f"strategy kind must be one of {_KINDS}, received {kind!r}")
    if kind == "auto":
        kind = "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "default"
    if kind == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    elif kind == "multi_worker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    elif kind == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        strategy = tf.distribute.TPUStrategy(resolver)
    else:
        strategy = tf.distribute.get_strategy()
    logger.info("strategy %s with %d replica(s)", type(strategy).__name__,
                strategy.num_replicas_in_sync)
    return strategy


_POLICIES = (None, "auto", "mixed_bfloat16", "mixed_float16")


def resolve_mixed_precision(policy):
    """The Keras dtype policy to train with, or None for float32.

    "auto" picks "mixed_bfloat16" on a CPU-only machine whose CPU has bf16 matrix units
    (AMX or AVX512-BF16, where oneDNN runs bf16 convolutions about twice as fast as
    float32) and float32 elsewhere: on CPUs without them bf16 is emulated and slower.
    """
    if policy not in _POLICIES:
        raise ValueError(f"mixed_precision must be one of {_POLICIES}, received {policy!r}")
    if policy != "auto":
        return policy
    if tf.config.list_physical_devices("GPU"):
        return None
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return None
    return "mixed_bfloat16" if ("amx_bf16" in flags or "avx512_bf16" in flags) else None
