"""Writes MMPose's parsed dataset meta information as JSON goldens for kpose's tests.

Run with the MMPose 1.3.2 reference venv (never from kpose's own tests):

    /tmp/mmpose-ref/bin/python tools/dev/make_metainfo_goldens.py \
        --out tests/fixtures/goldens/metainfo_coco.json [--dataset coco]

The JSON holds MMPose's ``parse_pose_metainfo`` output for
``configs/_base_/datasets/<dataset>.py`` with arrays as lists and tuples as lists.

With ``--all`` it writes one compact JSON for every built-in dataset of kpose (MMPose's
file stems, 3D-only sets excepted), keyed by stem, holding the fields the built-ins are
compared on:

    /tmp/mmpose-ref/bin/python tools/dev/make_metainfo_goldens.py --all \
        --out tests/fixtures/goldens/metainfo_builtin.json
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


# kpose's built-ins (kpose.datasets.metainfo.BUILTIN_NAMES); kept here so that this script
# runs in the reference venv without kpose.
BUILTIN_STEMS = (
    "300vw", "300w", "300wlp", "aflw", "aic", "ak", "animalpose", "ap10k", "atrw", "coco",
    "coco_aic", "coco_openpose", "coco_wholebody", "coco_wholebody_face", "coco_wholebody_hand",
    "coco_wholebody_openpose", "cofw", "crowdpose", "deepfashion2", "deepfashion_full",
    "deepfashion_lower", "deepfashion_upper", "exlpose", "fly", "freihand2d", "h36m", "halpe",
    "halpe26", "horse10", "humanart", "humanart21", "humanart_aic", "interhand2d", "jhmdb",
    "lapa", "locust", "macaque", "mhp", "mpii", "mpii_trb", "ochuman", "onehand10k",
    "panoptic_hand2d", "posetrack18", "rhd2d", "ubody2d", "wflw", "zebra",
)
_COMPARED = ("dataset_name", "num_keypoints", "upper_body_ids", "lower_body_ids", "flip_indices",
             "flip_pairs", "keypoint_colors", "skeleton_links", "skeleton_link_colors",
             "dataset_keypoint_weights", "sigmas")


def _write_all(out: str, datasets_dir: str, version: str) -> None:
    import warnings

    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    golden = {"mmpose_version": version, "source": "configs/_base_/datasets/<stem>.py", "datasets": {}}
    for stem in BUILTIN_STEMS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = parse_pose_metainfo({"from_file": os.path.join(datasets_dir, f"{stem}.py")})
        entry = {k: _plain(parsed[k]) for k in _COMPARED}
        entry["keypoint_names"] = [parsed["keypoint_id2name"][i] for i in range(parsed["num_keypoints"])]
        golden["datasets"][stem] = entry
    with open(out, "w") as f:
        json.dump(golden, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {out} ({len(golden['datasets'])} datasets)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="coco", help="basename of an MMPose _base_/datasets config")
    parser.add_argument("--out", required=True, help="output JSON path")
    parser.add_argument("--all", action="store_true", help="every kpose built-in, one compact JSON")
    args = parser.parse_args()

    import mmpose  # the reference venv only
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    if args.all:
        _write_all(args.out, os.path.join(os.path.dirname(mmpose.__file__), ".mim", "configs", "_base_",
                                          "datasets"), mmpose.__version__)
        return
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
