"""Records MMPose's (mmengine's) LR for the SimpleBaseline schedule, step by step.

Run in the MMPose reference venv (../shared/tools/setup_mmpose_reference.sh):

    /tmp/mmpose-ref/bin/python tools/dev/make_schedule_goldens.py --out tests/fixtures/goldens/
"""

import argparse
import os

import numpy as np
import torch
from mmengine.optim.scheduler import LinearLR, MultiStepLR


def simple_baseline_schedule(steps_per_epoch=7, epochs=12, warmup=20, milestones=(5, 9)):
    """LinearLR(start_factor=0.001, end=warmup, by iteration) + MultiStepLR(by epoch)."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([param], lr=5e-4)
    warm = LinearLR(opt, start_factor=0.001, by_epoch=False, begin=0, end=warmup)
    steps = MultiStepLR(opt, milestones=list(milestones), gamma=0.1, by_epoch=True,
                        begin=0, end=epochs)
    lrs = []
    for _epoch in range(epochs):
        for _it in range(steps_per_epoch):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            warm.step()
        steps.step()
    return dict(lrs=np.asarray(lrs, np.float64), steps_per_epoch=steps_per_epoch,
                warmup=warmup, milestones=np.asarray(milestones))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="tests/fixtures/goldens/")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "schedule_simple_baseline.npz")
    np.savez(path, **simple_baseline_schedule())
    print("wrote", path)


if __name__ == "__main__":
    main()
