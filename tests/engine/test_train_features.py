"""Trainer features for the model-zoo recipes, on a tiny model and in-memory data.

Pipeline switch (RTMPose's stage 2) with resume past it, EMA through the trainer's
checkpoints, linear LR scaling (MMPose's auto_scale_lr) and the optimizer setup hook. The
full stack (gin recipe, real pipelines, metrics) runs in the slow test at the end.
"""

import csv
import functools
import json
import os
import sys

import gin
import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from kpose.codecs.msra_heatmap import MSRAHeatmap
from kpose.engine import config
from kpose.engine.exp_momentum_ema import ExpMomentumEMA
from kpose.engine.train import scale_learning_rate, train
from kpose.engine.warmup_cosine_decay import WarmupCosineDecay
from kpose.engine.warmup_flat_cosine_decay import WarmupFlatCosineDecay
from kpose.engine.warmup_multi_step_decay import WarmupMultiStepDecay
from kpose.engine.weight_decay import configure_weight_decay

sys.path.insert(0, os.path.dirname(__file__))
from tiny_run import QUICKSTART, tiny_params  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
N, BATCH = 8, 2
STEPS = N // BATCH  # steps per epoch


class _Data:
    """What a dataset factory returns, as far as the trainer looks."""

    records = {"x": np.arange(N)}
    meta = None

    def __len__(self):
        return N


class _TinyEstimator(keras.Model):
    """Conv + BatchNorm to (B, 4, 4, 2) heatmaps with a plain MSE loss."""

    def __init__(self):
        super().__init__(name="tiny_estimator")
        self.codec = MSRAHeatmap(input_size=(16, 16), heatmap_size=(4, 4), sigma=1.0)
        self.conv = keras.layers.Conv2D(2, 3, strides=4, padding="same", name="conv")
        self.bn = keras.layers.BatchNormalization(name="bn")

    def call(self, images, training=False):
        return self.bn(self.conv(ops.cast(images, "float32") / 255.0), training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return ops.mean((y_pred - y["heatmaps"]) ** 2)


def _pipeline(tag, log):
    """A training pipeline factory that notes each batch it yields under `tag`."""

    def build(records, meta, codec, input_size, train, batch_size, seed, repeat):
        rng = np.random.default_rng(seed)
        images = rng.integers(0, 255, size=(N, 16, 16, 3)).astype(np.uint8)
        heatmaps = rng.random((N, 4, 4, 2)).astype(np.float32)

        def note(x, y):
            done = tf.py_function(lambda: log.append(tag) or 0, [], tf.int32)
            with tf.control_dependencies([done]):
                return tf.identity(x), y

        ds = tf.data.Dataset.from_tensor_slices((images, {"heatmaps": heatmaps}))
        return ds.repeat().batch(batch_size).map(note)

    return build


def _train(work_dir, epochs, log, **kwargs):
    gin.clear_config()
    kwargs.setdefault("lr_schedule", functools.partial(WarmupMultiStepDecay, base_lr=1e-2,
                                                       milestones=(100,), warmup_steps=0))
    return train(work_dir=str(work_dir), model=_TinyEstimator, train_dataset=_Data,
                 val_dataset=None, train_pipeline=_pipeline("first", log), epochs=epochs,
                 batch_size=BATCH, strategy="default", verbose=0, save_best=None, **kwargs)


def _state(work_dir):
    return json.load(open(os.path.join(work_dir, "checkpoints", "state.json")))


def test_pipeline_switch_with_ema_and_resume_past_the_switch(tmp_path):
    log = []
    ema = functools.partial(ExpMomentumEMA, momentum=0.01, gamma=4, update_buffers=True)
    second = _pipeline("second", log)
    _train(tmp_path, 2, log, switch_epoch=1, switch_pipeline=second, ema=ema)
    # The switch happens at 0-based epoch 1: one epoch each (a few batches more may have
    # been fetched ahead by tf.data).
    assert STEPS <= log.count("first") < 2 * STEPS
    assert log.count("second") >= STEPS
    assert _state(tmp_path)["epoch"] == 2
    latest = os.path.join(tmp_path, "checkpoints", "latest.weights.h5")
    with h5py.File(latest, "r") as f:
        assert int(f["kpose_ema"].attrs["steps"]) == 2 * STEPS
        raw = [np.asarray(f["kpose_ema"][str(i)]) for i in range(len(f["kpose_ema"]))]
    # The checkpoint's model weights are the average, not the raw weights.
    plain = _TinyEstimator()
    plain(np.zeros((1, 16, 16, 3), np.uint8))
    plain.load_weights(latest)
    assert not np.allclose(plain.conv.kernel.numpy(), raw[0])

    log.clear()
    _train(tmp_path, 3, log, switch_epoch=1, switch_pipeline=second, ema=ema)
    assert log.count("first") == 0 and log.count("second") >= STEPS  # resumed past the switch
    assert _state(tmp_path)["epoch"] == 3
    with h5py.File(latest, "r") as f:
        assert int(f["kpose_ema"].attrs["steps"]) == 3 * STEPS  # the EMA carried on
    rows = list(csv.DictReader(open(os.path.join(tmp_path, "log.csv"))))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]


def test_switch_at_epoch_zero_uses_only_the_second_pipeline(tmp_path):
    log = []
    _train(tmp_path, 1, log, switch_epoch=0, switch_pipeline=_pipeline("second", log))
    assert log.count("first") == 0 and log.count("second") >= STEPS


