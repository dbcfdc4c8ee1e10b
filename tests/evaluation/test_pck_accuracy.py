import json
import os

import numpy as np
import pytest

from kpose.evaluation import PCKAccuracy

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens")
INPUTS = dict(np.load(os.path.join(GOLDENS, "coco_metric_inputs.npz")))
with open(os.path.join(GOLDENS, "coco_metric_expected.json")) as f:
    EXPECTED = json.load(f)["pck"]
KEYS = {"keypoints": "pck_keypoints", "gt_keypoints": "pck_gt_keypoints",
        "keypoints_visible": "pck_keypoints_visible", "bbox": "pck_bbox",
        "head_size": "pck_head_size"}


def _batches(size=5):
    n = len(INPUTS["pck_keypoints"])
    for i in range(0, n, size):
        yield {k: INPUTS[v][i:i + size] for k, v in KEYS.items()}


@pytest.mark.parametrize("golden, thr, norm_item", [
    ("pck_0p05_bbox", 0.05, "bbox"),
    ("pck_0p2_all", 0.2, ("bbox", "head", "torso")),
])
def test_matches_mmpose(golden, thr, norm_item):
    metric = PCKAccuracy(thr=thr, norm_item=norm_item)
    with pytest.warns(UserWarning, match="torso") if "torso" in norm_item else _nothing():
        for batch in _batches():
            metric.update(batch)
    result = metric.result()
    assert set(result) == set(EXPECTED[golden])
    for name, value in EXPECTED[golden].items():
        assert result[name] == pytest.approx(value, abs=1e-6), name


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_hand_computed_values_and_reset():
    # two instances of K=2; box sizes 100 and 50 (the longer side)
    gt = np.zeros((2, 2, 2))
    pred = np.array([[[3.0, 4.0], [10.0, 0.0]], [[0.0, 1.0], [0.0, 30.0]]])
    visible = np.array([[1, 1], [1, 0]])
    bbox = np.array([[0, 0, 100, 40], [0, 0, 20, 50]], np.float32)
    metric = PCKAccuracy(thr=0.06)
    metric.update(dict(keypoints=pred, gt_keypoints=gt, keypoints_visible=visible[..., None],
                       bbox=bbox, extra=np.zeros(3)))
    # keypoint 0: 5/100 < .06 and 1/50 < .06 -> 1.0; keypoint 1: 10/100 -> 0.0 (the
    # second instance's is unlabelled); mean over keypoints
    assert metric.result() == {"PCK": pytest.approx(0.5)}
    metric.reset()
    metric.update(dict(keypoints=gt, gt_keypoints=gt, keypoints_visible=visible, bbox=bbox))
    assert metric.result() == {"PCK": 1.0}
    assert metric.get_config() == dict(thr=0.06, norm_item=["bbox"], name="pck")


@pytest.mark.parametrize("norm_item, key", [
    ("bbox", "keypoints"), ("bbox", "gt_keypoints"), ("bbox", "keypoints_visible"),
    ("bbox", "bbox"), ("head", "head_size"),
])
def test_missing_key_raises(norm_item, key):
    batch = next(_batches())
    del batch[key]
    with pytest.raises(ValueError, match=f"'{key}'"):
        PCKAccuracy(norm_item=norm_item).update(batch)


@pytest.mark.parametrize("key, bad", [
    ("gt_keypoints", np.zeros((5, 16, 2))), ("keypoints_visible", np.ones((5, 17, 2))),
    ("bbox", np.zeros((5, 2))), ("keypoints", np.zeros((5, 17, 3))),
])
def test_bad_shapes_raise(key, bad):
    batch = next(_batches())
    batch[key] = bad
    with pytest.raises(ValueError, match=f"'{key}'"):
        PCKAccuracy().update(batch)


@pytest.mark.parametrize("kwargs", [dict(norm_item="elbow"), dict(norm_item=[]),
                                    dict(thr=0.0), dict(thr="0.05")])
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        PCKAccuracy(**kwargs)


def test_result_before_update_raises():
    with pytest.raises(ValueError, match="update"):
        PCKAccuracy().result()
