"""Puts the optimizer's current learning rate into the epoch logs."""

import keras


class LearningRateLogger(keras.callbacks.Callback):
    """Adds `learning_rate` to each epoch's logs, so the CSV log and progress line show it.

    Keras' TensorBoard callback computes it for itself only.
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate))
