"""EpochExponentialDecay against mmengine's ExponentialLR (values printed by mmengine 0.10
in the reference venv: gamma 0.5, end 4 -> 1e-3, 5e-4, 2.5e-4, 1.25e-4, 1.25e-4, ...)."""

import numpy as np
import pytest

from kpose.engine.epoch_exponential_decay import EpochExponentialDecay
from keras_test_case import assert_config_round_trip


def test_matches_mmengine_exponential_lr():
    schedule = EpochExponentialDecay(base_lr=1e-3, gamma=0.5, end=4, steps_per_epoch=3)
    per_epoch = [float(schedule(3 * e + 2)) for e in range(7)]
    np.testing.assert_allclose(per_epoch, [1e-3, 5e-4, 2.5e-4, 1.25e-4, 1.25e-4, 1.25e-4,
                                           1.25e-4], rtol=1e-6)
    assert float(schedule(3)) == pytest.approx(5e-4)
    assert_config_round_trip(schedule)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="gamma"):
        EpochExponentialDecay(gamma=1.5)
    with pytest.raises(ValueError, match="base_lr"):
        EpochExponentialDecay(base_lr=0)
