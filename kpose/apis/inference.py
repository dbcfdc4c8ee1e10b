"""Python entry points: build a model from gin files, run top-down inference on an image."""

import os
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import gin
import numpy as np
import tensorflow as tf

from kpose.datasets.transforms import GetBBoxCenterScale, TopdownAffine
from kpose.engine import config as config_lib
from kpose.engine.evaluate import load_checkpoint


def init_model(gin_file: Union[str, Sequence[str]], checkpoint: Optional[str] = None,
               gin_params: Sequence[str] = ()):
    """Builds the estimator that a gin config's `evaluate.model` names, with weights.

    The global gin config is cleared and replaced by `gin_file` (+ `gin_params`).

    Args:
        gin_file: one gin file or several, layered in order.
        checkpoint: a `.weights.h5` file from training; None keeps random weights.
        gin_params: extra bindings, e.g. `("MSRAHeatmap.sigma = 3",)`.

    Returns:
        The built `TopdownPoseEstimator` (a `keras.Model`).
    """
    files = [gin_file] if isinstance(gin_file, (str, os.PathLike)) else list(gin_file)
    gin.clear_config()
    config_lib.parse_config([os.fspath(f) for f in files], gin_params)
    try:
        factory = gin.query_parameter("evaluate.model")
    except ValueError as err:
        raise ValueError(f"{files}: no model bound to `evaluate.model`") from err
    model = factory.scoped_configurable_fn()
    w, h = model.codec.input_size
    model(tf.zeros((1, h, w, 3), tf.uint8))
    if checkpoint:
        load_checkpoint(model, checkpoint)
    return model


def check_image(img) -> np.ndarray:
    """An in-memory image checked and brought to (H, W, 3) uint8 RGB for inference.

    Defined results, as cv2.imread(IMREAD_COLOR) gives for files: a grayscale image,
    (H, W) or (H, W, 1), becomes three equal channels; an RGBA image (H, W, 4) loses its
    alpha channel. Anything else raises.

    Raises:
        ValueError: not an array, a dtype other than uint8 (floats are not guessed to
            be 0..1 or 0..255), other shapes or channel counts, or an empty image.
    """
    if not isinstance(img, np.ndarray):
        if isinstance(img, tf.Tensor):
            img = img.numpy()
        else:
            raise ValueError(f"image must be a numpy array (H, W, 3) uint8 RGB or a file path, "
                             f"received {type(img).__name__}")
    if img.dtype != np.uint8:
        hint = (" (floats: scale to 0..255 and cast, e.g. np.clip(x, 0, 255).astype(np.uint8))"
                if img.dtype.kind == "f" else "")
        raise ValueError(f"image must hold uint8 RGB pixels, received dtype {img.dtype}{hint}")
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError(f"image must be (H, W, 3) RGB, (H, W, 4) RGBA or (H, W) grayscale, "
                         f"received shape {img.shape}")
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"image is empty, received shape {img.shape}")
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    elif img.shape[2] == 4:
        img = img[..., :3]
    return np.ascontiguousarray(img)


