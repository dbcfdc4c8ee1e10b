"""Every gin recipe parses, builds, trains one step and predicts on tiny data.

Parametrised over `gin_configs/experiments/**.gin` and `gin_configs/quickstart.gin`, so a
new recipe is tested by being added. Each case keeps the recipe's own layers, codec,
pipeline and schedule, and only shrinks what makes it slow: the data (a synthetic
COCO-format folder written once per module), the input size (the heatmap keeps the
recipe's input/heatmap ratio) and the widths of the known backbones and heads.

Two checks: every recipe gets one eager training step and one eager predict from its own
factories (seconds each); the full `train()` root (fit, evaluation, checkpoints) runs for
the quick start by default and for every recipe with --runslow.
"""

import csv
import glob
import math
import os

import gin
import keras
import numpy as np
import pytest

from kpose.datasets.synthetic import make_synthetic_coco
from kpose.engine import config
from kpose.engine.train import train

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
GIN_DIR = os.path.join(REPO, "gin_configs")
# 2D recipes (top-down and bottom-up); the lifting recipes (body_3d_keypoint) need 2D
# keypoint sequences and have their own checks in test_gin_lifting_recipes.py.
RECIPES = sorted(
    os.path.relpath(p, GIN_DIR)
    for p in glob.glob(os.path.join(GIN_DIR, "experiments", "**", "*.gin"), recursive=True)
    if "body_3d_keypoint" not in p
) + ["quickstart.gin", "quickstart_bottomup.gin"]

# One epoch of train() plus its evaluation pass traces train_step and predict_step: measured
# 3-5 min per recipe on 2 cores shared with other jobs (load ~6). Only the quick start runs
# it by default; every other recipe runs it with --runslow.
FAST = {"quickstart.gin"}
CASES = [r if r in FAST else pytest.param(r, marks=pytest.mark.slow) for r in RECIPES]

# Small enough for a stride-32 backbone and a stride-4 heatmap.
TINY_INPUT = (64, 64)
# Widths of the backbones and heads the recipes use. Bindings for configurables a recipe
# does not use are harmless: gin only applies them when the configurable is called.
SHRINK = [
    "ResNet.stem_channels = 8",
    "ResNet.base_channels = 8",
    "ResNetV1d.stem_channels = 8",
    "ResNetV1d.base_channels = 8",
    "hrnet_extra.width = 4",
    "hrnet_extra.num_modules = (1, 1, 1, 1)",
    "MobileNetV2.widen_factor = 0.25",
    "CSPNeXt.deepen_factor = 0.167",
    "CSPNeXt.widen_factor = 0.125",
    "RTMCCHead.gau_hidden_dims = 16",
    "RTMCCHead.gau_s = 8",
    "VIT_ARCH = {'embed_dims': 32, 'num_layers': 2, 'num_heads': 2, "
    "'feedforward_channels': 64}",
    "VIT_NUM_LAYERS = 2",
    "SimCCHead.deconv_out_channels = (16, 16, 16)",
    "DSNTHead.deconv_out_channels = (16, 16, 16)",
    # Schedules that begin late in a long run start at once in a one-epoch run.
    "COSINE_BEGIN_EPOCH = 0",
]


def data_params(data_root):
    """Points a recipe at the synthetic folder and makes one epoch two steps long."""
    return [
        f"DATA_ROOT = '{data_root}'",
        "TRAIN_ANN = 'annotations/person_keypoints_train.json'",
        "TRAIN_IMAGES = 'images/train/'",
        "VAL_ANN = 'annotations/person_keypoints_val.json'",
        "VAL_IMAGES = 'images/val/'",
        # The data is written once per module; recipes that prepare their own skip it.
        "train.prepare_data = None",
        "EPOCHS = 1",
        "BATCH_SIZE = 2",
        "train.val_interval = 1",
        "train.val_batch_size = 4",
        "train.verbose = 0",
        "train.mixed_precision = None",
    ]


def _query(name, default=None):
    try:
        return gin.query_parameter(name)
    except ValueError:
        return default


