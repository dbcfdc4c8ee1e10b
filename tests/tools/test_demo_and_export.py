"""Tests of tools/export.py and tools/demo.py, run in-process on a tiny gin model."""

import json
import os

import importlib.util

import cv2
import gin
import numpy as np
import pytest

TOOLS = os.path.join(os.path.dirname(__file__), "..", "..", "tools")


def _load_tool(name):
    # tools/ is scripts, not a package: under plain `pytest` the name `tools` resolves to
    # the tests/tools folder, so load the files by path.
    spec = importlib.util.spec_from_file_location(f"kpose_tool_{name}",
                                                  os.path.join(TOOLS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = _load_tool("demo")
export = _load_tool("export")

# A tiny SimpleBaseline (two ResNet stages, one deconv) at 48x64 on COCO's 17 keypoints.
TINY = [
    "RESNET_DEPTH = 18", "ResNet.stem_channels = 4", "ResNet.base_channels = 4",
    "ResNet.num_stages = 2", "ResNet.strides = (1, 2)", "ResNet.out_indices = (1,)",
    "HeatmapHead.deconv_out_channels = (8,)", "HeatmapHead.deconv_kernel_sizes = (4,)",
    "INPUT_SIZE = (48, 64)", "HEATMAP_SIZE = (12, 16)",
]
GIN = os.path.join(os.path.dirname(__file__), "..", "..", "gin_configs", "quickstart.gin")


@pytest.fixture(autouse=True)
def clean_gin():
    yield
    gin.clear_config()


def test_export_keras_then_demo_on_a_folder(tmp_path):
    params = []
    for p in TINY:
        params += ["--gin_param", p]
    export.main(["--gin_file", GIN, *params, "--format", "keras",
                 "--output", str(tmp_path / "saved")])
    artifact = tmp_path / "saved" / "model.keras"
    meta = json.loads((tmp_path / "saved" / "model.json").read_text())
    assert artifact.exists() and meta["input_size"] == [48, 64]
    assert meta["dataset_name"] == "coco" and "ResNet.stem_channels = 4" in meta["gin_config"]

    images = tmp_path / "imgs"
    images.mkdir()
    for i in range(2):
        cv2.imwrite(str(images / f"{i}.jpg"), np.full((60, 50, 3), 40 * i, np.uint8))
    out_dir = str(tmp_path / "demo")
    demo.main([str(images), "--model", str(artifact), "--out_dir", out_dir,
               "--bboxes", "5,5,40,55"])
    saved = json.loads(open(os.path.join(out_dir, "predictions.json")).read())
    assert len(saved) == 2 and all(len(f["instances"]) == 1 for f in saved)
    assert sorted(os.listdir(os.path.join(out_dir, "vis"))) == ["0.jpg", "1.jpg"]
