"""Gin parsing shared by the tools: search paths, strict bindings, logging."""

import importlib
import logging
import os
from pathlib import Path
from typing import Iterable, Sequence

import gin

logger = logging.getLogger(__name__)

# Modules whose import registers configurables with gin.
_REGISTERING_MODULES = (
    "kpose.codecs",
    "kpose.datasets",
    "kpose.datasets.transforms",
    "kpose.datasets.pipeline",
    "kpose.models",
    "kpose.evaluation",
    "kpose.engine.train",
    "kpose.engine.evaluate",
    "kpose.engine.gin_externals",
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


def parse_config(gin_files: Sequence[str], gin_params: Sequence[str] = ()) -> None:
    """Parses gin files and bindings; unknown configurables and parameters are errors.

    `include` statements resolve against the current directory and the `gin_configs/`
    folder that holds each file (and kpose's own `gin_configs/`), so experiment files can
    write `include 'models/td-hm_resnet.gin'`.
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


def write_operative_config(work_dir: str) -> str:
    """Writes the operative config (the bindings actually used) into `work_dir`."""
    path = os.path.join(work_dir, "operative_config.gin")
    with open(path, "w") as f:
        f.write(gin.operative_config_str())
    return path
