"""Maps MMPose (PyTorch) state dicts onto kpose Keras models, by name and layout.

kpose layers name their sublayers after MMPose's module paths with '.' -> '_' (ResNet's
`layer1_0_conv1` is MMPose's `backbone.layer1.0.conv1`), and an estimator's `backbone`,
`neck` and `head` attributes are MMPose's top-level modules. So every Keras variable gets
one torch name: the component, the path of layer names from the component down (nested
layers joined like flat ones; a head's loss layer is `loss_module` whatever its Keras name),
and the torch parameter name its layer kind implies. Names are compared after turning '.'
and '/' into '_'.

Layer kinds and layouts (torch -> Keras):

| Keras layer | torch parameters | layout |
| --- | --- | --- |
| Conv2D (grouped too) | weight, bias | (O, I/g, kh, kw) -> (kh, kw, I/g, O) |
| Conv2DTranspose | weight | (I, O, kh, kw) -> (kh, kw, O, I) |
| DepthwiseConv2D | weight, bias | (C*m, 1, kh, kw) -> (kh, kw, C, m) |
| Conv1D | weight, bias | (O, I, k) -> (k, I, O) |
| Dense | weight, bias | (O, I) -> (I, O) |
| BatchNormalization | weight, bias, running_mean, running_var | gamma, beta, moving stats |
| LayerNormalization | weight, bias | gamma, beta |
| Embedding | weight | as is |
| any other layer | its own variables by their names | as is (`pos_embed`, `g`, `scale`) |

A layer whose torch parameters differ (other names, a layout change, torch-only buffers)
declares them with a `torch_weight_map()` method returning `{torch name relative to the
layer: (keras variable, transform or None) or None}`; a None entry marks a torch entry that
is no weight (skipped). The map may claim variables of sublayers; those are then not mapped
again. `num_batches_tracked` and `data_preprocessor.*` entries are always skipped.
"""

import logging
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import keras
import numpy as np

from kpose.converters.torch_checkpoint import inert_global_names, load_torch_checkpoint
from kpose.datasets import metainfo as metainfo_lib

logger = logging.getLogger(__name__)

COMPONENTS = ("backbone", "neck", "head")
# State-dict entries that are no weights of a kpose model.
SKIPPED_SUFFIXES = ("num_batches_tracked",)
SKIPPED_PREFIXES = ("data_preprocessor.",)
MAX_LISTED = 40  # names listed in one error message
# Sublayers held under these attributes take the attribute's name, not their Keras name:
# a head's loss is MMPose's `loss_module` (RLE's flow weights are
# `head.loss_module.flow_model.*`), while gin builds it under a name from its class.
ATTRIBUTE_NAMES = ("loss_module",)

Transform = Optional[Callable[[np.ndarray], np.ndarray]]
Entry = Optional[Tuple[Any, Transform]]


def _conv_kernel(value: np.ndarray) -> np.ndarray:
    return value.transpose(2, 3, 1, 0)  # (O, I, kh, kw) -> (kh, kw, I, O)


def _conv_transpose_kernel(value: np.ndarray) -> np.ndarray:
    return value.transpose(2, 3, 1, 0)  # (I, O, kh, kw) -> (kh, kw, O, I)


def _conv1d_kernel(value: np.ndarray) -> np.ndarray:
    return value.transpose(2, 1, 0)  # (O, I, k) -> (k, I, O)


def _dense_kernel(value: np.ndarray) -> np.ndarray:
    return value.T


def _depthwise_rule(layer) -> Dict[str, Entry]:
    multiplier = layer.depth_multiplier

    def depthwise(value: np.ndarray) -> np.ndarray:
        # torch's output channel c*m + j is input channel c's j-th filter.
        kh, kw = value.shape[2:]
        return value.transpose(2, 3, 0, 1).reshape(kh, kw, -1, multiplier)

    return {"weight": (layer.kernel, depthwise), **_bias(layer)}


