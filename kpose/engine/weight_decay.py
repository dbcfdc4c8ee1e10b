"""Which variables get weight decay: MMPose's `paramwise_cfg` rules for Keras AdamW."""

import logging
from typing import List, Sequence

import gin
import keras

logger = logging.getLogger(__name__)

# mmengine counts BatchNorm, InstanceNorm, GroupNorm and LayerNorm as norm layers (not
# MMPose's ScaleNorm, whose scale keeps its decay there).
NORM_LAYERS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization,
               keras.layers.GroupNormalization)


def _owned_trainable(layer) -> list:
    """The trainable variables a layer creates itself, not those of its sublayers."""
    nested = {id(v) for sub in layer._flatten_layers(include_self=False, recursive=True)
              for v in sub.trainable_variables}
    return [v for v in layer.trainable_variables if id(v) not in nested]


def no_decay_variables(model, norm_decay: bool = True, bias_decay: bool = True,
                       flat_decay: bool = True, no_decay_keys: Sequence[str] = (),
                       norm_layers=NORM_LAYERS) -> List:
    """The trainable variables of `model` that the rules exempt from weight decay.

    Args:
        model: a built Keras model.
        norm_decay: False exempts the variables of norm layers (mmengine's
            `norm_decay_mult=0`).
        bias_decay: False exempts variables named `bias` (`bias_decay_mult=0`), and norm
            layers' `beta` when `norm_decay` is True (mmengine's order of rules).
        flat_decay: False exempts every 1-D variable (`flat_decay_mult=0`; also the rule of
            MMPose's `LayerDecayOptimWrapperConstructor`).
        no_decay_keys: substrings of variable paths to exempt (`custom_keys` with
            `decay_mult=0`, e.g. `pos_embed`).
        norm_layers: the layer classes counted as norm layers.
    Returns:
        The exempt variables, in the model's order.
    """
    if isinstance(no_decay_keys, str):
        raise ValueError(f"no_decay_keys must be a sequence of strings, received {no_decay_keys!r}")
    exempt = {}
    if not norm_decay or not bias_decay:
        for layer in model._flatten_layers(include_self=True, recursive=True):
            is_norm = isinstance(layer, tuple(norm_layers))
            for v in _owned_trainable(layer):
                # As mmengine: with no norm rule, a norm layer's bias (Keras' beta) falls
                # under the bias rule.
                is_bias = v.name == "bias" or (is_norm and v.name == "beta")
                if (is_norm and not norm_decay) or (not bias_decay and is_bias):
                    exempt[id(v)] = v
    for v in model.trainable_variables:
        if (not flat_decay and len(v.shape) == 1) or any(k in v.path for k in no_decay_keys):
            exempt[id(v)] = v
    return [v for v in model.trainable_variables if id(v) in exempt]


@gin.register
def configure_weight_decay(optimizer, model, norm_decay: bool = True, bias_decay: bool = True,
                           flat_decay: bool = True, no_decay_keys: Sequence[str] = ()) -> List:
    """Exempts variables of `model` from `optimizer`'s weight decay, as MMPose's paramwise_cfg.

    The trainer calls it (`train.optimizer_setup = @configure_weight_decay`) once the model
    is built and before the optimizer is. RTMPose: `norm_decay = False`, `bias_decay = False`;
    ViTPose (its layer-decay constructor's rule): `flat_decay = False`, `bias_decay = False`,
    `no_decay_keys = ['pos_embed']`. See `no_decay_variables` for the arguments.

    Returns:
        The exempt variables.
    """
    if not hasattr(optimizer, "exclude_from_weight_decay"):
        raise ValueError(f"optimizer must be a Keras optimizer, received {optimizer!r}")
    if not optimizer.weight_decay:
        logger.warning("%s has no weight decay; the exemptions change nothing",
                       type(optimizer).__name__)
    exempt = no_decay_variables(model, norm_decay, bias_decay, flat_decay, no_decay_keys)
    optimizer.exclude_from_weight_decay(var_list=exempt)
    logger.info("weight decay: %d of %d trainable variables exempt", len(exempt),
                len(model.trainable_variables))
    return exempt
