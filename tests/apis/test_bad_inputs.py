"""Issue 8's bad inference inputs: each gets a clear ValueError or a defined result."""

import numpy as np
import pytest
import tensorflow as tf

from kpose.apis import Inferencer
from kpose.apis import export as export_lib
from kpose.apis.exported_model import ExportedModel
from kpose.apis.inference import check_bboxes, check_image, inference_topdown
from test_export import INPUT_H, INPUT_W, META, tiny_model  # noqa: I100 (tests/apis on sys.path)


@pytest.fixture(scope="module")
def model():
    tf.keras.utils.set_random_seed(4)
    return tiny_model(flip_test=False)


@pytest.fixture(scope="module")
def artifact(model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("keras") / "model.keras")
    return ExportedModel(export_lib.export_keras(model, path, META))


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 80, (72, 60, 3), dtype=np.uint8)
    img[20:40, 25:35] = 250
    return img


BOX = np.array([[12.0, 8.0, 50.0, 60.0]], np.float32)


def _same(a, b, atol=1e-4):
    for x, y in zip(a, b):
        np.testing.assert_allclose(x["keypoints"], y["keypoints"], atol=atol)
        np.testing.assert_allclose(x["keypoint_scores"], y["keypoint_scores"], atol=atol)


def test_check_image_converts_or_rejects(image):
    gray = image[..., 1]
    np.testing.assert_array_equal(check_image(gray), np.repeat(gray[..., None], 3, axis=2))
    np.testing.assert_array_equal(check_image(gray[..., None]), check_image(gray))
    rgba = np.dstack([image, np.full(image.shape[:2], 7, np.uint8)])
    np.testing.assert_array_equal(check_image(rgba), image)
    np.testing.assert_array_equal(check_image(tf.constant(image)), image)
    for bad, match in [(image.astype(np.float32), "uint8.*float32.*0..255"),
                       (image.astype(np.uint16), "uint8"), (image > 9, "uint8"),
                       (image[..., :2], r"shape \(72, 60, 2\)"), (image[None], "shape"),
                       (image[:0], "empty"), (image.tolist(), "numpy array")]:
        with pytest.raises(ValueError, match=match):
            check_image(bad)


def test_grayscale_and_rgba_images_are_defined(model, image):
    gray = image[..., 0]
    _same(inference_topdown(model, gray, BOX),
          inference_topdown(model, np.repeat(gray[..., None], 3, axis=2), BOX), atol=0)
    rgba = np.dstack([image, np.zeros(image.shape[:2], np.uint8)])
    _same(inference_topdown(model, rgba, BOX), inference_topdown(model, image, BOX), atol=0)
    with pytest.raises(ValueError, match="uint8"):
        inference_topdown(model, image.astype(np.float64) / 255.0, BOX)


def test_check_bboxes(image):
    boxes, scores = check_bboxes([[1, 2, 3, 4, 0.5]], image.shape[:2])
    np.testing.assert_array_equal(boxes, [[1, 2, 3, 4]])
    np.testing.assert_array_equal(scores, [0.5])
    boxes, _ = check_bboxes([1, 2, 3, 4], image.shape[:2], "xywh")
    np.testing.assert_array_equal(boxes, [[1, 2, 4, 6]])
    np.testing.assert_array_equal(check_bboxes(None, (72, 60))[0], [[0, 0, 60, 72]])
    for bad, match in [(np.zeros((2, 3)), r"\(N, 4\) or \(N, 5\).*\(2, 3\)"),
                       ([[0, 0, 5, np.nan]], "finite; box 0"),
                       ([[0, 0, 5, 5], [0, 0, np.inf, 5]], "finite; box 1"),
                       ([[30, 30, 10, 40]], "box 0 is not xyxy.*xywh"),
                       ("abc", "numbers")]:
        with pytest.raises(ValueError, match=match):
            check_bboxes(bad, (72, 60))
    with pytest.raises(ValueError, match="negative size"):
        check_bboxes([[0, 0, -3, 5]], (72, 60), "xywh")


def test_empty_box_lists_give_no_instances(model, artifact, image):
    for empty in ([], np.zeros((0, 4), np.float32), np.zeros((0, 5), np.float32)):
        assert inference_topdown(model, image, empty) == []
        assert Inferencer(model).predict(image, empty) == []
        keypoints, scores = artifact.predict_image(image, empty)
        assert keypoints.shape == (0, 17, 2) and scores.shape == (0, 17)
    # every box under the score threshold: no instances either
    assert Inferencer(model, bbox_thr=0.5).predict(image, [[1, 1, 20, 20, 0.1]]) == []


