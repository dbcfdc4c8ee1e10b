"""Every recipe's model has exactly the parameters of MMPose 1.3.2's model for the same
config (a table made by tools/dev/make_param_counts.py in the MMPose reference venv), so
MMPose checkpoints convert one to one.

Built at full size (symbolically: no forward pass runs), so the large models are slow; a
few representative ones run by default, all with --runslow.
"""

import json
import os

import gin
import numpy as np
import pytest

from kpose.engine import config

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TABLE = json.load(open(os.path.join(REPO, "tests", "fixtures", "goldens", "param_counts.json")))
FAST = {"td-hm_res50_coco-256x192", "rtmpose-m_coco-256x192", "td-reg_res50_rle_coco-256x192",
        "td-hm_mobilenetv2_coco-256x192"}
CASES = [stem if stem in FAST else pytest.param(stem, marks=pytest.mark.slow)
         for stem in sorted(TABLE)]


def recipe_path(stem):
    for root, _, files in os.walk(os.path.join(REPO, "gin_configs", "experiments")):
        if f"{stem}.gin" in files:
            return os.path.join(root, f"{stem}.gin")
    raise FileNotFoundError(stem)


def test_table_names_the_headline_models():
    assert TABLE["td-hm_res50_coco-256x192"]["params"] == 33_999_697
    assert TABLE["td-hm_hrnet-w32_coco-256x192"]["params"] == 28_536_113
    assert TABLE["rtmpose-m_coco-256x192"]["params"] == 13_587_611


@pytest.mark.parametrize("stem", CASES)
def test_recipe_has_mmposes_parameter_count(stem, monkeypatch):
    monkeypatch.chdir(REPO)
    gin.clear_config()
    try:
        config.parse_config([recipe_path(stem)], ["DATA_ROOT = '/nonexistent'"])
        model = gin.get_bindings("train", resolve_references=True)["model"]()
        w, h = model.codec.input_size
        model.build((1, h, w, 3))
    finally:
        gin.clear_config()
    # MMPose keeps the integral heads' coordinate grids as frozen nn.Parameters, which
    # `parameters()` counts; here they are non-trainable weights.
    frozen_params = [v for v in model.non_trainable_weights if v.name.startswith("linspace")]
    params = int(sum(np.prod(v.shape) for v in model.trainable_weights + frozen_params))
    assert params == TABLE[stem]["params"], (stem, TABLE[stem]["mmpose_config"])