# Rules list only the parameters a layer has (a bias-free conv has no "bias" entry, so a
# torch bias for it stays unmapped and is reported); None values are for hooks only.
def _bias(layer) -> Dict[str, Entry]:
    return {"bias": (layer.bias, None)} if getattr(layer, "use_bias", False) else {}


def _affine(layer) -> Dict[str, Entry]:
    entries = {}
    if layer.scale:
        entries["weight"] = (layer.gamma, None)
    if layer.center:
        entries["bias"] = (layer.beta, None)
    return entries


def _kernel_rule(transform: Callable) -> Callable:
    return lambda layer: {"weight": (layer.kernel, transform), **_bias(layer)}


def _batch_norm_rule(layer) -> Dict[str, Entry]:
    return {**_affine(layer), "running_mean": (layer.moving_mean, None),
            "running_var": (layer.moving_variance, None)}


def _layer_norm_rule(layer) -> Dict[str, Entry]:
    return _affine(layer)


# Keras layer class -> rule; a layer uses the rule of the first class in its MRO found here.
LAYER_RULES: Dict[type, Callable[[Any], Dict[str, Entry]]] = {
    keras.layers.Conv2DTranspose: _kernel_rule(_conv_transpose_kernel),
    keras.layers.DepthwiseConv2D: _depthwise_rule,
    keras.layers.Conv2D: _kernel_rule(_conv_kernel),
    keras.layers.Conv1D: _kernel_rule(_conv1d_kernel),
    keras.layers.Dense: _kernel_rule(_dense_kernel),
    keras.layers.BatchNormalization: _batch_norm_rule,
    keras.layers.LayerNormalization: _layer_norm_rule,
    keras.layers.Embedding: lambda layer: {"weight": (layer.embeddings, None)},
}


def normalise_name(name: str) -> str:
    """The form names are compared in: '.' and '/' become '_'."""
    return name.replace("/", "_").replace(".", "_")


class _Target:
    """One Keras variable and the torch entry that fills it."""

    __slots__ = ("variable", "transform", "torch_name", "layer")

    def __init__(self, variable, transform: Transform, torch_name: str, layer):
        self.variable = variable
        self.transform = transform
        self.torch_name = torch_name
        self.layer = layer


# Keras 3 keeps a layer's own variables (not its sublayers') and its direct sublayers in
# private attributes only; the walk needs exactly those.
# pylint: disable=protected-access
def _own_variables(layer, weight_ids: set) -> List[Any]:
    own = list(layer._trainable_variables) + list(layer._non_trainable_variables)
    return [v for v in own if id(v) in weight_ids]


def _sublayers(layer) -> List[Any]:
    return list(layer._flatten_layers(include_self=False, recursive=False))
# pylint: enable=protected-access


def _named_sublayers(layer) -> List[Tuple[Any, str]]:
    """(sublayer, its torch module name) of a layer's direct sublayers."""
    by_attribute = {}
    for attribute in ATTRIBUTE_NAMES:
        child = getattr(layer, attribute, None)
        if isinstance(child, keras.layers.Layer):
            by_attribute[id(child)] = attribute
    return [(child, by_attribute.get(id(child), child.name)) for child in _sublayers(layer)]


def _layer_entries(layer, own: Sequence[Any]) -> Dict[str, Entry]:
    hook = getattr(layer, "torch_weight_map", None)
    if callable(hook):
        return dict(hook())
    for cls in type(layer).__mro__:
        if cls in LAYER_RULES:
            return LAYER_RULES[cls](layer)
    return {v.name: (v, None) for v in own}


