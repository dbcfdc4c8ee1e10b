"""The pose-lifting gin recipes parse, build, train one step and predict on tiny data.

The Human3.6M recipes run on a tiny synthetic mocap folder, which has MMPose's Human3.6M
layout; widths shrink (STEM_CHANNELS), frame counts stay the recipes' own (243 frames).
The quick start also runs the full `train()` root for one short epoch (--runslow).
"""

import math
import os

import gin
import keras
import numpy as np
import pytest

# The lifting configurables register on import (until the package __init__s export them).
import kpose.codecs.video_pose_lifting  # noqa: F401
import kpose.datasets.lifting_pipeline  # noqa: F401
import kpose.datasets.synthetic_mocap  # noqa: F401
import kpose.datasets.transforms.random_flip_around_root  # noqa: F401
import kpose.engine.epoch_exponential_decay  # noqa: F401
import kpose.evaluation.mpjpe  # noqa: F401
import kpose.models.backbones.tcn  # noqa: F401
import kpose.models.estimators.pose_lifter  # noqa: F401
import kpose.models.heads.temporal_regression_head  # noqa: F401
import kpose.models.losses.mpjpe_loss  # noqa: F401
from kpose.datasets.human36m_dataset import Human36mDataset
from kpose.datasets.synthetic_mocap import make_synthetic_mocap
from kpose.engine import config

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
GIN_DIR = os.path.join(REPO, "gin_configs")
H36M_DIR = "experiments/body_3d_keypoint/video_pose_lift/h36m"
RECIPES = [f"{H36M_DIR}/video-pose-lift_tcn-243frm-supv_h36m.gin",
           f"{H36M_DIR}/video-pose-lift_tcn-27frm-supv_h36m.gin",
           "quickstart_lifting.gin"]


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("mocap"))
    make_synthetic_mocap(root, subjects=("S1",), test_subjects=("S9",), takes_per_subject=1,
                         frames_per_take=12)
    return root


def params(data_root):
    return [f"DATA_ROOT = '{data_root}'", "train.prepare_data = None", "STEM_CHANNELS = 16",
            "EPOCHS = 1", "BATCH_SIZE = 8", "train.val_interval = 1", "train.verbose = 0",
            "train.mixed_precision = None"]


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_builds_steps_and_predicts(recipe, data_root, monkeypatch):
    header = open(os.path.join(GIN_DIR, recipe)).read().lstrip()
    assert header.startswith("#") and "tools/train.py" in header.split("\n\n")[0]
    monkeypatch.chdir(REPO)
    gin.clear_config()
    try:
        config.parse_config([os.path.join(GIN_DIR, recipe)], params(data_root))
        parts = gin.get_bindings("train", resolve_references=True)
        keras.utils.set_random_seed(0)
        model = parts["model"]()
        train_data, val_data = parts["train_dataset"](), parts["val_dataset"]()
        assert isinstance(train_data, Human36mDataset)
        model.check_fits_data(train_data.meta)
        codec = model.codec
        train_ds = parts["train_pipeline"](records=train_data.records, meta=train_data.meta,
                                           codec=codec, input_size=None, train=True,
                                           batch_size=4, seed=0)
        val_ds = parts["val_pipeline"](records=val_data.records, meta=val_data.meta,
                                       codec=codec, input_size=None, train=False, batch_size=4)
        inputs, targets = next(iter(train_ds))
        assert inputs.shape[1] == model.receptive_field == train_data.seq_len
        schedule = parts["lr_schedule"](steps_per_epoch=1)
        model.compile(optimizer=parts["optimizer"](learning_rate=schedule), run_eagerly=True)
        logs = model.train_on_batch(inputs, targets, return_dict=True)
        val_inputs, meta = next(iter(val_ds))
        preds = model.predict_on_batch((val_inputs, meta))
        metrics = [m() for m in parts["metrics"]]
        results = {}
        for metric in metrics:
            metric.update(preds)
            results.update(metric.result())
    finally:
        gin.clear_config()
    assert math.isfinite(float(logs["loss"]))
    assert preds["keypoints"].shape == (4, 17, 3)
    assert set(results) == {"MPJPE", "P-MPJPE"} and all(map(math.isfinite, results.values()))
    # An untrained lifter is off by about a limb length: tens of centimetres, in mm.
    assert 50 < results["MPJPE"] < 5000


@pytest.mark.slow  # one short epoch + evaluation: ~30 s on a loaded 2-core machine
def test_quickstart_trains_with_the_train_root(data_root, tmp_path, monkeypatch):
    """The full trainer (`train` root) on the quick start."""
    import kpose.engine.train as train_lib

    monkeypatch.chdir(REPO)
    gin.clear_config()
    try:
        config.parse_config([os.path.join(GIN_DIR, "quickstart_lifting.gin")], params(data_root))
        results = train_lib.train(work_dir=str(tmp_path / "work"))
    finally:
        gin.clear_config()
    assert set(results) == {"mpjpe/MPJPE", "p-mpjpe/P-MPJPE"}
    assert all(np.isfinite(v) for v in results.values())
    assert os.path.isfile(tmp_path / "work" / "operative_config.gin")
