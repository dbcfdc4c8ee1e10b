"""A real training process killed with SIGKILL resumes from its checkpoint when rerun."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import h5py
import pytest

from tiny_run import QUICKSTART, tiny_params

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EPOCHS = 2
TIMEOUT = 240  # seconds for each process; the test fails rather than hang


def _command(data_root, work_dir):
    cmd = [sys.executable, os.path.join(REPO, "tools", "train.py"), "--gin_file", QUICKSTART,
           "--work_dir", work_dir]
    for param in tiny_params(data_root, epochs=EPOCHS):
        cmd += ["--gin_param", param]
    return cmd


def _env():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _state(work_dir):
    try:
        with open(os.path.join(work_dir, "checkpoints", "state.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


@pytest.mark.slow
def test_sigkill_then_same_command_resumes(tmp_path):
    data_root, work_dir = str(tmp_path / "data"), str(tmp_path / "work")
    cmd, log = _command(data_root, work_dir), open(tmp_path / "run1.out", "w")
    first = subprocess.Popen(cmd, cwd=REPO, env=_env(), stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and first.poll() is None and not _state(work_dir):
            time.sleep(0.1)
        assert first.poll() is None, "training ended before the kill: " + (tmp_path / "run1.out").read_text()[-2000:]
        state = _state(work_dir)
        assert state and state["epoch"] >= 1, "no checkpoint within the time limit"
        first.send_signal(signal.SIGKILL)  # mid-run: the next epoch is under way
        assert first.wait(30) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        log.close()
    killed_at = _state(work_dir)["epoch"]
    assert killed_at < EPOCHS

    started = time.time()
    second = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    resume_seconds = time.time() - started

    state = _state(work_dir)
    assert state["epoch"] == EPOCHS and state["monitor"] == "coco/AP"
    assert 0.0 <= state["best"] <= 1.0 and 1 <= state["best_epoch"] <= EPOCHS
    train_log = open(os.path.join(work_dir, "train.log")).read()
    assert f"after epoch {killed_at} " in train_log  # the rerun resumed, not restarted
    steps = int(re.search(r"(\d+) steps per epoch", train_log).group(1))
    # The optimizer's step count (hence the LR schedule position) carried over the kill.
    with h5py.File(os.path.join(work_dir, "checkpoints", "latest.weights.h5"), "r") as f:
        assert int(f["optimizer/vars/0"][()]) == EPOCHS * steps
    with open(os.path.join(work_dir, "log.csv")) as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    # The epochs after the kill, once each. The CSV row of the last epoch before the kill
    # may be missing: CSVLogger runs after the checkpoint callback, and a kill between the
    # two loses the row while the checkpoint is already saved (seen in this test).
    assert epochs[-(EPOCHS - killed_at):] == list(range(killed_at, EPOCHS))
    assert set(epochs) <= set(range(EPOCHS))
    assert "coco/AP" in second.stdout
    print(f"killed after epoch {killed_at}; resumed run took {resume_seconds:.1f} s")
