"""One converted HRNet checkpoint serves MMPose's UDP and DARK recipes, as in MMPose.

The HRNet fixture (tests/fixtures/converter/hrnet.pth, see converter_cases.py) holds the
keypoints MMPose decodes with the same weights under td-hm_hrnet-w32_udp and _dark; here the
kpose models come from the matching gin experiments. Kept apart from
test_converter_goldens.py so that each file stays short on CPU.
"""

import numpy as np
import pytest

from converter_cases import (KEYPOINT_ATOL, RAW_ATOL, build_from_gin, fixture_path, load_case,
                             predict)
from kpose.converters.mmpose_to_keras import load_mmpose_checkpoint


@pytest.mark.parametrize("variant", ["udp", "dark"])
def test_hrnet_weights_serve_udp_and_dark_recipes(variant):
    """One HRNet checkpoint decoded by the UDP and DARK experiments, as in MMPose."""
    data, config = load_case("hrnet")
    model, metainfo = build_from_gin(config["decode"][variant]["gin"], config["gin_params"])
    load_mmpose_checkpoint(model, fixture_path(config["checkpoint"]), metainfo=metainfo)
    preds = predict(model, data)
    np.testing.assert_allclose(preds["keypoint_scores"], data[f"{variant}/keypoint_scores"],
                               rtol=0, atol=RAW_ATOL)
    # Random weights make random heatmaps: where the raw argmax is no peak of the blurred
    # log map, the Newton step's Hessian is near singular and throws the keypoint far
    # outside the person box (hundreds of px), amplifying float32 rounding. Keypoints in
    # the box must agree within 1e-2 px; thrown ones to 1e-2 relative.
    expected = data[f"{variant}/keypoints"]
    half = data["scale"][:, None, :] * 0.6  # the crop plus a 10% margin
    inside = np.all(np.abs(expected - data["center"][:, None, :]) <= half, axis=-1)
    assert inside.sum() >= inside.size - 2
    np.testing.assert_allclose(preds["keypoints"][inside], expected[inside], rtol=0,
                               atol=KEYPOINT_ATOL)
    np.testing.assert_allclose(preds["keypoints"][~inside], expected[~inside], rtol=1e-2)
    # The codecs really differ on these heatmaps.
    assert np.abs(data[f"{variant}/keypoints"] - data["keypoints"]).max() > 0.1
