"""Kill-and-resume against an uninterrupted run: what a SIGKILL costs.

    python benchmarks/kill_resume.py [--epochs 20] [--kill_epoch 10] [--seed 0] [--out DIR]

Trains the quick-start recipe, shrunk to minutes (synthetic data, 64x64 input, narrow
ResNet-18), twice with the same command: once straight through, once SIGKILLed at a random
moment of epoch `--kill_epoch + 1` and then rerun unchanged. Prints the straight run's line and a
summary line: `kill_resume killed_after_epoch=<int> seconds_after_checkpoint=<float> ...
steps_lost<=<int>` and the last epoch's loss, PCK and COCO AP of both runs.
Steps lost are bounded by the steps of the killed epoch that ran after its last checkpoint
(checkpoints are per epoch); the time since that checkpoint is measured.
"""

import argparse
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def params(data_root, epochs):
    return [
        f"DATA_ROOT = '{data_root}'",
        "ensure_synthetic_coco.num_train_images = 60",
        "ensure_synthetic_coco.num_val_images = 20",
        "ensure_synthetic_coco.image_size = (160, 120)",
        "INPUT_SIZE = (64, 64)",
        "HEATMAP_SIZE = (16, 16)",
        "ResNet.stem_channels = 16",
        "ResNet.base_channels = 16",
        "HeatmapHead.deconv_out_channels = (32, 32, 32)",
        f"EPOCHS = {epochs}",
        "BATCH_SIZE = 8",
        f"MILESTONES = ({epochs - 1},)",
        "WarmupMultiStepDecay.warmup_steps = 20",
        f"train.val_interval = {epochs}",
        "train.verbose = 0",
    ]


def command(data_root, work_dir, epochs):
    cmd = [sys.executable, os.path.join(REPO, "tools", "train.py"), "--gin_file",
           os.path.join(REPO, "gin_configs", "quickstart.gin"), "--work_dir", work_dir]
    for p in params(data_root, epochs):
        cmd += ["--gin_param", p]
    return cmd


def env():
    e = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    e["PYTHONPATH"] = REPO + os.pathsep + e.get("PYTHONPATH", "")
    return e


def state(work_dir):
    try:
        with open(os.path.join(work_dir, "checkpoints", "state.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def last_row(work_dir):
    """The last epoch's row of log.csv: loss terms and (after the last epoch) metrics."""
    with open(os.path.join(work_dir, "log.csv")) as f:
        rows = list(csv.DictReader(f))
    row = {}
    for key, value in rows[-1].items():
        try:
            row[key] = float(value)
        except (TypeError, ValueError):  # CSVLogger writes 'NA' for figures not logged
            continue
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--kill_epoch", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="kill_resume_")
    data_root = os.path.join(out, "data")
    rng = random.Random(args.seed)

    straight = os.path.join(out, "straight")
    start = time.time()
    subprocess.run(command(data_root, straight, args.epochs), cwd=REPO, env=env(), check=True,
                   capture_output=True)
    a = last_row(straight)
    print(f"straight epochs={args.epochs} seconds={time.time() - start:.0f} "
          f"loss={a['loss']:.6f} pck={a.get('pck/PCK', float('nan')):.4f} "
          f"ap={a.get('coco/AP', float('nan')):.4f}", flush=True)

    killed = os.path.join(out, "killed")
    proc = subprocess.Popen(command(data_root, killed, args.epochs), cwd=REPO, env=env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        seen = {}  # epoch -> time its checkpoint appeared
        while proc.poll() is None and max(seen, default=0) < args.kill_epoch:
            epoch = (state(killed) or {}).get("epoch", 0)
            seen.setdefault(epoch, time.time())
            time.sleep(0.02)
        checkpointed = seen[args.kill_epoch]
        earlier = max(e for e in seen if e < args.kill_epoch)
        epoch_seconds = (checkpointed - seen[earlier]) / (args.kill_epoch - earlier)
        # A random step of the next epoch, by the duration of the last one.
        time.sleep(rng.uniform(0.1, 0.8) * epoch_seconds)
        if proc.poll() is not None:
            raise SystemExit("the run finished before the kill; lower --kill_epoch")
        after = state(killed)["epoch"]
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        since = time.time() - checkpointed
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    subprocess.run(command(data_root, killed, args.epochs), cwd=REPO, env=env(), check=True,
                   capture_output=True)
    with open(os.path.join(killed, "train.log")) as f:
        steps = int(re.search(r"(\d+) steps per epoch", f.read()).group(1))
    b = last_row(killed)
    print(f"kill_resume killed_after_epoch={after} seconds_after_checkpoint={since:.1f} "
          f"epoch_seconds={epoch_seconds:.1f} steps_lost<={steps} "
          f"loss_uninterrupted={a['loss']:.6f} loss_resumed={b['loss']:.6f} "
          f"pck_uninterrupted={a.get('pck/PCK', float('nan')):.4f} "
          f"pck_resumed={b.get('pck/PCK', float('nan')):.4f} "
          f"ap_uninterrupted={a.get('coco/AP', float('nan')):.4f} "
          f"ap_resumed={b.get('coco/AP', float('nan')):.4f}", flush=True)

if __name__ == "__main__":
    main()
