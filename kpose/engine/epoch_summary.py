"""One concise log line per epoch, beside Keras' progress bar."""

import logging
import time
from typing import Optional

import gin
import keras
import numpy as np

logger = logging.getLogger(__name__)


def _scalar(value) -> Optional[float]:
    try:  # multi-worker logs may be (1,) vectors; strings and the like are skipped
        return float(np.mean(np.asarray(value, np.float64)))
    except (TypeError, ValueError):
        return None


@gin.register
class EpochSummary(keras.callbacks.Callback):
    """Logs `epoch 3/210 - 41.2 s - loss: ... - lr: ... - coco/AP: ...` once per epoch.

    The line holds the epoch, its wall time (training plus whatever the callbacks before
    this one did, e.g. evaluation), the loss terms, the other training figures
    (`acc_pose`), the learning rate and the evaluation results when the epoch has them
    (keys `metric/name`). Place it after `LearningRateLogger` and `EvaluationCallback` so
    their entries are in the logs; without `learning_rate` in the logs the optimizer's
    current rate is shown.

    Args:
        total_epochs: shown after the slash; None takes `fit`'s `epochs` (give it when a
            run is split over several `fit` calls).
        digits: significant digits of each figure (>= 1).
    """

    def __init__(self, total_epochs: Optional[int] = None, digits: int = 4):
        super().__init__()
        if total_epochs is not None and (isinstance(total_epochs, bool)
                                         or not isinstance(total_epochs, int) or total_epochs < 1):
            raise ValueError(f"total_epochs must be a positive int or None, received "
                             f"{total_epochs!r}")
        if isinstance(digits, bool) or not isinstance(digits, int) or digits < 1:
            raise ValueError(f"digits must be a positive int, received {digits!r}")
        self.total_epochs = total_epochs
        self.digits = digits
        self._epoch_start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        logger.info("%s", self.format_line(epoch, logs or {}))

    def format_line(self, epoch: int, logs) -> str:
        """The summary line of 0-based `epoch` with `logs`."""
        total = self.total_epochs or (self.params or {}).get("epochs")
        parts = [f"epoch {epoch + 1}/{total}" if total else f"epoch {epoch + 1}"]
        if self._epoch_start is not None:
            parts.append(f"{time.time() - self._epoch_start:.1f} s")
        values = {k: v for k, v in ((k, _scalar(v)) for k, v in logs.items()) if v is not None}
        lr = values.pop("learning_rate", None)
        if lr is None and getattr(self.model, "optimizer", None) is not None:
            lr = _scalar(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        evaluation = [k for k in values if "/" in k]
        training = [k for k in values if "/" not in k]
        # the total loss, then its terms, then the rest (accuracy), in the logs' order
        training.sort(key=lambda k: (k != "loss", not k.startswith("loss")))
        fmt = f".{self.digits}g"
        parts += [f"{k}: {values[k]:{fmt}}" for k in training]
        if lr is not None:
            parts.append(f"lr: {lr:.{max(self.digits - 1, 0)}e}")
        parts += [f"{k}: {values[k]:{fmt}}" for k in evaluation]
        return " - ".join(parts)
