"""Tests for kpose/codecs/udp_heatmap.py and kpose/codecs/utils/udp_heatmap.py.

Goldens: tests/fixtures/goldens/udp_heatmap.npz (MMPose 1.3.2, see codec_test_utils) and
udp_refine_edge_cases.npz (tools/dev/make_udp_refine_goldens.py).
"""

import json

import cv2
import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from codec_test_utils import (assert_eager_graph_and_tf_data_agree, encode_sections,
                              golden_configs, load_goldens, run_tflite)
from kpose.codecs import UDPHeatmap
from kpose.codecs.utils.post_processing import gaussian_blur, get_heatmap_maximum
from kpose.codecs.utils.udp_heatmap import refine_keypoints_dark_udp
from kpose.codecs.utils.reflect_blur import (gaussian_blur_reflect101,
                                             reflect101_blur_matrix)
from keras_test_case import assert_config_round_trip


def _codec_from_golden(data, prefix):
    return UDPHeatmap(
        input_size=tuple(int(v) for v in data[prefix + "input_size"]),
        heatmap_size=tuple(int(v) for v in data[prefix + "heatmap_size"]),
        heatmap_type=str(data[prefix + "heatmap_type"]),
        sigma=float(data[prefix + "sigma"]),
        radius_factor=float(data[prefix + "radius_factor"]),
        blur_kernel_size=int(data[prefix + "blur_kernel_size"]))


# ---------------------------------------------------------------- encode


@pytest.mark.parametrize("heatmap_type, channels", [("gaussian", 3), ("combined", 9)])
def test_encode_shapes_dtypes_and_numpy_out(heatmap_type, channels):
    codec = UDPHeatmap(input_size=(192, 256), heatmap_size=(48, 64),
                       heatmap_type=heatmap_type)
    keypoints = np.array([[[10.0, 20.0], [100.0, 200.0], [-500.0, 3.0]]], np.float32)
    encoded = codec.encode(keypoints)
    assert set(encoded) == {"heatmaps", "keypoint_weights"}
    assert isinstance(encoded["heatmaps"], np.ndarray)
    assert encoded["heatmaps"].shape == (64, 48, channels)
    assert encoded["heatmaps"].dtype == np.float32
    assert encoded["keypoint_weights"].shape == (1, 3)
    assert encoded["keypoint_weights"].dtype == np.float32


def test_gaussian_peaks_at_the_sub_pixel_keypoint():
    codec = UDPHeatmap(input_size=(48, 64), heatmap_size=(12, 16), sigma=2.0)
    # Scale (47/11, 63/15): heatmap position (5.3, 7.6).
    keypoints = np.array([[[5.3 * 47 / 11, 7.6 * 63 / 15]]], np.float32)
    heatmaps = codec.encode(keypoints)["heatmaps"][..., 0]
    ys, xs = np.mgrid[0:16, 0:12]
    expected = np.exp(-((xs - 5.3)**2 + (ys - 7.6)**2) / 8.0)
    # Drawn inside the integer patch [mu - 6, mu + 7) around mu = (5, 8).
    expected[(np.abs(xs - 5) > 6) | (np.abs(ys - 8) > 6)] = 0.0
    np.testing.assert_allclose(heatmaps, expected, atol=2e-6)


def test_combined_layout_disk_and_offsets():
    codec = UDPHeatmap(input_size=(48, 64), heatmap_size=(12, 16),
                       heatmap_type="combined", radius_factor=0.25)
    keypoints = np.array([[[4.0 * 47 / 11, 6.0 * 63 / 15], [0.0, 0.0]]], np.float32)
    encoded = codec.encode(keypoints, np.array([[1.0, 0.0]], np.float32))
    heatmaps = encoded["heatmaps"]
    radius = 0.25 * 16
    ys, xs = np.mgrid[0:16, 0:12]
    np.testing.assert_allclose(heatmaps[..., 1], (4.0 - xs) / radius, atol=1e-5)
    np.testing.assert_allclose(heatmaps[..., 2], (6.0 - ys) / radius, atol=1e-5)
    distance2 = (xs - 4.0)**2 + (ys - 6.0)**2
    # Pixels exactly on the circle depend on the keypoint's float32 rounding.
    clear = np.abs(distance2 - radius**2) > 1e-3
    np.testing.assert_array_equal(heatmaps[..., 0][clear],
                                  (distance2 < radius**2)[clear].astype(np.float32))
    # The invisible keypoint draws nothing, and keeps its (zero) weight.
    assert not heatmaps[..., 3:].any()
    np.testing.assert_array_equal(encoded["keypoint_weights"], [[1.0, 0.0]])


