"""inference_pose_lifter, coco_to_h36m and draw_pose_3d."""

import numpy as np
import pytest

from kpose.apis.lifting import coco_to_h36m, draw_pose_3d, inference_pose_lifter
from kpose.codecs.video_pose_lifting import VideoPoseLifting
from kpose.datasets.metainfo import load as load_meta
from kpose.models.backbones.tcn import TCN
from kpose.models.estimators.pose_lifter import PoseLifter
from kpose.models.heads.temporal_regression_head import TemporalRegressionHead


def make_lifter(causal):
    return PoseLifter(TCN(34, 8, 1, (3, 3), dropout=0.0, causal=causal),
                      TemporalRegressionHead(8, 17), VideoPoseLifting(17))


@pytest.mark.parametrize("causal", [False, True])
def test_each_frame_is_lifted_from_its_padded_window(causal):
    model = make_lifter(causal)
    rng = np.random.default_rng(0)
    track = rng.uniform(100, 900, (6, 17, 2)).astype(np.float32)
    out = inference_pose_lifter(model, track, image_size=(1000, 1000), batch_size=4)
    assert out["keypoints"].shape == (6, 17, 3) and out["keypoint_scores"].shape == (6, 17)
    # Frame 0's window: edge-padded with frame 0, centred (or ending) on frame 0.
    window = track[[0, 0, 0, 0, 0, 1, 2, 3, 4]] if not causal else track[[0] * 9]
    labels = (window - 500.0) / 500.0
    expected = model(labels.reshape(1, 9, 34), training=False).numpy()[0]
    np.testing.assert_allclose(out["keypoints"][0], expected, atol=1e-5)
    last = track[[0, 0, 0, 0, 1, 2, 3, 4, 5]] if causal else track[[1, 2, 3, 4, 5, 5, 5, 5, 5]]
    expected = model(((last - 500.0) / 500.0).reshape(1, 9, 34), training=False).numpy()[0]
    np.testing.assert_allclose(out["keypoints"][5], expected, atol=1e-5)
    with pytest.raises(ValueError, match="image_size"):
        inference_pose_lifter(model, track)
    with pytest.raises(ValueError, match=r"\(T, K, 2\)"):
        inference_pose_lifter(model, track[0], image_size=(1000, 1000))


def test_coco_to_h36m_follows_mmposes_definition():
    coco = np.arange(17 * 2, dtype=np.float32).reshape(1, 17, 2)
    h36m = coco_to_h36m(coco)[0]
    np.testing.assert_array_equal(h36m[0], (coco[0, 11] + coco[0, 12]) / 2)
    np.testing.assert_array_equal(h36m[8], (coco[0, 5] + coco[0, 6]) / 2)
    np.testing.assert_array_equal(h36m[7], (h36m[0] + h36m[8]) / 2)
    np.testing.assert_array_equal(h36m[10], (coco[0, 1] + coco[0, 2]) / 2)
    np.testing.assert_array_equal(h36m[[1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16]],
                                  coco[0, [12, 14, 16, 11, 13, 15, 0, 5, 7, 9, 6, 8, 10]])


def test_draw_pose_3d_draws_the_skeleton():
    meta = load_meta("h36m")
    pose = np.zeros((17, 3))
    pose[10] = [0, -0.8, 0]  # head above the root (y down)
    pose[3] = [-0.1, 0.9, 0]
    image = draw_pose_3d(pose, meta.skeleton_links, size=(200, 160), azimuth=0, elevation=0,
                         extent=1.0, link_colors=meta.skeleton_link_colors)
    assert image.shape == (160, 200, 3) and image.dtype == np.uint8
    # Front view, orthographic: the head joint lands 0.8 * 0.45 * 160 px above the centre.
    y = int(round(80 - 0.8 * 0.45 * 160))
    assert (image[y - 2:y + 3, 98:103] < 100).all(axis=-1).any()
    assert (image != 255).any(axis=-1).sum() > 200
    with pytest.raises(ValueError, match=r"\(K, 3\)"):
        draw_pose_3d(np.zeros((17, 2)), meta.skeleton_links)
