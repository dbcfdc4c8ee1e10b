"""Losses between head outputs and codec targets (plain serializable callables)."""

from kpose.models.losses.keypoint_mse_loss import KeypointMSELoss

__all__ = ["KeypointMSELoss"]
