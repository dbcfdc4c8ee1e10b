"""Tests of kpose/apis/export.py: SavedModel, TFLite and .keras artifacts equal Keras."""

import json
import os

import cv2
import numpy as np
import pytest
import tensorflow as tf

from kpose.apis import export as export_lib
from kpose.codecs.msra_heatmap import MSRAHeatmap
from kpose.datasets import metainfo
from kpose.datasets.transforms import GetBBoxCenterScale, TopdownAffine
from kpose.models.backbones.res_net import ResNet
from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
from kpose.models.heads.heatmap_head import HeatmapHead

META = metainfo.load("coco")
INPUT_W, INPUT_H = 48, 64


def tiny_model(flip_test=True):
    """48x64 crops -> 12x16 heatmaps of COCO's 17 keypoints."""
    model = TopdownPoseEstimator(
        backbone=ResNet(18, stem_channels=4, base_channels=4, num_stages=2, strides=(1, 2),
                        out_indices=(1,), zero_init_residual=False),
        head=HeatmapHead(8, out_channels=17, deconv_out_channels=(8,), deconv_kernel_sizes=(4,)),
        codec=MSRAHeatmap(input_size=(INPUT_W, INPUT_H), heatmap_size=(12, 16)),
        flip_test=flip_test, flip_indices=META.flip_indices)
    model(np.zeros((1, INPUT_H, INPUT_W, 3), np.uint8))
    return model


def heatmap_crops(n=3, seed=0):
    """Crops with a bright blob each, so the heatmaps have clear peaks."""
    rng = np.random.default_rng(seed)
    crops = rng.integers(0, 120, (n, INPUT_H, INPUT_W, 3), dtype=np.uint8)
    for i in range(n):
        cv2.circle(crops[i], (int(rng.integers(10, 38)), int(rng.integers(10, 54))), 6,
                   (255, 255, 255), -1)
    return crops


@pytest.fixture(scope="module")
def model():
    tf.keras.utils.set_random_seed(0)
    return tiny_model()


@pytest.fixture(scope="module")
def saved_model(model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("sm") / "saved_model")
    export_lib.export_saved_model(model, path, META)
    return path


def test_saved_model_crops_equal_keras(model, saved_model):
    crops = heatmap_crops()
    ref = model.predict_step(tf.constant(crops))
    out = tf.saved_model.load(saved_model).signatures["crops"](crops=tf.constant(crops))
    np.testing.assert_allclose(out["keypoints"], ref["keypoints"], atol=1e-4)
    np.testing.assert_allclose(out["keypoint_scores"], ref["keypoint_scores"], atol=1e-4)


def test_saved_model_image_signature_crops_like_the_eval_pipeline(model, saved_model):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (120, 100, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 60, 100], [0, 0, 100, 120]], np.float32)
    out = tf.saved_model.load(saved_model).signatures["image"](
        image=tf.constant(image), bboxes=tf.constant(boxes))
    # The evaluation pipeline's transforms with the TF warp, then the Keras model.
    get_cs, affine = GetBBoxCenterScale(), TopdownAffine((INPUT_W, INPUT_H), backend="tf")
    samples = [affine(get_cs({"img": image, "img_shape": np.array([120, 100], np.int32),
                              "bbox": b})) for b in boxes]
    crops = tf.stack([s["img"] for s in samples])
    meta = {"center": tf.stack([s["input_center"] for s in samples]),
            "scale": tf.stack([s["input_scale"] for s in samples])}
    ref = model.predict_step((crops, meta))
    np.testing.assert_allclose(out["keypoints"], ref["keypoints"], atol=1e-4)
    np.testing.assert_allclose(out["keypoint_scores"], ref["keypoint_scores"], atol=1e-4)
    # crop_boxes itself gives the pipeline's pixels exactly.
    ours, _, _ = export_lib.crop_boxes(tf.constant(image), tf.constant(boxes), (INPUT_W, INPUT_H))
    np.testing.assert_array_equal(ours.numpy(), crops.numpy())


