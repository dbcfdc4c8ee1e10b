"""Stops training at the first batch whose loss is NaN or Inf, before anything is saved."""

import logging
import math
from typing import Optional, Sequence

import gin
import keras

logger = logging.getLogger(__name__)


@gin.register
class NonFiniteLossGuard(keras.callbacks.Callback):
    """Raises `FloatingPointError` naming the step and loss terms as soon as a loss is not finite.

    Keras' logged losses are running means over the epoch, so the first batch whose mean is
    NaN/Inf is the batch that produced it. The error is raised from `on_train_batch_end`,
    i.e. before the epoch ends: no later callback (evaluation, `CheckpointCallback`) sees the
    damaged weights, so the checkpoints of the last finished epoch stay as they were and the
    same command resumes from them (after, say, lowering the learning rate). Raising (rather
    than `stop_training`) makes the run end with an error instead of looking finished.

    Args:
        terms: log keys to check; None checks every key that is `loss` or starts with
            `loss` (the estimator's summed `loss` and the head's `loss_*` terms).
    """

    def __init__(self, terms: Optional[Sequence[str]] = None):
        super().__init__()
        if terms is not None and (isinstance(terms, str) or not all(isinstance(t, str) for t in terms)):
            raise ValueError(f"terms must be a sequence of log keys or None, received {terms!r}")
        self.terms = tuple(terms) if terms is not None else None
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _checked(self, logs):
        if self.terms is not None:
            return [(k, logs[k]) for k in self.terms if k in logs]
        return [(k, v) for k, v in logs.items() if k == "loss" or k.startswith("loss")]

    def on_train_batch_end(self, batch, logs=None):
        bad = []
        for key, value in self._checked(logs or {}):
            try:
                value = float(value)
            except (TypeError, ValueError):
                continue  # not a scalar: nothing to check
            if not math.isfinite(value):
                bad.append(f"{key}={value}")
        if not bad:
            return
        steps = (self.params or {}).get("steps")
        of = f" of {steps}" if steps else ""
        step = ""
        if self.model is not None and getattr(self.model, "optimizer", None) is not None:
            step = f", optimizer step {int(self.model.optimizer.iterations)}"
        message = (f"non-finite loss at epoch {self._epoch + 1}, batch {batch + 1}{of}{step}: "
                   f"{', '.join(bad)}. Training stopped before the epoch's end, so the "
                   f"checkpoints of epoch {self._epoch} (the last good one) are kept; running "
                   f"the same command resumes from them (consider a lower learning rate).")
        logger.error(message)
        raise FloatingPointError(message)
