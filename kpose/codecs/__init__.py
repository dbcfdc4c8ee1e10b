"""Codecs: keypoints <-> learning targets (heatmaps, ...), one codec a file."""

from kpose.codecs.integral_regression_label import IntegralRegressionLabel
from kpose.codecs.megvii_heatmap import MegviiHeatmap
from kpose.codecs.msra_heatmap import MSRAHeatmap
from kpose.codecs.regression_label import RegressionLabel
from kpose.codecs.simcc_label import SimCCLabel
from kpose.codecs.udp_heatmap import UDPHeatmap
from kpose.codecs.image_pose_lifting import ImagePoseLifting
from kpose.codecs.video_pose_lifting import VideoPoseLifting
from kpose.codecs.associative_embedding import AssociativeEmbedding

__all__ = [
    "IntegralRegressionLabel",
    "MSRAHeatmap",
    "MegviiHeatmap",
    "RegressionLabel",
    "SimCCLabel",
    "UDPHeatmap", "ImagePoseLifting", "VideoPoseLifting", "AssociativeEmbedding"]
