"""Converted MMPose checkpoints reproduce MMPose's outputs (ResNet-50, HRNet).

Real MMPose 1.3.2 checkpoints at reduced width with MMPose's outputs on them
(tests/fixtures/converter, see converter_cases.py): raw outputs within 1e-4, decoded
keypoints within 1e-2 px. ResNet-18 is in test_mmpose_to_keras.py, HRNet's UDP and DARK
recipes in test_converter_goldens_decoders.py. The kpose models are built from the
project's gin experiments with the bindings stored in each case.
"""

import pytest

from converter_cases import check_against_goldens, convert_case


@pytest.mark.parametrize("case", ["res50", "hrnet"])
def test_converted_model_reproduces_mmpose(case):
    check_against_goldens(*convert_case(case))