def test_metadata_beside_saved_model(saved_model):
    with open(saved_model + ".json") as f:
        meta = json.load(f)
    assert meta["format"] == "saved_model"
    assert meta["input_size"] == [INPUT_W, INPUT_H]
    assert meta["keypoint_names"][0] == "nose" and len(meta["keypoint_names"]) == 17
    assert meta["skeleton"] == [list(p) for p in META.skeleton_links]
    assert meta["flip_pairs"] == [list(p) for p in META.flip_pairs]
    assert len(meta["keypoint_colors"]) == 17
    assert meta["normalisation"]["mean"] == pytest.approx([123.675, 116.28, 103.53])
    assert meta["codec"]["class_name"] == "MSRAHeatmap"
    assert meta["codec"]["config"]["heatmap_size"] == [12, 16]
    assert set(meta["signatures"]) == {"crops", "image"}
    assert meta["signatures"]["crops"]["inputs"]["crops"] == {"shape": [-1, INPUT_H, INPUT_W, 3],
                                                              "dtype": "uint8"}
    assert "kpose_version" in meta and "gin_config" in meta


@pytest.mark.parametrize("decode", ["graph", "none"])
def test_tflite_fp32_equals_keras(model, tmp_path, decode):
    from kpose.apis.exported_model import ExportedModel

    path = export_lib.export_tflite(model, str(tmp_path / "m.tflite"), META, decode=decode)
    crops = heatmap_crops(4)
    ref = model.predict_step(tf.constant(crops))
    artifact = ExportedModel(path)
    keypoints, scores = artifact.predict_crops(crops)
    np.testing.assert_allclose(keypoints, ref["keypoints"], atol=1e-4)
    np.testing.assert_allclose(scores, ref["keypoint_scores"], atol=1e-4)
    if decode == "none":
        raw = dict(artifact._runner(crops=crops))  # the raw flip-averaged heatmaps
        np.testing.assert_allclose(raw["outputs"], model.predict_outputs(crops), atol=1e-4)
    with open(str(tmp_path / "m.json")) as f:
        assert json.load(f)["decode"]["mode"] == decode


def test_tflite_fp16_close_to_keras(model, tmp_path):
    from kpose.apis.exported_model import ExportedModel

    path = export_lib.export_tflite(model, str(tmp_path / "m16.tflite"), META, quantize="fp16")
    crops = heatmap_crops(2)
    ref = model.predict_outputs(tf.constant(crops))
    _, scores = ExportedModel(path).predict_crops(crops)
    _, ref_scores = model.codec.batch_decode(ref.numpy())
    np.testing.assert_allclose(scores, ref_scores, atol=2e-2 * np.abs(ref_scores).max())


def test_saved_model_decode_none_decodes_to_the_same(model, tmp_path):
    from kpose.apis.exported_model import ExportedModel

    path = export_lib.export_saved_model(model, str(tmp_path / "raw"), META, decode="none",
                                         signatures=("crops",))
    crops = heatmap_crops(2)
    ref = model.predict_step(tf.constant(crops))
    keypoints, scores = ExportedModel(path).predict_crops(crops)
    np.testing.assert_allclose(keypoints, ref["keypoints"], atol=1e-4)
    np.testing.assert_allclose(scores, ref["keypoint_scores"], atol=1e-4)


def test_keras_round_trip_exact(model, tmp_path):
    from kpose.apis.exported_model import ExportedModel

    path = export_lib.export_keras(model, str(tmp_path / "model.keras"), META)
    crops = heatmap_crops(2)
    ref = model.predict_step(tf.constant(crops))
    keypoints, scores = ExportedModel(path).predict_crops(crops)
    np.testing.assert_array_equal(keypoints, ref["keypoints"])
    np.testing.assert_array_equal(scores, ref["keypoint_scores"])


def test_bad_arguments_raise(model, tmp_path):
    with pytest.raises(ValueError, match="quantize"):
        export_lib.export_tflite(model, str(tmp_path / "a.tflite"), quantize="int4")
    with pytest.raises(ValueError, match="representative_crops"):
        export_lib.export_tflite(model, str(tmp_path / "a.tflite"), quantize="int8")
    with pytest.raises(ValueError, match=".tflite"):
        export_lib.export_tflite(model, str(tmp_path / "a.bin"))
    with pytest.raises(ValueError, match="decode"):
        export_lib.export_saved_model(model, str(tmp_path / "s"), decode="cpu")
    with pytest.raises(ValueError, match=".keras"):
        export_lib.export_keras(model, str(tmp_path / "m.h5"))


