"""ExpMomentumEMA: mmengine's formula replayed in numpy, swaps, checkpoints and resume."""

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

from kpose.engine.checkpoint_callback import CheckpointCallback
from kpose.engine.evaluation_callback import EvaluationCallback
from kpose.engine.exp_momentum_ema import ExpMomentumEMA

MOMENTUM, GAMMA = 0.05, 3.0  # visible annealing within a few steps


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
                              keras.layers.BatchNormalization(), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(12, 3)).astype(np.float32), rng.normal(size=(12, 2)).astype(np.float32)


class _Recorder(keras.callbacks.Callback):
    """The weights after every optimizer step."""

    def __init__(self, variables):
        super().__init__()
        self.variables = variables
        self.history = []

    def on_train_batch_end(self, batch, logs=None):
        self.history.append([v.numpy().copy() for v in self.variables])


def _replay(history, momentum=MOMENTUM, gamma=GAMMA):
    """mmengine's ExpMomentumEMA.update_parameters, step by step, in float32 as PyTorch."""
    avg = [w.copy() for w in history[0]]  # steps == 0: copy
    for s, weights in enumerate(history[1:], start=1):
        m = (1 - momentum) * np.exp(-(1 + s) / gamma) + momentum
        avg = [a * np.float32(1 - m) + w * np.float32(m) for a, w in zip(avg, weights)]
    return avg


@pytest.mark.parametrize("update_buffers", [False, True])
def test_average_equals_numpy_replay_of_mmengine(update_buffers):
    model = _model()
    ema = ExpMomentumEMA(momentum=MOMENTUM, gamma=GAMMA, update_buffers=update_buffers)
    pool = model.weights if update_buffers else model.trainable_weights
    recorder = _Recorder([v for v in pool if "float" in str(v.dtype)])
    x, y = _data()
    model.fit(x, y, batch_size=2, epochs=2, shuffle=False, verbose=0, callbacks=[recorder, ema])
    assert len(recorder.history) == 12 and int(ema.steps.numpy()) == 12
    names = [v.path for v in ema.sources]
    assert any("moving_mean" in n for n in names) == update_buffers
    for got, want in zip(ema.average_values(), _replay(recorder.history)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert not np.allclose(ema.average_values()[0], model.trainable_weights[0].numpy())


def test_swapped_puts_the_average_in_and_takes_it_out():
    model = _model()
    ema = ExpMomentumEMA(momentum=MOMENTUM, gamma=GAMMA)
    x, y = _data()
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=[ema])
    raw = [v.numpy().copy() for v in ema.sources]
    averages = ema.average_values()
    with ema.swapped():
        for v, a in zip(ema.sources, averages):
            np.testing.assert_array_equal(v.numpy(), a)
        with ema.swapped():  # nesting is harmless
            np.testing.assert_array_equal(ema.sources[0].numpy(), averages[0])
    for v, r, a in zip(ema.sources, raw, ema.average_values()):
        np.testing.assert_array_equal(v.numpy(), r)
    for a, b in zip(ema.average_values(), averages):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_holds_the_average_and_resume_continues_exactly(tmp_path):
    x, y = _data()
    # Uninterrupted: 3 epochs.
    model = _model()
    ema = ExpMomentumEMA(momentum=MOMENTUM, gamma=GAMMA, update_buffers=True)
    model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0, callbacks=[ema])
    want_avg, want_raw = ema.average_values(), [v.numpy() for v in ema.sources]

    # 2 epochs, checkpoint, then a fresh process resumes for the third.
    first = _model()
    ema1 = ExpMomentumEMA(momentum=MOMENTUM, gamma=GAMMA, update_buffers=True)
    ckpt = CheckpointCallback(str(tmp_path), monitor=None, ema=ema1)
    first.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[ema1, ckpt])
    plain = _model(seed=5)  # evaluation/export: a plain load gives the averaged weights
    plain.load_weights(ckpt.latest_path)
    for v, a in zip([w for w in plain.weights if "float" in str(w.dtype)], ema1.average_values()):
        np.testing.assert_array_equal(v.numpy(), a)
    with h5py.File(ckpt.latest_path, "r") as f:
        assert int(f["kpose_ema"].attrs["steps"]) == 6

    resumed = _model(seed=7)
    ema2 = ExpMomentumEMA(momentum=MOMENTUM, gamma=GAMMA, update_buffers=True)
    with tf.distribute.get_strategy().scope():
        ema2.build(resumed)
    ckpt2 = CheckpointCallback(str(tmp_path), monitor=None, ema=ema2)
    assert ckpt2.restore(resumed) == 2
    assert int(ema2.steps.numpy()) == 6
    for v, r in zip(ema2.sources, [v.numpy() for v in ema1.sources]):
        np.testing.assert_array_equal(v.numpy(), r)
    resumed.fit(x, y, batch_size=4, epochs=3, initial_epoch=2, shuffle=False, verbose=0,
                callbacks=[ema2, ckpt2])
    for got, want in zip(ema2.average_values(), want_avg):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    for v, want in zip(ema2.sources, want_raw):
        np.testing.assert_allclose(v.numpy(), want, rtol=1e-6, atol=1e-7)

    # Resuming the EMA checkpoint without EMA takes its raw weights.
    no_ema = _model(seed=9)
    assert CheckpointCallback(str(tmp_path), monitor=None).restore(no_ema) == 3
    for v, want in zip([w for w in no_ema.weights if "float" in str(w.dtype)], want_raw):
        np.testing.assert_allclose(v.numpy(), want, rtol=1e-6, atol=1e-7)


def test_checkpoint_without_ema_state_restarts_the_average(tmp_path):
    x, y = _data()
    model = _model()
    ckpt = CheckpointCallback(str(tmp_path), monitor=None)
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[ckpt])
    resumed = _model(seed=3)
    ema = ExpMomentumEMA()
    assert CheckpointCallback(str(tmp_path), monitor=None, ema=ema).restore(resumed) == 1
    assert int(ema.steps.numpy()) == 0
    for v, a in zip(ema.sources, ema.average_values()):
        np.testing.assert_array_equal(v.numpy(), a)


class _MeanMetric:
    name = "mean"

    def reset(self):
        self.value = None

    def update(self, preds):
        self.value = float(np.mean(preds))

    def result(self):
        return {"pred": self.value}


def test_evaluation_uses_the_average():
    x, y = _data()
    model = _model()
    ema = ExpMomentumEMA(momentum=MOMENTUM, gamma=GAMMA)
    evaluator = EvaluationCallback(tf.data.Dataset.from_tensor_slices(x).batch(4),
                                   [_MeanMetric()], interval=1, ema=ema)
    model.fit(x, y, batch_size=2, epochs=1, shuffle=False, verbose=0, callbacks=[ema, evaluator])
    with ema.swapped():
        want = float(np.mean(model.predict(x, verbose=0)))
    raw = float(np.mean(model.predict(x, verbose=0)))
    assert evaluator.last_results["mean/pred"] == pytest.approx(want, rel=1e-6)
    assert abs(want - raw) > 1e-4


def test_bad_arguments():
    for kwargs in (dict(momentum=0), dict(momentum=1.5), dict(gamma=0), dict(interval=0)):
        with pytest.raises(ValueError, match="received"):
            ExpMomentumEMA(**kwargs)
    with pytest.raises(ValueError, match="not built"):
        with ExpMomentumEMA().swapped():
            pass
    model = _model()
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=2)
    with pytest.raises(ValueError, match="steps_per_execution"):
        model.fit(*_data(), epochs=1, verbose=0, callbacks=[ExpMomentumEMA()])
