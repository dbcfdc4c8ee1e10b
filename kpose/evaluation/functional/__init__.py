"""Numpy evaluation functions: keypoint distance metrics and OKS-based NMS."""

from kpose.evaluation.functional.keypoint_eval import (keypoint_auc, keypoint_distances,
                                                       keypoint_epe, keypoint_nme,
                                                       keypoint_pck_accuracy)
from kpose.evaluation.functional.nms import COCO_SIGMAS, oks_iou, oks_nms, soft_oks_nms

__all__ = [
    "COCO_SIGMAS", "keypoint_auc", "keypoint_distances", "keypoint_epe", "keypoint_nme",
    "keypoint_pck_accuracy", "oks_iou", "oks_nms", "soft_oks_nms",
]
