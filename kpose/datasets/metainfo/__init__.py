"""Dataset meta information: built-in datasets and custom metainfo files.

``load("coco")`` returns a built-in :class:`DatasetMeta`; ``load("my_info.json")`` or
``load("configs/_base_/datasets/crowdpose.py")`` reads a custom file. See docs/datasets.md
for both file formats.
"""

from __future__ import annotations

import ast
import functools
import json
import os
from typing import Any

import gin

from kpose.datasets.metainfo import coco
from kpose.datasets.metainfo.dataset_meta import DatasetMeta

__all__ = ["DatasetMeta", "BUILTIN_NAMES", "load"]

_BUILTIN = {"coco": coco.DATASET_INFO}
BUILTIN_NAMES: tuple[str, ...] = tuple(sorted(_BUILTIN))

# Bounds on `[x] * n` in .py files, so a hostile file cannot exhaust memory.
_MAX_REPEAT = 100_000


@gin.register
def load(name_or_path: "str | os.PathLike[str] | DatasetMeta") -> DatasetMeta:
    """Returns the meta information named by a built-in name or a file path.

    Args:
        name_or_path: a built-in name (see ``BUILTIN_NAMES``), a path to a ``.json`` file
            holding MMPose's ``dataset_info`` structure, a path to an MMPose
            ``dataset_info`` ``.py`` file (read with ``ast``, never executed), or a
            ``DatasetMeta`` (returned unchanged).

    Raises:
        ValueError: unknown name, unsupported suffix, or an inconsistent file (the message
            names the file and the field).
        FileNotFoundError: a path that does not exist.
    """
    if isinstance(name_or_path, DatasetMeta):
        return name_or_path
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ValueError(f"metainfo must be a built-in name, a file path or a DatasetMeta, got {name_or_path!r}")
    text = os.fspath(name_or_path)
    if text in _BUILTIN:
        return _builtin(text)
    suffix = os.path.splitext(text)[1].lower()
    if suffix not in (".json", ".py"):
        raise ValueError(f"metainfo {text!r} is neither a built-in dataset name {list(BUILTIN_NAMES)} "
                         "nor a path to a .json or .py metainfo file")
    path = os.path.abspath(os.path.expanduser(text))
    if not os.path.isfile(path):
        raise FileNotFoundError(f"metainfo file {path} does not exist")
    info = _read_json(path) if suffix == ".json" else _read_py(path)
    return DatasetMeta.from_dataset_info(info, source=path)


@functools.lru_cache(maxsize=None)
def _builtin(name: str) -> DatasetMeta:
    return DatasetMeta.from_dataset_info(_BUILTIN[name], source=f"kpose.datasets.metainfo.{name}")


def _read_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            info = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from err
    # Accept both the bare structure and {"dataset_info": {...}}, like the .py files.
    if isinstance(info, dict) and "dataset_info" in info and "keypoint_info" not in info:
        info = info["dataset_info"]
    return info


def _read_py(path: str) -> Any:
    """Evaluates ``dataset_info = dict(...)`` in an MMPose .py file without running it.

    Only literals are evaluated: ``dict(...)`` calls, dict/list/tuple displays, numbers,
    strings, unary minus, ``list + list``, ``list * int`` and names bound by earlier
    top-level assignments of such literals (MMPose's deepfashion2.py uses a ``colors``
    table), subscripted by constants.
    """
    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as err:
        raise ValueError(f"{path}: not valid Python ({err})") from err
    names: dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target = stmt.targets[0].id
            try:
                names[target] = _literal(stmt.value, names, path)
            except ValueError:
                if target == "dataset_info":
                    raise
                # Other assignments (e.g. _base_ lists of a training config) are not needed.
                continue
    if "dataset_info" not in names:
        raise ValueError(f"{path}: no top-level assignment 'dataset_info = dict(...)' found")
    return names["dataset_info"]


def _literal(node: ast.AST, names: dict[str, Any], path: str) -> Any:
    def fail(what: str) -> ValueError:
        return ValueError(f"{path}:{getattr(node, 'lineno', '?')}: field 'dataset_info' uses {what}, which a "
                          "metainfo .py file may not (only literals, dict(), +, * and earlier literal names)")

    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, ast.List):
        return [_literal(e, names, path) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_literal(e, names, path) for e in node.elts)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise fail("'**' unpacking")
        return {_literal(k, names, path): _literal(v, names, path) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id == "dict") or node.args:
            raise fail("a function call other than dict(key=value, ...)")
        if any(kw.arg is None for kw in node.keywords):
            raise fail("'**' unpacking")
        return {kw.arg: _literal(kw.value, names, path) for kw in node.keywords}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, names, path)
        if not isinstance(value, (int, float)):
            raise fail("a sign on a non-number")
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        left, right = _literal(node.left, names, path), _literal(node.right, names, path)
        if isinstance(node.op, ast.Mult):
            seq, count = (left, right) if isinstance(left, (list, tuple)) else (right, left)
            if isinstance(seq, (list, tuple)) and isinstance(count, int) and 0 <= count * max(len(seq), 1) <= _MAX_REPEAT:
                return seq * count
            if all(isinstance(v, (int, float)) for v in (left, right)):
                return left * right
            raise fail("'*' other than list * small int or number * number")
        if type(left) is type(right) and isinstance(left, (list, tuple, str, int, float)):
            return left + right
        if all(isinstance(v, (int, float)) for v in (left, right)):
            return left + right
        raise fail("'+' of mismatched types")
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise fail(f"the name {node.id!r}, not bound by an earlier literal assignment")
        return names[node.id]
    if isinstance(node, ast.Subscript):
        container = _literal(node.value, names, path)
        key = _literal(node.slice, names, path)
        try:
            return container[key]
        except (KeyError, IndexError, TypeError) as err:
            raise fail(f"a subscript that fails ({err!r})") from None
    raise fail(type(node).__name__)
