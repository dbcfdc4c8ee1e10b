"""Evaluation every N epochs inside `fit`, results merged into the epoch logs."""

import logging
from typing import Optional, Sequence

import keras
import tensorflow as tf

from kpose.engine.evaluate import format_results, run_evaluation

logger = logging.getLogger(__name__)


class EvaluationCallback(keras.callbacks.Callback):
    """Runs the metrics on an evaluation pipeline every `interval` epochs and at the end.

    Place it first in the callback list: the results are added to the epoch's `logs`, so the
    callbacks after it (checkpoints, TensorBoard, CSV) see them as `coco/AP` etc.

    Args:
        dataset: evaluation pipeline yielding `(images, meta)`.
        metrics: metric objects with reset/update/result/name.
        interval: evaluate after every `interval` epochs.
        image_paths: the dataset's image paths, to name unreadable files on failure.
        ema: an `ExpMomentumEMA` whose averaged weights are evaluated, or None.
        final_epoch: the run's last epoch, always evaluated; None takes `fit`'s `epochs`
            (give it when the run is split over several `fit` calls).
    """

    def __init__(self, dataset: tf.data.Dataset, metrics: Sequence, interval: int = 1,
                 image_paths=None, ema=None, final_epoch: Optional[int] = None):
        super().__init__()
        if interval < 1:
            raise ValueError(f"interval must be >= 1, received {interval}")
        if final_epoch is not None and final_epoch < 1:
            raise ValueError(f"final_epoch must be >= 1 or None, received {final_epoch}")
        self.ema = ema
        self.final_epoch = final_epoch
        self.dataset = dataset
        self.metrics = list(metrics)
        self.interval = interval
        self.image_paths = image_paths
        self.last_results = {}

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        final = self.final_epoch if self.final_epoch is not None else self.params.get("epochs")
        last = final == done
        if not self.metrics or (done % self.interval and not last):
            return
        self.last_results = self.evaluate()
        logger.info("epoch %d evaluation:\n%s", done, format_results(self.last_results))
        if logs is not None:
            logs.update(self.last_results)

    def evaluate(self):
        """Runs the metrics now (on the EMA weights when there is an EMA) and returns them."""
        if self.ema is None:
            return run_evaluation(self.model, self.dataset, self.metrics, self.image_paths)
        with self.ema.swapped():
            return run_evaluation(self.model, self.dataset, self.metrics, self.image_paths)