def shrink_sizes():
    """Binds a tiny input size; the heatmap keeps the recipe's stride."""
    input_size = _query("%INPUT_SIZE")
    if input_size is None:
        return
    heatmap_size = _query("%HEATMAP_SIZE")
    gin.bind_parameter("%INPUT_SIZE", TINY_INPUT)
    if heatmap_size is not None:
        stride = input_size[0] // heatmap_size[0]
        assert input_size[1] // heatmap_size[1] == stride, (input_size, heatmap_size)
        gin.bind_parameter("%HEATMAP_SIZE", tuple(s // stride for s in TINY_INPUT))
    # Sizes derived from the input size: the stride-32 feature map (w, h), the ViT's (h, w).
    if _query("%IN_FEATUREMAP_SIZE") is not None:
        gin.bind_parameter("%IN_FEATUREMAP_SIZE", tuple(s // 32 for s in TINY_INPUT))
    if _query("%IMG_SIZE_HW") is not None:
        gin.bind_parameter("%IMG_SIZE_HW", tuple(reversed(TINY_INPUT)))
    deconvs = _query("HeatmapHead.deconv_out_channels")
    if deconvs:
        gin.bind_parameter("HeatmapHead.deconv_out_channels", (16,) * len(deconvs))


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("synthetic_coco"))
    make_synthetic_coco(root, num_train_images=4, num_val_images=2, image_size=(96, 72))
    return root


def test_recipes_are_found():
    assert "experiments/body_2d_keypoint/topdown_heatmap/coco/td-hm_res50_coco-256x192.gin" \
        in RECIPES


@pytest.mark.parametrize("recipe", CASES)
def test_recipe_trains_with_the_train_root(recipe, data_root, tmp_path, monkeypatch):
    path = os.path.join(GIN_DIR, recipe)
    header = open(path).read().lstrip()
    # Every recipe says how to run it and what it should reach.
    assert header.startswith("#") and "tools/train.py" in header.split("\n\n")[0], recipe
    monkeypatch.chdir(REPO)
    gin.clear_config()
    try:
        config.parse_config([path], data_params(data_root) + SHRINK)
        shrink_sizes()
        work_dir = str(tmp_path / "work")
        # One epoch of fit (a few steps), then the evaluation pass runs predict on the
        # val split and scores it with the recipe's metrics.
        results = train(work_dir=work_dir)
    finally:
        gin.clear_config()
    with open(os.path.join(work_dir, "log.csv")) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 and math.isfinite(float(rows[0]["loss"])), rows
    assert results, "the evaluation (predict) pass returned no metrics"
    assert all(math.isfinite(v) for v in results.values()), results
    assert os.path.isfile(os.path.join(work_dir, "operative_config.gin"))


def _bindings(root):
    return gin.get_bindings(root, resolve_references=True)


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_builds_steps_and_predicts(recipe, data_root, monkeypatch):
    """The light check every recipe gets by default: the recipe's own factories build the
    model, datasets, pipelines and optimizer; one eager training step and one eager predict
    (no tracing, which is what makes a full epoch slow) give finite numbers."""
    path = os.path.join(GIN_DIR, recipe)
    monkeypatch.chdir(REPO)
    gin.clear_config()
    try:
        config.parse_config([path], data_params(data_root) + SHRINK)
        shrink_sizes()
        parts = _bindings("train")
        keras.utils.set_random_seed(0)
        if parts.get("prepare_data") is not None:
            parts["prepare_data"]()
        model = parts["model"]()
        train_data = parts["train_dataset"]()
        val_data = parts["val_dataset"]()
        codec = model.codec
        batch = 2
        train_ds = parts["train_pipeline"](
            records=train_data.records, meta=train_data.meta, codec=codec,
            input_size=codec.input_size, train=True, batch_size=batch, seed=0)
        val_ds = parts["val_pipeline"](
            records=val_data.records, meta=val_data.meta, codec=codec,
            input_size=codec.input_size, train=False, batch_size=batch)
        images, targets = next(iter(train_ds))
        model(images[:1])  # built, so optimizer setups can see every variable
        schedule = parts["lr_schedule"](steps_per_epoch=1)
        optimizer = parts["optimizer"](learning_rate=schedule)
        setups = parts.get("optimizer_setup") or ()
        for setup in (setups if isinstance(setups, (list, tuple)) else [setups]):
            setup(optimizer, model)
        model.compile(optimizer=optimizer, run_eagerly=True)
        logs = model.train_on_batch(images, targets, return_dict=True)
        val_images, meta = next(iter(val_ds))
        predictions = model.predict_on_batch((val_images, meta))
    finally:
        gin.clear_config()
    assert math.isfinite(float(logs["loss"])), logs
    num_keypoints = len(train_data.meta.flip_indices)
    # Top-down: (B, K, 2); bottom-up: (B, N, K, 2), N people per image.
    assert predictions["keypoints"].shape[0] == batch
    assert predictions["keypoints"].shape[-2:] == (num_keypoints, 2)
    assert predictions["keypoint_scores"].shape == predictions["keypoints"].shape[:-1]
    assert np.all(np.isfinite(predictions["keypoints"]))
