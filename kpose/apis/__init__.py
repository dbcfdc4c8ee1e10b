"""High-level entry points.

The gin root `export` lives in the `kpose.apis.export` module (not re-exported here, so
the module name stays importable).
"""

from kpose.apis.constant_output_error import ConstantOutputError
from kpose.apis.export import export_keras, export_saved_model, export_tflite
from kpose.apis.exported_model import ExportedModel
from kpose.apis.inference import inference_topdown, init_model
from kpose.apis.inferencer import Inferencer
from kpose.apis.one_euro_filter import OneEuroFilter
from kpose.apis.pose_tracker import PoseTracker
from kpose.apis.lifting import coco_to_h36m, draw_pose_3d, inference_pose_lifter

__all__ = ["init_model", "inference_topdown", "export_saved_model", "export_tflite",
           "export_keras", "ExportedModel", "ConstantOutputError", "Inferencer",
           "OneEuroFilter", "PoseTracker", "inference_pose_lifter", "coco_to_h36m", "draw_pose_3d"]
