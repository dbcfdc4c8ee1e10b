"""Same seed, same run: identical first batches and identical weights after training, on
CPU with op determinism on (issue 7). Runs in a fresh process, since op determinism is a
process-wide switch."""

import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(os.path.dirname(__file__), "reproducibility_script.py")


def test_same_seed_gives_identical_batches_and_weights(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, SCRIPT, str(tmp_path)], capture_output=True,
                          text=True, env=env, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["same_keys"] and result["num_arrays"] > 10, result
    assert result["batches_equal"], result
    assert result["max_weight_diff"] == 0.0, result
