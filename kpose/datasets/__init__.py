"""Datasets: meta information, annotation readers, multi-dataset training, the synthetic dataset."""

from kpose.datasets.coco_style_dataset import CocoStyleDataset
from kpose.datasets.coco_whole_body_dataset import CocoWholeBodyDataset
from kpose.datasets.combined_dataset import CombinedDataset
from kpose.datasets.converters import (convert_keypoint_layout, cvat_to_coco, ensure_synthetic_in_layout,
                                       labelstudio_to_coco)
from kpose.datasets.crowd_pose_dataset import CrowdPoseDataset
from kpose.datasets.jhmdb_dataset import JhmdbDataset
from kpose.datasets.keypoint_converter import KeypointConverter
from kpose.datasets.metainfo import DatasetMeta
from kpose.datasets.mpii_dataset import MpiiDataset
from kpose.datasets.pose_track18_dataset import PoseTrack18Dataset
from kpose.datasets.synthetic import ensure_synthetic_coco, make_synthetic_coco
from kpose.datasets.human36m_dataset import Human36mDataset
from kpose.datasets.lifting_pipeline import build_lifting_pipeline
from kpose.datasets.synthetic_mocap import ensure_synthetic_mocap, make_synthetic_mocap
from kpose.datasets.bottomup_pipeline import (bottomup_dataset, bottomup_records,
                                             build_bottomup_pipeline, default_bottomup_transforms)

__all__ = ["CocoStyleDataset", "CocoWholeBodyDataset", "CombinedDataset", "CrowdPoseDataset", "DatasetMeta",
           "JhmdbDataset", "KeypointConverter", "MpiiDataset", "PoseTrack18Dataset", "convert_keypoint_layout",
           "cvat_to_coco", "ensure_synthetic_coco", "ensure_synthetic_in_layout", "labelstudio_to_coco",
           "make_synthetic_coco", "Human36mDataset", "build_lifting_pipeline", "ensure_synthetic_mocap", "make_synthetic_mocap", "bottomup_dataset", "bottomup_records", "build_bottomup_pipeline", "default_bottomup_transforms"]
