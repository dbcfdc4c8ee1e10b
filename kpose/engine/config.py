"""Gin parsing shared by the tools: search paths, strict bindings, logging."""

import importlib
import inspect
import logging
import os
from pathlib import Path
from typing import Any, Iterable, List, Sequence

import gin

logger = logging.getLogger(__name__)

# Modules whose import registers configurables with gin.
_REGISTERING_MODULES = (
    "kpose.codecs",
    "kpose.datasets",
    "kpose.datasets.transforms",
    "kpose.datasets.pipeline",
    "kpose.datasets.bottomup_pipeline",
    "kpose.models",
    "kpose.evaluation",
    "kpose.engine.train",
    "kpose.engine.evaluate",
    "kpose.engine.gin_externals",
    "kpose.engine.epoch_exponential_decay",
)

REPO_GIN_DIR = Path(__file__).resolve().parents[2] / "gin_configs"


def register_configurables() -> None:
    """Imports every kpose module that registers gin configurables."""
    for name in _REGISTERING_MODULES:
        importlib.import_module(name)


def _search_paths(gin_files: Iterable[str]) -> list:
    paths = []
    for f in gin_files:
        for parent in Path(f).resolve().parents:
            if parent.name == "gin_configs":
                paths.append(str(parent))
                break
    if REPO_GIN_DIR.is_dir():
        paths.append(str(REPO_GIN_DIR))
    paths.append(os.getcwd())
    return list(dict.fromkeys(paths))


def _put_search_paths_first(paths: Sequence[str]) -> None:
    """Makes gin look in `paths` before its default '' prefix.

    gin offers only `add_config_file_search_path`, which appends. With '' first, a relative
    include such as 'models/x.gin' that is not under the current directory is handed to
    gin's Python-package resolver, which crashes (TypeError) when a namespace package named
    `models` is importable, e.g. `tests/models` under pytest. Absolute prefixes found first
    never reach it.
    """
    prefixes = gin.config._LOCATION_PREFIXES  # pylint: disable=protected-access
    for path in reversed(paths):
        if path in prefixes:
            prefixes.remove(path)
        prefixes.insert(0, path)


def parse_config(gin_files: Sequence[str], gin_params: Sequence[str] = (),
                 check: bool = True) -> None:
    """Parses gin files and bindings; unknown configurables and parameters are errors.

    `include` statements resolve against the current directory and the `gin_configs/`
    folder that holds each file (and kpose's own `gin_configs/`), so experiment files can
    write `include 'models/td-hm_resnet.gin'`.

    With `check`, `check_bindings` then rejects what gin itself lets through: parameters
    that a Keras layer's `**kwargs` would swallow until build time, and macros that are
    used but never bound (a file's REQUIRED macros). Pass False to bind macros later.
    """
    for f in gin_files:
        if not os.path.isfile(f):
            raise FileNotFoundError(f"gin file not found: {f}")
    register_configurables()
    _put_search_paths_first(_search_paths(gin_files))
    gin.parse_config_files_and_bindings(
        [os.path.abspath(f) for f in gin_files], list(gin_params), skip_unknown=False, finalize_config=False
    )
    logger.info("gin config:\n%s", gin.config_str())
    if check:
        check_bindings()


# Arguments every Keras layer / model accepts through **kwargs.
_KERAS_KWARGS = frozenset({"name", "dtype", "trainable", "autocast", "activity_regularizer",
                           "input_shape", "input_dim", "batch_input_shape", "batch_size"})


def _accepted_arguments(cls: type) -> Any:
    """Keyword names a class's constructor really takes, following **kwargs up the MRO to
    keras' Layer; None when they cannot be known (a plain **kwargs sink)."""
    import keras

    names = set()
    for klass in cls.__mro__:
        if klass in (keras.layers.Layer, keras.Model, object):
            return names | _KERAS_KWARGS if klass is not object else None
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        names.update(p.name for p in params
                     if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and p.name != "self")
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return names
    return None


def _macro_references(value: Any) -> List[str]:
    found = []
    if isinstance(value, gin.config.ConfigurableReference):
        if value.selector == "gin.macro":
            found.append(value.scoped_selector.rsplit("/", 1)[0])
    elif isinstance(value, (list, tuple)):
        for item in value:
            found += _macro_references(item)
    elif isinstance(value, dict):
        for item in value.values():
            found += _macro_references(item)
    return found


def check_bindings() -> None:
    """Rejects bindings gin parses but that would fail late or obscurely.

    Raises:
        ValueError: listing every binding to a parameter the configurable does not take
            (with the names it does take) and every macro used but never bound (with the
            bindings that use it).
    """
    config = gin.config._CONFIG  # pylint: disable=protected-access
    unknown, unbound = [], {}
    for (scope, selector), params in config.items():
        if selector == "gin.macro":
            continue
        configurable = gin.config._REGISTRY.get(selector)  # pylint: disable=protected-access
        short = getattr(configurable, "name", selector)
        where = f"{scope}/{short}" if scope else short
        target = getattr(configurable, "wrapped", None)
        if inspect.isclass(target):
            accepted = _accepted_arguments(target)
            if accepted is not None:
                for param in params:
                    if param not in accepted:
                        unknown.append(f"{where}.{param} (takes: "
                                       f"{', '.join(sorted(accepted - _KERAS_KWARGS))})")
        for param, value in params.items():
            for macro in _macro_references(value):
                try:
                    gin.query_parameter(f"%{macro}")
                except ValueError:
                    unbound.setdefault(macro, []).append(f"{where}.{param}")
    problems = []
    if unknown:
        problems.append("unknown parameters: " + "; ".join(unknown))
    if unbound:
        problems.append("macros used but never bound: " + "; ".join(
            f"%{m} (used by {', '.join(users)})" for m, users in sorted(unbound.items())))
    if problems:
        raise ValueError("gin config error: " + " | ".join(problems))


def write_operative_config(work_dir: str) -> str:
    """Writes the operative config (the bindings actually used) into `work_dir`."""
    path = os.path.join(work_dir, "operative_config.gin")
    with open(path, "w") as f:
        f.write(gin.operative_config_str())
    return path