def test_artifact_paths():
    assert export_lib.artifact_path("out", "tflite", "int8") == os.path.join("out", "model_int8.tflite")
    assert export_lib.artifact_path("out", "saved_model", decode="none") == os.path.join(
        "out", "saved_model_nodecode")
    assert export_lib.metadata_path("out/model_fp16.tflite") == "out/model_fp16.json"
    assert export_lib.metadata_path("out/saved_model/") == "out/saved_model.json"


def test_heatmap_flip_off_saved_model_and_tflite_equal_keras(tmp_path):
    from kpose.apis.exported_model import ExportedModel

    tf.keras.utils.set_random_seed(1)
    model = tiny_model(flip_test=False)
    crops = heatmap_crops(3, seed=4)
    ref = model.predict_step(tf.constant(crops))
    for path in (export_lib.export_saved_model(model, str(tmp_path / "sm"), signatures=("crops",)),
                 export_lib.export_tflite(model, str(tmp_path / "m.tflite"))):
        keypoints, scores = ExportedModel(path).predict_crops(crops)
        np.testing.assert_allclose(keypoints, ref["keypoints"], atol=1e-4)
        np.testing.assert_allclose(scores, ref["keypoint_scores"], atol=1e-4)


def _producer_of_output(path, output="keypoints"):
    """Op type producing a TFLite signature output, and the dtypes of all op outputs."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    index = interpreter.get_signature_runner("crops").get_output_details()[output]["index"]
    for op in interpreter._get_ops_details():
        if index in list(op["outputs"]):
            return op["op_name"]
    raise AssertionError(f"no op produces {output}")


def test_int8_decodes_in_float(model, tmp_path):
    """int8 keeps flip-back and decode float: the graph's keypoints are exactly the float
    decode of the int8 network's outputs; quantising the decode too moves them."""
    from kpose.apis.exported_model import ExportedModel

    calibration = heatmap_crops(16, seed=5)
    calib = lambda: [calibration[:8], calibration[8:]]  # noqa: E731
    graph = export_lib.export_tflite(model, str(tmp_path / "q.tflite"), quantize="int8",
                                     representative_crops=calib)
    raw = export_lib.export_tflite(model, str(tmp_path / "q_raw.tflite"), quantize="int8",
                                   decode="none", representative_crops=calib)
    crops = heatmap_crops(4, seed=6)
    keypoints, scores = ExportedModel(graph).predict_crops(crops)
    heatmaps = ExportedModel(raw)._runner(crops=crops)["outputs"]
    ref_keypoints, ref_scores = model.codec.batch_decode(heatmaps)
    np.testing.assert_allclose(keypoints, ref_keypoints, atol=1e-5)
    np.testing.assert_allclose(scores, ref_scores, atol=1e-6)
    # Sub-pixel steps survive: some keypoints sit off the heatmap grid's pixel centres.
    assert np.any(np.abs(keypoints / 4.0 - np.round(keypoints / 4.0)) > 0.2)
    assert _producer_of_output(graph) != "DEQUANTIZE"  # float maths, not int8 + dequantize
    with open(str(tmp_path / "q.json")) as f:
        quantization = json.load(f)["quantization"]
    assert quantization["float_tail"] == "decode" and quantization["float_tensors"] > 0

    everything = export_lib.export_tflite(model, str(tmp_path / "q_all.tflite"), quantize="int8",
                                          representative_crops=calib, int8_float="none")
    assert _producer_of_output(everything) == "DEQUANTIZE"  # int8 keypoint coordinates
    with pytest.raises(ValueError, match="int8_float"):
        export_lib.export_tflite(model, str(tmp_path / "x.tflite"), quantize="int8",
                                 representative_crops=calib, int8_float="all")
