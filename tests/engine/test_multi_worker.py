"""MultiWorkerMirroredStrategy across two worker processes on 127.0.0.1 (issue 7).

Both workers must end with identical weights, equal to one device's training on the same
global batches. Bounded in time; the worker processes are killed whatever happens.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(os.path.dirname(__file__), "multi_worker_script.py")


def _traceback(stderr):
    # Keep the traceback's frames, not the tensors printed in its message.
    lines = [l for l in stderr.splitlines() if l.startswith(("Traceback", "  File"))]
    return "\n".join(lines[-40:]) + "\n" + stderr.splitlines()[-1][:500]


def free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_two_workers_train_to_identical_weights(tmp_path):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs, outs = [], []
    try:
        for index in range(2):
            out = str(tmp_path / f"worker{index}.npz")
            env = dict(os.environ,
                       TF_CONFIG=json.dumps({"cluster": cluster,
                                             "task": {"type": "worker", "index": index}}),
                       PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
                       TF_CPP_MIN_LOG_LEVEL="2")
            procs.append(subprocess.Popen(
                [sys.executable, SCRIPT, out, "chief" if index == 0 else "worker"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            outs.append(out)
        logs = []
        for proc in procs:
            try:
                _, err = proc.communicate(timeout=400)
            except subprocess.TimeoutExpired:
                pytest.fail("a worker did not finish within 400 s")
            logs.append(err)
        for proc, err in zip(procs, logs):
            assert proc.returncode == 0, _traceback(err)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    chief, worker = (np.load(path) for path in outs)
    assert int(chief["replicas"]) == 2
    names = sorted(k for k in chief.files if k.startswith("multi_") and k != "multi_loss")
    assert names
    for name in names:
        np.testing.assert_array_equal(chief[name], worker[name], err_msg=name)
    moved = max(float(np.max(np.abs(chief[f"initial_{n[6:]}"] - chief[f"single_{n[6:]}"])))
                for n in names)
    assert moved > 0.1  # SGD at lr 0.5 changed the weights
    diff = max(float(np.max(np.abs(chief[n] - chief[f"single_{n[6:]}"]))) for n in names)
    assert diff < 1e-4, diff
    np.testing.assert_allclose(chief["multi_loss"], chief["single_loss"], rtol=1e-5)
