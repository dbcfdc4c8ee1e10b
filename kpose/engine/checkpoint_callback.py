"""Latest and best checkpoints in the work dir, written atomically, and resume."""

import json
import logging
import math
import os
import tempfile
from typing import Dict, Optional, Tuple

import h5py
import keras

from kpose.engine.exp_momentum_ema import H5_GROUP, load_raw_weights

logger = logging.getLogger(__name__)


class CheckpointCallback(keras.callbacks.Callback):
    """Saves `latest.weights.h5` every epoch and `best_<metric>.weights.h5` on improvement.

    The weights files hold the optimizer state as well (Keras 3 saves the compiled
    optimizer's variables, including its iteration count, hence the LR schedule position).
    `state.json` records the finished epoch and the best value; the same figures are also
    stored as attributes of each weights file, so a checkpoint always knows its own epoch even
    when a kill fell between two renames. Every file is written to a temporary name and
    renamed, so a kill during a write leaves the previous file intact. The previous latest
    checkpoint is kept as `latest.prev.weights.h5` (rotated by rename): when `latest` is
    missing or damaged (truncated, not HDF5), `restore` warns and falls back to it.

    An epoch whose logs hold a non-finite loss (`loss`, `loss_*`) is not saved, so NaN
    weights never replace the last good checkpoint (see `NonFiniteLossGuard`).

    With an `ExpMomentumEMA`, the averaged weights are saved as the model's weights (so
    evaluation and export of `latest`/`best` use them, as MMPose's EMAHook does) and the raw
    weights with the EMA's step count go in the file's `kpose_ema` group; `restore` puts
    both back where they were. Restoring such a checkpoint without an EMA resumes from its
    raw weights.

    Args:
        directory: where checkpoints go (created if missing).
        monitor: log key of the metric that selects the best checkpoint, or None.
        mode: "max" or "min": which direction of `monitor` is better.
        ema: an `ExpMomentumEMA` whose weights are saved and restored, or None.
    """

    def __init__(self, directory: str, monitor: Optional[str] = "coco/AP", mode: str = "max",
                 ema=None):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', received {mode!r}")
        self.directory = directory
        self.monitor = monitor
        self.mode = mode
        self.best = None
        self.best_epoch = None
        self.ema = ema
        os.makedirs(directory, exist_ok=True)

    @property
    def latest_path(self) -> str:
        return os.path.join(self.directory, "latest.weights.h5")

    @property
    def previous_path(self) -> str:
        return os.path.join(self.directory, "latest.prev.weights.h5")

    @property
    def best_path(self) -> str:
        return os.path.join(self.directory, f"best_{self.monitor.replace('/', '_')}.weights.h5")

    @property
    def state_path(self) -> str:
        return os.path.join(self.directory, "state.json")

    def restore(self, model: keras.Model) -> int:
        """Loads the latest checkpoint into a built, compiled model; returns epochs done.

        Falls back to `latest.prev.weights.h5`, with a warning, when the latest file is
        missing or cannot be read. Raises ValueError naming the variables that differ when
        the checkpoint was written by another architecture (no fallback: the previous
        checkpoint would not fit either).
        """
        state = {}
        if os.path.exists(self.state_path):
            try:
                with open(self.state_path) as f:
                    state = json.load(f)
            except (OSError, ValueError) as err:
                logger.warning("%s is unreadable (%s); reading the epoch from the checkpoint",
                               self.state_path, err)
        candidates = [p for p in (self.latest_path, self.previous_path) if os.path.exists(p)]
        if not candidates:
            return 0
        if self.latest_path not in candidates:
            logger.warning("%s is missing (a kill between two renames?); falling back to %s",
                           self.latest_path, self.previous_path)
        for path in candidates:
            try:
                model.load_weights(path)
            except Exception as err:  # noqa: BLE001 -- h5py/Keras raise many kinds on bad files
                self._raise_if_other_architecture(model, path, err)
                if path == candidates[-1]:
                    raise ValueError(f"no usable checkpoint in {self.directory}: {path} cannot be "
                                     f"loaded ({err})") from err
                logger.warning("checkpoint %s is damaged (%s); falling back to %s", path,
                               _first_line(err), candidates[-1])
                continue
            self._restore_ema(model, path)
            info = _read_attrs(path)
            if "epoch" not in info:  # written before checkpoints carried their epoch
                info = {k: state.get(k) for k in ("epoch", "best", "best_epoch")}
                if path != self.latest_path or info["epoch"] is None:
                    raise ValueError(f"{path} does not record its epoch and {self.state_path} "
                                     "cannot vouch for it; cannot resume")
            self.best = info.get("best")
            self.best_epoch = info.get("best_epoch")
            # After a fallback the best file may be newer than the checkpoint resumed from.
            best_info = _read_attrs(self.best_path) if self.monitor else {}
            if (best_info.get("monitor") == self.monitor and best_info.get("best") is not None
                    and self._is_better(best_info["best"])):
                self.best, self.best_epoch = best_info["best"], best_info.get("best_epoch")
            logger.info("resumed from %s after epoch %d (best %s=%s)", path, int(info["epoch"]),
                        self.monitor, self.best)
            return int(info["epoch"])
        return 0  # unreachable: the last candidate either loads or raises

    def _restore_ema(self, model: keras.Model, path: str) -> None:
        with h5py.File(path, "r") as f:
            if self.ema is not None:
                self.ema.read_state(f, model)
            elif load_raw_weights(f, model):
                logger.warning("%s was written with EMA; resuming without EMA from its raw "
                               "weights", path)

    def _raise_if_other_architecture(self, model: keras.Model, path: str, err: Exception) -> None:
        """Raises ValueError listing the differences when `path` is intact but another model's."""
        stored = _layout(path)
        if stored is None:
            return  # not a readable HDF5 file: damaged, the caller falls back
        fd, probe = tempfile.mkstemp(suffix=".weights.h5")
        os.close(fd)
        try:
            model.save_weights(probe)
            expected = _layout(probe)
        finally:
            os.remove(probe)
        if stored == expected:
            return  # same layout but unloadable: damaged data, fall back
        missing = sorted(set(expected) - set(stored))
        unexpected = sorted(set(stored) - set(expected))
        shapes = [f"{k}: checkpoint {stored[k]} vs model {expected[k]}"
                  for k in sorted(set(stored) & set(expected)) if stored[k] != expected[k]]
        parts = []
        for what, items in (("shapes differ", shapes), ("missing from the checkpoint", missing),
                            ("only in the checkpoint", unexpected)):
            if items:
                more = f" ... and {len(items) - 8} more" if len(items) > 8 else ""
                parts.append(f"{what}: {'; '.join(items[:8])}{more}")
        raise ValueError(f"checkpoint {path} was written by another architecture and does not "
                         f"match the model ({len(shapes) + len(missing) + len(unexpected)} "
                         f"variables differ): " + " | ".join(parts)) from err

    def _is_better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def _save_weights(self, path: str, info: dict, rotate: bool = False) -> None:
        tmp = path[: -len(".weights.h5")] + "-tmp.weights.h5"
        if self.ema is None:
            self.model.save_weights(tmp)
        else:
            with self.ema.swapped():
                self.model.save_weights(tmp)
        with h5py.File(tmp, "a") as f:  # the checkpoint carries its own epoch and best value
            f.attrs["kpose_state"] = json.dumps(info)
            if self.ema is not None:
                self.ema.write_state(f)
        if rotate and os.path.exists(path):
            os.replace(path, self.previous_path)
        os.replace(tmp, path)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        bad = {k: v for k, v in logs.items()
               if (k == "loss" or k.startswith("loss")) and not _finite(v)}
        if bad:
            logger.warning("epoch %d: loss not finite (%s); checkpoint not saved, %s keeps the "
                           "last good weights", epoch + 1, bad, self.latest_path)
            return
        improved = (self.monitor and self.monitor in logs
                    and self._is_better(float(logs[self.monitor])))
        if improved:
            self.best = float(logs[self.monitor])
            self.best_epoch = epoch + 1
        state = {"epoch": epoch + 1, "best": self.best, "best_epoch": self.best_epoch,
                 "monitor": self.monitor}
        if improved:
            self._save_weights(self.best_path, state)
            logger.info("epoch %d: best %s=%.4f saved to %s", epoch + 1, self.monitor,
                        self.best, self.best_path)
        self._save_weights(self.latest_path, state, rotate=True)
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, self.state_path)


def _layout(path: str) -> Optional[Dict[str, Tuple[int, ...]]]:
    """{dataset path: shape} of an HDF5 weights file, or None when it cannot be read."""
    layout = {}
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: layout.__setitem__(name, tuple(obj.shape))
                         if isinstance(obj, h5py.Dataset)
                         and not name.startswith(H5_GROUP + "/") else None)
    except Exception:  # noqa: BLE001 -- any failure means the file is not usable
        return None
    return layout


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return True  # not a scalar: nothing to judge


def _read_attrs(path: str) -> dict:
    try:
        with h5py.File(path, "r") as f:
            raw = f.attrs.get("kpose_state")
        return json.loads(raw) if raw is not None else {}
    except (OSError, ValueError):
        return {}


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
