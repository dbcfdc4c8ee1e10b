import json
import os

import keras
import numpy as np
import pytest

from kpose.engine.warmup_flat_cosine_decay import WarmupFlatCosineDecay

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens",
                      "schedule_cosine.npz")


def _schedule(case):
    base_lr, steps_per_epoch, epochs, begin, warmup, ratio, _eta_min, eta_min_ratio = case
    return WarmupFlatCosineDecay(base_lr=base_lr, epochs=epochs, cosine_begin_epoch=begin,
                                 steps_per_epoch=steps_per_epoch, warmup_steps=warmup,
                                 warmup_ratio=ratio, eta_min_ratio=eta_min_ratio)


@pytest.mark.parametrize("name", ["flat_cosine", "flat_cosine_overlap", "flat_cosine_no_warmup"])
def test_matches_mmengine_at_every_step(name):
    golden = np.load(GOLDEN)
    schedule = _schedule(json.loads(str(golden["params"]))[name])
    steps = np.arange(len(golden[name]))  # includes a few steps past the end
    ours = np.asarray(schedule(steps), np.float64)
    np.testing.assert_allclose(ours, golden[name], rtol=1e-7, atol=0)


def test_matches_mmengine_on_rtmpose_full_schedule():
    # 420 epochs x 585 iterations, 1000 warm-up iterations, cosine from epoch 210.
    golden = np.load(GOLDEN)
    schedule = _schedule(json.loads(str(golden["params"]))["rtmpose_full"])
    ours = np.asarray(schedule(golden["rtmpose_full_steps"]), np.float64)
    np.testing.assert_allclose(ours, golden["rtmpose_full"], rtol=1e-7, atol=0)
    assert float(schedule(0)) == pytest.approx(4e-3 * 1e-5)
    assert float(schedule(5000)) == pytest.approx(4e-3)
    assert float(schedule(420 * 585 - 1)) == pytest.approx(4e-3 * 0.05, rel=1e-6)


def test_config_round_trip_and_scalar_step():
    schedule = WarmupFlatCosineDecay(base_lr=1e-3, epochs=10, cosine_begin_epoch=4,
                                     steps_per_epoch=5, warmup_steps=8)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert clone.get_config() == schedule.get_config()
    for step in (0, 7, 30, 49, 60):
        assert float(clone(step)) == float(schedule(step))
    assert schedule(keras.ops.convert_to_tensor(3, "int64")).dtype == "float32"


@pytest.mark.parametrize("kwargs", [dict(base_lr=0), dict(steps_per_epoch=0), dict(epochs=0),
                                    dict(cosine_begin_epoch=420), dict(warmup_steps=1),
                                    dict(warmup_ratio=0), dict(eta_min_ratio=1.5)])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="received"):
        WarmupFlatCosineDecay(**kwargs)
