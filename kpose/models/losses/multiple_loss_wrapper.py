"""A list of losses applied pairwise to lists of outputs and targets."""

from typing import Any, Dict, List, Optional, Sequence

import gin
import keras
import tensorflow as tf


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class MultipleLossWrapper(keras.layers.Layer):
    """Applies loss i to output i and target i, MMPose's `MultipleLossWrapper`.

    Used by heads with several outputs of different kinds, e.g. DSNT/IPR's integral
    regression head: `[coordinate loss, heatmap loss]` on `[coords, heatmaps]`. Every loss
    receives the same `keypoint_weights`. A Keras layer so that a loss with weights
    (`RLELoss`) inside is tracked.

    Call: `wrapper(input_list, target_list, keypoint_weights=None)` -> list of the
    losses' values, in order.

    Args:
        losses: the losses, in the order of the outputs they score.
        **kwargs: `keras.layers.Layer` arguments. The dtype is float32 unless given.
    """

    def __init__(self, losses: Sequence[Any], **kwargs: Any):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if not isinstance(losses, (list, tuple)) or not losses:
            raise ValueError(f"losses must be a non-empty list of losses, received "
                             f"{losses!r}")
        for loss in losses:
            if not callable(loss):
                raise ValueError(f"every loss must be callable, received {loss!r}")
        self.loss_modules = list(losses)

    @property
    def num_losses(self) -> int:
        return len(self.loss_modules)

    def build(self, *args: Any, **kwargs: Any) -> None:
        self.built = True

    def call(self, input_list: Sequence[Any], target_list: Sequence[Any],
             keypoint_weights: Optional[tf.Tensor] = None) -> List[tf.Tensor]:
        if len(input_list) != self.num_losses or len(target_list) != self.num_losses:
            raise ValueError(f"input_list and target_list must hold {self.num_losses} "
                             f"entries, received {len(input_list)} and {len(target_list)}")
        return [loss(output, target, keypoint_weights)
                for loss, output, target in zip(self.loss_modules, input_list, target_list)]

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["losses"] = [keras.saving.serialize_keras_object(loss)
                            for loss in self.loss_modules]
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "MultipleLossWrapper":
        config = dict(config)
        config["losses"] = [keras.saving.deserialize_keras_object(loss)
                            for loss in config["losses"]]
        return cls(**config)
