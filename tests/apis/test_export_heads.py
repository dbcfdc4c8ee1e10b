"""Export of every head family: SimCC (RTMCCHead with its GAU), regression (RLE), and
VisPredictHead. SavedModel and TFLite fp32 must equal Keras within 1e-4, `.keras` exactly.

The heatmap family is covered by test_export.py; this file builds tiny models of the
other families (flip test on and off) and checks both decode modes.
"""

import json

import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import randomize_weights

from kpose.apis import export as export_lib
from kpose.apis.exported_model import ExportedModel
from kpose.codecs.regression_label import RegressionLabel
from kpose.codecs.simcc_label import SimCCLabel
from kpose.models.backbones.csp_next import CSPNeXt
from kpose.models.backbones.res_net import ResNet
from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
from kpose.models.heads.rle_head import RLEHead
from kpose.models.heads.rtmcc_head import RTMCCHead
from kpose.models.heads.vis_predict_head import VisPredictHead
from kpose.models.necks.global_average_pooling import GlobalAveragePooling

K = 4
FLIP = [1, 0, 3, 2]  # no self-mirrored keypoint: flip averaging makes its x bins
# near-symmetric, i.e. near ties for argmax
SIZE = 32  # square 32x32 crops


def _rtmcc_head():
    # SiLU GAU (RTMPose's), 7x7 final conv on a 4x4 map; split 2: 64 bins per axis.
    return RTMCCHead(32, out_channels=K, input_size=(SIZE, SIZE), in_featuremap_size=(4, 4),
                     final_layer_kernel_size=7, gau_hidden_dims=16, gau_s=8,
                     gau_act_fn="SiLU")


def _csp():
    return CSPNeXt(deepen_factor=0.167, widen_factor=0.125, out_indices=(2,),
                   arch_overwrite=[[64, 128, 1, True, False], [128, 256, 1, False, True]])


def rtmpose(flip_test):
    return TopdownPoseEstimator(_csp(), _rtmcc_head(),
                                SimCCLabel(input_size=(SIZE, SIZE), sigma=(2.0, 2.0),
                                           normalize=False),
                                flip_test=flip_test, flip_indices=FLIP)


def rle(flip_test):
    backbone = ResNet(18, stem_channels=4, base_channels=4, num_stages=2, strides=(1, 2),
                      out_indices=(1,), zero_init_residual=False)
    return TopdownPoseEstimator(backbone, RLEHead(8, num_joints=K, input_size=(SIZE, SIZE)),
                                RegressionLabel((SIZE, SIZE)), neck=GlobalAveragePooling(),
                                flip_test=flip_test, flip_indices=FLIP)


def vis_rtmpose(flip_test):
    return TopdownPoseEstimator(_csp(), VisPredictHead(_rtmcc_head()),
                                SimCCLabel(input_size=(SIZE, SIZE), sigma=(2.0, 2.0),
                                           normalize=False),
                                flip_test=flip_test, flip_indices=FLIP)


BUILDERS = {"rtmpose": rtmpose, "rle": rle, "vis_rtmpose": vis_rtmpose}


def build(name, flip_test):
    tf.keras.utils.set_random_seed(0)
    model = BUILDERS[name](flip_test)
    model(np.zeros((1, SIZE, SIZE, 3), np.uint8))
    # Spread-out weights: distinct maxima, so argmax decoding is not a coin toss.
    randomize_weights(model, seed=1, scale=0.3)
    return model


