"""CSVLog: one row per epoch with every figure the epoch logged, evaluation included."""

import csv
import math
import os
from typing import Any, Dict, List, Optional

import gin
import keras


@gin.register
class CSVLog(keras.callbacks.Callback):
    """Writes `log.csv` with one row per epoch: `epoch` then every log key, first-seen order.

    Unlike `keras.callbacks.CSVLogger`, whose columns are fixed by the first epoch's logs, a
    key that first appears later (evaluation figures when `val_interval > 1`) gets its own
    column and earlier rows an empty cell; and no `val_*` columns are invented. The whole
    file is rewritten through a temporary file and a rename each epoch, so a kill never
    leaves a half-written row. A resumed run keeps the rows of epochs before its first one.

    Args:
        path: the CSV file.
    """

    def __init__(self, path: str):
        super().__init__()
        self.path = path
        self.rows: List[Dict[str, Any]] = []
        self.keys: List[str] = []

    def on_train_begin(self, logs: Optional[Dict[str, Any]] = None) -> None:
        self.rows, self.keys = [], []
        if os.path.exists(self.path):
            with open(self.path, newline="") as f:
                reader = csv.DictReader(f)
                self.keys = [k for k in (reader.fieldnames or []) if k != "epoch"]
                self.rows = list(reader)

    def on_epoch_end(self, epoch: int, logs: Optional[Dict[str, Any]] = None) -> None:
        row = {"epoch": str(epoch)}
        for key, value in (logs or {}).items():
            if key not in self.keys:
                self.keys.append(key)
            row[key] = _format(value)
        # A rerun of an epoch (resume after a kill) replaces its earlier row.
        self.rows = [r for r in self.rows if r.get("epoch") != str(epoch)] + [row]
        tmp = self.path + ".tmp"
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["epoch"] + self.keys, restval="")
            writer.writeheader()
            writer.writerows(self.rows)
        os.replace(tmp, self.path)


def _format(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return repr(number) if math.isfinite(number) else str(number)
