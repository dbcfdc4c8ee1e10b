"""Latest and best checkpoints in the work dir, written atomically, and resume."""

import json
import logging
import os
from typing import Optional

import keras

logger = logging.getLogger(__name__)


class CheckpointCallback(keras.callbacks.Callback):
    """Saves `latest.weights.h5` every epoch and `best_<metric>.weights.h5` on improvement.

    The weights files hold the optimizer state as well (Keras 3 saves the compiled
    optimizer's variables, including its iteration count, hence the LR schedule position).
    `state.json` records the finished epoch and the best value. Every file is written to a
    temporary name and renamed, so a kill during a write leaves the previous file intact.

    Args:
        directory: where checkpoints go (created if missing).
        monitor: log key of the metric that selects the best checkpoint, or None.
        mode: "max" or "min": which direction of `monitor` is better.
    """

    def __init__(self, directory: str, monitor: Optional[str] = "coco/AP", mode: str = "max"):
        super().__init__()
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', received {mode!r}")
        self.directory = directory
        self.monitor = monitor
        self.mode = mode
        self.best = None
        self.best_epoch = None
        os.makedirs(directory, exist_ok=True)

    @property
    def latest_path(self) -> str:
        return os.path.join(self.directory, "latest.weights.h5")

    @property
    def best_path(self) -> str:
        return os.path.join(self.directory, f"best_{self.monitor.replace('/', '_')}.weights.h5")

    @property
    def state_path(self) -> str:
        return os.path.join(self.directory, "state.json")

    def restore(self, model: keras.Model) -> int:
        """Loads the latest checkpoint into a built, compiled model; returns epochs done."""
        if not (os.path.exists(self.state_path) and os.path.exists(self.latest_path)):
            return 0
        with open(self.state_path) as f:
            state = json.load(f)
        model.load_weights(self.latest_path)
        self.best = state.get("best")
        self.best_epoch = state.get("best_epoch")
        logger.info("resumed from %s after epoch %d (best %s=%s)", self.latest_path,
                    state["epoch"], self.monitor, self.best)
        return int(state["epoch"])

    def _is_better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def _save_weights(self, path: str) -> None:
        tmp = path[: -len(".weights.h5")] + "-tmp.weights.h5"
        self.model.save_weights(tmp)
        os.replace(tmp, path)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor and self.monitor in logs and self._is_better(float(logs[self.monitor])):
            self.best = float(logs[self.monitor])
            self.best_epoch = epoch + 1
            self._save_weights(self.best_path)
            logger.info("epoch %d: best %s=%.4f saved to %s", epoch + 1, self.monitor,
                        self.best, self.best_path)
        self._save_weights(self.latest_path)
        state = {"epoch": epoch + 1, "best": self.best, "best_epoch": self.best_epoch,
                 "monitor": self.monitor}
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, self.state_path)
