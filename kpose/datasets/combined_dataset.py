"""CombinedDataset: several datasets as one training set in one keypoint layout."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import gin
import numpy as np

from kpose.datasets import metainfo as metainfo_lib
from kpose.datasets.coco_style_dataset import RECORD_KEYS
from kpose.datasets.keypoint_converter import KeypointConverter
from kpose.datasets.metainfo.dataset_meta import DatasetMeta

logger = logging.getLogger(__name__)


@gin.register
class CombinedDataset:
    """Concatenates datasets' records in the target layout, with per-source sampling ratios.

    MMPose's ``CombinedDataset`` for top-down training (RTMPose's body7/body8 recipes):
    each source's records are mapped to the target layout by its ``KeypointConverter``
    (or taken as they are when its converter is None, e.g. COCO in a COCO-layout mix),
    and the target ``meta`` (flip indices, body halves, joint weights) replaces the
    sources' own, so the pipeline flips and weighs every sample in the target layout.

    Sampling ratios: source i contributes ``round(len_i * ratio_i)`` rows, as MMPose. The
    rows are drawn as MMPose draws them, stratified: row j takes the source row
    ``round(gap * j + u * gap - 0.5)`` with ``gap = (len_i - 1e-4) / n_i`` and ``u``
    uniform in [0, 1), so a ratio of 0.5 keeps one row from each consecutive pair and a
    ratio of 2 repeats every row about twice. MMPose redraws ``u`` at every access; here
    it is drawn once from ``numpy.random.default_rng(seed)`` when the dataset is built,
    so the selection is fixed for a given seed (the pipeline still reshuffles the order
    every epoch). Without ratios every row is used once.

    ``records`` holds the columns every source has with the same trailing shape (the
    ``CocoStyleDataset`` columns at least; others, such as MPII's ``bbox_center``, are
    dropped when a source lacks them) plus ``dataset_index`` int64 (N,): the source of
    each row. Ids are the sources' own, so they may repeat across sources: use the
    combined set for training and evaluate on one dataset.

    Args:
        metainfo: the target layout's meta (a built-in name, a file or a ``DatasetMeta``).
        datasets: the source datasets (objects with ``records`` and ``meta``).
        converters: one ``KeypointConverter`` or None per source; None (default) means
            no source is converted.
        sample_ratio_factor: one non-negative ratio per source, or None.
        seed: seed of the stratified draw.

    Raises:
        ValueError: lists of different lengths, a negative ratio, a converter whose target
            K differs from the meta's, a source whose keypoints do not fit its converter
            (or the meta, without one), a source lacking a required column, or no row left.
    """

    def __init__(self,
                 metainfo: "str | DatasetMeta",
                 datasets: Sequence[Any],
                 converters: "Sequence[KeypointConverter | None] | None" = None,
                 sample_ratio_factor: "Sequence[float] | None" = None,
                 seed: int = 0) -> None:
        self.meta: DatasetMeta = metainfo_lib.load(metainfo)
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError(f"datasets must list at least one dataset, received {datasets!r}")
        num = len(self.datasets)
        self.converters = [None] * num if converters is None else list(converters)
        if len(self.converters) != num:
            raise ValueError(f"converters must give one entry (a KeypointConverter or None) per dataset: "
                             f"{num} datasets, received {len(self.converters)} converters")
        if sample_ratio_factor is not None:
            ratios = [float(r) for r in sample_ratio_factor]
            if len(ratios) != num:
                raise ValueError(f"sample_ratio_factor must give one ratio per dataset ({num}), received "
                                 f"{list(sample_ratio_factor)!r}")
            if min(ratios) < 0:
                raise ValueError(f"sample_ratio_factor must be >= 0, received {list(sample_ratio_factor)!r}")
        self.sample_ratio_factor = None if sample_ratio_factor is None else ratios
        self.seed = int(seed)

        sources = [self._convert(i, d, c) for i, (d, c) in enumerate(zip(self.datasets, self.converters))]
        lens_ori = [len(s["img_path"]) for s in sources]
        rng = np.random.default_rng(self.seed)
        picks = []
        for i, length in enumerate(lens_ori):
            if self.sample_ratio_factor is None:
                picks.append(np.arange(length))
                continue
            count = int(round(length * self.sample_ratio_factor[i]))
            picks.append(_stratified(length, count, rng))
        self.lens = [len(p) for p in picks]
        self.records = self._concatenate(sources, picks)
        if len(self) == 0:
            raise ValueError(f"the combined dataset is empty (sources hold {lens_ori} rows, ratios "
                             f"{self.sample_ratio_factor})")
        logger.info("CombinedDataset: %s rows from sources of %s rows", self.lens, lens_ori)

    def __len__(self) -> int:
        return int(self.records["img_path"].shape[0])

    def __repr__(self) -> str:
        return (f"CombinedDataset(meta={self.meta.name!r}, lens={self.lens}, "
                f"sample_ratio_factor={self.sample_ratio_factor}, seed={self.seed})")

    def _convert(self, index: int, dataset: Any, converter: "KeypointConverter | None") -> dict:
        records = getattr(dataset, "records", None)
        if not isinstance(records, dict):
            raise ValueError(f"datasets[{index}] must have a records dict (a kpose dataset), received {dataset!r}")
        missing = [k for k in RECORD_KEYS if k not in records]
        if missing:
            raise ValueError(f"datasets[{index}] ({dataset!r}) lacks record columns {missing}")
        k_src = records["keypoints"].shape[1]
        if converter is None:
            if k_src != self.meta.num_keypoints:
                raise ValueError(f"datasets[{index}] has {k_src} keypoints but the target meta "
                                 f"{self.meta.name!r} has {self.meta.num_keypoints}: give it a KeypointConverter")
            return dict(records)
        if not isinstance(converter, KeypointConverter):
            raise ValueError(f"converters[{index}] must be a KeypointConverter or None, received {converter!r}")
        if converter.num_keypoints != self.meta.num_keypoints:
            raise ValueError(f"converters[{index}] maps to {converter.num_keypoints} keypoints, but the target "
                             f"meta {self.meta.name!r} has {self.meta.num_keypoints}")
        if k_src < converter.min_source_keypoints:
            raise ValueError(f"converters[{index}] indexes source keypoint {converter.min_source_keypoints - 1}, "
                             f"but datasets[{index}] has {k_src} keypoints")
        return converter(records)

    def _concatenate(self, sources: list, picks: list) -> dict[str, np.ndarray]:
        common = [k for k in sources[0]
                  if all(k in s and np.asarray(s[k]).shape[1:] == np.asarray(sources[0][k]).shape[1:]
                         for s in sources)]
        dropped = sorted({k for s in sources for k in s} - set(common))
        if dropped:
            logger.info("CombinedDataset: dropping columns not shared by every source: %s", dropped)
        out = {}
        for key in common:
            parts = [np.asarray(s[key])[p] for s, p in zip(sources, picks)]
            if parts[0].dtype.kind == "U":
                out[key] = np.concatenate([p.astype(str) for p in parts])
            else:
                out[key] = np.concatenate(parts).astype(parts[0].dtype)
        out["dataset_index"] = np.concatenate([np.full(len(p), i, np.int64) for i, p in enumerate(picks)])
        return out


def _stratified(length: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` indices into ``range(length)``, one per stratum of width ``length / count``."""
    if count == 0 or length == 0:
        return np.zeros(0, np.int64)
    gap = (length - 1e-4) / count
    j = np.arange(count)
    picks = np.round(gap * j + rng.random(count) * gap - 0.5).astype(np.int64)
    return np.clip(picks, 0, length - 1)