@pytest.mark.parametrize("heatmap_type", ["gaussian", "combined"])
def test_encode_eager_graph_and_tf_data_agree(heatmap_type):
    codec = UDPHeatmap(input_size=(48, 64), heatmap_size=(12, 16),
                       heatmap_type=heatmap_type)
    rng = np.random.default_rng(0)
    keypoints = rng.uniform(-10, 70, size=(2, 5, 2)).astype(np.float32)
    visible = rng.choice([0.0, 1.0], size=(2, 5)).astype(np.float32)
    assert_eager_graph_and_tf_data_agree(codec, keypoints, visible)


@pytest.mark.parametrize("config", golden_configs("udp_heatmap", "enc"))
def test_encode_matches_mmpose(config):
    data = load_goldens("udp_heatmap")
    codec = _codec_from_golden(data, config + "__")
    checked = 0
    for _, keypoints, visible, expected in encode_sections(
            data, config + "__", ("heatmaps", "weights")):
        encoded = codec.encode(keypoints, visible)
        np.testing.assert_allclose(encoded["heatmaps"], expected["heatmaps"], rtol=0,
                                   atol=1e-5)
        np.testing.assert_array_equal(encoded["keypoint_weights"], expected["weights"])
        checked += 1
    assert checked > 0


# ---------------------------------------------------------------- decode


@pytest.mark.parametrize("config", golden_configs("udp_heatmap", "dec"))
def test_decode_matches_mmpose(config):
    data = load_goldens("udp_heatmap")
    prefix = config + "__"
    codec = _codec_from_golden(data, prefix)
    heatmaps = data[prefix + "dec_heatmaps"].astype(np.float32)
    expected = data[prefix + "dec_keypoints"]
    keypoints, scores = codec.batch_decode(heatmaps)
    np.testing.assert_allclose(scores, data[prefix + "dec_scores"], rtol=0, atol=1e-5)
    finite = np.isfinite(expected).all(axis=-1)
    if codec.heatmap_type == "gaussian":
        # MMPose's DARK blur rescales by max / blurred max: 0 / 0 = NaN on an all-zero
        # channel, which then decodes to NaN, and so does a channel without a positive
        # maximum whose location (-1, -1) reads its neighbours from that NaN channel
        # (numpy's index wrap-around). kpose keeps an all-zero channel at zero and
        # returns finite keypoints. Both cases have scores <= 0.
        assert np.isfinite(keypoints).all()
        assert (scores[~finite] <= 0).all()
    else:
        assert finite.all()
    error = np.abs(keypoints - expected).max(axis=-1)[finite]
    assert error.max() <= 1e-3, error.max()

    single_keypoints, single_scores = codec.decode(heatmaps[0])
    np.testing.assert_array_equal(single_keypoints, keypoints[:1])
    np.testing.assert_array_equal(single_scores, scores[:1])


def test_decode_hard_heatmaps_matches_mmpose():
    """Channels negative everywhere and outputs in the hundreds (random-weight models).

    Negative channels have no maximum (location -1): MMPose reads the Newton step's
    neighbours across the channel boundary (numpy's index wrap), from the previous
    channel; outputs above 50 are clipped to flat plateaus. Both can make the Hessian
    near singular. Where MMPose's keypoint is stable under a few ulps of input noise it
    must agree within 1e-2 px; where it is not, its value is set by float32 rounding in
    cv2's blur, and kpose's must lie within the range MMPose itself gives under that
    noise.
    """
    data = load_goldens("udp_refine_edge_cases")
    codec = UDPHeatmap(input_size=tuple(int(v) for v in data["input_size"]),
                       heatmap_size=tuple(int(v) for v in data["heatmap_size"]), sigma=2.0)
    heatmaps = data["heatmaps"]
    assert (heatmaps[data["negative"]].max(axis=(1, 2)) <= 0).any()
    assert heatmaps[~data["negative"]].max() > 200
    keypoints, scores = codec.batch_decode(heatmaps)
    np.testing.assert_allclose(scores, data["scores"], rtol=0, atol=1e-5)
    low, high = data["keypoints_low"], data["keypoints_high"]
    stable = (high - low).max(axis=-1) <= 1e-3
    assert stable.sum() > 0.9 * stable.size and not stable.all()
    np.testing.assert_allclose(keypoints[stable], data["keypoints"][stable], rtol=0,
                               atol=1e-2)
    assert np.all(keypoints[~stable] >= low[~stable] - 1e-2)
    assert np.all(keypoints[~stable] <= high[~stable] + 1e-2)