def test_auto_scale_lr_and_optimizer_setup(tmp_path):
    log, seen = [], {}

    def setup(optimizer, model):
        seen["optimizer"] = optimizer
        seen["exempt"] = configure_weight_decay(optimizer, model, norm_decay=False,
                                                bias_decay=False)

    schedule = functools.partial(WarmupMultiStepDecay, base_lr=1e-2, milestones=(100,),
                                 warmup_steps=10)
    _train(tmp_path, 1, log, lr_schedule=schedule, auto_scale_lr_base_batch_size=8,
           optimizer=functools.partial(keras.optimizers.AdamW, weight_decay=0.05),
           optimizer_setup=setup)
    # global batch 2 / base 8: a quarter of the rate, at every step.
    unscaled = WarmupMultiStepDecay(base_lr=1e-2, milestones=(100,), warmup_steps=10,
                                    steps_per_epoch=STEPS)
    logged = float(next(csv.DictReader(open(os.path.join(tmp_path, "log.csv"))))["learning_rate"])
    assert logged == pytest.approx(0.25 * float(unscaled(STEPS)), rel=1e-6)
    assert sorted(v.path for v in seen["exempt"]) == [
        "tiny_estimator/bn/beta", "tiny_estimator/bn/gamma", "tiny_estimator/conv/bias"]
    optimizer = seen["optimizer"]
    assert isinstance(optimizer, keras.optimizers.AdamW)
    flags = {v.path.split("/", 1)[1]: optimizer._use_weight_decay(v)
             for v in optimizer._trainable_variables}
    assert flags == {"conv/kernel": True, "conv/bias": False, "bn/gamma": False, "bn/beta": False}


def test_scale_learning_rate_keeps_absolute_floors():
    assert scale_learning_rate(1e-3, 0.5) == pytest.approx(5e-4)
    flat = scale_learning_rate(WarmupFlatCosineDecay(base_lr=4e-3, epochs=4, cosine_begin_epoch=2,
                                                     warmup_steps=0), 0.25)
    # Halfway through the cosine the rate is midway between the scaled base and its floor.
    assert flat.base_lr == pytest.approx(1e-3)
    assert float(flat(3)) == pytest.approx(5e-5 + (1e-3 - 5e-5) / 2, rel=1e-6)
    cosine = scale_learning_rate(WarmupCosineDecay(base_lr=4e-3, epochs=4, warmup_steps=0,
                                                   eta_min=1e-4), 0.5)
    assert cosine.base_lr == pytest.approx(2e-3) and cosine.eta_min == pytest.approx(1e-4)
    assert float(cosine(2)) == pytest.approx(1e-4 + (2e-3 - 1e-4) / 2, rel=1e-6)
    with pytest.raises(ValueError, match="received"):
        scale_learning_rate(keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5), 2.0)


@pytest.mark.parametrize("kwargs", [dict(switch_epoch=2), dict(switch_pipeline=lambda **k: None),
                                    dict(switch_epoch=-1, switch_pipeline=lambda **k: None),
                                    dict(auto_scale_lr_base_batch_size=0)])
def test_bad_arguments(tmp_path, kwargs):
    with pytest.raises(ValueError, match="received"):
        _train(tmp_path, 1, [], **kwargs)


RTMPOSE_STYLE = [  # the bindings an RTMPose recipe uses, on the quick-start model
    "train.optimizer = @keras.optimizers.AdamW",
    "keras.optimizers.AdamW.weight_decay = 0.05",
    "train.optimizer_setup = @configure_weight_decay",
    "configure_weight_decay.norm_decay = False",
    "configure_weight_decay.bias_decay = False",
    "train.lr_schedule = @WarmupFlatCosineDecay",
    "WarmupFlatCosineDecay.base_lr = 4e-3",
    "WarmupFlatCosineDecay.epochs = %EPOCHS",
    "WarmupFlatCosineDecay.cosine_begin_epoch = 1",
    "WarmupFlatCosineDecay.warmup_steps = 2",
    "WarmupFlatCosineDecay.warmup_ratio = 1e-5",
    "WarmupFlatCosineDecay.eta_min_ratio = 0.05",
    "train.auto_scale_lr_base_batch_size = 1024",
    "train.ema = @ExpMomentumEMA",
    "ExpMomentumEMA.momentum = 0.0002",
    "ExpMomentumEMA.update_buffers = True",
    "train.switch_epoch = 1",
    "train.switch_pipeline = @train_stage2/build_topdown_pipeline",
]


def test_recipe_bindings_parse():
    gin.clear_config()
    try:
        config.parse_config([QUICKSTART], tiny_params("/nonexistent", 2) + RTMPOSE_STYLE + [
            "train.optimizer = @LayerDecayAdamW",
            "train.optimizer_setup = [@configure_weight_decay, @configure_layer_decay]",
            "configure_weight_decay.flat_decay = False",
            "configure_weight_decay.no_decay_keys = ['pos_embed']",
            "LayerDecayAdamW.layer_decay_rate = 0.75",
            "LayerDecayAdamW.global_clipnorm = 1.0",
            "train.lr_schedule = @WarmupCosineDecay",
            "WarmupCosineDecay.eta_min = 1e-6",
        ])
        assert gin.query_parameter("train.ema").selector == "ExpMomentumEMA"
    finally:
        gin.clear_config()


@pytest.mark.slow
def test_rtmpose_style_recipe_end_to_end(tmp_path):
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        gin.clear_config()
        config.parse_config([QUICKSTART], tiny_params(str(tmp_path / "data"), 2) + RTMPOSE_STYLE)
        results = train(work_dir=str(tmp_path / "work"))
        assert 0.0 <= results["coco/AP"] <= 1.0
        with h5py.File(tmp_path / "work" / "checkpoints" / "latest.weights.h5", "r") as f:
            assert "kpose_ema" in f and bool(f["kpose_ema"].attrs["update_buffers"])
    finally:
        gin.clear_config()
        os.chdir(cwd)
