"""Tests of kpose/visualization/draw.py."""

import numpy as np
import pytest

from kpose.datasets import metainfo
from kpose.visualization import (draw_bboxes, draw_heatmap_overlay, draw_instances,
                                 draw_keypoints)

META = metainfo.load("coco")


def test_keypoints_in_metainfo_colours_and_threshold():
    image = np.zeros((60, 60, 3), np.uint8)
    keypoints = np.zeros((17, 2), np.float32) + 5
    keypoints[0] = (10, 10)   # nose
    keypoints[9] = (40, 40)   # left wrist
    scores = np.zeros(17, np.float32)
    scores[0] = 0.9
    scores[9] = 0.1            # below the threshold
    out = draw_keypoints(image, keypoints, scores, META, kpt_thr=0.3, radius=2)
    np.testing.assert_array_equal(out[10, 10], META.keypoint_colors[0])
    np.testing.assert_array_equal(out[40, 40], 0)
    assert image.sum() == 0  # input untouched


def test_skeleton_link_drawn_between_visible_keypoints():
    image = np.zeros((60, 60, 3), np.uint8)
    keypoints = np.full((17, 2), -100, np.float32)
    a, b = META.skeleton_links[0]
    keypoints[a] = (10, 30)
    keypoints[b] = (50, 30)
    out = draw_keypoints(image, keypoints, np.ones(17), META, radius=1, thickness=3)
    np.testing.assert_array_equal(out[30, 30], META.skeleton_link_colors[0])


def test_boxes_heatmaps_and_instances():
    image = np.zeros((40, 40, 3), np.uint8)
    boxed = draw_bboxes(image, [[5, 5, 30, 30]], color=(0, 255, 0))
    np.testing.assert_array_equal(boxed[5, 15], (0, 255, 0))
    heat = np.zeros((10, 10, 2), np.float32)
    heat[5, 5, 1] = 1.0
    overlay = draw_heatmap_overlay(image, heat, alpha=0.5)
    assert overlay.shape == image.shape and overlay[21, 21].sum() > overlay[0, 0].sum()
    inst = [{"keypoints": np.full((17, 2), 20.0), "keypoint_scores": np.ones(17),
             "bbox": np.array([2, 2, 38, 38]), "track_id": 3}]
    assert draw_instances(image, inst, META).sum() > 0
    np.testing.assert_array_equal(draw_instances(image, [], META), image)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="uint8"):
        draw_keypoints(np.zeros((4, 4, 3), np.float32), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="alpha"):
        draw_heatmap_overlay(np.zeros((4, 4, 3), np.uint8), np.zeros((2, 2, 1)), alpha=2)