def check_bboxes(bboxes, image_shape: Sequence[int], bbox_format: str = "xyxy"
                 ) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Person boxes checked and converted to (N, 4) float32 xyxy, plus scores if given.

    Args:
        bboxes: (4,), (N, 4) or (N, 5) (the fifth column a score); None means one box
            over the whole image; an empty list or (0, 4) array means no person.
        image_shape: the image's (H, W).
        bbox_format: "xyxy" or "xywh" (of the first four columns).

    Returns:
        boxes (N, 4) xyxy float32 and scores (N,) float32 or None.

    Raises:
        ValueError: another shape, a NaN or infinite coordinate, or a box whose right
            or bottom edge lies before its left or top (x2 < x1 or y2 < y1), each
            naming the box. Boxes partly or wholly outside the image are valid.
    """
    if bbox_format not in ("xyxy", "xywh"):
        raise ValueError(f"bbox_format must be 'xyxy' or 'xywh', received {bbox_format!r}")
    h, w = int(image_shape[0]), int(image_shape[1])
    if bboxes is None:
        return np.array([[0, 0, w, h]], np.float32), None
    try:
        boxes = np.asarray(bboxes, np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"bboxes must be numbers (N, 4) or (N, 5), received {bboxes!r}") from None
    if boxes.size == 0:
        return np.zeros((0, 4), np.float32), None
    if boxes.ndim == 1 and boxes.shape[0] in (4, 5):
        boxes = boxes[None]
    if boxes.ndim != 2 or boxes.shape[1] not in (4, 5):
        raise ValueError(f"bboxes must be (N, 4) or (N, 5) ({bbox_format} [+ score]), received "
                         f"shape {boxes.shape}")
    scores = boxes[:, 4].copy() if boxes.shape[1] == 5 else None
    boxes = boxes[:, :4].copy()
    bad = np.flatnonzero(~np.all(np.isfinite(boxes), axis=1))
    if len(bad):
        raise ValueError(f"bboxes must be finite; box {int(bad[0])} is {boxes[bad[0]].tolist()}")
    if bbox_format == "xywh":
        if np.any(boxes[:, 2:] < 0):
            i = int(np.flatnonzero(np.any(boxes[:, 2:] < 0, axis=1))[0])
            raise ValueError(f"xywh box {i} has a negative size: {boxes[i].tolist()}")
        boxes[:, 2:] += boxes[:, :2]
    flipped = np.flatnonzero((boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1]))
    if len(flipped):
        i = int(flipped[0])
        raise ValueError(f"box {i} is not xyxy (x2 < x1 or y2 < y1): {boxes[i].tolist()}; "
                         "pass bbox_format='xywh' for [x, y, w, h] boxes")
    return boxes, scores


def zero_size_boxes(boxes: np.ndarray) -> np.ndarray:
    """(N,) bool: boxes with zero width or height, which get no crop (see `predict_boxes`)."""
    return (boxes[:, 2] <= boxes[:, 0]) | (boxes[:, 3] <= boxes[:, 1])


def predict_boxes(boxes: np.ndarray, predict_fn) -> Tuple[np.ndarray, np.ndarray]:
    """Runs `predict_fn(boxes) -> (keypoints (n, K, 2), scores (n, K))` on the boxes with
    an area; a zero-width or zero-height box gets every keypoint at its centre with
    score 0 (a defined result instead of a degenerate warp)."""
    empty = zero_size_boxes(boxes)
    if not np.any(empty):
        keypoints, scores = predict_fn(boxes)
        return np.asarray(keypoints, np.float32), np.asarray(scores, np.float32)
    if np.all(empty):
        probe = np.array([[0.0, 0.0, 1.0, 1.0]], np.float32)  # only to learn K
        num_keypoints = np.asarray(predict_fn(probe)[1]).shape[1]
        keypoints = np.zeros((len(boxes), num_keypoints, 2), np.float32)
        scores = np.zeros((len(boxes), num_keypoints), np.float32)
    else:
        kept_kpts, kept_scores = predict_fn(boxes[~empty])
        keypoints = np.zeros((len(boxes),) + np.shape(kept_kpts)[1:], np.float32)
        scores = np.zeros((len(boxes),) + np.shape(kept_scores)[1:], np.float32)
        keypoints[~empty] = kept_kpts
        scores[~empty] = kept_scores
    centres = (boxes[empty, :2] + boxes[empty, 2:]) / 2.0
    keypoints[empty] = centres[:, None, :]
    return keypoints, scores


def _read_image(img: Union[str, np.ndarray]) -> np.ndarray:
    if isinstance(img, (str, os.PathLike)):
        data = cv2.imread(os.fspath(img), cv2.IMREAD_COLOR)
        if data is None:
            raise ValueError(f"cannot read image file {os.fspath(img)!r}")
        return cv2.cvtColor(data, cv2.COLOR_BGR2RGB)
    return check_image(img)


def inference_topdown(model, img: Union[str, np.ndarray], bboxes: Optional[np.ndarray] = None,
                      bbox_format: str = "xyxy") -> List[Dict[str, np.ndarray]]:
    """Estimates the keypoints of each person box in one image.

    Bad inputs (see `check_image`, `check_bboxes`) raise ValueError naming the problem.
    Defined results: grayscale and RGBA arrays are read as cv2 reads such files; an
    empty box list gives `[]`; boxes partly or wholly outside the image are cropped
    with zero fill, as MMPose, and their keypoints may lie outside the image; a box
    of zero width or height gets its keypoints at its centre with score 0; images of
    any size are fine (only the box's window of pixels is warped).

    Args:
        model: a top-down estimator (e.g. from `init_model`).
        img: an image path, or an (H, W, 3) uint8 RGB array.
        bboxes: (N, 4) person boxes (or (N, 5) with a score, ignored here); None uses
            the whole image as one box.
        bbox_format: "xyxy" or "xywh".

    Returns:
        One dict per box: `keypoints` (K, 2) in image pixels, `keypoint_scores` (K,),
        `bbox` (4,) xyxy.
    """
    if bbox_format not in ("xyxy", "xywh"):
        raise ValueError(f"bbox_format must be 'xyxy' or 'xywh', received {bbox_format!r}")
    image = _read_image(img)
    h, w = image.shape[:2]
    bboxes, _ = check_bboxes(bboxes, (h, w), bbox_format)
    if len(bboxes) == 0:
        return []
    get_cs = GetBBoxCenterScale()
    affine = TopdownAffine(tuple(model.codec.input_size))

    def predict(boxes):
        crops, centers, scales = [], [], []
        for box in boxes:
            sample = affine(get_cs({"img": image, "img_shape": np.array([h, w], np.int32),
                                    "bbox": box}))
            crops.append(sample["img"])
            centers.append(sample["input_center"])
            scales.append(sample["input_scale"])
        preds = model.predict_step((tf.stack(crops), {"center": tf.stack(centers),
                                                      "scale": tf.stack(scales)}))
        return np.asarray(preds["keypoints"]), np.asarray(preds["keypoint_scores"])

    keypoints, scores = predict_boxes(bboxes, predict)
    return [{"keypoints": keypoints[i], "keypoint_scores": scores[i], "bbox": bboxes[i]}
            for i in range(len(bboxes))]