def torch_weight_targets(model: keras.Model,
                         components: Sequence[str] = COMPONENTS
                         ) -> Tuple[Dict[str, _Target], List[str]]:
    """The torch name of every weight of a built estimator.

    Args:
        model: a built estimator with `backbone` / `neck` / `head` attributes.
        components: attribute names, each MMPose's top-level module of the same name.

    Returns:
        ({normalised torch name: target}, [normalised torch names declared as non-weights]).

    Raises:
        ValueError: two variables get one torch name, or a weight of the model belongs to
            none of the components.
    """
    if not model.built:
        raise ValueError(f"build the model before converting weights, received an unbuilt "
                         f"{type(model).__name__}")
    weight_ids = {id(v) for v in model.weights}
    targets: Dict[str, _Target] = {}
    skipped: List[str] = []
    claimed: set = set()
    clashes: List[str] = []

    def walk(layer, path: str):
        own = _own_variables(layer, weight_ids)
        for suffix, entry in _layer_entries(layer, own).items():
            torch_name = f"{path}.{suffix}"
            if entry is None:
                skipped.append(normalise_name(torch_name))
                continue
            variable, transform = entry
            if id(variable) in claimed:
                continue  # claimed by an ancestor's torch_weight_map
            key = normalise_name(torch_name)
            if key in targets:
                clashes.append(f"{torch_name} ({targets[key].variable.path} and "
                               f"{variable.path})")
                continue
            claimed.add(id(variable))
            targets[key] = _Target(variable, transform, torch_name, layer)
        for child, name in _named_sublayers(layer):
            walk(child, f"{path}.{name}")

    for component in components:
        layer = getattr(model, component, None)
        if layer is not None:
            walk(layer, component)
    if clashes:
        raise ValueError(f"Keras variables share a torch name: {clashes}")
    orphans = [v.path for v in model.weights if id(v) not in claimed]
    if orphans:
        raise ValueError(f"weights outside {list(components)} or of layers no rule maps: "
                         f"{_listed(orphans)}")
    return targets, skipped


def _listed(names: Sequence[str]) -> str:
    names = list(names)
    shown = ", ".join(names[:MAX_LISTED])
    more = f" ... and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    return f"[{shown}{more}] ({len(names)} in all)"


def _batch_norm_epsilons(targets: Mapping[str, _Target], torch_keys: Mapping[str, str],
                         epsilon: float) -> List[str]:
    wrong = {}
    for norm, target in targets.items():
        layer = target.layer
        if isinstance(layer, keras.layers.BatchNormalization) \
                and not np.isclose(layer.epsilon, epsilon, rtol=1e-6, atol=0):
            wrong[torch_keys[norm].rsplit(".", 1)[0]] = layer.epsilon
    return [f"{name} (epsilon {eps})" for name, eps in wrong.items()]


