import os

import numpy as np
import pytest
import tensorflow as tf

from kpose.structures import bbox as B

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "pipeline_geometry.npz")
G = dict(np.load(GOLDENS))


def test_xyxy2cs_and_back_match_mmpose():
    center, scale = B.bbox_xyxy2cs(G["bbox"], padding=1.25)
    assert isinstance(center, np.ndarray)
    np.testing.assert_allclose(center, G["cs_center"], rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(scale, G["cs_scale"], rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(B.bbox_cs2xyxy(center, scale, padding=1.25), G["cs_back"], atol=1e-3)


def test_xywh_round_trips():
    xywh = B.bbox_xyxy2xywh(G["bbox"])
    np.testing.assert_allclose(B.bbox_xywh2xyxy(xywh), G["bbox"], atol=1e-4)
    c1, s1 = B.bbox_xywh2cs(xywh, padding=1.5)
    c2, s2 = B.bbox_xyxy2cs(G["bbox"], padding=1.5)
    np.testing.assert_allclose(c1, c2, atol=1e-4)
    np.testing.assert_allclose(s1, s2, atol=1e-4)
    np.testing.assert_allclose(B.bbox_cs2xywh(c2, s2, padding=1.5), xywh, atol=1e-3)


def test_fix_aspect_ratio_matches_mmpose():
    np.testing.assert_allclose(B.fix_aspect_ratio(G["fix_aspect_in"], 192 / 256), G["fix_aspect_out"],
                               rtol=1e-6)


@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
def test_flip_bbox_matches_mmpose(direction):
    size = G["flip_image_size"]
    np.testing.assert_allclose(B.flip_bbox(G["bbox"], size, "xyxy", direction),
                               G[f"flip_bbox_xyxy_{direction}"], atol=1e-4)
    np.testing.assert_allclose(B.flip_bbox(G["warp_center"], size, "center", direction),
                               G[f"flip_bbox_center_{direction}"], atol=1e-4)


def test_tensor_in_tensor_out_and_graph():
    fn = tf.function(lambda b: B.bbox_xyxy2cs(b, padding=1.25))
    center, scale = fn(tf.constant(G["bbox"]))
    assert isinstance(center, tf.Tensor)
    np.testing.assert_allclose(center.numpy(), G["cs_center"], atol=1e-4)
    np.testing.assert_allclose(scale.numpy(), G["cs_scale"], atol=1e-4)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="sideways"):
        B.flip_bbox(G["bbox"], (10, 10), "xyxy", "sideways")
    with pytest.raises(ValueError, match="cxcy"):
        B.flip_bbox(G["bbox"], (10, 10), "cxcy")
