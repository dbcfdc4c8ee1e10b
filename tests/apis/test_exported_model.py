"""Tests of kpose/apis/exported_model.py: artifacts predict like the estimator."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from kpose.apis import ConstantOutputError, ExportedModel
from kpose.apis import export as export_lib
from kpose.apis.exported_model import check_not_constant
from kpose.datasets import metainfo
from kpose.datasets.pipeline import build_topdown_pipeline
from test_export import INPUT_H, INPUT_W, META, tiny_model  # noqa: I100 (tests/apis on path)


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(5):
        img = rng.integers(0, 100, (90, 70, 3), dtype=np.uint8)
        cv2.circle(img, (int(rng.integers(15, 55)), int(rng.integers(15, 75))), 8,
                   (255, 255, 255), -1)
        cv2.imwrite(str(folder / f"{i}.png"), img)
    return str(folder)


def eval_dataset(image_dir):
    records = export_lib._whole_image_records(image_dir, 17, 10)
    return build_topdown_pipeline(records=records, meta=metainfo.load("coco"), codec=None,
                                  input_size=(INPUT_W, INPUT_H), train=False, batch_size=2)


def test_predict_matches_keras_predict(image_dir, tmp_path):
    tf.keras.utils.set_random_seed(1)
    model = tiny_model()
    path = export_lib.export_keras(model, str(tmp_path / "model.keras"), META)
    ds = eval_dataset(image_dir)
    ref = model.predict(ds, verbose=0)
    ours = ExportedModel(path).predict(ds)
    assert set(ref) == set(ours)
    for key in ref:
        np.testing.assert_allclose(ours[key], ref[key], atol=1e-4, err_msg=key)


def test_constant_outputs_fail(image_dir, tmp_path):
    model = tiny_model(flip_test=False)
    final = model.head.final_layer
    final.set_weights([np.zeros_like(w) for w in final.get_weights()])  # heatmaps all 0
    path = export_lib.export_keras(model, str(tmp_path / "model.keras"), META)
    with pytest.raises(ConstantOutputError, match="constant"):
        ExportedModel(path).predict(eval_dataset(image_dir))
    preds = ExportedModel(path, check_constant=False).predict(eval_dataset(image_dir))
    assert preds["keypoints"].shape == (5, 17, 2)


def test_check_not_constant():
    check_not_constant(np.array([[1.0, 2.0], [1.0, 2.5]]))
    check_not_constant(np.array([[1.0, 2.0]]))  # one row: nothing to compare
    with pytest.raises(ConstantOutputError):
        check_not_constant(np.array([[1.0, 2.0]] * 3))


def test_calibration_crops_from_folder(image_dir):
    batches = list(export_lib.calibration_crops(image_dir, (INPUT_W, INPUT_H), batch_size=2)())
    crops = np.concatenate(batches)
    assert crops.shape == (5, INPUT_H, INPUT_W, 3) and crops.dtype == np.uint8


def test_missing_artifact_or_metadata(tmp_path):
    with pytest.raises(ValueError, match="not found"):
        ExportedModel(str(tmp_path / "nothing.tflite"))
    (tmp_path / "m.tflite").write_bytes(b"x")
    with pytest.raises(ValueError, match="metadata"):
        ExportedModel(str(tmp_path / "m.tflite"))
