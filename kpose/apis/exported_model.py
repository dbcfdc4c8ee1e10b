"""ExportedModel: run an exported artifact (SavedModel, .tflite, .keras) like the estimator."""

import json
import os
from typing import Any, Dict, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from kpose.apis.constant_output_error import ConstantOutputError
from kpose.apis.export import (BBOX_PADDING, crop_boxes, crop_to_image, metadata_path,
                               raw_outputs)


class ExportedModel:
    """Loads an artifact written by `kpose.apis.export` and predicts with it.

    The format comes from the metadata json beside the artifact. TFLite files run
    through `ai_edge_litert.interpreter.Interpreter` (`tf.lite.Interpreter` is deprecated
    in TF 2.21). Artifacts exported with `decode="none"` are decoded here with the codec
    of the metadata, so every format gives the same outputs.

    `predict(dataset)` mirrors `TopdownPoseEstimator.predict` on an evaluation pipeline
    of `(images, meta)` batches, so the evaluation code runs unchanged on artifacts.

    Args:
        path: the artifact (SavedModel folder, `.tflite` or `.keras` file).
        num_threads: TFLite interpreter threads (None: the runtime's default).
        check_constant: make `predict` raise `ConstantOutputError` when every instance
            gets identical crop keypoints and scores (a broken export or quantisation).
    """

    def __init__(self, path: str, num_threads: Optional[int] = None,
                 check_constant: bool = True) -> None:
        path = os.fspath(path).rstrip("/")
        if not os.path.exists(path):
            raise ValueError(f"artifact not found: {path!r}")
        meta_file = metadata_path(path)
        if not os.path.exists(meta_file):
            raise ValueError(f"artifact {path!r} has no metadata json beside it "
                             f"(expected {meta_file!r})")
        with open(meta_file) as f:
            self.metadata: Dict[str, Any] = json.load(f)
        self.path = path
        self.format = self.metadata["format"]
        self.codec = keras.saving.deserialize_keras_object(self.metadata["codec"])
        self.input_size = tuple(int(v) for v in self.metadata["input_size"])
        self.decode = self.metadata["decode"]["mode"]
        self.check_constant = bool(check_constant)
        self._image_fn = None
        if self.format == "saved_model":
            loaded = tf.saved_model.load(path)
            self._loaded = loaded  # keeps the variables alive
            self._crops_fn = loaded.signatures["crops"]
            self._image_fn = loaded.signatures.get("image")
        elif self.format == "tflite":
            from ai_edge_litert.interpreter import Interpreter
            self._interpreter = Interpreter(model_path=path, num_threads=num_threads)
            self._runner = self._interpreter.get_signature_runner("crops")
        elif self.format == "keras":
            # safe_mode: a .keras file that would run arbitrary code (a Lambda) is refused.
            self._model = keras.saving.load_model(path, safe_mode=True)
        else:
            raise ValueError(f"{meta_file}: unknown artifact format {self.format!r}")

    def _raw_crops(self, crops: np.ndarray) -> Dict[str, np.ndarray]:
        if self.format == "saved_model":
            out = self._crops_fn(crops=tf.constant(crops))
            return {k: v.numpy() for k, v in out.items()}
        if self.format == "tflite":
            return dict(self._runner(crops=crops))
        preds = self._model.predict_step(tf.constant(crops))
        return {k: np.asarray(v) for k, v in preds.items()}

    def _decode(self, out: Dict[str, np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
        if self.decode == "graph":
            return (np.asarray(out["keypoints"], np.float32),
                    np.asarray(out["keypoint_scores"], np.float32))
        outputs = raw_outputs(out, self.metadata["decode"].get("output_structure"))
        keypoints, scores = self.codec.batch_decode(outputs)
        return np.asarray(keypoints, np.float32), np.asarray(scores, np.float32)

    def predict_crops(self, crops: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Keypoints of person crops.

        Args:
            crops: (B, h, w, 3) uint8 RGB crops at the model's input size.

        Returns:
            keypoints (B, K, 2) in crop pixels and scores (B, K).

        Raises:
            ValueError: another shape, or a dtype other than uint8 (a float crop is not
                guessed to be 0..1 or 0..255).
        """
        crops = np.asarray(crops)
        w, h = self.input_size
        if crops.ndim != 4 or crops.shape[1:] != (h, w, 3):
            raise ValueError(f"crops must be (B, {h}, {w}, 3), received shape {crops.shape}")
        if crops.dtype != np.uint8:
            raise ValueError(f"crops must hold uint8 RGB pixels, received dtype {crops.dtype}")
        if len(crops) == 0:
            raise ValueError("crops is empty (B = 0); predict_image returns no instances for no boxes")
        return self._decode(self._raw_crops(crops))

    def predict_image(self, image: np.ndarray, bboxes: np.ndarray
                      ) -> Tuple[np.ndarray, np.ndarray]:
        """Keypoints of each person box in one image.

        Inputs are checked as `kpose.apis.inference.check_image` / `check_bboxes` say
        (grayscale and RGBA images converted; bad dtypes, shapes and boxes raise
        ValueError). No boxes give empty (0, K, 2) / (0, K) arrays; a zero-size box gets
        its keypoints at its centre with score 0; boxes outside the image crop zeros.
        Only the window of the image the boxes' crops read is handed to the artifact,
        so very large images cost no more than their boxes (same pixels either way).

        Args:
            image: (H, W, 3) uint8 RGB.
            bboxes: (N, 4) xyxy boxes in image pixels (a fifth score column is ignored).

        Returns:
            keypoints (N, K, 2) in image pixels and scores (N, K).
        """
        from kpose.apis.inference import check_bboxes, check_image, predict_boxes

        image = check_image(image)
        bboxes, _ = check_bboxes(bboxes, image.shape[:2])
        if len(bboxes) == 0:
            num_keypoints = self._num_keypoints()
            return np.zeros((0, num_keypoints, 2), np.float32), np.zeros((0, num_keypoints), np.float32)
        return predict_boxes(bboxes, lambda boxes: self._predict_window(image, boxes))

    def _num_keypoints(self) -> int:
        names = self.metadata.get("keypoint_names")
        if names:
            return len(names)
        w, h = self.input_size
        return self.predict_crops(np.zeros((1, h, w, 3), np.uint8))[1].shape[1]

    def _predict_window(self, image: np.ndarray, bboxes: np.ndarray
                        ) -> Tuple[np.ndarray, np.ndarray]:
        x0, y0, x1, y1 = _read_window(image.shape[:2], bboxes, self.input_size)
        window = image[y0:y1, x0:x1]
        offset = np.array([x0, y0], np.float32)
        boxes = bboxes - np.tile(offset, 2)
        if self._image_fn is not None and self.decode == "graph":
            out = self._image_fn(image=tf.constant(window), bboxes=tf.constant(boxes))
            return out["keypoints"].numpy() + offset, out["keypoint_scores"].numpy()
        crops, center, scale = crop_boxes(tf.constant(window), tf.constant(boxes), self.input_size)
        keypoints, scores = self.predict_crops(crops.numpy())
        keypoints = crop_to_image(tf.constant(keypoints), center, scale, self.input_size)
        return keypoints.numpy() + offset, scores

    def predict(self, dataset: tf.data.Dataset, verbose: int = 0) -> Dict[str, np.ndarray]:
        """Predictions over `(images, meta)` batches, as `TopdownPoseEstimator.predict`.

        Returns:
            `keypoints` (N, K, 2) in image pixels, `keypoint_scores` (N, K), and the
            numeric meta passed through (a meta `keypoints` entry as `gt_keypoints`).
        """
        del verbose
        parts: Dict[str, list] = {}
        crop_parts = []
        for batch in dataset.as_numpy_iterator():
            images, meta = batch if isinstance(batch, tuple) else (batch, None)
            keypoints, scores = self.predict_crops(images)
            crop_parts.append(np.concatenate([keypoints.reshape(len(keypoints), -1),
                                              scores], axis=1))
            result = {"keypoints": keypoints, "keypoint_scores": scores}
            if meta is not None:
                size = np.asarray(self.input_size, np.float32)
                center = np.asarray(meta["center"], np.float32)[:, None]
                scale = np.asarray(meta["scale"], np.float32)[:, None]
                result["keypoints"] = keypoints / size * scale + center - 0.5 * scale
                for key, value in meta.items():
                    value = np.asarray(value)
                    if value.dtype.kind in "SUO":
                        continue
                    result[f"gt_{key}" if key in result else key] = value
            for key, value in result.items():
                parts.setdefault(key, []).append(value)
        if not parts:
            raise ValueError("predict received an empty dataset")
        if self.check_constant:
            check_not_constant(np.concatenate(crop_parts), self.path)
        return {k: np.concatenate(v) for k, v in parts.items()}


def _read_window(image_hw, bboxes: np.ndarray, input_size) -> Tuple[int, int, int, int]:
    """The image rectangle `(x0, y0, x1, y1)` holding every pixel the boxes' crops read.

    Crops are the padded (`BBOX_PADDING`), aspect-fixed boxes, unrotated; the bilinear
    warp reads one pixel beyond a sample point, so a margin of two suffices. Clipped to
    the image and at least 1x1: pixels outside read as zeros either way, so cropping
    from this window gives exactly the crops of the whole image.
    """
    h, w = int(image_hw[0]), int(image_hw[1])
    center = (bboxes[:, :2] + bboxes[:, 2:]) / 2.0
    size = (bboxes[:, 2:] - bboxes[:, :2]) * BBOX_PADDING
    aspect = input_size[0] / input_size[1]
    size = np.where((size[:, :1] > size[:, 1:] * aspect),
                    np.concatenate([size[:, :1], size[:, :1] / aspect], axis=1),
                    np.concatenate([size[:, 1:] * aspect, size[:, 1:]], axis=1))
    low = np.floor(np.min(center - size / 2.0, axis=0)) - 2
    high = np.ceil(np.max(center + size / 2.0, axis=0)) + 3
    x0, y0 = int(np.clip(low[0], 0, w - 1)), int(np.clip(low[1], 0, h - 1))
    x1, y1 = int(np.clip(high[0], x0 + 1, w)), int(np.clip(high[1], y0 + 1, h))
    return x0, y0, x1, y1


def check_not_constant(values: np.ndarray, name: str = "artifact", atol: float = 1e-6) -> None:
    """Raises `ConstantOutputError` if every row of `values` (N, D) is the same.

    Args:
        values: per-instance outputs, e.g. crop keypoints and scores flattened.
        name: named in the message.
        atol: rows closer than this to the first row count as equal.
    """
    values = np.asarray(values, np.float64)
    if len(values) < 2:
        return
    if np.all(np.abs(values - values[:1]) <= atol):
        raise ConstantOutputError(
            f"{name}: outputs are constant over all {len(values)} inputs (every instance got "
            "the same keypoints and scores); the export or its quantisation is broken")
