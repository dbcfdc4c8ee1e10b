"""Generate golden fixtures for kpose's dataset readers from MMPose 1.3.2.

Run with the reference venv (it imports mmpose; kpose never does)::

    /tmp/mmpose-ref/bin/python tools/dev/make_dataset_goldens.py

Builds tiny annotation files in each dataset's on-disk format (MPII json + head boxes,
CrowdPose, JHMDB, COCO-WholeBody, PoseTrack18 COCO-style json), from a numpy
RandomState, with the awkward cases each reader must handle (crowd, unlabelled and
empty-box people, 1-based coordinates, the CrowdPose crowd index, center x of -1 in
MPII), reads them with MMPose's dataset classes (top-down mode) and with its
KeypointConverter, and writes ``tests/fixtures/goldens/dataset_readers.json``:
``{name: {"files": {relative path: content}, "expected": {column: values}}}``.
The tests write the files into a temporary folder, read them with kpose and compare.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "goldens", "dataset_readers.json")


def _kpts(rng, k, w, h, p_unlabelled=0.3, p_occluded=0.2):
    out = []
    for _ in range(k):
        u = rng.rand()
        if u < p_unlabelled:
            out += [0, 0, 0]
        else:
            out += [round(float(rng.uniform(0, w)), 2), round(float(rng.uniform(0, h)), 2),
                    1 if u < p_unlabelled + p_occluded else 2]
    return out


def _coco(rng, k, num_images=3, per_image=3, extra=None):
    images, anns = [], []
    aid = 100
    for i in range(num_images):
        w, h = int(rng.randint(60, 120)), int(rng.randint(60, 120))
        images.append({"id": 10 + i, "file_name": f"{i:06d}.jpg", "width": w, "height": h})
        for j in range(per_image):
            x, y = float(rng.uniform(-5, w / 2)), float(rng.uniform(-5, h / 2))
            bw, bh = float(rng.uniform(5, w)), float(rng.uniform(5, h))
            kp = _kpts(rng, k, w, h)
            ann = {"id": aid, "image_id": 10 + i, "category_id": 1, "bbox": [round(x, 2), round(y, 2),
                                                                              round(bw, 2), round(bh, 2)],
                   "keypoints": kp, "num_keypoints": sum(1 for v in kp[2::3] if v > 0), "iscrowd": 0,
                   "area": round(0.5 * bw * bh, 2), "segmentation": []}
            anns.append(ann)
            aid += 1
    # awkward rows: a crowd person, an unlabelled one, a box fully outside (empty after clip)
    anns[1]["iscrowd"] = 1
    anns[2]["keypoints"] = [0] * (3 * k)
    anns[2]["num_keypoints"] = 0
    anns[4]["bbox"] = [500.0, 500.0, 10.0, 10.0]
    del anns[5]["area"]
    return {"images": images, "annotations": anns,
            "categories": [{"id": 1, "name": "person", "keypoints": [], "skeleton": []}]}


_SCALAR_KEYS = ("img_id", "id", "area", "category_id", "crowd_index", "head_size", "bbox_score")


def _records(dataset, keys):
    """MMPose's data infos as kpose's columns: one row per instance, leading 1-axes dropped."""
    out = {key: [] for key in keys}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        for key in keys:
            value = np.asarray(info[key])
            if key in _SCALAR_KEYS:
                value = value.reshape(())
            elif value.ndim >= 1 and value.shape[0] == 1:
                value = value[0]
            out[key].append(value)
    return {key: np.asarray(v).tolist() for key, v in out.items()}


def main():
    sys.path.insert(0, os.path.dirname(__file__))
    from mmpose.datasets import (CocoWholeBodyDataset, CrowdPoseDataset, JhmdbDataset, MpiiDataset,
                                 PoseTrack18Dataset)
    from mmpose.datasets.transforms import KeypointConverter
    from scipy.io import savemat

    rng = np.random.RandomState(0)
    base_keys = ["img_id", "id", "bbox", "bbox_score", "keypoints", "keypoints_visible", "area"]
    goldens = {}
    with tempfile.TemporaryDirectory() as tmp:
        def run(name, cls, files, keys, **kwargs):
            for rel, content in files.items():
                path = os.path.join(tmp, name, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    json.dump(content, f)
            ds = cls(data_root=os.path.join(tmp, name), data_mode="topdown", **kwargs)
            goldens[name] = {"files": files, "expected": _records(ds, keys)}
            print(name, len(ds), "rows")

        run("crowdpose", CrowdPoseDataset,
            {"ann.json": _with_crowd_index(rng, _coco(rng, 14))}, base_keys + ["crowd_index"],
            ann_file="ann.json", data_prefix=dict(img="images/"))
        run("jhmdb", JhmdbDataset, {"ann.json": _coco(rng, 15)}, base_keys,
            ann_file="ann.json", data_prefix=dict(img="images/"))
        run("posetrack18", PoseTrack18Dataset, {"ann.json": _posetrack(rng)}, base_keys,
            ann_file="ann.json", data_prefix=dict(img=""))
        run("coco_wholebody", CocoWholeBodyDataset, {"ann.json": _wholebody(rng)}, base_keys,
            ann_file="ann.json", data_prefix=dict(img="images/"))

        mpii = _mpii(rng)
        heads = rng.uniform(10, 80, size=(2, 2, len(mpii))).round(2)
        os.makedirs(os.path.join(tmp, "mpii"), exist_ok=True)
        savemat(os.path.join(tmp, "mpii", "gt_valid.mat"), {"headboxes_src": heads})
        run("mpii", MpiiDataset, {"mpii_val.json": mpii},
            base_keys + ["bbox_center", "bbox_scale", "head_size"],
            ann_file="mpii_val.json", data_prefix=dict(img="images/"), test_mode=True,
            headbox_file=os.path.join(tmp, "mpii", "gt_valid.mat"))
        goldens["mpii"]["headboxes_src"] = heads.tolist()

    # KeypointConverter: single and averaged sources, float keypoints, 0/1 flags
    kpts = rng.uniform(0, 100, size=(3, 17, 2)).astype(np.float32)
    vis = (rng.rand(3, 17) > 0.3).astype(np.float32)
    mapping = [(5, 0), (6, 1), ((5, 6), 13), ((11, 12), 12), (0, 2)]
    res = KeypointConverter(num_keypoints=14, mapping=mapping).transform(
        {"keypoints": kpts.copy(), "keypoints_visible": vis.copy()})
    goldens["keypoint_converter"] = {
        "mapping": [[list(s) if isinstance(s, tuple) else s, t] for s, t in mapping],
        "keypoints": kpts.tolist(), "keypoints_visible": vis.tolist(),
        "expected": {"keypoints": np.asarray(res["keypoints"]).tolist(),
                     "keypoints_visible": np.asarray(res["keypoints_visible"]).tolist()}}
    with open(OUT, "w") as f:
        json.dump(goldens, f)
    print("wrote", os.path.abspath(OUT), os.path.getsize(OUT), "bytes")


def _with_crowd_index(rng, coco):
    for img in coco["images"]:
        img["crowdIndex"] = round(float(rng.rand()), 4)
    return coco


def _posetrack(rng):
    coco = _coco(rng, 17)
    for i, img in enumerate(coco["images"]):
        img.update(file_name=f"images/val/000342_mpii_test/{i:06d}.jpg", frame_id=10003420000 + i,
                   vid_id="000342", nframes=3, is_labeled=True)
    for n, ann in enumerate(coco["annotations"]):
        ann["track_id"] = n % 3
        ann["keypoints"] = [min(v, 1) if i % 3 == 2 else v for i, v in enumerate(ann["keypoints"])]
    return coco


def _wholebody(rng):
    coco = _coco(rng, 17)
    for ann in coco["annotations"]:
        w, h = 100, 100
        for field, k in (("foot_kpts", 6), ("face_kpts", 68), ("lefthand_kpts", 21), ("righthand_kpts", 21)):
            ann[field] = _kpts(rng, k, w, h, p_unlabelled=0.5)
        ann["face_valid"] = True
    # a person with no body keypoint but a labelled hand: MMPose skips it (num_keypoints 0)
    coco["annotations"][6]["keypoints"] = [0] * 51
    coco["annotations"][6]["num_keypoints"] = 0
    return coco


def _mpii(rng):
    anns = []
    for i in range(6):
        joints = rng.uniform(1, 300, size=(16, 2)).round(1)
        vis = (rng.rand(16) > 0.25).astype(int)
        joints[vis == 0] = -1 if i % 2 else 0
        anns.append({"image": f"{15601864 + i // 2:09d}.jpg", "center": [float(rng.uniform(50, 250)),
                                                                        float(rng.uniform(50, 250))],
                     "scale": round(float(rng.uniform(0.5, 3)), 6), "joints": joints.tolist(),
                     "joints_vis": vis.tolist()})
    anns[3]["center"] = [-1.0, -1.0]
    anns[4]["joints"] = [[-1.0, -1.0]] * 16  # no positive coordinate: skipped
    return anns


if __name__ == "__main__":
    main()
