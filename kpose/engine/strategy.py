"""Choice of the tf.distribute strategy."""

import logging

import gin
import tensorflow as tf

logger = logging.getLogger(__name__)

_KINDS = ("auto", "default", "mirrored", "multi_worker")


@gin.register
def get_strategy(kind: str = "auto") -> tf.distribute.Strategy:
    """Returns the strategy training and evaluation run under.

    Args:
        kind: "auto" (MirroredStrategy when several GPUs are visible, otherwise the default
            strategy), "default", "mirrored" (all visible devices) or "multi_worker"
            (MultiWorkerMirroredStrategy configured from the TF_CONFIG environment variable).
    """
    if kind not in _KINDS:
        raise ValueError(f"strategy kind must be one of {_KINDS}, received {kind!r}")
    if kind == "auto":
        kind = "mirrored" if len(tf.config.list_logical_devices("GPU")) > 1 else "default"
    if kind == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    elif kind == "multi_worker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    logger.info("strategy %s with %d replica(s)", type(strategy).__name__,
                strategy.num_replicas_in_sync)
    return strategy
