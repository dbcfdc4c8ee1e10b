"""KeypointPartitionMetric: one metric evaluated separately on subsets of the keypoints."""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from typing import Any, Mapping, Sequence

import gin
import numpy as np

from kpose.evaluation.auc import AUC
from kpose.evaluation.coco_metric import CocoMetric
from kpose.evaluation.epe import EPE
from kpose.evaluation.nme import NME
from kpose.evaluation.pck_accuracy import PCKAccuracy

_SUPPORTED = (CocoMetric, PCKAccuracy, AUC, EPE, NME)
# update() keys whose second axis is the keypoint axis K
_PER_KEYPOINT_KEYS = ("keypoints", "keypoint_scores", "gt_keypoints", "keypoints_visible")


@gin.register
class KeypointPartitionMetric:
    """Evaluates a metric on named keypoint subsets, as MMPose's KeypointPartitionMetric.

    For example COCO-WholeBody's body, foot, face and hands evaluated with
    :class:`CocoMetric`, or PCK on the hands only. Each partition gets its own copy of
    ``metric`` (rebuilt from ``metric.get_config()``); ``update`` slices the per-keypoint
    arrays (``keypoints``, ``keypoint_scores``, ``gt_keypoints``, ``keypoints_visible``:
    (B, K, ...) -> (B, K_part, ...)) and passes every other key through. ``result()``
    returns each partition's figures as ``'<partition>/<name>'``.

    With :class:`CocoMetric`: its ``sigmas`` (length K) are sliced per partition, and
    its ``ann_file`` (length-K ``keypoints`` per annotation) is sliced into a temporary
    file per partition; rescoring and OKS-NMS then run per partition (as in MMPose),
    so the figures may differ from :class:`CocoWholeBodyMetric`'s (which rescores on the
    whole body) unless ``score_mode='bbox'`` and ``nms_mode='none'``. NME's
    ``'keypoint_distance'`` mode is refused (its indices refer to the full keypoint set).

    Args:
        metric: a :class:`CocoMetric`, :class:`PCKAccuracy`, :class:`AUC`,
            :class:`EPE` or :class:`NME` (configured for the full K keypoints).
        partitions: ``{name: keypoint ids}``, each a non-empty sequence.
        name: name of the metric (for logs).
    """

    def __init__(self, metric: Any, partitions: Mapping[str, Sequence[int]], name: str = "partition") -> None:
        if type(metric) not in _SUPPORTED:
            raise ValueError(f"metric must be one of {[c.__name__ for c in _SUPPORTED]}, got {type(metric).__name__}")
        if not isinstance(partitions, Mapping) or not partitions:
            raise ValueError(f"partitions must be a non-empty {{name: keypoint ids}} mapping, got {partitions!r}")
        parts = {}
        for part, ids in partitions.items():
            if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence) or len(ids) == 0:
                raise ValueError(f"partition {part!r} must be a non-empty sequence of keypoint ids, got {ids!r}")
            parts[str(part)] = [int(i) for i in ids]
            if min(parts[str(part)]) < 0:
                raise ValueError(f"partition {part!r} holds negative keypoint ids {ids!r}")
        config = metric.get_config()
        if isinstance(metric, NME) and metric.norm_mode != "use_norm_item":
            raise ValueError("NME with norm_mode='keypoint_distance' cannot be partitioned (its keypoint "
                             "indices refer to all keypoints); use norm_mode='use_norm_item'")
        if isinstance(metric, PCKAccuracy) and "torso" in metric.norm_item:
            warnings.warn("PCKAccuracy norm_item 'torso' measures keypoints 4 and 5 of each partition; "
                          "it is meant for JHMDB's full keypoint set")
        if isinstance(metric, CocoMetric):
            k = metric.num_keypoints
            bad = {p: ids for p, ids in parts.items() if max(ids) >= k}
            if bad:
                raise ValueError(f"partitions {bad} hold keypoint ids >= K={k} (the metric's sigmas)")
        self.metric = metric
        self.partitions = parts
        self.name = name
        self.metrics = {}
        for part, ids in parts.items():
            part_config = dict(config)
            if isinstance(metric, CocoMetric):
                part_config["sigmas"] = np.asarray(metric.sigmas)[ids]
                part_config["ann_file"] = None  # sliced from metric.ann_file in result()
                if part_config.get("outfile_prefix"):
                    part_config["outfile_prefix"] = f"{part_config['outfile_prefix']}.{part}"
            self.metrics[part] = type(metric)(**part_config)
        self._tmp_dir = None

    def get_config(self) -> dict:
        return dict(metric=self.metric, partitions={k: list(v) for k, v in self.partitions.items()},
                    name=self.name)

    def reset(self) -> None:
        """Forget every batch seen so far."""
        for metric in self.metrics.values():
            metric.reset()

    def update(self, preds: Mapping[str, np.ndarray]) -> None:
        """Slices one batch per partition and hands it to each partition's metric."""
        if "keypoints" not in preds:
            raise ValueError(f"KeypointPartitionMetric.update: preds has no 'keypoints'; got keys {sorted(preds)}")
        k = np.shape(preds["keypoints"])[1]
        for part, ids in self.partitions.items():
            if max(ids) >= k:
                raise ValueError(f"partition {part!r} holds keypoint ids up to {max(ids)}, but 'keypoints' "
                                 f"has K={k}")
            sliced = {key: (np.asarray(value)[:, ids] if key in _PER_KEYPOINT_KEYS else value)
                      for key, value in preds.items()}
            self.metrics[part].update(sliced)

    def result(self) -> dict[str, float]:
        """Each partition's figures, keyed ``'<partition>/<figure>'``."""
        if isinstance(self.metric, CocoMetric) and not self.metric.format_only:
            self._write_partition_ground_truth()
        out = {}
        for part, metric in self.metrics.items():
            for key, value in metric.result().items():
                out[f"{part}/{key}"] = value
        return out

    def _write_partition_ground_truth(self) -> None:
        ann_file = self.metric.ann_file
        if ann_file is None:
            raise ValueError("KeypointPartitionMetric.result: the CocoMetric has no ann_file")
        with open(ann_file) as f:
            dataset = json.load(f)
        if self._tmp_dir is None:
            self._tmp_dir = tempfile.mkdtemp(prefix="kpose_partition_")
        for part, ids in self.partitions.items():
            part_set = dict(dataset)
            part_set["annotations"] = []
            for ann in dataset["annotations"]:
                kpts = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
                if max(ids) >= len(kpts):
                    raise ValueError(f"annotation {ann.get('id')} in {ann_file!r} has {len(kpts)} keypoints; "
                                     f"partition {part!r} needs id {max(ids)}")
                new = dict(ann)
                new["keypoints"] = kpts[ids].reshape(-1).tolist()
                new["num_keypoints"] = int(np.count_nonzero(kpts[ids, 2] > 0))
                part_set["annotations"].append(new)
            path = os.path.join(self._tmp_dir, f"{part}.json")
            with open(path, "w") as f:
                json.dump(part_set, f)
            self.metrics[part].ann_file = path
