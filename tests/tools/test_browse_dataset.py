"""tools/browse_dataset.py run in-process on a tiny synthetic dataset."""

import importlib.util
import os

import cv2
import gin
import numpy as np
import pytest

from kpose.datasets.coco_style_dataset import CocoStyleDataset
from kpose.datasets.metainfo import load as load_meta
from kpose.datasets.synthetic import make_synthetic_coco

REPO = os.path.join(os.path.dirname(__file__), "..", "..")


def _load_tool(name):
    # tools/ holds scripts, not a package: load the file by path
    spec = importlib.util.spec_from_file_location(f"kpose_tool_{name}", os.path.join(REPO, "tools", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


browse = _load_tool("browse_dataset")


@pytest.fixture(autouse=True)
def clean_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def test_draws_original_and_transformed_samples(tmp_path):
    root = str(tmp_path / "synthetic")
    make_synthetic_coco(root, num_train_images=2, num_val_images=1, image_size=(96, 72))
    out = str(tmp_path / "browse")
    written = browse.main(["--gin_file", os.path.join(REPO, "gin_configs", "quickstart.gin"),
                           "--gin_param", f"DATA_ROOT = '{root}'", "--gin_param", "train.prepare_data = None",
                           "--output_dir", out, "--num", "2"])
    assert [os.path.basename(p) for p in written] == ["0000_original.png", "0000_transformed.png",
                                                      "0001_original.png", "0001_transformed.png"]
    ds = CocoStyleDataset("annotations/person_keypoints_train.json", data_root=root, data_prefix="images/train")
    meta = load_meta("coco")
    colors = np.asarray(meta.keypoint_colors, np.int32)
    for i in range(2):
        original = cv2.cvtColor(cv2.imread(written[2 * i]), cv2.COLOR_BGR2RGB).astype(np.int32)
        assert original.shape == (72, 96, 3)
        # every labelled keypoint is a dot of its metainfo colour (PNG: exact where not overdrawn)
        kpts, vis = ds.records["keypoints"][i], ds.records["keypoints_visible"][i]
        hits = [np.abs(original[int(round(y)), int(round(x))] - colors[k]).max() <= 2
                for k, (x, y) in enumerate(kpts) if vis[k] > 0 and 0 <= x < 96 and 0 <= y < 72]
        assert hits and np.mean(hits) >= 0.6, hits
        transformed = cv2.imread(written[2 * i + 1])
        # the crop (quickstart's 96x128 input) and its heatmap panel side by side
        assert transformed.shape == (128, 192, 3)
        assert transformed[:, :96].std() > 5 and transformed[:, 96:].std() > 5


def test_rejects_bad_num(tmp_path):
    with pytest.raises(SystemExit):
        browse.main(["--gin_file", "x.gin", "--output_dir", str(tmp_path), "--num", "0"])
