"""Exponential moving average of the weights with an annealed momentum (RTMPose's EMAHook)."""

import contextlib
import json
import logging

import gin
import keras
import numpy as np
import tensorflow as tf

logger = logging.getLogger(__name__)

H5_GROUP = "kpose_ema"  # where checkpoints keep the raw (trained) weights and the step count


@gin.register
class ExpMomentumEMA(keras.callbacks.Callback):
    """Keeps an EMA of the model's weights, updated after every optimizer step.

    mmengine's `EMAHook(ema_type='ExpMomentumEMA')`: the first update copies the weights; the
    update after `s` earlier updates is `avg = (1 - m) * avg + m * w` with
    `m = (1 - momentum) * exp(-(1 + s) / gamma) + momentum` (a large momentum early, annealed
    to `momentum`). The update runs in one compiled graph per step. The averaged weights are
    swapped into the model for evaluation (`EvaluationCallback(ema=...)`) and for saving
    (`CheckpointCallback(ema=...)`): checkpoints hold the averaged weights as the model's
    weights, so evaluation, inference and export of a checkpoint use them, and keep the raw
    weights and step count in an extra HDF5 group to resume training exactly.

    Call `build(model)` under the model's distribution strategy before training or restoring
    (the trainer does); `fit` builds it otherwise. Needs `steps_per_execution=1`.

    Args:
        momentum: final momentum (RTMPose: 0.0002).
        gamma: annealing constant in steps (2000).
        interval: update every this many steps (the momentum still counts every step).
        update_buffers: also average non-trainable float variables (BatchNorm statistics),
            as RTMPose's `update_buffers=True`; otherwise they are left to the model.
    """

    def __init__(self, momentum: float = 0.0002, gamma: float = 2000, interval: int = 1,
                 update_buffers: bool = False):
        super().__init__()
        if not 0 < momentum < 1:
            raise ValueError(f"momentum must be in (0, 1), received {momentum}")
        if gamma <= 0:
            raise ValueError(f"gamma must be > 0, received {gamma}")
        if interval < 1:
            raise ValueError(f"interval must be >= 1, received {interval}")
        self.momentum = float(momentum)
        self.gamma = float(gamma)
        self.interval = int(interval)
        self.update_buffers = bool(update_buffers)
        self.sources = None
        self.averages = None
        self.steps = None
        self._swapped = False

    @property
    def built(self) -> bool:
        return self.averages is not None

    def build(self, model) -> None:
        """Creates the averages (equal to the current weights) for `model`'s variables."""
        if self.built:
            return
        self.sources = _averaged_variables(model, self.update_buffers)
        # Plain TF variables: created under the caller's strategy scope, they mirror as the
        # model's do; updates and swaps run in cross-replica context.
        self.averages = [tf.Variable(keras.ops.convert_to_numpy(v), trainable=False,
                                     name=f"ema_{i}") for i, v in enumerate(self.sources)]
        self.steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="ema_steps")
        self._update_fn = tf.function(self._update, autograph=False)
        self._swap_fn = tf.function(self._swap, autograph=False)

    def _update(self):
        s = self.steps
        m = ((1.0 - self.momentum) * tf.exp(-tf.cast(1 + s, tf.float64) / self.gamma)
             + self.momentum)

        def average():
            ops = []
            for avg, src in zip(self.averages, self.sources):
                # float32 factors, as PyTorch's in-place mul_/add_ with Python scalars.
                keep = tf.cast(1.0 - m, avg.dtype)
                take = tf.cast(m, avg.dtype)
                ops.append(avg.assign(avg * keep + tf.cast(src.value, avg.dtype) * take))
            return tf.group(ops)

        def copy():
            return tf.group([avg.assign(src.value)
                             for avg, src in zip(self.averages, self.sources)])

        def skip():
            return tf.no_op()

        done = tf.case([(tf.equal(s, 0), copy), (tf.equal(s % self.interval, 0), average)],
                       default=skip, exclusive=False)
        with tf.control_dependencies([done]):
            return self.steps.assign_add(1)

    def _swap(self):
        for avg, src in zip(self.averages, self.sources):
            raw = tf.identity(src.value)
            with tf.control_dependencies([raw]):
                src.assign(avg.read_value())
                avg.assign(raw)

    def on_train_begin(self, logs=None):
        if not self.built:
            strategy = (getattr(self.model, "distribute_strategy", None)
                        or tf.distribute.get_strategy())
            with strategy.scope():
                self.build(self.model)
        steps_per_execution = getattr(self.model, "steps_per_execution", 1)
        if int(steps_per_execution) != 1:
            raise ValueError(f"ExpMomentumEMA updates once per callback batch and needs "
                             f"steps_per_execution=1, received {steps_per_execution}")

    def on_train_batch_end(self, batch, logs=None):
        self._update_fn()

    @contextlib.contextmanager
    def swapped(self):
        """Within the block the model holds the averaged weights (the raw ones are kept)."""
        if not self.built:
            raise ValueError("ExpMomentumEMA is not built: call build(model) first")
        if self._swapped:  # nested: already swapped in
            yield
            return
        self._swap_fn()
        self._swapped = True
        try:
            yield
        finally:
            self._swap_fn()
            self._swapped = False

    def average_values(self) -> list:
        """The averaged weights as numpy arrays, in the order of `sources`."""
        return [v.numpy() for v in self.averages]

    def write_state(self, h5file) -> None:
        """Stores the raw weights and step count in an open HDF5 file (`kpose_ema` group).

        Call outside `swapped()`, after the averaged weights were saved as the model's.
        """
        if H5_GROUP in h5file:
            del h5file[H5_GROUP]
        group = h5file.create_group(H5_GROUP)
        group.attrs["steps"] = int(self.steps.numpy())
        group.attrs["update_buffers"] = self.update_buffers
        group.attrs["paths"] = json.dumps([v.path for v in self.sources])  # for people
        for i, v in enumerate(self.sources):
            group.create_dataset(str(i), data=keras.ops.convert_to_numpy(v.value))

    def read_state(self, h5file, model) -> None:
        """Restores after `model.load_weights` of a checkpoint written with `write_state`.

        The model then holds the averaged weights: they become the averages, and the raw
        weights from the group go back into the model. A checkpoint without the group (EMA
        newly switched on) starts the average afresh from the loaded weights, as mmengine.
        """
        self.build(model)
        if H5_GROUP not in h5file:
            logger.warning("the checkpoint holds no EMA state; the EMA restarts from its weights")
            for avg, src in zip(self.averages, self.sources):
                avg.assign(src.value)
            self.steps.assign(0)
            return
        group = h5file[H5_GROUP]
        if bool(group.attrs["update_buffers"]) != self.update_buffers:
            raise ValueError(f"the checkpoint's EMA was kept with update_buffers="
                             f"{bool(group.attrs['update_buffers'])}, received "
                             f"update_buffers={self.update_buffers}")
        raw = _read_raw(group, self.sources)
        for avg, src, value in zip(self.averages, self.sources, raw):
            avg.assign(src.value)
            src.assign(value)
        self.steps.assign(int(group.attrs["steps"]))



