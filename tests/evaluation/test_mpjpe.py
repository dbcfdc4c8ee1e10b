"""MPJPE against MMPose 1.3.2's keypoint_mpjpe (tests/fixtures/goldens/pose_lifting.npz)."""

import numpy as np
import pytest

from kpose.evaluation.mpjpe import MPJPE, keypoint_mpjpe
from lifting_goldens import load, section


@pytest.mark.parametrize("alignment", ["none", "procrustes", "scale"])
def test_keypoint_mpjpe_matches_mmpose(alignment):
    data, _ = load()
    inputs = section(data, "mpjpe_in")
    value = keypoint_mpjpe(inputs["pred"], inputs["gt"], inputs["mask"], alignment)
    np.testing.assert_allclose(value, float(data[f"mpjpe_{alignment}/value"]), rtol=1e-10)


def test_procrustes_removes_a_similarity_transform_exactly():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(2, 17, 3))
    angle = 0.7
    rot = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0],
                    [0, 0, 1]])
    pred = 1.3 * gt @ rot.T + np.array([0.1, -2.0, 3.0])
    mask = np.ones((2, 17), bool)
    assert keypoint_mpjpe(pred, gt, mask, "procrustes") < 1e-10
    assert keypoint_mpjpe(pred, gt, mask, "none") > 1.0


@pytest.mark.parametrize("mode, key, alignment", [("mpjpe", "MPJPE", "none"),
                                                  ("p-mpjpe", "P-MPJPE", "procrustes"),
                                                  ("n-mpjpe", "N-MPJPE", "scale")])
def test_metric_over_batches_equals_the_function(mode, key, alignment):
    data, _ = load()
    inputs = section(data, "mpjpe_in")
    metric = MPJPE(mode=mode, unit_scale=1000.0)
    for part in (slice(0, 4), slice(4, 6)):
        metric.update({"keypoints": inputs["pred"][part],
                       "lifting_target": inputs["gt"][part][:, None],
                       "lifting_target_visible": inputs["mask"][part]})
    expected = float(data[f"mpjpe_{alignment}/value"]) * 1000.0
    np.testing.assert_allclose(metric.result()[key], expected, rtol=1e-10)
    assert metric.name == mode
    metric.reset()
    with pytest.raises(ValueError, match="no batch"):
        metric.result()


def test_bad_arguments_and_inputs_raise():
    with pytest.raises(ValueError, match="mode"):
        MPJPE(mode="abc")
    with pytest.raises(ValueError, match="unit_scale"):
        MPJPE(unit_scale=0)
    with pytest.raises(ValueError, match="lifting_target"):
        MPJPE().update({"keypoints": np.zeros((1, 17, 3))})
    with pytest.raises(ValueError, match="no joint"):
        keypoint_mpjpe(np.zeros((1, 2, 3)), np.zeros((1, 2, 3)), np.zeros((1, 2), bool))