def load_state_dict(model: keras.Model, state_dict: Mapping[str, np.ndarray], *,
                    bn_epsilon: Optional[float] = 1e-5,
                    components: Sequence[str] = COMPONENTS) -> Dict[str, str]:
    """Copies an MMPose state dict into a built kpose estimator, all or nothing.

    Args:
        model: built estimator (`backbone` / `neck` / `head` attributes).
        state_dict: MMPose's `model.state_dict()` as numpy arrays (keys such as
            `backbone.layer1.0.conv1.weight`).
        bn_epsilon: the epsilon of MMPose's BatchNorm layers (PyTorch's 1e-5 unless the
            MMPose config sets `norm_cfg.eps`); every Keras BatchNormalization must use
            it. None skips the check.
        components: see `torch_weight_targets`.

    Returns:
        {Keras variable path: torch name} of every variable assigned.

    Raises:
        ValueError: entries left unmapped on either side (all listed), shapes that differ
            after the layout change (both names and shapes listed), or BatchNorm layers
            with another epsilon. Nothing is assigned then.
    """
    targets, skipped = torch_weight_targets(model, components)
    skipped = set(skipped)
    torch_keys: Dict[str, str] = {}
    duplicates = []
    for key in state_dict:
        if key.endswith(SKIPPED_SUFFIXES) or key.startswith(SKIPPED_PREFIXES):
            continue
        norm = normalise_name(key)
        if norm in skipped:
            continue
        if norm in torch_keys:
            duplicates.append(f"{torch_keys[norm]} / {key}")
        torch_keys[norm] = key
    if duplicates:
        raise ValueError(f"state dict keys that differ only in '.' vs '_': {duplicates}")
    unmapped_torch = [k for n, k in torch_keys.items() if n not in targets]
    unmapped_keras = [f"{t.variable.path} (expects {n})"
                      for n, t in targets.items() if n not in torch_keys]
    problems = []
    if unmapped_torch:
        problems.append(f"checkpoint entries with no Keras variable: {_listed(unmapped_torch)}")
    if unmapped_keras:
        problems.append(f"Keras variables with no checkpoint entry: {_listed(unmapped_keras)}")
    if problems:
        raise ValueError("state dict does not match the model (names compared with '.' and "
                         "'/' as '_'); " + "; ".join(problems))

    values = {}
    mismatched = []
    for norm, target in targets.items():
        key = torch_keys[norm]
        raw = state_dict[key]
        if not isinstance(raw, np.ndarray):
            mismatched.append(f"{key} is a {type(raw).__name__}, not an array")
            continue
        expected = tuple(target.variable.shape)
        try:
            value = target.transform(raw) if target.transform is not None else raw
        except ValueError:
            value = None
        if value is None or tuple(value.shape) != expected:
            mismatched.append(f"{key} {tuple(raw.shape)} -> {target.variable.path} "
                              f"{expected}")
            continue
        values[norm] = value
    if mismatched:
        raise ValueError(f"shape mismatch between checkpoint and model (torch name "
                         f"(torch shape) -> Keras variable (Keras shape)): "
                         f"{_listed(mismatched)}")
    if bn_epsilon is not None:
        wrong = _batch_norm_epsilons(targets, torch_keys, bn_epsilon)
        if wrong:
            raise ValueError(f"BatchNormalization layers whose epsilon is not the "
                             f"checkpoint's {bn_epsilon}: {_listed(wrong)}")
    assigned = {}
    for norm, target in targets.items():
        target.variable.assign(values[norm].astype(target.variable.dtype))
        assigned[target.variable.path] = torch_keys[norm]
    return assigned


def mmpose_state_dict(checkpoint: Any, key: str = "state_dict") -> Dict[str, np.ndarray]:
    """The state dict of a loaded checkpoint.

    MMPose / mmengine checkpoints hold `{'meta': ..., 'state_dict': ...}`. With mmengine's
    EMAHook (RTMPose), `state_dict` already holds the averaged weights and
    `ema_state_dict` the raw ones (prefixed `module.`), so the default key is right for
    both. A bare state dict (`torch.save(model.state_dict())`) is returned as is. A
    `module.` prefix on every key (DataParallel) is dropped.

    Raises:
        ValueError: no such key, or non-array values (e.g. placeholders of refused
            globals) in the state dict.
    """
    if isinstance(checkpoint, Mapping) and key in checkpoint:
        state = checkpoint[key]
    elif isinstance(checkpoint, Mapping) and checkpoint and all(
            isinstance(v, np.ndarray) for v in checkpoint.values()):
        state = checkpoint
    else:
        found = sorted(checkpoint) if isinstance(checkpoint, Mapping) else type(checkpoint)
        raise ValueError(f"checkpoint has no {key!r} entry, received keys {found}")
    if not isinstance(state, Mapping):
        raise ValueError(f"checkpoint[{key!r}] is not a dict, received {type(state).__name__}")
    inert = inert_global_names(state)
    bad = [k for k, v in state.items() if not isinstance(v, np.ndarray)]
    if inert or bad:
        raise ValueError(f"checkpoint[{key!r}] holds non-tensor values at {_listed(bad)}"
                         + (f" built by refused globals {inert}" if inert else ""))
    state = dict(state)
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def _id2name(dataset_meta: Mapping[str, Any]) -> Optional[List[str]]:
    names = dataset_meta.get("keypoint_id2name")
    if isinstance(names, Mapping):
        return [str(names[i]) for i in sorted(names)]
    return None


