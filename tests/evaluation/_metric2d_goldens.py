"""Loads the dataset-specific metric goldens (tools/dev/make_metric_goldens.py)."""

import json
import os

import numpy as np

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens")
INPUTS = dict(np.load(os.path.join(GOLDENS, "metric2d_inputs.npz")))
with open(os.path.join(GOLDENS, "metric2d_expected.json")) as _f:
    EXPECTED = json.load(_f)
WHOLEBODY_GT = os.path.join(GOLDENS, "wholebody_metric_gt.json")
PARTITION_GT = os.path.join(GOLDENS, "partition_metric_gt.json")


def batches(prefix, extra=(), size=5):
    """Yields update() dicts from the ``<prefix>_*`` arrays, ``size`` instances at a time."""
    keys = {"keypoints": f"{prefix}_keypoints", "gt_keypoints": f"{prefix}_gt_keypoints",
            "keypoints_visible": f"{prefix}_keypoints_visible"}
    keys.update({k: f"{prefix}_{k}" for k in extra})
    n = len(INPUTS[keys["keypoints"]])
    for i in range(0, n, size):
        yield {k: INPUTS[v][i:i + size] for k, v in keys.items()}


def assert_matches(result, expected, abs_tol=1e-6):
    assert set(result) == set(expected), (sorted(result), sorted(expected))
    for name, value in expected.items():
        assert abs(result[name] - value) <= abs_tol * max(1.0, abs(value)), (name, result[name], value)
