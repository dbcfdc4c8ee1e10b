"""Parameter counts of MMPose 1.3.2's models for every kpose recipe that names one.

Each experiment gin file's first line names its MMPose config ("(MMPose: <config stem>)").
The model is built from that config in the MMPose reference venv and its parameters counted
as PyTorch does (`sum(p.numel() for p in model.parameters())`, buffers excluded):

    /tmp/mmpose-ref/bin/python tools/dev/make_param_counts.py \
        tests/fixtures/goldens/param_counts.json
"""
import glob
import json
import os
import re
import sys
import types

# The reference venv ships a stub torchvision without `ops`, which mmpretrain's evaluation
# package imports (its backbones never use it).
_ops = types.ModuleType("torchvision.ops")
_ops.boxes = types.ModuleType("torchvision.ops.boxes")
sys.modules.setdefault("torchvision.ops", _ops)
sys.modules.setdefault("torchvision.ops.boxes", _ops.boxes)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def mmpose_configs():
    import mmpose
    root = os.path.join(os.path.dirname(mmpose.__file__), ".mim", "configs")
    return {os.path.splitext(os.path.basename(p))[0]: p
            for p in glob.glob(os.path.join(root, "**", "*.py"), recursive=True)}


def main(out):
    from mmengine.config import Config
    from mmpose.apis import init_model
    from mmpose.utils import register_all_modules

    register_all_modules()
    try:
        import mmdet.models  # noqa: F401  (CSPNeXt lives in mmdet)
    except ImportError as err:
        print("mmdet models not importable:", err)
    try:
        import mmpretrain.models  # noqa: F401  (ViTPose's backbone)
    except ImportError as err:
        print("mmpretrain models not importable:", err)
    configs = mmpose_configs()
    counts = {}
    for path in sorted(glob.glob(os.path.join(REPO, "gin_configs", "experiments", "**", "*.gin"),
                                 recursive=True)):
        first = open(path).readline()
        match = re.search(r"MMPose: ([\w\-.]+)\)", first)
        if not match:
            continue
        name = match.group(1)
        if name not in configs:
            print("no MMPose config named", name)
            continue
        cfg = Config.fromfile(configs[name])
        cfg.model.setdefault("backbone", {}).pop("init_cfg", None)
        model = init_model(cfg, device="cpu")
        stem = os.path.splitext(os.path.basename(path))[0]
        counts[stem] = {"mmpose_config": name,
                        "params": int(sum(p.numel() for p in model.parameters()))}
        print(stem, counts[stem])
    with open(out, "w") as f:
        json.dump(counts, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv[1])
