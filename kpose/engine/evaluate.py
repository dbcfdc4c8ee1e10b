"""The `evaluate` root: predictions over an evaluation pipeline, then metrics."""

import json
import logging
import os
from typing import Callable, Dict, Optional, Sequence

import gin
import numpy as np
import tensorflow as tf

from kpose.datasets.pipeline import build_topdown_pipeline, find_unreadable_images

logger = logging.getLogger(__name__)


def bind_metrics(metrics: Sequence, dataset) -> None:
    """Gives metrics what they take from the dataset when gin left it unset.

    A metric's `ann_file` (ground-truth json) and `sigmas` (OKS constants) default to the
    evaluation dataset's, as MMPose's runner does with `dataset_meta`.
    """
    for metric in metrics:
        if getattr(metric, "ann_file", "unset") is None:
            metric.ann_file = dataset.ann_file
        if getattr(metric, "sigmas", "unset") is None:
            metric.sigmas = np.asarray(dataset.meta.sigmas, np.float32)


def predict_dataset(model, dataset: tf.data.Dataset, image_paths=None) -> Dict[str, np.ndarray]:
    """Runs `model.predict` over an evaluation pipeline of `(images, meta)` batches.

    Returns the concatenated prediction dict (keypoints (N,K,2), keypoint_scores (N,K) and
    the meta passed through). A decode failure names the unreadable image files.
    """
    try:
        return model.predict(dataset, verbose=0)
    except tf.errors.OpError as err:  # a missing file is NotFoundError, a bad one DataLoss
        if image_paths is None:
            raise
        bad = find_unreadable_images(sorted(set(image_paths)))
        if not bad:
            raise
        raise ValueError(
            f"evaluation cannot read {len(bad)} image(s): {', '.join(bad[:5])}"
        ) from err


def run_evaluation(model, dataset: tf.data.Dataset, metrics: Sequence,
                   image_paths=None) -> Dict[str, float]:
    """Predicts over `dataset` and returns every metric's results as `{name/key: value}`."""
    preds = predict_dataset(model, dataset, image_paths)
    results = {}
    for metric in metrics:
        metric.reset()
        metric.update(preds)
        for key, value in metric.result().items():
            results[f"{metric.name}/{key}"] = float(value)
    return results


def format_results(results: Dict[str, float]) -> str:
    """A two-column text table of metric results."""
    if not results:
        return "(no metrics)"
    width = max(len(k) for k in results)
    lines = [f"{'metric'.ljust(width)}  value", f"{'-' * width}  ------"]
    lines += [f"{k.ljust(width)}  {v:.4f}" for k, v in results.items()]
    return "\n".join(lines)


def load_checkpoint(model, checkpoint: str) -> None:
    """Loads `.weights.h5` weights into a built model, naming the file on a mismatch."""
    if not os.path.exists(checkpoint):
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    try:
        model.load_weights(checkpoint, skip_mismatch=False)
    except ValueError as err:
        raise ValueError(f"checkpoint {checkpoint} does not match the model: {err}") from err


@gin.configurable(denylist=["checkpoint", "out", "artifact"])
def evaluate(
    model: Callable = gin.REQUIRED,
    dataset: Callable = gin.REQUIRED,
    metrics: Sequence[Callable] = (),
    pipeline: Callable = build_topdown_pipeline,
    batch_size: int = 32,
    checkpoint: Optional[str] = None,
    out: Optional[str] = None,
    artifact: Optional[str] = None,
) -> Dict[str, float]:
    """Evaluates a model on a dataset with the given metrics.

    Args:
        model: factory of the estimator (gin: `@TopdownPoseEstimator`, not called).
        dataset: factory of the evaluation dataset (gin: `@val/CocoStyleDataset`).
        metrics: factories of the metrics (gin: `[@CocoMetric, @PCKAccuracy]`).
        pipeline: builds the evaluation tf.data pipeline from the dataset's records.
        batch_size: evaluation batch size.
        checkpoint: `.weights.h5` file to load; None evaluates the initial weights.
        out: json file to write the results to.
        artifact: an exported model (SavedModel folder, `.tflite`, `.keras`, see
            `kpose.apis.export`) to evaluate instead of `model` + `checkpoint`; an
            artifact whose outputs are constant raises `ConstantOutputError`.
    Returns:
        `{metric_name/key: value}`.
    """
    data = dataset()
    if artifact:
        from kpose.apis.exported_model import ExportedModel
        est = ExportedModel(artifact)
        codec = est.codec
    else:
        est = model()
        codec = est.codec
        if callable(getattr(est, "build_for_inference", None)):
            est.build_for_inference()  # estimators whose inputs are not image crops
        else:
            w, h = codec.input_size
            est(tf.zeros((1, h, w, 3), tf.uint8))
        if checkpoint:
            load_checkpoint(est, checkpoint)
    ds = pipeline(records=data.records, meta=data.meta, codec=codec,
                  input_size=getattr(codec, "input_size", None),
                  train=False, batch_size=batch_size)
    metric_objs = [m() for m in metrics]
    bind_metrics(metric_objs, data)
    results = run_evaluation(est, ds, metric_objs, image_paths=data.records["img_path"])
    print(format_results(results))
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w") as f:
            json.dump(results, f, indent=2)
        logger.info("metrics written to %s", out)
    return results
