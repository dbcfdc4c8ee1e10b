"""The torch-free, code-free `.pth` reader: real torch.save files and hostile pickles."""

import io
import os
import pickle
import struct
import subprocess
import zipfile

import numpy as np
import pytest

from converter_cases import fixture_path
from kpose.converters.torch_checkpoint import inert_global_names, load_torch_checkpoint


@pytest.mark.parametrize("fmt", ["zip", "legacy"])
def test_reads_every_dtype_and_view(fmt):
    """torch.save files (torch 2.13): all storage dtypes, views, offsets, 0-d and empty."""
    checkpoint = load_torch_checkpoint(fixture_path(f"dtypes_{fmt}.pth"))
    expected = np.load(fixture_path("dtypes.npz"))
    state = checkpoint["state_dict"]
    assert checkpoint["meta"] == {"note": "dtypes"}
    assert sorted(state) == sorted(expected.files)
    for key in expected.files:
        assert state[key].dtype == expected[key].dtype, key
        np.testing.assert_array_equal(state[key], expected[key], err_msg=key)
    # bfloat16 is widened exactly: these values are representable.
    np.testing.assert_array_equal(state["bfloat16"], state["float32"])
    assert state["transposed"].shape == (4, 3)
    assert state["transposed"][1, 2] == 9 / 8 - 1  # base[0, 2, 1]
    state["float32"][0, 0, 0] = 9.0  # arrays own writable memory


def test_mmpose_checkpoint_meta_with_numpy_arrays():
    """MMPose's dataset_meta holds numpy arrays and scalars (protocol-2 pickles)."""
    checkpoint = load_torch_checkpoint(fixture_path("res18.pth"))  # legacy format
    meta = checkpoint["meta"]["dataset_meta"]
    assert meta["dataset_name"] == "coco" and meta["num_keypoints"] == 17
    assert meta["keypoint_id2name"][0] == "nose"
    np.testing.assert_allclose(meta["sigmas"][:3], [0.026, 0.025, 0.025])
    assert meta["keypoint_colors"].shape == (17, 3)
    assert checkpoint["state_dict"]["backbone.conv1.weight"].shape == (16, 3, 7, 7)


def _zip_checkpoint(path, payload: bytes, storages=None):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
        for key, data in (storages or {}).items():
            archive.writestr(f"archive/data/{key}", data)
    return path


class _Evil:
    """Pickles to a call of `func(*args)` when loaded by a plain unpickler."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize("func,name", [(os.system, "posix.system"),
                                       (eval, "builtins.eval"),
                                       (subprocess.check_call, "subprocess.check_call")])
def test_forbidden_global_is_refused_without_running(tmp_path, func, name):
    marker = tmp_path / "pwned"
    args = {os.system: (f"touch {marker}",),
            eval: (f"open({str(marker)!r}, 'w')",),
            subprocess.check_call: (["touch", str(marker)],)}[func]
    payload = pickle.dumps({"state_dict": {"a": _Evil(func, *args)}}, protocol=2)
    path = _zip_checkpoint(tmp_path / "evil.pth", payload)
    with pytest.raises(pickle.UnpicklingError, match=name.replace(".", r"\.")):
        load_torch_checkpoint(path)
    # Inert mode: the global becomes a placeholder, still nothing runs.
    loaded = load_torch_checkpoint(path, allow_inert_globals=True)
    assert inert_global_names(loaded) == [name]
    assert not marker.exists()


def test_forbidden_global_in_legacy_format(tmp_path):
    marker = tmp_path / "pwned"
    buffer = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
        pickle.dump(header, buffer, protocol=2)
    pickle.dump({"state_dict": _Evil(os.system, f"touch {marker}")}, buffer, protocol=2)
    path = tmp_path / "evil_legacy.pth"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(pickle.UnpicklingError, match="posix.system"):
        load_torch_checkpoint(path)
    assert not marker.exists()


def test_training_checkpoint_objects_need_inert_mode():
    """Runner checkpoints pickle mmengine objects (message_hub): refused by default."""
    path = fixture_path("res50.pth")
    with pytest.raises(pickle.UnpicklingError,
                       match=r"mmengine\.logging\.history_buffer\.HistoryBuffer"):
        load_torch_checkpoint(path)
    checkpoint = load_torch_checkpoint(path, allow_inert_globals=True)
    # HistoryBuffer pickles a getattr call too: exactly what must never run.
    assert inert_global_names(checkpoint["message_hub"]) == [
        "builtins.getattr", "mmengine.logging.history_buffer.HistoryBuffer"]
    assert inert_global_names(checkpoint["state_dict"]) == []
    assert checkpoint["state_dict"]["backbone.conv1.weight"].dtype == np.float16


def _tensor_pickle(offset, size, stride, numel):
    """Protocol-2 bytes of {'w': tensor} as torch writes them (storage key '0'), by opcode."""
    def text(value):
        data = value.encode()
        return b"X" + struct.pack("<I", len(data)) + data

    def ints(values):
        return b"(" + b"".join(b"J" + struct.pack("<i", v) for v in values) + b"t"

    pid = b"(" + text("storage") + b"ctorch\nFloatStorage\n" + text("0") + text("cpu") \
        + b"J" + struct.pack("<i", numel) + b"tQ"
    call = b"ctorch._utils\n_rebuild_tensor_v2\n(" + pid + b"J" + struct.pack("<i", offset) \
        + ints(size) + ints(stride) + b"\x89}tR"
    return b"\x80\x02}" + text("w") + call + b"s."


def test_view_past_its_storage_is_refused(tmp_path):
    payload = _tensor_pickle(offset=2, size=(3, 2), stride=(2, 1), numel=6)
    path = _zip_checkpoint(tmp_path / "bad.pth", payload,
                           {"0": np.arange(6, dtype=np.float32).tobytes()})
    with pytest.raises(pickle.UnpicklingError, match="reaches past its storage"):
        load_torch_checkpoint(path)
    payload = _tensor_pickle(offset=0, size=(3, 2), stride=(2, 1), numel=6)
    path = _zip_checkpoint(tmp_path / "good.pth", payload,
                           {"0": np.arange(6, dtype=np.float32).tobytes()})
    np.testing.assert_array_equal(load_torch_checkpoint(path)["w"],
                                  np.arange(6, dtype=np.float32).reshape(3, 2))


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_torch_checkpoint(tmp_path / "missing.pth")
    text = tmp_path / "text.pth"
    text.write_text("hello")
    with pytest.raises(ValueError, match="neither a zip nor a legacy"):
        load_torch_checkpoint(text)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("readme.txt", "x")
    with pytest.raises(ValueError, match="not a torch.save checkpoint"):
        load_torch_checkpoint(tmp_path / "other.zip")


def test_build_cannot_modify_allowed_globals(tmp_path):
    """BUILD on an allowed global (setattr of `__code__`, ...) is refused."""
    # GLOBAL torch._utils._rebuild_tensor_v2; state (None, {'__defaults__': (1,)}); BUILD.
    payload = (b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\nN}X\x0c\x00\x00\x00__defaults__"
               b"K\x01\x85s\x86b.")
    path = _zip_checkpoint(tmp_path / "build.pth", payload)
    with pytest.raises(pickle.UnpicklingError, match="_rebuild_tensor_v2"):
        load_torch_checkpoint(path)
