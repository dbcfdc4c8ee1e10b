"""DatasetMeta: the meta information that describes a keypoint dataset."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import gin
import numpy as np

# Colours MMPose falls back to when a keypoint / link gives none.
_DEFAULT_KEYPOINT_COLOR = (255, 128, 0)
_DEFAULT_LINK_COLOR = (96, 96, 255)
_REQUIRED_FIELDS = ("dataset_name", "keypoint_info", "skeleton_info", "joint_weights", "sigmas")


def _frozen_array(values: Any, dtype: Any, shape_tail: tuple[int, ...], field: str, source: str) -> np.ndarray:
    try:
        array = np.array(values, dtype=dtype)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{source}: field '{field}' could not be read as {np.dtype(dtype).name}: {err}") from err
    if shape_tail and (array.ndim != 1 + len(shape_tail) or array.shape[1:] != shape_tail):
        # An empty list of colours (no skeleton links) is a valid (0, 3) array.
        if array.size == 0:
            array = array.reshape((0,) + shape_tail)
        else:
            raise ValueError(f"{source}: field '{field}' must have shape (N, {', '.join(map(str, shape_tail))}), "
                             f"got {array.shape}")
    array.setflags(write=False)
    return array


@gin.register
@dataclasses.dataclass(frozen=True, eq=False)
class DatasetMeta:
    """Meta information of a keypoint dataset, MMPose's parsed ``dataset_info``.

    Build one with ``kpose.datasets.metainfo.load("coco")``, from a custom file with
    ``load("path/to/info.json")``, or from an MMPose-structured dict with
    :meth:`from_dataset_info`. All sequences are tuples and all arrays read-only, so a
    ``DatasetMeta`` can be shared freely.

    Attributes:
        name: dataset name (MMPose's ``dataset_name``).
        keypoint_names: K keypoint names, in keypoint-id order.
        flip_indices: K ints; ``flip_indices[k]`` is the keypoint that ``k`` becomes
            after a horizontal flip (from each keypoint's ``swap`` name; itself if none).
        flip_pairs: symmetric pairs ``(i, j)`` with ``i < j``, each pair once (MMPose lists
            both ``(i, j)`` and ``(j, i)``; ``flip_indices`` is the same as MMPose's).
        upper_body_ids: ids of keypoints of type ``upper`` (used by half-body transforms).
        lower_body_ids: ids of keypoints of type ``lower``.
        joint_weights: float32 (K,) loss weights per keypoint.
        sigmas: float32 (K,) COCO OKS sigmas per keypoint, or (0,) when the dataset file
            defines none (``sigmas=[]`` in many MMPose face/hand files; OKS is then undefined).
        skeleton_links: L pairs ``(i, j)`` of keypoint ids to connect when drawing.
        keypoint_colors: uint8 (K, 3) RGB colours, exactly as written in the dataset file.
            MMPose's docstring calls them BGR but its visualizer draws them on RGB images,
            so RGB is what the numbers mean (COCO: left side green, right side orange).
        skeleton_link_colors: uint8 (L, 3) RGB colours of the links.
    """

    name: str
    keypoint_names: tuple[str, ...]
    flip_indices: tuple[int, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    upper_body_ids: tuple[int, ...]
    lower_body_ids: tuple[int, ...]
    joint_weights: np.ndarray
    sigmas: np.ndarray
    skeleton_links: tuple[tuple[int, int], ...]
    keypoint_colors: np.ndarray
    skeleton_link_colors: np.ndarray
    source: str = "<python>"

    def __post_init__(self) -> None:
        src = self.source
        set_ = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 (frozen)
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"{src}: field 'dataset_name' must be a non-empty string, got {self.name!r}")
        names = tuple(self.keypoint_names)
        k = len(names)
        if k == 0:
            raise ValueError(f"{src}: field 'keypoint_info' holds no keypoints")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"{src}: field 'keypoint_info' repeats keypoint names {duplicates}")
        set_("keypoint_names", names)

        def ids(field: str, values: Sequence[Any], length: int | None = None) -> tuple[int, ...]:
            out = tuple(int(v) for v in values)
            if length is not None and len(out) != length:
                raise ValueError(f"{src}: field '{field}' has {len(out)} entries, expected {length} (one per keypoint)")
            bad = [v for v in out if not 0 <= v < k]
            if bad:
                raise ValueError(f"{src}: field '{field}' holds keypoint ids {bad} outside [0, {k})")
            return out

        flip = ids("flip_indices", self.flip_indices, k)
        if sorted(flip) != list(range(k)):
            raise ValueError(f"{src}: field 'flip_indices' {flip} is not a permutation of the {k} keypoints "
                             "(two keypoints swap to the same one)")
        set_("flip_indices", flip)
        set_("flip_pairs", tuple(ids("flip_pairs", p) for p in self.flip_pairs))
        set_("upper_body_ids", ids("upper_body_ids", self.upper_body_ids))
        set_("lower_body_ids", ids("lower_body_ids", self.lower_body_ids))
        links = tuple(ids("skeleton_links", link) for link in self.skeleton_links)
        if any(len(link) != 2 for link in links):
            raise ValueError(f"{src}: field 'skeleton_links' entries must be pairs, got {links}")
        set_("skeleton_links", links)
        for field in ("joint_weights", "sigmas"):
            array = _frozen_array(getattr(self, field), np.float32, (), field, src)
            # Many MMPose face/hand/animal files give `sigmas=[]`: no OKS for that dataset.
            allowed = ((k,), (0,)) if field == "sigmas" else ((k,),)
            if array.shape not in allowed:
                raise ValueError(f"{src}: field '{field}' has shape {array.shape}, expected ({k},) (one per keypoint)")
            if not np.all(np.isfinite(array)) or np.any(array < 0):
                raise ValueError(f"{src}: field '{field}' must be finite and non-negative, got {array.tolist()}")
            set_(field, array)
        if self.sigmas.size and not np.all(self.sigmas > 0):
            raise ValueError(f"{src}: field 'sigmas' must be positive (OKS divides by them), "
                             f"got {self.sigmas.tolist()}")
        for field, count in (("keypoint_colors", k), ("skeleton_link_colors", len(links))):
            raw = np.asarray(getattr(self, field))
            if raw.size and (np.any(raw < 0) or np.any(raw > 255)):
                raise ValueError(f"{src}: field '{field}' must hold colours in [0, 255]")
            array = _frozen_array(raw, np.uint8, (3,), field, src)
            if array.shape[0] != count:
                raise ValueError(f"{src}: field '{field}' has {array.shape[0]} colours, expected {count}")
            set_(field, array)

    @property
    def num_keypoints(self) -> int:
        """K, the number of keypoints."""
        return len(self.keypoint_names)

    @property
    def keypoint_name2id(self) -> dict[str, int]:
        """Mapping from keypoint name to its id."""
        return {name: i for i, name in enumerate(self.keypoint_names)}

    @classmethod
    def from_dataset_info(cls, dataset_info: Mapping[str, Any], source: str = "<dict>") -> "DatasetMeta":
        """Parses MMPose's ``dataset_info`` structure.

        Args:
            dataset_info: mapping with ``dataset_name``, ``keypoint_info`` ({id: {name, id,
                color, type, swap}}), ``skeleton_info`` ({id: {link: (name, name), color}}),
                ``joint_weights`` (K,) and ``sigmas`` (K,). Ids may be ints or numeric
                strings (JSON object keys).
            source: where the dict came from (a file path), named in every error.

        Raises:
            ValueError: a field is missing or inconsistent; the message names ``source``
                and the field.
        """
        if not isinstance(dataset_info, Mapping):
            raise ValueError(f"{source}: dataset_info must be a dict, got {type(dataset_info).__name__}")
        missing = [f for f in _REQUIRED_FIELDS if f not in dataset_info]
        if missing:
            raise ValueError(f"{source}: dataset_info lacks field(s) {missing}")
        keypoint_info = _by_id(dataset_info["keypoint_info"], "keypoint_info", source)
        skeleton_info = _by_id(dataset_info["skeleton_info"], "skeleton_info", source)

        names, colors, upper, lower, swaps = [], [], [], [], []
        for kpt_id, kpt in keypoint_info:
            where = f"keypoint_info[{kpt_id}]"
            if not isinstance(kpt, Mapping) or not isinstance(kpt.get("name"), str):
                raise ValueError(f"{source}: field '{where}' must be a dict with a string 'name', got {kpt!r}")
            if "id" in kpt and kpt["id"] != kpt_id:
                # MMPose uses the key and ignores the inner id; some of its files disagree.
                warnings.warn(f"{source}: field '{where}.id' is {kpt['id']!r} but its key is {kpt_id}; "
                              "using the key, as MMPose does", stacklevel=2)
            names.append(kpt["name"])
            colors.append(kpt.get("color", _DEFAULT_KEYPOINT_COLOR))
            kind = kpt.get("type", "")
            if kind == "upper":
                upper.append(kpt_id)
            elif kind == "lower":
                lower.append(kpt_id)
            elif kind not in ("", None):
                raise ValueError(f"{source}: field '{where}.type' must be 'upper', 'lower' or '', got {kind!r}")
            swaps.append(kpt.get("swap", "") or "")

        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"{source}: field 'keypoint_info' repeats keypoint names {repeated}")
        name2id = {name: i for i, name in enumerate(names)}
        flip_indices, flip_pairs = [], []
        for kpt_id, (name, swap) in enumerate(zip(names, swaps)):
            if swap in ("", name):
                flip_indices.append(kpt_id)
                continue
            if swap not in name2id:
                raise ValueError(f"{source}: field 'keypoint_info[{kpt_id}].swap' names unknown keypoint {swap!r}")
            flip_indices.append(name2id[swap])
            # MMPose lists each pair in both orders, so swapping along its list swaps
            # twice; we list each pair once, lower id first.
            pair = (min(kpt_id, name2id[swap]), max(kpt_id, name2id[swap]))
            if pair not in flip_pairs:
                flip_pairs.append(pair)
        for kpt_id, target in enumerate(flip_indices):
            if flip_indices[target] != kpt_id:
                raise ValueError(f"{source}: field 'keypoint_info[{kpt_id}].swap': {names[kpt_id]!r} swaps with "
                                 f"{names[target]!r}, which swaps with {names[flip_indices[target]]!r}")

        links, link_colors = [], []
        for link_id, link in skeleton_info:
            where = f"skeleton_info[{link_id}].link"
            pair = link.get("link") if isinstance(link, Mapping) else None
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError(f"{source}: field '{where}' must be a pair of keypoint names, got {pair!r}")
            unknown = [p for p in pair if p not in name2id]
            if unknown:
                raise ValueError(f"{source}: field '{where}' names unknown keypoint(s) {unknown}")
            links.append((name2id[pair[0]], name2id[pair[1]]))
            link_colors.append(link.get("color", _DEFAULT_LINK_COLOR))

        return cls(
            name=dataset_info["dataset_name"],
            keypoint_names=tuple(names),
            flip_indices=tuple(flip_indices),
            flip_pairs=tuple(flip_pairs),
            upper_body_ids=tuple(upper),
            lower_body_ids=tuple(lower),
            joint_weights=dataset_info["joint_weights"],
            sigmas=dataset_info["sigmas"],
            skeleton_links=tuple(links),
            keypoint_colors=colors,
            skeleton_link_colors=link_colors,
            source=source,
        )

    def to_dataset_info(self) -> dict[str, Any]:
        """Returns the JSON-serialisable MMPose ``dataset_info`` dict that rebuilds this meta.

        Types are written as ``upper`` / ``lower`` / ``""``; ``from_dataset_info`` of the
        result gives an equal ``DatasetMeta``.
        """
        upper, lower = set(self.upper_body_ids), set(self.lower_body_ids)
        keypoint_info = {}
        for i, name in enumerate(self.keypoint_names):
            swap = self.keypoint_names[self.flip_indices[i]]
            keypoint_info[str(i)] = {
                "name": name,
                "id": i,
                "color": self.keypoint_colors[i].tolist(),
                "type": "upper" if i in upper else "lower" if i in lower else "",
                "swap": "" if swap == name else swap,
            }
        skeleton_info = {
            str(i): {"link": [self.keypoint_names[a], self.keypoint_names[b]], "id": i,
                     "color": self.skeleton_link_colors[i].tolist()}
            for i, (a, b) in enumerate(self.skeleton_links)
        }
        return {
            "dataset_name": self.name,
            "keypoint_info": keypoint_info,
            "skeleton_info": skeleton_info,
            "joint_weights": self.joint_weights.tolist(),
            "sigmas": self.sigmas.tolist(),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DatasetMeta):
            return NotImplemented
        return all(
            np.array_equal(getattr(self, f.name), getattr(other, f.name)) if isinstance(getattr(self, f.name), np.ndarray)
            else getattr(self, f.name) == getattr(other, f.name)
            for f in dataclasses.fields(self) if f.name != "source")

    __hash__ = None  # type: ignore[assignment]  # holds arrays; equality is by value

    def __repr__(self) -> str:
        return (f"DatasetMeta(name={self.name!r}, num_keypoints={self.num_keypoints}, "
                f"skeleton_links={len(self.skeleton_links)}, source={self.source!r})")


def _by_id(section: Any, field: str, source: str) -> list[tuple[int, Any]]:
    """Returns ``[(id, entry), ...]`` sorted by id; ids must be exactly 0..N-1."""
    if not isinstance(section, Mapping):
        raise ValueError(f"{source}: field '{field}' must be a dict keyed by id, got {type(section).__name__}")
    items = []
    for key, value in section.items():
        try:
            items.append((int(key), value))
        except (TypeError, ValueError):
            raise ValueError(f"{source}: field '{field}' has non-integer key {key!r}") from None
    items.sort(key=lambda kv: kv[0])
    ids = [i for i, _ in items]
    if ids != list(range(len(ids))):
        raise ValueError(f"{source}: field '{field}' keys must be the ids 0..{len(ids) - 1}, got {ids}")
    return items
