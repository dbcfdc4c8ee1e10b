"""SimCC ResNet and RTMPose (CSPNeXt + RTMCCHead: GAU, ScaleNorm) converted from real
MMPose checkpoints reproduce MMPose's SimCC vectors and decoded keypoints.

See test_converter_families.py for the fixtures (converter_cases.py).
"""

import pytest

from converter_cases import check_against_goldens, convert_case


@pytest.mark.parametrize("case", ["simcc", "rtmpose"])
def test_converted_simcc_family_reproduces_mmpose(case):
    check_against_goldens(*convert_case(case))
