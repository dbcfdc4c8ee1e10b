import os

import cv2
import numpy as np
import tensorflow as tf

from kpose.structures import warp as W

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "pipeline_geometry.npz")
G = dict(np.load(GOLDENS))


def test_warp_matrix_matches_mmpose():
    m = W.get_warp_matrix(G["warp_center"], G["warp_scale"], G["warp_rot"], G["warp_output_size"])
    assert m.shape == (12, 2, 3) and m.dtype == np.float32
    np.testing.assert_allclose(m, G["warp"], rtol=1e-4, atol=1e-3)


def test_shifted_inverse_and_free_aspect_match_mmpose():
    c, s, r, o = G["warp_center"], G["warp_scale"], G["warp_rot"], G["warp_output_size"]
    inv = W.get_warp_matrix(c, s, r, o, shift=G["warp_shift"], inv=True)
    np.testing.assert_allclose(inv, G["warp_shift_inv"], rtol=1e-4, atol=1e-3)
    free = W.get_warp_matrix(c, s, r, o, fix_aspect_ratio=False)
    np.testing.assert_allclose(free, G["warp_free"], rtol=1e-4, atol=1e-3)


def test_udp_matrix_matches_mmpose():
    m = W.get_udp_warp_matrix(G["warp_center"], G["warp_scale"], G["warp_rot"], G["warp_output_size"])
    np.testing.assert_allclose(m, G["warp_udp"], rtol=1e-4, atol=1e-3)


def test_single_box_and_graph_mode():
    c, s, r = G["warp_center"][3], G["warp_scale"][3], G["warp_rot"][3]
    m = W.get_warp_matrix(c, s, r, (192, 256))
    assert m.shape == (2, 3)
    fn = tf.function(lambda c, s, r: W.get_warp_matrix(c, s, r, (192, 256)))
    np.testing.assert_allclose(fn(tf.constant(c), tf.constant(s), tf.constant(r)).numpy(), m, rtol=1e-6)


def test_invert_compose_and_transform_points():
    m = G["warp"][5]
    inv = W.invert_affine(m)
    np.testing.assert_allclose(inv, cv2.invertAffineTransform(m.astype(np.float64)), rtol=1e-5, atol=1e-4)
    identity = W.compose_affine(m, inv)
    np.testing.assert_allclose(identity, [[1, 0, 0], [0, 1, 0]], atol=1e-4)
    pts = np.random.default_rng(0).uniform(0, 400, size=(3, 17, 2)).astype(np.float32)
    ref = cv2.transform(pts, m.astype(np.float64))
    np.testing.assert_allclose(W.transform_points(pts, m), ref, rtol=1e-5, atol=1e-3)


def test_flip_matrix_maps_pixels_like_cv2_flip():
    img = np.arange(4 * 6).reshape(4, 6).astype(np.float32)
    for direction, code in (("horizontal", 1), ("vertical", 0), ("diagonal", -1)):
        f = W.get_flip_matrix((6, 4), direction)
        warped = cv2.warpAffine(img, f.astype(np.float64), (6, 4), flags=cv2.INTER_NEAREST)
        np.testing.assert_array_equal(warped, cv2.flip(img, code))
