"""The synthetic COCO-format dataset: determinism, annotation sanity, loading, stamping."""

import json
import os

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from kpose.datasets import CocoStyleDataset, ensure_synthetic_coco, make_synthetic_coco
from kpose.datasets.synthetic import STAMP_FILE

SMALL = {"num_train_images": 6, "num_val_images": 3, "image_size": (160, 128)}


def _files(root):
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_synthetic_coco(str(tmp_path_factory.mktemp("syn")), seed=3, **SMALL)


def test_layout(small):
    files = _files(small)
    assert sorted(f for f in files if f.startswith("annotations")) == [
        os.path.join("annotations", "person_keypoints_train.json"),
        os.path.join("annotations", "person_keypoints_val.json")]
    assert sum(f.startswith(os.path.join("images", "train")) for f in files) == 6
    assert sum(f.startswith(os.path.join("images", "val")) for f in files) == 3


def test_same_seed_same_bytes(small, tmp_path):
    again = make_synthetic_coco(str(tmp_path / "again"), seed=3, **SMALL)
    assert _files(again) == _files(small)
    other = make_synthetic_coco(str(tmp_path / "other"), seed=4, **SMALL)
    assert _files(other)[os.path.join("images", "train", "000001.jpg")] != \
        _files(small)[os.path.join("images", "train", "000001.jpg")]


def test_annotation_sanity(small):
    import cv2

    for split in ("train", "val"):
        with open(os.path.join(small, "annotations", f"person_keypoints_{split}.json")) as f:
            coco = json.load(f)
        assert coco["categories"][0]["keypoints"][0] == "nose"
        assert len(coco["categories"][0]["skeleton"]) == 19
        images = {img["id"]: img for img in coco["images"]}
        assert len({a["id"] for a in coco["annotations"]}) == len(coco["annotations"]) > 0
        for img in coco["images"]:
            pixels = cv2.imread(os.path.join(small, "images", split, img["file_name"]))
            assert pixels.shape == (img["height"], img["width"], 3) == (128, 160, 3)
        for ann in coco["annotations"]:
            img = images[ann["image_id"]]
            kpts = np.array(ann["keypoints"], dtype=np.float64).reshape(17, 3)
            labelled = kpts[:, 2] > 0
            assert set(kpts[:, 2].tolist()) <= {0, 1, 2}
            assert ann["num_keypoints"] == labelled.sum() > 0
            assert not kpts[~labelled].any()  # unlabelled keypoints are [0, 0, 0]
            xy = kpts[labelled, :2]
            assert (xy >= 0).all() and (xy[:, 0] <= img["width"] - 1).all() and (xy[:, 1] <= img["height"] - 1).all()
            x, y, w, h = ann["bbox"]
            assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= img["width"] and y + h <= img["height"]
            assert (xy[:, 0] >= x - 1).all() and (xy[:, 0] <= x + w + 1).all()
            assert (xy[:, 1] >= y - 1).all() and (xy[:, 1] <= y + h + 1).all()
            assert ann["area"] == pytest.approx(0.53 * w * h, abs=0.01)
            assert ann["iscrowd"] == 0 and ann["category_id"] == 1


def test_most_keypoints_visible_and_front_facing(small):
    with open(os.path.join(small, "annotations", "person_keypoints_train.json")) as f:
        anns = json.load(f)["annotations"]
    kpts = np.array([a["keypoints"] for a in anns], dtype=np.float64).reshape(-1, 17, 3)
    assert (kpts[..., 2] == 2).mean() > 0.7
    # Front-facing figures: the left shoulder is right of the right shoulder in the image
    # (rotations stay within +-45 degrees).
    both = (kpts[:, 5, 2] > 0) & (kpts[:, 6, 2] > 0)
    assert (kpts[both, 5, 0] > kpts[both, 6, 0]).all()


def test_loads_through_dataset_and_pycocotools(small):
    ann_file = os.path.join(small, "annotations", "person_keypoints_val.json")
    ds = CocoStyleDataset(ann_file, data_root=small, data_prefix="images/val", test_mode=True)
    with open(ann_file) as f:
        assert len(ds) == len(json.load(f)["annotations"])
    gt = COCO(ann_file)
    # Ground truth submitted as predictions must score AP 1 under COCO's OKS evaluation.
    results = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
               for a in gt.dataset["annotations"]]
    evaluator = COCOeval(gt, gt.loadRes(results), "keypoints")
    evaluator.params.useSegm = None
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)


def test_ensure_reuses_and_regenerates(tmp_path):
    out = str(tmp_path / "syn")
    ensure_synthetic_coco(out, seed=1, **SMALL)
    first = os.path.join(out, "images", "train", "000001.jpg")
    stamp_time = os.path.getmtime(os.path.join(out, STAMP_FILE))
    os.utime(first, (1, 1))
    ensure_synthetic_coco(out, seed=1, **SMALL)
    assert os.path.getmtime(first) == 1  # same arguments: nothing rewritten
    ensure_synthetic_coco(out, seed=1, **dict(SMALL, num_train_images=2))
    assert len(os.listdir(os.path.join(out, "images", "train"))) == 2
    with open(os.path.join(out, STAMP_FILE)) as f:
        assert json.load(f)["num_train_images"] == 2
    assert os.path.getmtime(os.path.join(out, STAMP_FILE)) >= stamp_time


def test_ensure_refuses_foreign_folder(tmp_path):
    (tmp_path / "precious.txt").write_text("real data")
    with pytest.raises(ValueError, match="refusing"):
        ensure_synthetic_coco(str(tmp_path), **SMALL)
    assert (tmp_path / "precious.txt").exists()


@pytest.mark.parametrize("kwargs, word", [
    ({"num_train_images": -1}, "num_train_images"),
    ({"image_size": (32, 32)}, "image_size"),
    ({"max_people": 0}, "max_people"),
    ({"occluder_prob": 2.0}, "occluder_prob"),
    ({"jpeg_quality": 10}, "jpeg_quality"),
])
def test_bad_arguments(tmp_path, kwargs, word):
    with pytest.raises(ValueError, match=word):
        make_synthetic_coco(str(tmp_path), **kwargs)
    with pytest.raises(ValueError, match="unknown"):
        ensure_synthetic_coco(str(tmp_path / "x"), colour="blue")