def _float64_newton_step(keypoints, log_maps):
    """MMPose's UDP Newton step in numpy: float32 differences, float64 inverse."""
    batch, height, width, channels = log_maps.shape
    out = keypoints.astype(np.float32).copy()
    for b in range(batch):
        padded = np.pad(log_maps[b].transpose(2, 0, 1), ((0, 0), (1, 1), (1, 1)),
                        mode="edge").ravel()
        row = width + 2
        index = (out[b, :, 0] + 1 + (out[b, :, 1] + 1) * row
                 + row * (height + 2) * np.arange(channels)).astype(int)
        at = lambda delta: padded[index + delta]  # noqa: E731  (numpy wraps negatives)
        dx = 0.5 * (at(1) - at(-1))
        dy = 0.5 * (at(row) - at(-row))
        dxx = at(1) - 2 * at(0) + at(-1)
        dyy = at(row) - 2 * at(0) + at(-row)
        dxy = 0.5 * (at(row + 1) - at(1) - at(row) + at(0) + at(0) - at(-1) - at(-row)
                     + at(-row - 1))
        hessian = np.stack([dxx, dxy, dxy, dyy], -1).reshape(-1, 2, 2)
        inverse = np.linalg.inv(hessian + np.finfo(np.float32).eps * np.eye(2))
        out[b] -= np.einsum("kmn,kn->km", inverse, np.stack([dx, dy], -1))
    return out


def test_newton_step_solves_with_float64_accuracy():
    """Near-singular Hessians: the step equals numpy's float64 inverse on the same maps,
    as MMPose's (a float32 determinant drifts there: 7e-6 relative on these maps, up to
    1e-3 on larger ones)."""
    rng = np.random.RandomState(5)
    maps = rng.standard_normal((64, 16, 12, 6)).astype(np.float32)
    maps = maps / np.abs(maps).max() * rng.choice([0.5, 60.0, 300.0], (64, 1, 1, 1))
    negative = rng.rand(64, 1, 1, 6) < 0.3
    maps = np.where(negative, -np.abs(maps) - 0.01, maps).astype(np.float32)
    locations, _ = get_heatmap_maximum(maps)
    refined = refine_keypoints_dark_udp(locations, maps, 11).numpy()
    log_maps = tf.math.log(tf.clip_by_value(gaussian_blur(maps, 11), 1e-3, 50.0)).numpy()
    expected = _float64_newton_step(np.asarray(locations), log_maps)
    assert np.abs(expected).max() > 50  # thrown far: near-singular steps are present
    np.testing.assert_allclose(refined, expected, rtol=2e-6, atol=1e-5)
    # Graph rewrites must keep the error-free transformations (no re-association).
    graph = tf.function(lambda k, m: refine_keypoints_dark_udp(k, m, 11))
    np.testing.assert_array_equal(graph(locations, maps).numpy(), refined)


def test_round_trip_gaussian_is_sub_pixel():
    codec = UDPHeatmap(input_size=(192, 256), heatmap_size=(48, 64), sigma=2.0)
    rng = np.random.default_rng(1)
    # Away from the border the blurred log heatmap is close to a quadratic.
    keypoints = (rng.uniform(8, [39, 55], size=(16, 1, 3, 2)) *
                 codec.scale_factor).astype(np.float32)
    heatmaps = np.stack([codec.encode(kp)["heatmaps"] for kp in keypoints])
    decoded, scores = codec.batch_decode(heatmaps)
    # Decode maps back by input / (heatmap - 1), encode by (input - 1) / (heatmap - 1):
    # MMPose's rule; undo that factor to measure the refinement itself.
    ratio = (np.asarray(codec.input_size) - 1) / np.asarray(codec.input_size)
    error_hm = np.abs(decoded * ratio - keypoints[:, 0]) / codec.scale_factor
    assert error_hm.max() < 0.05, error_hm.max()
    assert (scores > 0.9).all()


def test_round_trip_combined_is_exact_inside():
    codec = UDPHeatmap(input_size=(192, 256), heatmap_size=(48, 64),
                       heatmap_type="combined")
    rng = np.random.default_rng(2)
    keypoints = (rng.uniform(6, [41, 57], size=(8, 1, 4, 2)) *
                 codec.scale_factor).astype(np.float32)
    heatmaps = np.stack([codec.encode(kp)["heatmaps"] for kp in keypoints])
    decoded, _ = codec.batch_decode(heatmaps)
    ratio = (np.asarray(codec.input_size) - 1) / np.asarray(codec.input_size)
    np.testing.assert_allclose(decoded * ratio, keypoints[:, 0], atol=1e-3)


