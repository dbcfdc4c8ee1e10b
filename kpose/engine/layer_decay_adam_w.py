"""AdamW with layer-wise learning-rate decay (ViTPose's LayerDecayOptimWrapperConstructor)."""

from typing import Callable, Mapping, Optional

import gin
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kpose")
@gin.register
class LayerDecayAdamW(keras.optimizers.AdamW):
    """AdamW whose rate (and decoupled weight decay) shrinks layer by layer towards the input.

    Each variable's rate is `learning_rate * layer_decay_rate ** (num_layers + 1 - layer_id)`,
    with `layer_id = layer_id_fn(variable.path)` (or `layer_ids[variable.path]`) in
    `[0, num_layers + 1]`: 0 for the patch and
    position embeddings, `i + 1` for transformer block `i`, `num_layers + 1` for the rest
    (final norm, neck, head), as MMPose's `LayerDecayOptimWrapperConstructor` with its
    `num_layers` (the constructor's own count is `num_layers + 2`). The decay step uses the
    same scaled rate, as PyTorch's AdamW does per parameter group (`p *= 1 - lr_group * wd`).
    Which variables decay at all is set as for AdamW, by `exclude_from_weight_decay` (see
    `kpose.engine.weight_decay.configure_weight_decay`; MMPose's rule for ViTPose is
    `flat_decay=False, bias_decay=False, no_decay_keys=['pos_embed']`). Gradient clipping by
    global norm (MMPose's `clip_grad=dict(max_norm=1.0)`) is Keras' `global_clipnorm`.

    Differences from PyTorch's AdamW: Keras adds `epsilon` to `sqrt(v)` before the bias
    correction of `v`, i.e. PyTorch's epsilon times `sqrt(1 - beta_2 ** t)`, negligible
    unless gradients are near epsilon.

    Args:
        learning_rate: float or schedule; the rate of the last layer group.
        weight_decay: decoupled weight decay (ViTPose-B: 0.1).
        layer_decay_rate: per-layer factor (ViTPose-S/B 0.75, L 0.8, H 0.85).
        num_layers: number of transformer blocks (ViT-B: 12).
        layer_id_fn: callable mapping a variable path to its layer id. Must be a registered
            Keras object for the optimizer's config to deserialise.
        layer_ids: `{variable path: layer id}` instead of `layer_id_fn`, e.g. set by
            `configure_layer_decay` from a ViT backbone. One of the two is needed by the
            time the optimizer is built.
        beta_1, beta_2, epsilon, amsgrad, clipnorm, clipvalue, global_clipnorm, name,
            **kwargs: as `keras.optimizers.AdamW`.
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay: float = 0.004,
        layer_decay_rate: float = 0.75,
        num_layers: int = 12,
        layer_id_fn: Optional[Callable[[str], int]] = None,
        layer_ids: Optional[Mapping[str, int]] = None,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm: Optional[float] = None,
        clipvalue: Optional[float] = None,
        global_clipnorm: Optional[float] = None,
        name: Optional[str] = None,
        **kwargs,
    ):
        if not 0 < layer_decay_rate <= 1:
            raise ValueError(f"layer_decay_rate must be in (0, 1], received {layer_decay_rate}")
        if num_layers < 0:
            raise ValueError(f"num_layers must be >= 0, received {num_layers}")
        if layer_id_fn is not None and not callable(layer_id_fn):
            raise ValueError(f"layer_id_fn must be a callable path -> layer id, received "
                             f"{layer_id_fn!r}")
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, beta_1=beta_1,
                         beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, name=name,
                         **kwargs)
        self.layer_decay_rate = float(layer_decay_rate)
        self.num_layers = int(num_layers)
        self.layer_id_fn = layer_id_fn
        self.layer_ids = dict(layer_ids) if layer_ids is not None else None
        self.lr_scales = []

    def _layer_id(self, path: str) -> int:
        if self.layer_ids is not None:
            if path not in self.layer_ids:
                raise ValueError(f"layer_ids has no entry for {path}, received ids for "
                                 f"{len(self.layer_ids)} other paths")
            return int(self.layer_ids[path])
        return self.layer_id_fn(path)

    def build(self, var_list):
        if self.built:
            return
        if self.layer_id_fn is None and self.layer_ids is None:
            raise ValueError("LayerDecayAdamW needs layer_id_fn or layer_ids before it is built "
                             "(see configure_layer_decay), received neither")
        scales = []
        for variable in var_list:
            layer_id = self._layer_id(variable.path)
            if not 0 <= layer_id <= self.num_layers + 1:
                raise ValueError(f"layer_id_fn gave {layer_id!r} for {variable.path}; layer ids "
                                 f"must be in [0, num_layers + 1 = {self.num_layers + 1}]")
            scales.append(self.layer_decay_rate ** (self.num_layers + 1 - layer_id))
        super().build(var_list)
        self.lr_scales = scales  # indexed like the optimizer's variable list

    def _apply_weight_decay(self, variables):
        pass  # applied in update_step, with each variable's scaled rate

    def update_step(self, gradient, variable, learning_rate):
        scale = self.lr_scales[self._get_variable_index(variable)]
        lr = ops.cast(learning_rate, variable.dtype) * scale
        if self.weight_decay is not None and self._use_weight_decay(variable):
            wd = ops.cast(self.weight_decay, variable.dtype)
            self.assign_sub(variable, variable * (wd * lr))
        super().update_step(gradient, variable, lr)

    def get_config(self):
        config = super().get_config()
        config.update({
            "layer_decay_rate": self.layer_decay_rate,
            "num_layers": self.num_layers,
            "layer_id_fn": keras.saving.serialize_keras_object(self.layer_id_fn),
            "layer_ids": self.layer_ids,
        })
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("layer_id_fn"), (dict, str)):
            config["layer_id_fn"] = keras.saving.deserialize_keras_object(
                config["layer_id_fn"], custom_objects=custom_objects)
        return super().from_config(config, custom_objects=custom_objects)


@gin.register
def configure_layer_decay(optimizer, model) -> dict:
    """Gives a `LayerDecayAdamW` the layer ids of `model.backbone` (e.g. a VisionTransformer).

    For the trainer's `optimizer_setup` (ViTPose: `train.optimizer_setup =
    [@configure_weight_decay, @configure_layer_decay]`): every trainable variable of the model
    gets `model.backbone.layer_id(variable)`; the backbone's `num_layers` must equal the
    optimizer's.

    Returns:
        `{variable path: layer id}` as set on the optimizer.
    """
    if not isinstance(optimizer, LayerDecayAdamW):
        raise ValueError(f"optimizer must be a LayerDecayAdamW, received {optimizer!r}")
    if optimizer.built:
        raise ValueError("configure_layer_decay must run before the optimizer is built, "
                         "received a built optimizer")
    backbone = getattr(model, "backbone", None)
    if not hasattr(backbone, "layer_id"):
        raise ValueError(f"the model's backbone has no layer_id(variable), received "
                         f"{type(backbone).__name__}")
    num_layers = getattr(backbone, "num_layers", optimizer.num_layers)
    if num_layers != optimizer.num_layers:
        raise ValueError(f"the backbone has {num_layers} layers but LayerDecayAdamW.num_layers "
                         f"is {optimizer.num_layers}; received mismatched counts")
    ids = {v.path: int(backbone.layer_id(v)) for v in model.trainable_variables}
    if len(ids) != len(model.trainable_variables):
        raise ValueError("variable paths are not unique in the model, received "
                         f"{len(model.trainable_variables)} variables with {len(ids)} paths")
    optimizer.layer_ids = ids
    return ids
