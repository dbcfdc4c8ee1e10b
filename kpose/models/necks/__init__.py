"""Necks: tuple of feature maps -> tuple of feature maps, between backbone and head."""

from kpose.models.necks.feature_map_processor import FeatureMapProcessor
from kpose.models.necks.fpn import FPN
from kpose.models.necks.global_average_pooling import GlobalAveragePooling

__all__ = ["FPN", "FeatureMapProcessor", "GlobalAveragePooling"]
