import json
import os

import keras
import numpy as np

from kpose.engine.checkpoint_callback import CheckpointCallback


class _Metric(keras.callbacks.Callback):
    """Puts a fake evaluation figure into the epoch logs, as EvaluationCallback does."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["coco/AP"] = self.values[epoch]


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def test_latest_best_and_resume(tmp_path):
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32)
    model = _model()
    ckpt = CheckpointCallback(str(tmp_path), monitor="coco/AP")
    model.fit(x, y, batch_size=4, epochs=3, verbose=0,
              callbacks=[_Metric([0.1, 0.5, 0.3]), ckpt])
    state = json.loads((tmp_path / "state.json").read_text())
    assert state == {"epoch": 3, "best": 0.5, "best_epoch": 2, "monitor": "coco/AP"}
    assert os.path.exists(ckpt.best_path) and os.path.exists(ckpt.latest_path)
    assert not [p for p in os.listdir(tmp_path) if "tmp" in p]

    resumed = _model()
    ckpt2 = CheckpointCallback(str(tmp_path), monitor="coco/AP")
    assert ckpt2.restore(resumed) == 3
    assert ckpt2.best == 0.5
    assert int(resumed.optimizer.iterations) == int(model.optimizer.iterations) == 6
    for a, b in zip(resumed.weights, model.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_fresh_directory_restores_nothing(tmp_path):
    assert CheckpointCallback(str(tmp_path / "new")).restore(_model()) == 0
