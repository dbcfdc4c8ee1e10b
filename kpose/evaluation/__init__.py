"""Evaluation: COCO OKS AP/AR (pycocotools), PCK, and the numpy functions behind them.

Metrics are plain Python objects with ``reset()``, ``update(preds)``, ``result()`` and
``name``; ``update`` takes dicts of numpy arrays with a leading batch axis.
"""

from kpose.evaluation.coco_metric import CocoMetric
from kpose.evaluation.functional import (keypoint_auc, keypoint_epe, keypoint_nme,
                                         keypoint_pck_accuracy, oks_iou, oks_nms,
                                         soft_oks_nms)
from kpose.evaluation.pck_accuracy import PCKAccuracy

__all__ = [
    "CocoMetric", "PCKAccuracy", "keypoint_auc", "keypoint_epe", "keypoint_nme",
    "keypoint_pck_accuracy", "oks_iou", "oks_nms", "soft_oks_nms",
]