def crops(n=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


def _clear_maxima(model, images, margin=1e-4):
    """(B, K, 2) mask of coordinates whose argmax is unambiguous: for SimCC, the top
    bin beats the runner-up by `margin` (float32 rounding differs between runtimes, so a
    near tie may go either way); regression coordinates are always clear."""
    outputs = model.predict_outputs(tf.constant(images))
    if callable(getattr(model.head, "split_outputs", None)):
        outputs, _ = model.head.split_outputs(outputs)
    if not isinstance(model.codec, SimCCLabel):
        return np.ones((len(images), K, 2), bool)
    gaps = []
    for axis in outputs:
        top2 = np.sort(np.asarray(axis), axis=-1)[..., -2:]
        gaps.append(top2[..., 1] - top2[..., 0])
    return np.stack(gaps, axis=-1) > margin


def assert_matches_keras(model, keypoints, scores, images):
    ref = model.predict_step(tf.constant(images))
    clear = _clear_maxima(model, images)
    assert clear.mean() > 0.75  # the comparison below covers most keypoints
    np.testing.assert_allclose(np.where(clear, keypoints, 0), np.where(clear, ref["keypoints"], 0),
                               atol=1e-4)
    np.testing.assert_allclose(scores, ref["keypoint_scores"], atol=1e-4)
    return ref


def assert_raw_matches_keras(model, raw, images):
    """The `decode="none"` outputs equal the Keras model's flip-averaged outputs."""
    outputs = model.predict_outputs(tf.constant(images))
    if callable(getattr(model.head, "split_outputs", None)):
        outputs, visibility = model.head.split_outputs(outputs)
        np.testing.assert_allclose(raw["keypoint_visibility"], visibility, atol=1e-4)
    flat = tf.nest.flatten(outputs)
    names = ["outputs"] if len(flat) == 1 else [f"outputs_{i}" for i in range(len(flat))]
    for name, value in zip(names, flat):
        np.testing.assert_allclose(raw[name], value, atol=1e-4)


@pytest.mark.parametrize("name", ["rtmpose", "rle",
                                  pytest.param("vis_rtmpose", marks=pytest.mark.slow)])
def test_saved_model_and_tflite_equal_keras_flip_on(name, tmp_path):
    model = build(name, flip_test=True)
    images = crops()
    # SavedModel, decode in graph.
    path = export_lib.export_saved_model(model, str(tmp_path / "sm"), signatures=("crops",))
    keypoints, scores = ExportedModel(path).predict_crops(images)
    ref = assert_matches_keras(model, keypoints, scores, images)
    if name == "vis_rtmpose":
        out = tf.saved_model.load(path).signatures["crops"](crops=tf.constant(images))
        np.testing.assert_allclose(out["keypoint_visibility"], ref["keypoint_visibility"],
                                   atol=1e-4)
    # TFLite fp32, decode in graph.
    path = export_lib.export_tflite(model, str(tmp_path / "m.tflite"))
    keypoints, scores = ExportedModel(path).predict_crops(images)
    assert_matches_keras(model, keypoints, scores, images)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_decode_none_flip_off(name, tmp_path):
    model = build(name, flip_test=False)
    images = crops(seed=1)
    path = export_lib.export_tflite(model, str(tmp_path / "raw.tflite"), decode="none")
    artifact = ExportedModel(path)
    assert_raw_matches_keras(model, dict(artifact._runner(crops=images)), images)
    keypoints, scores = artifact.predict_crops(images)  # decoded with the metadata's codec
    assert_matches_keras(model, keypoints, scores, images)
    with open(str(tmp_path / "raw.json")) as f:
        decode = json.load(f)["decode"]
    assert decode["mode"] == "none"
    structure = {"rtmpose": ["outputs_0", "outputs_1"], "vis_rtmpose": ["outputs_0", "outputs_1"],
                 "rle": "outputs"}[name]
    assert decode["output_structure"] == structure
    assert decode["codec_class"] == type(model.codec).__name__
    # The written rule carries the codec's numbers (split ratio 2, input size 32).
    expected = f"(x * {SIZE}, y * {SIZE})" if name == "rle" else "argmax(simcc_x) / 2.0"
    assert expected in decode["rule"]
    if name == "vis_rtmpose":
        assert "keypoint_visibility" in decode


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_saved_model_and_tflite_equal_keras_flip_off_decode_none_flip_on(name, tmp_path):
    for flip_test in (False, True):
        model = build(name, flip_test=flip_test)
        images = crops(seed=2)
        path = export_lib.export_saved_model(model, str(tmp_path / f"sm{flip_test}"),
                                             decode="graph" if not flip_test else "none",
                                             signatures=("crops",))
        keypoints, scores = ExportedModel(path).predict_crops(images)
        assert_matches_keras(model, keypoints, scores, images)
        path = export_lib.export_tflite(model, str(tmp_path / f"m{flip_test}.tflite"),
                                        decode="graph" if not flip_test else "none")
        keypoints, scores = ExportedModel(path).predict_crops(images)
        assert_matches_keras(model, keypoints, scores, images)


def test_keras_round_trip_exact(tmp_path):
    model = build("rtmpose", flip_test=True)  # heatmap: test_export.py; RLE has no state
    images = crops(2, seed=3)
    path = export_lib.export_keras(model, str(tmp_path / "model.keras"))
    artifact = ExportedModel(path)
    ref = model.predict_step(tf.constant(images))
    keypoints, scores = artifact.predict_crops(images)
    np.testing.assert_array_equal(keypoints, ref["keypoints"])
    np.testing.assert_array_equal(scores, ref["keypoint_scores"])
    raw = artifact._model.predict_outputs(tf.constant(images))
    for a, b in zip(tf.nest.flatten(raw), tf.nest.flatten(model.predict_outputs(images))):
        np.testing.assert_array_equal(a, b)


def test_raw_outputs_rebuilds_the_nesting():
    out = {"outputs_0": 0, "outputs_1": 1, "outputs_2": 2, "keypoint_visibility": 9}
    assert export_lib.raw_outputs(out, [["outputs_0", "outputs_1"], "outputs_2"]) == ((0, 1), 2)
    assert export_lib.raw_outputs(out) == (0, 1, 2)
    assert export_lib.raw_outputs({"outputs": 5}, "outputs") == 5
    with pytest.raises(ValueError, match="no raw outputs"):
        export_lib.raw_outputs({"keypoints": 1})
