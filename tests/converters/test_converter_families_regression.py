"""RLE and IPR / DSNT converted from real MMPose checkpoints reproduce MMPose.

See test_converter_families.py for the fixtures (converter_cases.py).
"""

import numpy as np

from converter_cases import (KEYPOINT_ATOL, RAW_ATOL, build_from_gin, check_against_goldens,
                             convert_case, fixture_path, predict)
from kpose.converters.mmpose_to_keras import load_mmpose_checkpoint


def test_rle_head_and_flow_weights():
    """RLE's RealNVP flow sits under the head's loss (MMPose's head.loss_module.flow_model):
    the prediction never uses it, so the loss on a fixed target checks its weights."""
    model, assigned, data, config = convert_case("rle")
    check_against_goldens(model, assigned, data, config)
    flow = [name for name in assigned.values() if ".loss_module.flow_model." in name]
    assert len(flow) == 75  # loc, cov, mask and 2 x 6 three-layer nets
    loss = model.head.loss_module(data["loss/pred"], data["loss/sigma"], data["loss/target"],
                                  data["loss/weights"])
    np.testing.assert_allclose(float(loss), float(data["loss/value"]), rtol=1e-5)


def test_ipr_weights_serve_ipr_and_dsnt_recipes():
    """MMPose's IPR and DSNT configs build the same DSNTHead: one checkpoint serves both."""
    model, assigned, data, config = convert_case("ipr")
    check_against_goldens(model, assigned, data, config)
    assert {"head.linspace_x", "head.linspace_y"} <= set(assigned.values())
    dsnt, metainfo = build_from_gin(config["decode"]["dsnt"]["gin"], config["gin_params"])
    load_mmpose_checkpoint(dsnt, fixture_path(config["checkpoint"]), metainfo=metainfo)
    preds = predict(dsnt, data)
    np.testing.assert_allclose(preds["keypoints"], data["dsnt/keypoints"], rtol=0,
                               atol=KEYPOINT_ATOL)
    np.testing.assert_allclose(preds["keypoint_scores"], data["dsnt/keypoint_scores"], rtol=0,
                               atol=RAW_ATOL)
