"""Python entry points: build a model from gin files, run top-down inference on an image."""

import os
from typing import Dict, List, Optional, Sequence, Union

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


def _read_image(img: Union[str, np.ndarray]) -> np.ndarray:
    if isinstance(img, (str, os.PathLike)):
        data = cv2.imread(os.fspath(img), cv2.IMREAD_COLOR)
        if data is None:
            raise ValueError(f"cannot read image file {os.fspath(img)!r}")
        return cv2.cvtColor(data, cv2.COLOR_BGR2RGB)
    img = np.asarray(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) RGB, received shape {img.shape}")
    if img.dtype != np.uint8:
        raise ValueError(f"image must be uint8 RGB pixels, received dtype {img.dtype}")
    return img


def inference_topdown(model, img: Union[str, np.ndarray], bboxes: Optional[np.ndarray] = None,
                      bbox_format: str = "xyxy") -> List[Dict[str, np.ndarray]]:
    """Estimates the keypoints of each person box in one image.

    Args:
        model: a top-down estimator (e.g. from `init_model`).
        img: an image path, or an (H, W, 3) uint8 RGB array.
        bboxes: (N, 4) person boxes; None uses the whole image as one box.
        bbox_format: "xyxy" or "xywh".

    Returns:
        One dict per box: `keypoints` (K, 2) in image pixels, `keypoint_scores` (K,),
        `bbox` (4,) xyxy.
    """
    if bbox_format not in ("xyxy", "xywh"):
        raise ValueError(f"bbox_format must be 'xyxy' or 'xywh', received {bbox_format!r}")
    image = _read_image(img)
    h, w = image.shape[:2]
    if bboxes is None:
        bboxes = np.array([[0, 0, w, h]], np.float32)
    bboxes = np.asarray(bboxes, np.float32).reshape(-1, 4)
    if len(bboxes) == 0:
        return []
    if bbox_format == "xywh":
        bboxes = np.concatenate([bboxes[:, :2], bboxes[:, :2] + bboxes[:, 2:]], axis=1)
    get_cs = GetBBoxCenterScale()
    affine = TopdownAffine(tuple(model.codec.input_size))
    crops, centers, scales = [], [], []
    for box in bboxes:
        sample = affine(get_cs({"img": image, "img_shape": np.array([h, w], np.int32),
                                "bbox": box}))
        crops.append(sample["img"])
        centers.append(sample["input_center"])
        scales.append(sample["input_scale"])
    preds = model.predict_step((tf.stack(crops), {"center": tf.stack(centers),
                                                  "scale": tf.stack(scales)}))
    keypoints = np.asarray(preds["keypoints"])
    scores = np.asarray(preds["keypoint_scores"])
    return [{"keypoints": keypoints[i], "keypoint_scores": scores[i], "bbox": bboxes[i]}
            for i in range(len(bboxes))]
