"""Evaluation: COCO (and COCO-WholeBody) OKS AP/AR through pycocotools, PCK (MPII PCKh,
JHMDB), AUC, EPE, NME, per-partition evaluation, and the numpy functions behind them.

Metrics are plain Python objects with ``reset()``, ``update(preds)``, ``result()`` and
``name``; ``update`` takes dicts of numpy arrays with a leading batch axis.
"""

from kpose.evaluation.auc import AUC
from kpose.evaluation.coco_metric import CocoMetric
from kpose.evaluation.coco_wholebody_metric import CocoWholeBodyMetric
from kpose.evaluation.epe import EPE
from kpose.evaluation.functional import (keypoint_auc, keypoint_epe, keypoint_nme,
                                         keypoint_pck_accuracy, oks_iou, oks_nms,
                                         soft_oks_nms)
from kpose.evaluation.jhmdb_pck_accuracy import JhmdbPCKAccuracy
from kpose.evaluation.keypoint_partition_metric import KeypointPartitionMetric
from kpose.evaluation.mpii_pck_accuracy import MpiiPCKAccuracy
from kpose.evaluation.nme import NME, NME_KEYPOINT_INDICES
from kpose.evaluation.pck_accuracy import PCKAccuracy
from kpose.evaluation.mpjpe import MPJPE, keypoint_mpjpe

__all__ = [
    "AUC", "CocoMetric", "CocoWholeBodyMetric", "EPE", "JhmdbPCKAccuracy", "KeypointPartitionMetric",
    "MpiiPCKAccuracy", "NME", "NME_KEYPOINT_INDICES", "PCKAccuracy", "keypoint_auc", "keypoint_epe", "keypoint_nme",
    "keypoint_pck_accuracy", "oks_iou", "oks_nms", "soft_oks_nms", "MPJPE", "keypoint_mpjpe"]
