"""FPN: parity with MMPose 1.3.2 (four configurations), layer names, saving.

The fixture holds MMPose's FPN outputs for weights drawn from a seed
(`/tmp/mmpose-ref/bin/python tools/dev/make_backbone_goldens.py
tests/models/fixtures/backbone_goldens.npz`); inputs of 17x13, 9x7, 5x4, 3x2 make the
top-down path use PyTorch's nearest rule at non-2x ratios.
"""

import json
import os

import gin
import numpy as np
import pytest
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.models.necks.fpn import FPN

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "backbone_goldens.npz")
CASES = ["fpn_on_input", "fpn_maxpool", "fpn_on_output", "fpn_end_level"]


def fill_value(rng, key, shape):
    """The generator's recipe for one state-dict entry (conv kernels and biases here)."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 4:
        return noise / np.sqrt(shape[1] * shape[2] * shape[3])
    return 0.1 * noise


def maps(sizes=((16, 12), (8, 6), (4, 3), (2, 2)), channels=(4, 6, 8, 10), seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal((1, h, w, c)).astype(np.float32)
                 for (h, w), c in zip(sizes, channels))


@pytest.mark.parametrize("case", CASES)
def test_outputs_match_mmpose(case):
    data = np.load(GOLDENS)
    config = json.loads(str(data[f"{case}/config"]))
    neck = FPN(**config["kwargs"])
    inputs = tuple(data[f"{case}/input{i}"] for i in range(4))
    neck.build(tuple(x.shape for x in inputs))
    rng = np.random.RandomState(config["seed"])
    assigned = set()
    for key, shape in zip(data[f"{case}/keys"], data[f"{case}/shapes"]):
        value = fill_value(rng, str(key), tuple(json.loads(str(shape))))
        module, param = str(key).rsplit(".", 1)
        layer = getattr(neck, module.replace(".", "_"))
        if param == "weight":
            variable, value = layer.kernel, value.transpose(2, 3, 1, 0)
        else:
            variable = layer.bias
        assert tuple(variable.shape) == value.shape, (key, variable.shape, value.shape)
        variable.assign(value)
        assigned.add(variable.path)
    assert assigned == {v.path for v in neck.weights}
    outs = neck(inputs)
    assert len(outs) == config["kwargs"]["num_outs"]
    for i, out in enumerate(outs):
        np.testing.assert_allclose(np.asarray(out), data[f"{case}/out{i}"],
                                   atol=1e-4, rtol=1e-4)


def test_layers_and_output_sizes():
    neck = FPN([4, 6, 8, 10], 5, num_outs=6, add_extra_convs=True)
    outs = neck(maps())
    assert [tuple(o.shape[1:]) for o in outs] == [(16, 12, 5), (8, 6, 5), (4, 3, 5),
                                                  (2, 2, 5), (1, 1, 5), (1, 1, 5)]
    names = {w.path.split("/", 1)[1] for w in neck.weights}
    assert {"lateral_convs_0_conv/kernel", "lateral_convs_3_conv/bias",
            "fpn_convs_3_conv/kernel", "fpn_convs_4_conv/kernel",
            "fpn_convs_5_conv/bias"} <= names
    assert neck.fpn_convs_4_conv.kernel.shape == (3, 3, 10, 5)  # "on_input": last input
    assert neck.fpn_convs_5_conv.kernel.shape == (3, 3, 5, 5)


def test_fixed_upsample_scale_factor():
    neck = FPN([4, 6], 3, num_outs=2, upsample_scale_factor=2)
    free = FPN([4, 6], 3, num_outs=2)
    x = maps(((8, 6), (4, 3)), (4, 6))
    neck(x), free(x)
    for a, b in zip(neck.weights, free.weights):
        b.assign(a)
    for a, b in zip(neck(x), free(x)):  # 2x ratios: both rules agree
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(in_channels=[], out_channels=4, num_outs=1), "in_channels"),
    (dict(in_channels=[4, 6], out_channels=0, num_outs=2), "out_channels"),
    (dict(in_channels=[4, 6], out_channels=4, num_outs=1), "num_outs"),
    (dict(in_channels=[4, 6, 8], out_channels=4, num_outs=3, end_level=1), "num_outs"),
    (dict(in_channels=[4, 6], out_channels=4, num_outs=2, start_level=2), "start_level"),
    (dict(in_channels=[4, 6], out_channels=4, num_outs=3, add_extra_convs="on_top"),
     "add_extra_convs"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FPN(**kwargs)


def test_wrong_inputs_raise():
    with pytest.raises(ValueError, match="channels"):
        FPN([4, 6, 8, 9], 5, num_outs=4)(maps())
    with pytest.raises(ValueError, match="feature maps"):
        FPN([4, 6], 5, num_outs=2)(maps())


def test_gin_registered():
    gin.clear_config()
    try:
        gin.parse_config(["FPN.in_channels = [4, 6]", "FPN.out_channels = 3",
                          "FPN.num_outs = 3"])
        neck = gin.get_configurable(FPN)()
    finally:
        gin.clear_config()
    assert neck.num_outs == 3


def test_config_and_keras_file_round_trip(tmp_path):
    neck = FPN([4, 6, 8, 10], 5, num_outs=5, start_level=1, add_extra_convs="on_lateral",
               relu_before_extra_convs=True)
    rebuilt = assert_config_round_trip(neck)
    assert rebuilt.add_extra_convs == "on_lateral"
    assert_saving_round_trip(neck, maps(), tmp_path, atol=1e-5)
