"""Heatmap families converted from real MMPose checkpoints reproduce MMPose.

Reduced-width MMPose 1.3.2 models built from MMPose's own configs with random weights, saved
as checkpoints, with MMPose's raw outputs and flip-tested decoded keypoints on them
(tests/fixtures/converter, see converter_cases.py): ResNetV1d, MobileNetV2 and ViTPose simple
(UDP) heatmaps. The kpose models come from the project's gin experiments with the bindings
stored in each case; raw outputs must agree within 1e-4, keypoints within 1e-2 px. SimCC /
RTMPose are in test_converter_families_simcc.py, RLE / IPR / DSNT in
test_converter_families_regression.py.
"""

import pytest

from converter_cases import check_against_goldens, convert_case


@pytest.mark.parametrize("case", ["resnetv1d", "mobilenetv2", "vitpose"])
def test_converted_heatmap_family_reproduces_mmpose(case):
    check_against_goldens(*convert_case(case))
