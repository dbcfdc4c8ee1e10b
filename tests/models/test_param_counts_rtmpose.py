"""Parameter counts of RTMPose-t/s/m/l and SimCC-ResNet-50 equal MMPose's.

Measured on MMPose 1.3.2's own configs (COCO, 17 keypoints, 256x192, split ratio 2) by
tools/dev/make_rtmpose_goldens.py: "params" = sum of `model.parameters()` (our
trainable weights), "with_buffers" adds BN running mean / var (Keras' count_params()).
"""

import os

import numpy as np
import pytest

from kpose.models.backbones.csp_next import cspnext_l, cspnext_m, cspnext_s, cspnext_t
from kpose.models.backbones.res_net import resnet50
from kpose.models.heads.rtmcc_head import RTMCCHead
from kpose.models.heads.simcc_head import SimCCHead

MMPOSE_PARAMS = {
    "rtmpose_t": dict(params=3_337_007, with_buffers=3_344_735),
    "rtmpose_s": dict(params=5_473_251, with_buffers=5_484_707),
    "rtmpose_m": dict(params=13_587_611, with_buffers=13_610_843),
    "rtmpose_l": dict(params=27_660_339, with_buffers=27_699_379),
    "simcc_res50": dict(params=36_753_105, with_buffers=36_807_761),
}
RTMPOSE = {"rtmpose_t": (cspnext_t, 384), "rtmpose_s": (cspnext_s, 512),
           "rtmpose_m": (cspnext_m, 768), "rtmpose_l": (cspnext_l, 1024)}
# COCO 256x192: input (w, h) = (192, 256), stride-32 feature map (6, 8).
GEOMETRY = dict(out_channels=17, input_size=(192, 256), in_featuremap_size=(6, 8),
                simcc_split_ratio=2.0)


def counts(layers):
    trainable = sum(int(np.prod(w.shape)) for layer in layers
                    for w in layer.trainable_weights)
    return trainable, sum(layer.count_params() for layer in layers)


def test_fixture_agrees_with_the_table():
    data = np.load(os.path.join(os.path.dirname(__file__), "fixtures",
                                "rtmpose_goldens.npz"))
    for name, expected in MMPOSE_PARAMS.items():
        assert list(data[f"params/{name}"]) == [expected["params"],
                                                 expected["with_buffers"]]


@pytest.mark.parametrize("name", [
    "rtmpose_t", "rtmpose_m",
    pytest.param("rtmpose_s", marks=pytest.mark.slow),
    pytest.param("rtmpose_l", marks=pytest.mark.slow),
])
def test_rtmpose_parameter_count_equals_mmpose(name):
    factory, channels = RTMPOSE[name]
    backbone = factory()
    backbone.build((None, 64, 64, 3))  # the backbone's count does not depend on the size
    head = RTMCCHead(channels, final_layer_kernel_size=7, gau_act_fn="SiLU", **GEOMETRY)
    head.build([(None, 8, 6, channels)])
    assert counts([backbone, head]) == (MMPOSE_PARAMS[name]["params"],
                                        MMPOSE_PARAMS[name]["with_buffers"])


@pytest.mark.slow
def test_simcc_res50_parameter_count_equals_mmpose():
    backbone = resnet50()
    backbone.build((None, 64, 64, 3))
    head = SimCCHead(2048, **GEOMETRY)
    head.build([(None, 8, 6, 2048)])
    assert counts([backbone, head]) == (MMPOSE_PARAMS["simcc_res50"]["params"],
                                        MMPOSE_PARAMS["simcc_res50"]["with_buffers"])
