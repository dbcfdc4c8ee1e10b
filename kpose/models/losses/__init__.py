"""Losses between head outputs and codec targets.

Plain serializable callables, except those with trainable weights (`RLELoss`) and the
containers that may hold them (`CombinedLoss`, `MultipleLossWrapper`), which are Keras
layers so that a head tracks their weights.
"""

from kpose.models.losses.adaptive_wing_loss import AdaptiveWingLoss
from kpose.models.losses.bce_loss import BCELoss
from kpose.models.losses.combined_loss import CombinedLoss
from kpose.models.losses.js_discret_loss import JSDiscretLoss
from kpose.models.losses.keypoint_mse_loss import KeypointMSELoss
from kpose.models.losses.keypoint_ohkm_mse_loss import KeypointOHKMMSELoss
from kpose.models.losses.kl_discret_loss import KLDiscretLoss
from kpose.models.losses.l1_loss import L1Loss
from kpose.models.losses.mse_loss import MSELoss
from kpose.models.losses.multiple_loss_wrapper import MultipleLossWrapper
from kpose.models.losses.rle_loss import RLELoss
from kpose.models.losses.smooth_l1_loss import SmoothL1Loss
from kpose.models.losses.soft_wing_loss import SoftWingLoss
from kpose.models.losses.wing_loss import WingLoss
from kpose.models.losses.mpjpe_loss import MPJPELoss
from kpose.models.losses.mpjpe_velocity_joint_loss import MPJPEVelocityJointLoss
from kpose.models.losses.ae_loss import AssociativeEmbeddingLoss

__all__ = [
    "AdaptiveWingLoss",
    "BCELoss",
    "CombinedLoss",
    "JSDiscretLoss",
    "KLDiscretLoss",
    "KeypointMSELoss",
    "KeypointOHKMMSELoss",
    "L1Loss",
    "MSELoss",
    "MultipleLossWrapper",
    "RLELoss",
    "SmoothL1Loss",
    "SoftWingLoss",
    "WingLoss", "MPJPELoss", "MPJPEVelocityJointLoss", "AssociativeEmbeddingLoss"]
