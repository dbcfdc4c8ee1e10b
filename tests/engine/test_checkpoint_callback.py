import json
import os

import keras
import numpy as np
import pytest

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


def _train(tmp_path, epochs, monitor_values=(0.1, 0.5, 0.3, 0.2)):
    model = _model()
    x, y = np.ones((8, 3), np.float32), np.zeros((8, 2), np.float32)
    ckpt = CheckpointCallback(str(tmp_path), monitor="coco/AP")
    for epoch in range(epochs):  # one fit per epoch: keep every epoch's weights
        model.fit(x, y, batch_size=4, epochs=epoch + 1, initial_epoch=epoch, verbose=0,
                  callbacks=[_Metric(list(monitor_values)), ckpt])
        yield [w.numpy().copy() for w in model.weights]


def test_previous_latest_is_kept_and_used_when_latest_is_truncated(tmp_path, caplog):
    weights = list(_train(tmp_path, 3))
    assert sorted(os.listdir(tmp_path)) == ["best_coco_AP.weights.h5", "latest.prev.weights.h5",
                                           "latest.weights.h5", "state.json"]
    latest = tmp_path / "latest.weights.h5"
    data = latest.read_bytes()
    latest.write_bytes(data[: len(data) // 2])  # a disk that lost the tail of the file
    resumed = _model()
    ckpt = CheckpointCallback(str(tmp_path), monitor="coco/AP")
    with caplog.at_level("WARNING", logger="kpose.engine.checkpoint_callback"):
        assert ckpt.restore(resumed) == 2  # epoch 2's weights, with epoch 2's own count
    assert any("damaged" in r.message and "latest.prev" in r.message for r in caplog.records)
    for a, b in zip(resumed.weights, weights[1]):
        np.testing.assert_array_equal(a.numpy(), b)
    assert int(resumed.optimizer.iterations) == 4
    assert (ckpt.best, ckpt.best_epoch) == (0.5, 2)


def test_missing_latest_falls_back_and_garbage_everywhere_fails(tmp_path, caplog):
    list(_train(tmp_path, 2))
    os.remove(tmp_path / "latest.weights.h5")  # killed between the two renames
    with caplog.at_level("WARNING", logger="kpose.engine.checkpoint_callback"):
        assert CheckpointCallback(str(tmp_path)).restore(_model()) == 1
    assert any("missing" in r.message for r in caplog.records)
    (tmp_path / "latest.prev.weights.h5").write_bytes(b"")
    with pytest.raises(ValueError, match="no usable checkpoint.*latest.prev"):
        CheckpointCallback(str(tmp_path)).restore(_model())


def test_checkpoint_of_another_architecture_names_the_differences(tmp_path):
    list(_train(tmp_path, 1))
    wider = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5)])
    wider.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    wider.optimizer.build(wider.trainable_variables)
    with pytest.raises(ValueError) as err:
        CheckpointCallback(str(tmp_path)).restore(wider)
    message = str(err.value)
    assert "another architecture" in message and "latest.weights.h5" in message
    assert "layers/dense/vars/0: checkpoint (3, 2) vs model (3, 5)" in message
    deeper = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), keras.layers.Dense(2)])
    deeper.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    deeper.optimizer.build(deeper.trainable_variables)
    with pytest.raises(ValueError, match="missing from the checkpoint: .*layers/dense_1/vars/0"):
        CheckpointCallback(str(tmp_path)).restore(deeper)
