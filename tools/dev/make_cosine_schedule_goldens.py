"""Records mmengine's learning rate, step by step, for linear warm-up + cosine schedules.

The cases cover RTMPose's recipe (LinearLR over iterations, then CosineAnnealingLR from half
the run to its end with `convert_to_iter_based=True`), a cosine over the whole run, a warm-up
that overlaps the cosine, a warm-up longer than the run, no warm-up, and RTMPose's full-size
schedule (420 epochs of 585 iterations) sampled at a few thousand steps.

Run in the MMPose reference venv (../shared/tools/setup_mmpose_reference.sh):

    /tmp/mmpose-ref/bin/python tools/dev/make_cosine_schedule_goldens.py \
        --out tests/fixtures/goldens/
"""

import argparse
import json
import os

import numpy as np
import torch
from mmengine.optim.scheduler import CosineAnnealingLR, LinearLR

# name -> (base_lr, steps_per_epoch, epochs, cosine_begin_epoch, warmup_steps, warmup_ratio,
#          eta_min, eta_min_ratio); exactly one of eta_min / eta_min_ratio is set.
CASES = {
    "flat_cosine": (4e-3, 7, 12, 6, 20, 1e-5, None, 0.05),
    "flat_cosine_overlap": (4e-3, 5, 8, 2, 50, 1e-5, None, 0.05),
    "flat_cosine_no_warmup": (1e-3, 3, 10, 4, 0, 1e-5, None, 0.1),
    "cosine": (5e-4, 7, 12, 0, 20, 1e-3, 1e-5, None),
    "cosine_eta0": (5e-4, 6, 9, 0, 10, 1e-3, 0.0, None),
    "cosine_long_warmup": (1e-3, 3, 4, 0, 30, 1e-3, 1e-5, None),
}
RTMPOSE_FULL = (4e-3, 585, 420, 210, 1000, 1e-5, None, 0.05)


def run_schedule(base_lr, steps_per_epoch, epochs, cosine_begin_epoch, warmup_steps,
                 warmup_ratio, eta_min, eta_min_ratio, extra_steps=5):
    """The lr at every iteration of `epochs` epochs (plus a few after the end)."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([param], lr=base_lr)
    schedulers = []
    if warmup_steps:
        schedulers.append(LinearLR(opt, start_factor=warmup_ratio, by_epoch=False, begin=0,
                                   end=warmup_steps))
    # What mmengine's runner builds from a by_epoch=True, convert_to_iter_based=True config.
    schedulers.append(CosineAnnealingLR.build_iter_from_epoch(
        opt, eta_min=eta_min, eta_min_ratio=eta_min_ratio, begin=cosine_begin_epoch,
        end=epochs, T_max=epochs - cosine_begin_epoch, by_epoch=True,
        epoch_length=steps_per_epoch))
    lrs = []
    for _ in range(epochs * steps_per_epoch + extra_steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        for scheduler in schedulers:
            scheduler.step()
    return np.asarray(lrs, np.float64)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="tests/fixtures/goldens/")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    arrays, params = {}, {}
    for name, case in CASES.items():
        arrays[name] = run_schedule(*case)
        params[name] = case
    full = run_schedule(*RTMPOSE_FULL, extra_steps=0)
    idx = np.unique(np.concatenate([np.arange(0, len(full), 97), np.arange(0, 1200),
                                    np.arange(len(full) - 50, len(full))]))
    arrays["rtmpose_full"] = full[idx]
    arrays["rtmpose_full_steps"] = idx
    params["rtmpose_full"] = RTMPOSE_FULL
    path = os.path.join(args.out, "schedule_cosine.npz")
    np.savez(path, params=json.dumps(params), **arrays)
    print("wrote", path, {k: v.shape for k, v in arrays.items()})


if __name__ == "__main__":
    main()
