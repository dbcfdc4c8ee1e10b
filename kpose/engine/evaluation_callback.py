"""Evaluation every N epochs inside `fit`, results merged into the epoch logs."""

import logging
from typing import Sequence

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
    """

    def __init__(self, dataset: tf.data.Dataset, metrics: Sequence, interval: int = 1,
                 image_paths=None):
        super().__init__()
        if interval < 1:
            raise ValueError(f"interval must be >= 1, received {interval}")
        self.dataset = dataset
        self.metrics = list(metrics)
        self.interval = interval
        self.image_paths = image_paths
        self.last_results = {}

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        last = self.params.get("epochs") == done
        if not self.metrics or (done % self.interval and not last):
            return
        self.last_results = run_evaluation(self.model, self.dataset, self.metrics,
                                           self.image_paths)
        logger.info("epoch %d evaluation:\n%s", done, format_results(self.last_results))
        if logs is not None:
            logs.update(self.last_results)
