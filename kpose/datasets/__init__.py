"""Datasets: meta information, COCO-style annotation reading, the synthetic dataset."""

from kpose.datasets.coco_style_dataset import CocoStyleDataset
from kpose.datasets.metainfo import DatasetMeta
from kpose.datasets.synthetic import ensure_synthetic_coco, make_synthetic_coco

__all__ = ["CocoStyleDataset", "DatasetMeta", "ensure_synthetic_coco", "make_synthetic_coco"]
