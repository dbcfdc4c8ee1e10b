"""GlobalAveragePooling: MMPose 1.3.2's outputs, tuple and tensor inputs, saving."""

import os

import numpy as np
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.models.necks.global_average_pooling import GlobalAveragePooling

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "backbone_goldens.npz")


def test_outputs_match_mmpose():
    data = np.load(GOLDENS)
    outs = GlobalAveragePooling()(tuple(data[f"fmap/input{i}"] for i in range(3)))
    assert isinstance(outs, tuple) and len(outs) == 3
    for i, out in enumerate(outs):
        np.testing.assert_allclose(np.asarray(out), data[f"gap/out{i}"], atol=1e-6)


def test_tensor_in_tensor_out():
    x = np.arange(12, dtype=np.float32).reshape(1, 2, 3, 2)
    np.testing.assert_allclose(np.asarray(GlobalAveragePooling()(x)), [[5.0, 6.0]])


def test_config_and_keras_file_round_trip(tmp_path):
    layer = GlobalAveragePooling()
    assert_config_round_trip(layer)
    maps = (np.ones((2, 4, 3, 5), np.float32), np.zeros((2, 2, 2, 7), np.float32))
    loaded = assert_saving_round_trip(layer, maps, tmp_path, randomize=False)
    assert [tuple(o.shape) for o in loaded(maps)] == [(2, 5), (2, 7)]
