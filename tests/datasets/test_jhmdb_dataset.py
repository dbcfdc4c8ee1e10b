"""JhmdbDataset on JHMDB-format (1-based COCO-style) files written by the tests."""

import json
import os

import numpy as np

from kpose.datasets.jhmdb_dataset import JhmdbDataset

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens", "dataset_readers.json")


def _write_files(root, files):
    for rel, content in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(content, f)


def test_matches_mmpose_records(tmp_path):
    with open(GOLDENS) as f:
        golden = json.load(f)["jhmdb"]
    _write_files(str(tmp_path), golden["files"])
    ds = JhmdbDataset("ann.json", data_root=str(tmp_path), data_prefix="images", check_images=False)
    expected = golden["expected"]
    assert ds.meta.name == "jhmdb" and ds.meta.num_keypoints == 15
    np.testing.assert_array_equal(ds.records["id"], expected["id"])
    np.testing.assert_array_equal(ds.records["img_id"], expected["img_id"])
    for key in ("bbox", "keypoints", "keypoints_visible", "area"):
        np.testing.assert_array_equal(ds.records[key], np.asarray(expected[key], np.float32), err_msg=key)


def test_one_based_coordinates_are_shifted(tmp_path):
    kpts = [0.0, 0.0, 0] * 15
    kpts[0:3] = [11.5, 21.0, 2]   # labelled
    kpts[3:6] = [1.0, 1.0, 1]     # labelled at MATLAB's origin: becomes (0, 0)
    coco = {"images": [{"id": 1, "file_name": "f.png", "width": 50, "height": 40}],
            "annotations": [{"id": 3, "image_id": 1, "category_id": 1, "bbox": [1.0, 2.0, 60.0, 10.0],
                             "keypoints": kpts, "num_keypoints": 2, "area": 999.0}]}
    _write_files(str(tmp_path), {"ann.json": coco})
    ds = JhmdbDataset("ann.json", data_root=str(tmp_path), check_images=False)
    r = ds.records
    # box x, y - 1, then clipped to the image: (0, 1, min(59, 49), 11)
    np.testing.assert_array_equal(r["bbox"], [[0.0, 1.0, 49.0, 11.0]])
    np.testing.assert_array_equal(r["keypoints"][0, :3], [[10.5, 20.0], [0.0, 0.0], [-1.0, -1.0]])
    np.testing.assert_array_equal(r["keypoints_visible"][0, :3], [1, 1, 0])
    # the file's area is ignored: 0.53 x clipped box area
    np.testing.assert_allclose(r["area"], [0.53 * 49 * 10], rtol=1e-6)
