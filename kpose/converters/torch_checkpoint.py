"""Reads PyTorch `.pth` checkpoints into NumPy without torch and without running pickled code.

A `torch.save` file is a zip archive holding `<name>/data.pkl` (the pickled object tree,
whose tensors refer to storages by persistent id) and one raw little-endian buffer per
storage, `<name>/data/<key>`; files written by torch < 1.6 (`_use_new_zipfile_serialization
=False`) are a stream of pickles followed by the raw storages, and are read too.

The object tree is unpickled by an unpickler that resolves only the globals a state dict and
MMPose's checkpoint meta need (`collections.OrderedDict`, torch's tensor rebuild functions,
the `torch.*Storage` dtype markers, numpy arrays / dtypes / scalars, `_codecs.encode` for
latin-1 bytes), each replaced by a local NumPy implementation: torch itself is never
imported and no function named by the file is ever called. Any other global (`os.system`,
`builtins.eval`, `mmengine.logging.HistoryBuffer`, ...) raises `pickle.UnpicklingError`
naming it, or, with `allow_inert_globals=True`, becomes an inert placeholder object (a
record of the name and arguments; nothing of the original runs) so that training
checkpoints whose `message_hub` / `optimizer` parts hold such objects still give up their
weights; `kpose.converters.mmpose_to_keras` then refuses placeholders inside the weights
or the dataset meta.
"""

import _compat_pickle
import collections
import io
import os
import pickle
import struct
import zipfile
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

# torch storage class name -> numpy dtype of its elements. bfloat16 has no numpy dtype:
# its 16-bit words are widened to float32 (exact) when read.
STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16",
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001


class _StorageType:
    """What `torch.FloatStorage` & co. unpickle to: only a dtype marker."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = STORAGE_DTYPES[name]

    def __setstate__(self, state):
        raise pickle.UnpicklingError(f"refusing to set the state of torch.{self.name}")

    @property
    def element_size(self) -> int:
        return 2 if self.dtype == "bfloat16" else np.dtype(self.dtype).itemsize

    def from_bytes(self, data: bytes, numel: int, big_endian: bool = False) -> np.ndarray:
        size = self.element_size
        if len(data) < numel * size:
            raise pickle.UnpicklingError(
                f"storage of {numel} {self.name} elements needs {numel * size} bytes, "
                f"the file holds {len(data)}")
        raw = np.frombuffer(data, np.uint16 if self.dtype == "bfloat16" else self.dtype,
                            count=numel)
        if big_endian and size > 1:
            raw = raw.byteswap()
        if self.dtype == "bfloat16":
            return (raw.astype(np.uint32) << 16).view(np.float32)
        return raw


class _Storage:
    """A storage's elements as a 1-D array (filled later for legacy files)."""

    def __init__(self, storage_type: _StorageType, numel: int):
        self.type = storage_type
        self.numel = int(numel)
        self.array: Optional[np.ndarray] = None


class _PendingTensor:
    """A tensor view of a storage; resolved to an ndarray once the storage is read."""

    def __init__(self, storage: _Storage, offset: int, size, stride):
        if not isinstance(storage, _Storage):
            raise pickle.UnpicklingError(f"tensor rebuilt from a non-storage object "
                                         f"{type(storage).__name__}")
        self.storage = storage
        self.offset = int(offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)
        if len(self.size) != len(self.stride) or min(self.size + (0,)) < 0 \
                or min(self.stride + (0,)) < 0 or self.offset < 0:
            raise pickle.UnpicklingError(f"invalid tensor view: offset {offset}, size "
                                         f"{self.size}, stride {self.stride}")
        # Bounds check before any strided read: a crafted view must not reach past the
        # storage's buffer.
        if all(self.size):
            last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
            if last >= storage.numel:
                raise pickle.UnpicklingError(
                    f"tensor view (offset {offset}, size {self.size}, stride {self.stride}) "
                    f"reaches past its storage of {storage.numel} elements")

    def resolve(self) -> np.ndarray:
        array = self.storage.array
        if array is None:
            raise pickle.UnpicklingError("a tensor refers to a storage the file does not hold")
        if not all(self.size):
            return np.zeros(self.size, array.dtype)
        item = array.itemsize
        view = np.lib.stride_tricks.as_strided(
            array[self.offset:], shape=self.size,
            strides=tuple(s * item for s in self.stride), writeable=False)
        return np.array(view)  # own, contiguous, writable copy


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    del requires_grad, backward_hooks, metadata  # autograd state: not weights
    return _PendingTensor(storage, storage_offset, size, stride)