def check_dataset_meta(checkpoint_meta: Optional[Mapping[str, Any]], metainfo) -> List[str]:
    """Compares a checkpoint's `meta['dataset_meta']` with the config's dataset meta.

    Args:
        checkpoint_meta: the checkpoint's `meta` dict (None or without `dataset_meta`:
            nothing to check).
        metainfo: the gin config's `DatasetMeta` (or a name / path `metainfo.load` takes).

    Returns:
        The fields compared (empty when the checkpoint has no dataset meta).

    Raises:
        ValueError: the number of keypoints, keypoint names or flip indices differ; the
            message gives both sides.
    """
    if not isinstance(checkpoint_meta, Mapping) or not isinstance(
            checkpoint_meta.get("dataset_meta"), Mapping):
        return []
    ckpt = checkpoint_meta["dataset_meta"]
    inert = inert_global_names(ckpt)
    if inert:
        raise ValueError(f"the checkpoint's dataset_meta holds refused globals {inert}")
    meta = metainfo_lib.load(metainfo)
    ckpt_name = ckpt.get("dataset_name", "?")
    compared, diffs = [], []
    ckpt_fields = {
        "num_keypoints": ckpt.get("num_keypoints"),
        "keypoint_names": _id2name(ckpt),
        "flip_indices": ckpt.get("flip_indices"),
    }
    ours = {"num_keypoints": meta.num_keypoints,
            "keypoint_names": list(meta.keypoint_names),
            "flip_indices": list(meta.flip_indices)}
    for field, theirs in ckpt_fields.items():
        if theirs is None:
            continue
        if isinstance(theirs, np.ndarray):
            theirs = theirs.tolist()
        if field != "num_keypoints":
            theirs = [str(v) if field == "keypoint_names" else int(v) for v in theirs]
        else:
            theirs = int(theirs)
        compared.append(field)
        if theirs != ours[field]:
            diffs.append(f"{field}: checkpoint ({ckpt_name}) {theirs} vs config "
                         f"({meta.name}, {meta.source}) {ours[field]}")
    if diffs:
        raise ValueError("the checkpoint's dataset meta does not match the config's "
                         "metainfo: " + "; ".join(diffs))
    return compared


def load_mmpose_checkpoint(model: keras.Model, path: str, *, metainfo=None,
                           state_dict_key: str = "state_dict",
                           bn_epsilon: Optional[float] = 1e-5,
                           allow_inert_globals: bool = False) -> Dict[str, str]:
    """Loads an MMPose `.pth` checkpoint into a built kpose estimator.

    Args:
        model: built estimator whose architecture matches the checkpoint's.
        path: the `.pth` file (read without torch; pickled code never runs).
        metainfo: the config's dataset meta, checked against the checkpoint's
            `meta['dataset_meta']` when both exist; None skips the check.
        state_dict_key: which entry holds the weights.
        bn_epsilon: see `load_state_dict`.
        allow_inert_globals: see `load_torch_checkpoint` (for training checkpoints with
            optimizer / message_hub state).

    Returns:
        {Keras variable path: torch name} of every variable assigned.
    """
    checkpoint = load_torch_checkpoint(path, allow_inert_globals=allow_inert_globals)
    if metainfo is not None and isinstance(checkpoint, Mapping):
        compared = check_dataset_meta(checkpoint.get("meta"), metainfo)
        if compared:
            logger.info("dataset meta matches the checkpoint's (%s)", ", ".join(compared))
        else:
            logger.warning("%s has no meta['dataset_meta']; keypoint order not checked", path)
    state = mmpose_state_dict(checkpoint, state_dict_key)
    return load_state_dict(model, state, bn_epsilon=bn_epsilon)
