"""MMPose (PyTorch) checkpoints -> kpose weights, read without torch or pickled code."""

from kpose.converters.mmpose_to_keras import (check_dataset_meta, load_mmpose_checkpoint,
                                              load_state_dict, mmpose_state_dict,
                                              torch_weight_targets)
from kpose.converters.torch_checkpoint import inert_global_names, load_torch_checkpoint

__all__ = [
    "check_dataset_meta",
    "inert_global_names",
    "load_mmpose_checkpoint",
    "load_state_dict",
    "load_torch_checkpoint",
    "mmpose_state_dict",
    "torch_weight_targets",
]