def _rebuild_tensor(storage, storage_offset, size, stride):
    return _PendingTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, state=None):
    del requires_grad, backward_hooks, state
    return data


class _Frozen:
    """Base of what `find_class` hands out: pickle's BUILD cannot change its state.

    BUILD on a plain function would `setattr` arbitrary attributes (`__code__`,
    `__defaults__`) on it, for this and every later load in the process.
    """

    __slots__ = ("global_name",)

    def __init__(self, global_name: str):
        object.__setattr__(self, "global_name", global_name)

    def __setattr__(self, name, value):
        raise pickle.UnpicklingError(f"refusing to modify {self.global_name}")

    def __setstate__(self, state):
        raise pickle.UnpicklingError(f"refusing to set the state of {self.global_name}")

    def __repr__(self) -> str:
        return f"<{self.global_name}>"


class _FrozenCallable(_Frozen):
    """An allowed global: our own implementation under the file's name for it."""

    __slots__ = ("_fn",)

    def __init__(self, global_name: str, fn: Callable):
        super().__init__(global_name)
        object.__setattr__(self, "_fn", fn)

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)


# Stands for `numpy.ndarray` as the argument of numpy's `_reconstruct`; not callable.
_NDARRAY_MARKER = _Frozen("numpy.ndarray")


def _reconstruct_ndarray(subtype, shape, dtype):
    # numpy's pickles create an empty array, then BUILD fills it with ndarray.__setstate__.
    if subtype is not _NDARRAY_MARKER:
        raise pickle.UnpicklingError(f"numpy _reconstruct of {subtype!r}: only plain "
                                     "ndarrays are allowed")
    return np.ndarray(shape, dtype=dtype)


def _latin1_encode(text, encoding="latin1"):
    # Protocol-2 pickles (torch's default) store bytes as _codecs.encode(str, 'latin1').
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode is allowed for latin1 text only, "
                                     f"received encoding {encoding!r}")
    return text.encode("latin1")


_NUMPY_SCALAR = np.float64(0).__reduce__()[0]  # numpy(._core).multiarray.scalar

_ALLOWED_FUNCTIONS: Dict[Tuple[str, str], Callable] = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("_codecs", "encode"): _latin1_encode,
    ("numpy", "dtype"): np.dtype,
}
for _module in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED_FUNCTIONS[(_module, "_reconstruct")] = _reconstruct_ndarray
    _ALLOWED_FUNCTIONS[(_module, "scalar")] = _NUMPY_SCALAR
_ALLOWED_GLOBALS: Dict[Tuple[str, str], Any] = {
    key: _FrozenCallable(".".join(key), fn) for key, fn in _ALLOWED_FUNCTIONS.items()}
_ALLOWED_GLOBALS[("numpy", "ndarray")] = _NDARRAY_MARKER


