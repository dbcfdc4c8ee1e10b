"""ExportedModel: run an exported artifact (SavedModel, .tflite, .keras) like the estimator."""

import json
import os
from typing import Any, Dict, Optional, Tuple

import keras
import numpy as np
import tensorflow as tf

from kpose.apis.constant_output_error import ConstantOutputError
from kpose.apis.export import crop_boxes, crop_to_image, metadata_path


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
            self._model = keras.saving.load_model(path)
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
        if "outputs" in out:
            outputs = out["outputs"]
        else:
            outputs = tuple(out[f"outputs_{i}"] for i in range(len(out)))
        keypoints, scores = self.codec.batch_decode(outputs)
        return np.asarray(keypoints, np.float32), np.asarray(scores, np.float32)

    def predict_crops(self, crops: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Keypoints of person crops.

        Args:
            crops: (B, h, w, 3) uint8 RGB crops at the model's input size.

        Returns:
            keypoints (B, K, 2) in crop pixels and scores (B, K).
        """
        crops = np.asarray(crops)
        w, h = self.input_size
        if crops.ndim != 4 or crops.shape[1:] != (h, w, 3):
            raise ValueError(f"crops must be (B, {h}, {w}, 3), received shape {crops.shape}")
        return self._decode(self._raw_crops(crops.astype(np.uint8)))

    def predict_image(self, image: np.ndarray, bboxes: np.ndarray
                      ) -> Tuple[np.ndarray, np.ndarray]:
        """Keypoints of each person box in one image.

        Args:
            image: (H, W, 3) uint8 RGB.
            bboxes: (N, 4) xyxy boxes in image pixels.

        Returns:
            keypoints (N, K, 2) in image pixels and scores (N, K).
        """
        image = np.asarray(image, np.uint8)
        bboxes = np.asarray(bboxes, np.float32).reshape(-1, 4)
        if self._image_fn is not None and self.decode == "graph":
            out = self._image_fn(image=tf.constant(image), bboxes=tf.constant(bboxes))
            return out["keypoints"].numpy(), out["keypoint_scores"].numpy()
        crops, center, scale = crop_boxes(tf.constant(image), tf.constant(bboxes),
                                          self.input_size)
        keypoints, scores = self.predict_crops(crops.numpy())
        keypoints = crop_to_image(tf.constant(keypoints), center, scale, self.input_size)
        return keypoints.numpy(), scores

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