def _averaged_variables(model, update_buffers: bool) -> list:
    """The model's float variables that the EMA averages, in the model's (stable) order."""
    pool = model.weights if update_buffers else model.trainable_weights
    return [v for v in pool if "float" in str(v.dtype)]


def _read_raw(group, variables) -> list:
    """The raw weights stored in an EMA group, checked against `variables`' shapes."""
    if len(group) != len(variables):
        raise ValueError(f"the checkpoint's EMA holds {len(group)} variables, the model has "
                         f"{len(variables)}")
    values = [np.asarray(group[str(i)]) for i in range(len(variables))]
    for v, value in zip(variables, values):
        if tuple(v.shape) != value.shape:
            raise ValueError(f"the checkpoint's EMA holds shape {value.shape} for {v.path}, "
                             f"which has shape {tuple(v.shape)}")
    return values


def load_raw_weights(h5file, model) -> bool:
    """Puts the raw weights kept by an EMA checkpoint back into `model`; False if none.

    For resuming without EMA from a checkpoint written with it.
    """
    if H5_GROUP not in h5file:
        return False
    group = h5file[H5_GROUP]
    variables = _averaged_variables(model, bool(group.attrs["update_buffers"]))
    for v, value in zip(variables, _read_raw(group, variables)):
        v.assign(value)
    return True
