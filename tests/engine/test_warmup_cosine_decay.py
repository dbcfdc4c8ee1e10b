import json
import os

import keras
import numpy as np
import pytest

from kpose.engine.warmup_cosine_decay import WarmupCosineDecay

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens",
                      "schedule_cosine.npz")


@pytest.mark.parametrize("name", ["cosine", "cosine_eta0", "cosine_long_warmup"])
def test_matches_mmengine_at_every_step(name):
    # The warm-up overlaps the cosine (mmengine chains both); "cosine_long_warmup" is a
    # warm-up longer than the whole run.
    golden = np.load(GOLDEN)
    base_lr, steps_per_epoch, epochs, _, warmup, ratio, eta_min, _ = json.loads(
        str(golden["params"]))[name]
    schedule = WarmupCosineDecay(base_lr=base_lr, epochs=epochs, steps_per_epoch=steps_per_epoch,
                                 warmup_steps=warmup, warmup_ratio=ratio, eta_min=eta_min)
    ours = np.asarray(schedule(np.arange(len(golden[name]))), np.float64)
    np.testing.assert_allclose(ours, golden[name], rtol=1e-7, atol=0)


def test_without_warmup_is_the_plain_cosine():
    schedule = WarmupCosineDecay(base_lr=1e-3, epochs=4, steps_per_epoch=5, warmup_steps=0,
                                 eta_min=1e-4)
    t = np.arange(20)
    expected = 1e-4 + (1e-3 - 1e-4) * (1 + np.cos(np.pi * t / 20)) / 2
    np.testing.assert_allclose(np.asarray(schedule(t)), expected, rtol=1e-6)


def test_config_round_trip():
    schedule = WarmupCosineDecay(base_lr=1e-3, epochs=10, steps_per_epoch=5, warmup_steps=8,
                                 eta_min=1e-5)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert clone.get_config() == schedule.get_config()
    assert float(clone(30)) == float(schedule(30))


@pytest.mark.parametrize("kwargs", [dict(base_lr=-1.0), dict(steps_per_epoch=0), dict(epochs=0),
                                    dict(warmup_steps=1), dict(warmup_ratio=2.0),
                                    dict(eta_min=1.0)])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="received"):
        WarmupCosineDecay(**kwargs)
