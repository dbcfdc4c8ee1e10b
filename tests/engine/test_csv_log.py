"""CSVLog: evaluation columns that appear after the first epoch, resume, atomic rewrite."""

import csv

from kpose.engine.csv_log import CSVLog


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_late_keys_get_columns_and_earlier_rows_stay(tmp_path):
    path = str(tmp_path / "log.csv")
    log = CSVLog(path)
    log.on_train_begin()
    log.on_epoch_end(0, {"loss": 0.5, "learning_rate": 1e-3})
    log.on_epoch_end(1, {"loss": 0.25, "learning_rate": 1e-3, "coco/AP": 0.75})
    rows = read(path)
    assert list(rows[0]) == ["epoch", "loss", "learning_rate", "coco/AP"]
    assert rows[0]["coco/AP"] == "" and float(rows[1]["coco/AP"]) == 0.75
    assert float(rows[1]["loss"]) == 0.25
    assert not (tmp_path / "log.csv.tmp").exists()


def test_resume_keeps_earlier_epochs_and_replaces_a_rerun_epoch(tmp_path):
    path = str(tmp_path / "log.csv")
    first = CSVLog(path)
    first.on_train_begin()
    first.on_epoch_end(0, {"loss": 0.5})
    first.on_epoch_end(1, {"loss": 0.4})  # then killed; the rerun redoes epoch 1
    second = CSVLog(path)
    second.on_train_begin()
    second.on_epoch_end(1, {"loss": 0.3, "pck/PCK": 0.5})
    second.on_epoch_end(2, {"loss": 0.2})
    rows = read(path)
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert [float(r["loss"]) for r in rows] == [0.5, 0.3, 0.2]
    assert rows[1]["pck/PCK"] == "0.5" and rows[2]["pck/PCK"] == ""


def test_non_finite_values_are_written_readably(tmp_path):
    path = str(tmp_path / "log.csv")
    log = CSVLog(path)
    log.on_train_begin()
    log.on_epoch_end(0, {"loss": float("nan"), "note": "x"})
    row = read(path)[0]
    assert row["loss"] == "nan" and row["note"] == "x"
