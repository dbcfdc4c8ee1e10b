"""EpochSummary: one formatted log line per epoch."""

import logging

import keras
import numpy as np
import pytest

from kpose.engine.epoch_summary import EpochSummary


def test_line_orders_losses_rate_and_evaluation(monkeypatch):
    clock = iter([100.0, 112.34])
    monkeypatch.setattr("kpose.engine.epoch_summary.time.time", lambda: next(clock))
    summary = EpochSummary(total_epochs=210)
    summary.on_epoch_begin(2)
    logs = {"acc_pose": 0.532149, "loss_kpt": 0.00123456, "loss": 0.00123456,
            "learning_rate": 0.002, "coco/AP": 0.51234, "coco/AP (L)": -1.0,
            "pck/PCK": np.float32(0.75), "note": "text"}
    assert summary.format_line(2, logs) == (
        "epoch 3/210 - 12.3 s - loss: 0.001235 - loss_kpt: 0.001235 - acc_pose: 0.5321 - "
        "lr: 2.000e-03 - coco/AP: 0.5123 - coco/AP (L): -1 - pck/PCK: 0.75")


def test_without_learning_rate_in_logs_reads_the_optimizer():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0125), loss="mse")
    summary = EpochSummary(digits=3)
    summary.set_model(model)
    summary.set_params({"epochs": 7})
    # a multi-worker log is a (1,) vector
    assert summary.format_line(0, {"loss": np.array([0.5])}) == \
        "epoch 1/7 - loss: 0.5 - lr: 1.25e-02"


def test_fit_logs_one_line_per_epoch(caplog):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    x, y = np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32)
    with caplog.at_level(logging.INFO, logger="kpose.engine.epoch_summary"):
        history = model.fit(x, y, epochs=2, verbose=0, callbacks=[EpochSummary()])
    lines = [r.getMessage() for r in caplog.records if r.name == "kpose.engine.epoch_summary"]
    assert len(lines) == 2
    for epoch, line in enumerate(lines):
        assert line.startswith(f"epoch {epoch + 1}/2 - ")
        assert f"loss: {history.history['loss'][epoch]:.4g} - lr: 1.000e-01" in line


@pytest.mark.parametrize("kwargs", [{"total_epochs": 0}, {"digits": 0}, {"digits": 2.5}])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError, match="received"):
        EpochSummary(**kwargs)