class _InertGlobal:
    """Placeholder for a refused global under `allow_inert_globals`: records, runs nothing.

    Subclasses are made per global name; calling one (pickle's REDUCE / NEWOBJ) and
    setting its state (BUILD) only store the arguments.
    """

    global_name = "?"

    def __new__(cls, *args, **kwargs):
        obj = object.__new__(cls)
        obj.args = args
        obj.kwargs = kwargs
        obj.state = None
        return obj

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.state = state

    def __repr__(self) -> str:
        return f"<inert placeholder for {self.global_name}>"


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler resolving only `_ALLOWED_GLOBALS` and torch storage markers."""

    def __init__(self, file, persistent_load: Callable[[Any], Any], allow_inert: bool):
        super().__init__(file)
        self._persistent = persistent_load
        self._allow_inert = allow_inert
        self.inert_globals: List[str] = []

    def find_class(self, module: str, name: str):
        # Python 2 names ('__builtin__.eval' in protocol-2 pickles) as Python 3's, as the
        # default find_class maps them, so messages and the allow-list see one spelling.
        module, name = _compat_pickle.NAME_MAPPING.get(
            (module, name), (_compat_pickle.IMPORT_MAPPING.get(module, module), name))
        if (module, name) in _ALLOWED_GLOBALS:
            return _ALLOWED_GLOBALS[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        full = f"{module}.{name}"
        if self._allow_inert:
            self.inert_globals.append(full)
            return type(f"Inert_{name}", (_InertGlobal,), {"global_name": full})
        raise pickle.UnpicklingError(
            f"refusing to load global {full!r}: only weights (tensors, OrderedDict, numpy "
            "arrays and plain Python values) are read, and pickled code is never run. If "
            "the checkpoint holds training state (optimizer, message_hub), pass "
            "allow_inert_globals=True (--allow_inert_globals) to keep such objects as inert "
            "placeholders.")

    def persistent_load(self, pid):
        return self._persistent(pid)


def _resolve(obj: Any, seen: Optional[set] = None) -> Any:
    """Replaces every `_PendingTensor` in nested dicts, lists and tuples by its ndarray."""
    if isinstance(obj, _PendingTensor):
        return obj.resolve()
    if isinstance(obj, dict):
        for key in list(obj):
            obj[key] = _resolve(obj[key])
        return obj
    if isinstance(obj, list):
        obj[:] = [_resolve(v) for v in obj]
        return obj
    if isinstance(obj, tuple):
        return type(obj)(_resolve(v) for v in obj) if type(obj) is tuple else obj
    if isinstance(obj, _InertGlobal):
        obj.args = _resolve(obj.args)
        obj.state = _resolve(obj.state)
    return obj


def _storage_pid(pid, expected_len: int) -> Tuple[_StorageType, str, int, tuple]:
    if not isinstance(pid, tuple) or not pid or pid[0] != "storage" or len(pid) != expected_len:
        raise pickle.UnpicklingError(f"unsupported persistent id {pid!r} (only tensor "
                                     "storages are read)")
    storage_type, key, _location, numel = pid[1:5]
    if not isinstance(storage_type, _StorageType):
        raise pickle.UnpicklingError(f"unsupported storage type {storage_type!r}")
    if not isinstance(numel, int) or numel < 0:
        raise pickle.UnpicklingError(f"invalid storage size {numel!r}")
    return storage_type, str(key), numel, pid[5:]


def _load_zip(path: str, allow_inert: bool) -> Tuple[Any, List[str]]:
    with zipfile.ZipFile(path) as archive:
        pickles = [n for n in archive.namelist() if n.endswith("data.pkl")
                   and n.count("/") == 1]
        if len(pickles) != 1:
            raise ValueError(f"{path} is a zip file but not a torch.save checkpoint (expected "
                             f"one <name>/data.pkl, found {pickles})")
        prefix = pickles[0][: -len("data.pkl")]
        big_endian = False
        if f"{prefix}byteorder" in archive.namelist():
            big_endian = archive.read(f"{prefix}byteorder").strip() == b"big"
        storages: Dict[str, _Storage] = {}

        def persistent_load(pid):
            storage_type, key, numel, _ = _storage_pid(pid, 5)
            if key not in storages:
                storage = _Storage(storage_type, numel)
                try:
                    data = archive.read(f"{prefix}data/{key}")
                except KeyError as err:
                    raise pickle.UnpicklingError(f"{path} lacks storage data/{key}") from err
                storage.array = storage_type.from_bytes(data, numel, big_endian)
                storages[key] = storage
            return storages[key]

        unpickler = _RestrictedUnpickler(io.BytesIO(archive.read(pickles[0])),
                                         persistent_load, allow_inert)
        obj = unpickler.load()
    return _resolve(obj), unpickler.inert_globals


def _load_legacy(path: str, allow_inert: bool) -> Tuple[Any, List[str]]:
    with open(path, "rb") as f:
        def plain(what: str):
            # The header pickles hold ints and a dict of ints: no globals at all.
            unpickler = _RestrictedUnpickler(f, lambda pid: None, allow_inert=False)
            try:
                return unpickler.load()
            except Exception as err:  # noqa: BLE001 (any failure: not a checkpoint)
                raise ValueError(f"{path} is neither a zip nor a legacy torch.save file "
                                 f"(reading its {what}: {err})") from err

        if plain("magic number") != _LEGACY_MAGIC:
            raise ValueError(f"{path} is not a torch.save checkpoint (bad magic number)")
        protocol = plain("protocol version")
        if protocol != _LEGACY_PROTOCOL:
            raise ValueError(f"{path}: unsupported legacy protocol version {protocol!r}")
        sys_info = plain("system info")
        little = not isinstance(sys_info, dict) or sys_info.get("little_endian", True)
        storages: Dict[str, _Storage] = {}

        def persistent_load(pid):
            storage_type, key, numel, rest = _storage_pid(pid, 6)
            if rest[0] is not None:
                raise pickle.UnpicklingError(f"{path}: storage views (torch < 0.4 files) "
                                             "are not supported")
            storages.setdefault(key, _Storage(storage_type, numel))
            return storages[key]

        unpickler = _RestrictedUnpickler(f, persistent_load, allow_inert)
        obj = unpickler.load()
        keys = plain("storage keys")
        if not isinstance(keys, list):
            raise ValueError(f"{path}: malformed storage key list")
        for key in keys:
            storage = storages.get(str(key))
            if storage is None:
                raise ValueError(f"{path}: storage {key!r} is not used by any tensor")
            count = struct.unpack("<q" if little else ">q", f.read(8))[0]
            if count != storage.numel:
                raise ValueError(f"{path}: storage {key!r} holds {count} elements, its "
                                 f"tensors expect {storage.numel}")
            data = f.read(count * storage.type.element_size)
            storage.array = storage.type.from_bytes(data, count, big_endian=not little)
    return _resolve(obj), unpickler.inert_globals


def load_torch_checkpoint(path: "str | os.PathLike[str]",
                          allow_inert_globals: bool = False) -> Any:
    """Loads a `torch.save` file as plain Python containers of NumPy arrays.

    Args:
        path: a `.pth` / `.pt` file written by `torch.save` (zip format, or the legacy
            format of torch < 1.6).
        allow_inert_globals: turn globals outside the allow-list into inert placeholders
            (see `inert_global_names`) instead of raising; nothing they name is run.

    Returns:
        The saved object with every tensor as an `np.ndarray` (bfloat16 widened to
        float32), e.g. `{'meta': {...}, 'state_dict': OrderedDict(name -> ndarray)}` for an
        MMPose checkpoint.

    Raises:
        pickle.UnpicklingError: the file names a global outside the allow-list (the
            message names it), or holds malformed tensor data.
        ValueError: the file is not a torch checkpoint.
        FileNotFoundError: no such file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path}")
    if zipfile.is_zipfile(path):
        obj, _ = _load_zip(path, allow_inert_globals)
    else:
        obj, _ = _load_legacy(path, allow_inert_globals)
    return obj


def inert_global_names(obj: Any) -> List[str]:
    """Names of the globals that became inert placeholders anywhere inside `obj`."""
    names: List[str] = []

    def walk(value):
        if isinstance(value, _InertGlobal):
            names.append(value.global_name)
            walk(value.args)
            walk(value.state)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(obj)
    return sorted(set(names))
