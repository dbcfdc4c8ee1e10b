"""Annotation converters: other tools' exports and keypoint layouts -> COCO keypoints json."""

from kpose.datasets.converters.cvat import cvat_to_coco
from kpose.datasets.converters.keypoint_layout import convert_keypoint_layout, ensure_synthetic_in_layout
from kpose.datasets.converters.label_studio import labelstudio_to_coco

__all__ = ["convert_keypoint_layout", "cvat_to_coco", "ensure_synthetic_in_layout", "labelstudio_to_coco"]
