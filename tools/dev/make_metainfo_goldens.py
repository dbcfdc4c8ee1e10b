"""Writes MMPose's parsed dataset meta information as JSON goldens for kpose's tests.

Run with the MMPose 1.3.2 reference venv (never from kpose's own tests):

    /tmp/mmpose-ref/bin/python tools/dev/make_metainfo_goldens.py \
        --out tests/fixtures/goldens/metainfo_coco.json [--dataset coco]

The JSON holds MMPose's ``parse_pose_metainfo`` output for
``configs/_base_/datasets/<dataset>.py`` with arrays as lists and tuples as lists.
"""

import argparse
import json
import os

import numpy as np


def _plain(value):
    """Converts numpy arrays / tuples / dict keys into JSON-friendly values."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="coco", help="basename of an MMPose _base_/datasets config")
    parser.add_argument("--out", required=True, help="output JSON path")
    args = parser.parse_args()

    import mmpose  # the reference venv only
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    cfg = os.path.join(os.path.dirname(mmpose.__file__), ".mim", "configs", "_base_", "datasets",
                       f"{args.dataset}.py")
    parsed = parse_pose_metainfo({"from_file": cfg})
    golden = {"mmpose_version": mmpose.__version__, "source": f"configs/_base_/datasets/{args.dataset}.py"}
    golden.update({k: _plain(v) for k, v in parsed.items()})
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(golden, f, indent=1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