def test_zero_size_boxes_get_centre_keypoints_with_score_0(model, artifact, image):
    boxes = np.array([[10, 10, 10, 30], [5, 7, 25, 7], BOX[0]], np.float32)
    results = inference_topdown(model, image, boxes)
    for box, result in zip(boxes[:2], results[:2]):
        np.testing.assert_allclose(result["keypoints"], np.tile((box[:2] + box[2:]) / 2, (17, 1)))
        np.testing.assert_array_equal(result["keypoint_scores"], np.zeros(17))
    _same(results[2:], inference_topdown(model, image, BOX))  # the real box is unaffected
    keypoints, scores = artifact.predict_image(image, boxes[:2])
    np.testing.assert_allclose(keypoints[1], np.tile([15.0, 7.0], (17, 1)))
    assert not np.any(scores)
    instances = Inferencer(model).predict(image, boxes[:1])
    assert instances[0]["keypoint_scores"].max() == 0.0


def test_boxes_outside_the_image_crop_zeros(model, artifact, image):
    outside = np.array([[500.0, 400.0, 540.0, 460.0], [-100.0, -80.0, -60.0, -20.0]], np.float32)
    results = inference_topdown(model, image, outside)
    # the crop is all zero fill, so the prediction is the model's on a black crop
    zero = model.predict_step(tf.zeros((1, INPUT_H, INPUT_W, 3), tf.uint8))
    for result, box in zip(results, outside):
        assert np.all(np.isfinite(result["keypoints"]))
        np.testing.assert_allclose(result["keypoint_scores"], zero["keypoint_scores"][0], atol=1e-5)
    # a box half outside: as MMPose, the crop is zero-filled where it leaves the image
    half = np.array([[-20.0, -20.0, 30.0, 40.0]], np.float32)
    keypoints, scores = artifact.predict_image(image, half)
    ref = inference_topdown(model, image, half)[0]
    assert np.abs(scores[0] - ref["keypoint_scores"]).max() < 0.05  # TF vs cv2 warp


def test_very_large_images_equal_their_window(model, artifact, image):
    """A 72 x 20000 image with the person at its far end gives the small image's result."""
    big = np.zeros((72, 20000, 3), np.uint8)
    offset = 19900
    big[:, offset:offset + 60] = image
    shift = np.array([[offset, 0, offset, 0]], np.float32)
    ref = inference_topdown(model, image, BOX)[0]
    got = inference_topdown(model, big, BOX + shift)[0]
    np.testing.assert_allclose(got["keypoints"], ref["keypoints"] + [offset, 0], atol=1e-2)
    np.testing.assert_allclose(got["keypoint_scores"], ref["keypoint_scores"], atol=1e-5)
    keypoints, scores = artifact.predict_image(big, BOX + shift)
    small_kpts, small_scores = artifact.predict_image(image, BOX)
    np.testing.assert_allclose(keypoints, small_kpts + [offset, 0], atol=1e-2)
    np.testing.assert_allclose(scores, small_scores, atol=1e-5)
    # the window shortcut gives the crops of the whole image
    crops, _, _ = export_lib.crop_boxes(tf.constant(big), tf.constant(BOX + shift), (INPUT_W, INPUT_H))
    whole_kpts, whole_scores = artifact.predict_crops(crops.numpy())
    np.testing.assert_allclose(scores, whole_scores, atol=1e-5)


def test_exported_model_rejects_bad_crops(artifact):
    with pytest.raises(ValueError, match="uint8"):
        artifact.predict_crops(np.zeros((1, INPUT_H, INPUT_W, 3), np.float32))
    with pytest.raises(ValueError, match=r"\(B, 64, 48, 3\)"):
        artifact.predict_crops(np.zeros((1, INPUT_H, INPUT_W), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        artifact.predict_crops(np.zeros((0, INPUT_H, INPUT_W, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        artifact.predict_image(np.zeros((72, 60, 3), np.float32), BOX)


def test_inferencer_checks_inputs(model, image):
    inf = Inferencer(model)
    gray = inf.predict(image[..., 0], BOX)
    _same(gray, inference_topdown(model, np.repeat(image[..., :1], 3, axis=2), BOX), atol=0)
    with pytest.raises(ValueError, match="uint8"):
        inf.predict(image.astype(np.float32), BOX)
    with pytest.raises(ValueError, match="not xyxy"):
        inf.predict(image, [[40, 40, 10, 10]])
