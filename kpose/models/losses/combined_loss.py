"""A named set of losses that a head applies one by one (MMPose's `CombinedLoss`)."""

from typing import Any, Dict, Mapping, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.losses import utils


# Attributes set below; a loss of the same name would be shadowed by them.
_RESERVED = ("loss_names", "loss_weights", "loss_modules")


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class CombinedLoss(keras.layers.Layer):
    """Holds several losses under names; a head calls each on its own inputs.

    As MMPose's `CombinedLoss`, the losses may take different inputs (heatmaps, tags,
    coordinates), so a head picks them by name: `self.loss_module.heatmap_loss(...)` or
    `self.loss_module["heatmap_loss"](...)` gives the loss itself (its own `loss_weight`
    applies, `loss_weights` does not). Calling the whole set,
    `combined({"heatmap_loss": (pred, target, weights), "ae_loss": {...}})`, applies every
    named loss to its positional (tuple/list) or keyword (dict) arguments and returns a
    dict name -> value times `loss_weights[name]`; losses left out of the call are skipped.

    A Keras layer so that a loss with weights inside (`RLELoss`) is tracked through it
    when a head assigns the set to an attribute.

    Args:
        losses: name -> loss object (a kpose loss or any callable with `get_config`).
            Names must be identifiers that do not clash with Layer attributes.
        loss_weights: name -> factor used by `call`; missing names get 1.
        **kwargs: `keras.layers.Layer` arguments. The dtype is float32 unless given.
    """

    def __init__(self, losses: Mapping[str, Any],
                 loss_weights: Optional[Mapping[str, float]] = None, **kwargs: Any):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if not isinstance(losses, Mapping) or not losses:
            raise ValueError(f"losses must be a non-empty dict name -> loss, received "
                             f"{losses!r}")
        for name, loss in losses.items():
            if (not isinstance(name, str) or not name.isidentifier() or hasattr(self, name)
                    or name in _RESERVED):
                raise ValueError(f"loss names must be identifiers that are not Layer "
                                 f"attributes, received {name!r}")
            if not callable(loss):
                raise ValueError(f"losses[{name!r}] must be callable, received {loss!r}")
        loss_weights = dict(loss_weights or {})
        unknown = sorted(set(loss_weights) - set(losses))
        if unknown:
            raise ValueError(f"loss_weights names must be among {sorted(losses)}, received "
                             f"{unknown}")
        self.loss_names = tuple(losses)
        self.loss_weights = {name: utils.check_number(f"loss_weights[{name!r}]",
                                                      loss_weights.get(name, 1.0))
                             for name in self.loss_names}
        # Keras tracks layers inside a dict attribute (RLELoss's flow weights).
        self.loss_modules = dict(losses)

    def __getitem__(self, name: str) -> Any:
        if name not in self.loss_names:
            raise KeyError(f"no loss named {name!r}; have {list(self.loss_names)}")
        return self.loss_modules[name]

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not ordinary attributes: MMPose-style access.
        modules = self.__dict__.get("loss_modules")
        if modules is not None and name in modules:
            return modules[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or loss {name!r}")

    def build(self, *args: Any, **kwargs: Any) -> None:
        self.built = True

    def call(self, inputs: Mapping[str, Any]) -> Dict[str, tf.Tensor]:
        unknown = sorted(set(inputs) - set(self.loss_names))
        if unknown:
            raise ValueError(f"inputs names must be among {list(self.loss_names)}, received "
                             f"{unknown}")
        results = {}
        for name in self.loss_names:
            if name not in inputs:
                continue
            args = inputs[name]
            if isinstance(args, Mapping):
                value = self.loss_modules[name](**args)
            else:
                value = self.loss_modules[name](*args)
            results[name] = value * self.loss_weights[name]
        return results

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "losses": {name: keras.saving.serialize_keras_object(self.loss_modules[name])
                       for name in self.loss_names},
            "loss_weights": dict(self.loss_weights),
        })
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "CombinedLoss":
        config = dict(config)
        config["losses"] = {name: keras.saving.deserialize_keras_object(loss)
                            for name, loss in config["losses"].items()}
        return cls(**config)
