"""NonFiniteLossGuard: a NaN/Inf loss ends training naming the step and term; checkpoints stay."""

import json

import keras
import numpy as np
import pytest

from kpose.engine.checkpoint_callback import CheckpointCallback
from kpose.engine.non_finite_loss_guard import NonFiniteLossGuard


class TwoTerms(keras.Model):
    """A Dense model whose loss has two logged terms, as the estimators' heads do."""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(2)
        self.trackers = [keras.metrics.Mean(name="loss_kpt"), keras.metrics.Mean(name="loss_aux")]

    def call(self, x):
        return self.dense(x)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        kpt = keras.ops.mean((y_pred - y) ** 2)
        aux = 1e-3 * keras.ops.mean(keras.ops.abs(y_pred))
        self.trackers[0].update_state(kpt)
        self.trackers[1].update_state(aux)
        return kpt + aux

    @property
    def metrics(self):
        return super().metrics + self.trackers


def _model():
    model = TwoTerms()
    model(np.zeros((1, 3), np.float32))
    model.compile(optimizer=keras.optimizers.SGD(1e-2))
    model.optimizer.build(model.trainable_variables)
    return model


def _data(nan_batch=None, batch=4, batches=3):
    x = np.ones((batch * batches, 3), np.float32)
    y = np.zeros((batch * batches, 2), np.float32)
    if nan_batch is not None:
        y[nan_batch * batch] = np.nan  # one bad target, as one broken annotation would give
    return x, y


def test_nan_target_stops_at_its_batch_and_keeps_the_checkpoint(tmp_path):
    model = _model()
    ckpt = CheckpointCallback(str(tmp_path), monitor=None)
    x, y = _data()
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0,
              callbacks=[NonFiniteLossGuard(), ckpt])
    good = [w.numpy().copy() for w in model.weights]
    x, y = _data(nan_batch=1)
    with pytest.raises(FloatingPointError) as err:
        model.fit(x, y, batch_size=4, epochs=3, initial_epoch=1, shuffle=False, verbose=0,
                  callbacks=[NonFiniteLossGuard(), ckpt])
    message = str(err.value)
    assert "epoch 2, batch 2 of 3" in message
    assert "loss_kpt=nan" in message and "loss=nan" in message
    assert "loss_aux" not in message  # that term stayed finite
    assert "optimizer step 5" in message
    # The epoch never ended: state and latest still hold epoch 1.
    assert json.loads((tmp_path / "state.json").read_text())["epoch"] == 1
    resumed = _model()
    assert CheckpointCallback(str(tmp_path), monitor=None).restore(resumed) == 1
    for a, b in zip(resumed.weights, good):
        np.testing.assert_array_equal(a.numpy(), b)


def test_exploding_learning_rate_is_caught():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(1e30), loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32) * 100
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch \d+ of 16.*loss=(nan|inf)"):
        model.fit(x, x[:, :2], batch_size=4, epochs=1, verbose=0, callbacks=[NonFiniteLossGuard()])


def test_checkpoint_callback_alone_skips_a_non_finite_epoch(tmp_path):
    # Without the guard, Keras finishes the epoch; the checkpoint must still not take it.
    model = _model()
    ckpt = CheckpointCallback(str(tmp_path), monitor=None)
    model.fit(*_data(), batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[ckpt])
    before = (tmp_path / "latest.weights.h5").read_bytes()
    model.fit(*_data(nan_batch=0), batch_size=4, epochs=2, initial_epoch=1, shuffle=False,
              verbose=0, callbacks=[ckpt])
    assert (tmp_path / "latest.weights.h5").read_bytes() == before
    assert json.loads((tmp_path / "state.json").read_text())["epoch"] == 1


def test_selected_terms_and_bad_arguments():
    guard = NonFiniteLossGuard(terms=["loss_kpt"])
    guard.on_train_batch_end(0, {"loss": float("nan"), "loss_kpt": 1.0})  # loss not watched
    with pytest.raises(FloatingPointError, match="loss_kpt=inf"):
        guard.on_train_batch_end(0, {"loss_kpt": float("inf")})
    NonFiniteLossGuard().on_train_batch_end(0, {"acc_pose": float("nan"), "loss": 0.5})
    with pytest.raises(ValueError, match="'loss'"):
        NonFiniteLossGuard(terms="loss")