@pytest.mark.parametrize("heatmap_type", ["gaussian", "combined"])
def test_decode_graph_and_tflite_agree_with_eager(heatmap_type):
    codec = UDPHeatmap(input_size=(48, 64), heatmap_size=(12, 16),
                       heatmap_type=heatmap_type, blur_kernel_size=5)
    rng = np.random.default_rng(3)
    keypoints = rng.uniform(4, 44, size=(2, 1, 3, 2)).astype(np.float32)
    heatmaps = np.stack([codec.encode(kp)["heatmaps"] for kp in keypoints])
    heatmaps = (heatmaps + rng.uniform(0, 0.05, heatmaps.shape)).astype(np.float32)
    expected_keypoints, expected_scores = codec.batch_decode(heatmaps)
    spec = [tf.TensorSpec([None, 16, 12, heatmaps.shape[-1]], tf.float32)]
    graph_keypoints, graph_scores = tf.function(codec.batch_decode,
                                                input_signature=spec)(heatmaps)
    np.testing.assert_allclose(graph_keypoints.numpy(), expected_keypoints, atol=1e-5)
    np.testing.assert_array_equal(graph_scores.numpy(), expected_scores)
    scores, keypoints = run_tflite(codec.batch_decode, spec, [heatmaps])
    np.testing.assert_allclose(scores, expected_scores, atol=1e-6)
    np.testing.assert_allclose(keypoints, expected_keypoints, atol=1e-3)


# ---------------------------------------------------------------- reflected blur


@pytest.mark.parametrize("kernel_size", [3, 11, 23, 31])
def test_reflect101_blur_matches_cv2(kernel_size):
    # 31 is wider than the 9-pixel side: cv2 keeps reflecting.
    rng = np.random.default_rng(kernel_size)
    images = rng.uniform(0, 1, size=(2, 13, 9, 2)).astype(np.float32)
    blurred = gaussian_blur_reflect101(images, kernel_size).numpy()
    for b in range(2):
        for c in range(2):
            expected = cv2.GaussianBlur(images[b, ..., c], (kernel_size, kernel_size), 0)
            np.testing.assert_allclose(blurred[b, ..., c], expected, atol=1e-6)


def test_reflect101_blur_matrix_is_the_blurred_delta():
    matrix = reflect101_blur_matrix(7, 5)
    for x in range(7):
        delta = np.zeros((1, 7), np.float32)
        delta[0, x] = 1.0
        expected = cv2.GaussianBlur(delta, (5, 1), 0)[0]
        np.testing.assert_allclose(matrix[:, x], expected, atol=1e-7)


# ---------------------------------------------------------------- config


def test_config_round_trip_and_gin():
    codec = UDPHeatmap(input_size=(192, 256), heatmap_size=(48, 64),
                       heatmap_type="combined", radius_factor=0.1, blur_kernel_size=5)
    config = codec.get_config()
    assert config == {"input_size": (192, 256), "heatmap_size": (48, 64),
                      "heatmap_type": "combined", "sigma": 2.0, "radius_factor": 0.1,
                      "blur_kernel_size": 5}
    assert UDPHeatmap.from_config(json.loads(json.dumps(config))).get_config() == config
    np.testing.assert_allclose(codec.scale_factor, [191 / 47, 255 / 63])
    assert keras.saving.get_registered_object("kpose>UDPHeatmap") is UDPHeatmap
    assert_config_round_trip(codec)

    @gin.configurable("udp_heatmap_test_holder")
    def holder(codec=gin.REQUIRED):
        return codec

    with gin.unlock_config():
        gin.parse_config("""
            udp_heatmap_test_holder.codec = @UDPHeatmap()
            UDPHeatmap.input_size = (96, 128)
            UDPHeatmap.heatmap_size = (24, 32)
            UDPHeatmap.heatmap_type = 'combined'
        """)
    try:
        built = holder()
    finally:
        gin.clear_config()
    assert built.heatmap_type == "combined" and built.heatmap_size == (24, 32)


@pytest.mark.parametrize("kwargs, name", [
    ({"input_size": (192,)}, "input_size"),
    ({"heatmap_size": (1, 64)}, "heatmap_size"),
    ({"heatmap_type": "offset"}, "heatmap_type"),
    ({"sigma": 0.0}, "sigma"),
    ({"radius_factor": -1.0}, "radius_factor"),
    ({"blur_kernel_size": 4}, "blur_kernel_size"),
])
def test_bad_arguments_raise(kwargs, name):
    arguments = {"input_size": (192, 256), "heatmap_size": (48, 64), **kwargs}
    with pytest.raises(ValueError, match=name):
        UDPHeatmap(**arguments)
