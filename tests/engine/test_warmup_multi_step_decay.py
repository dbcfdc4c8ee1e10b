import os

import keras
import numpy as np
import pytest

from kpose.engine.warmup_multi_step_decay import WarmupMultiStepDecay

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens",
                      "schedule_simple_baseline.npz")


def test_matches_mmengine_linear_warmup_and_multistep():
    golden = np.load(GOLDEN)
    schedule = WarmupMultiStepDecay(
        base_lr=5e-4, milestones=golden["milestones"].tolist(),
        steps_per_epoch=int(golden["steps_per_epoch"]), warmup_steps=int(golden["warmup"]))
    ours = np.array([float(schedule(i)) for i in range(len(golden["lrs"]))])
    np.testing.assert_allclose(ours, golden["lrs"], rtol=1e-5)


def test_config_round_trip():
    schedule = WarmupMultiStepDecay(base_lr=1e-3, milestones=(3, 4), steps_per_epoch=10)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert clone.get_config() == schedule.get_config()
    assert float(clone(35)) == pytest.approx(float(schedule(35)))


@pytest.mark.parametrize("kwargs", [dict(base_lr=0), dict(steps_per_epoch=0),
                                    dict(milestones=(5, 2)), dict(warmup_ratio=0)])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="received"):
        WarmupMultiStepDecay(**kwargs)
