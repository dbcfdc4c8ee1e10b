import json
import os

import numpy as np
import pytest

from kpose.evaluation import CocoMetric
from kpose.evaluation.functional import COCO_SIGMAS

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens")
ANN_FILE = os.path.join(GOLDENS, "coco_metric_gt.json")
INPUTS = dict(np.load(os.path.join(GOLDENS, "coco_metric_inputs.npz")))
with open(os.path.join(GOLDENS, "coco_metric_expected.json")) as f:
    EXPECTED = json.load(f)["coco"]
COLUMNS = ("keypoints", "keypoint_scores", "img_id", "id", "bbox", "bbox_score", "scale",
           "area", "category_id")
STAT_NAMES = ["AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)",
              "AR (L)"]


def _columns(prefix=""):
    return {k: INPUTS[prefix + k] for k in COLUMNS}


def _feed(metric, cols, batch=4):
    n = len(cols["id"])
    for i in range(0, n, batch):
        metric.update({k: v[i:i + batch] for k, v in cols.items()})


@pytest.mark.parametrize("setting", sorted(EXPECTED))
def test_matches_mmpose(setting):
    spec = EXPECTED[setting]
    metric = CocoMetric(ann_file=ANN_FILE, sigmas=INPUTS["sigmas"], **spec["kwargs"])
    _feed(metric, _columns("perfect_" if setting == "perfect" else ""))
    result = metric.result()
    assert list(result) == STAT_NAMES
    for name, value in spec["result"].items():
        assert result[name] == pytest.approx(value, abs=1e-6), name


def test_perfect_predictions_give_ap_one_from_ground_truth():
    """Ground-truth keypoints with unit scores, no box scale (keypoint-extent areas)."""
    with open(ANN_FILE) as f:
        gt = json.load(f)
    rows = [a for a in gt["annotations"] if not a["iscrowd"] and any(a["keypoints"][2::3])]
    kpts = np.array([a["keypoints"] for a in rows], np.float32).reshape(len(rows), 17, 3)
    metric = CocoMetric(ann_file=ANN_FILE)
    metric.update(dict(keypoints=kpts[..., :2], keypoint_scores=np.ones(kpts.shape[:2]),
                       img_id=np.array([a["image_id"] for a in rows]),
                       id=np.array([a["id"] for a in rows])))
    result = metric.result()
    assert result == {name: 1.0 for name in STAT_NAMES}


def test_batching_and_order_do_not_matter_and_reset_clears():
    cols = _columns()
    whole = CocoMetric(ann_file=ANN_FILE)
    whole.update(cols)
    expected = whole.result()
    metric = CocoMetric(ann_file=ANN_FILE)
    _feed(metric, {k: v[::-1] for k, v in cols.items()}, batch=7)
    assert metric.result() == pytest.approx(expected, abs=1e-12)
    metric.reset()
    _feed(metric, _columns("perfect_"))
    assert metric.result()["AP"] == 1.0


def _two_people_with_duplicates():
    """Image 101's first two people, each predicted twice under different ids, plus an
    exact repeat of the first sample."""
    with open(ANN_FILE) as f:
        gt = json.load(f)
    people = [a for a in gt["annotations"] if a["image_id"] == 101][:2]
    kpts = np.array([a["keypoints"] for a in people], np.float32).reshape(2, 17, 3)[..., :2]
    dup = kpts + 0.5  # OKS well above 0.9
    keypoints = np.concatenate([kpts, dup, kpts[:1]])
    return dict(keypoints=keypoints,
                keypoint_scores=np.full((5, 17), 0.9, np.float32),
                img_id=np.full(5, 101),
                id=np.array([people[0]["id"], people[1]["id"], 900, 901, people[0]["id"]]),
                bbox_score=np.array([0.9, 0.8, 0.7, 0.95, 0.9], np.float32),
                scale=np.full((5, 2), 150.0, np.float32))


@pytest.mark.parametrize("nms_mode, kept", [("oks_nms", 2), ("soft_oks_nms", 4), ("none", 4)])
def test_nms_removes_duplicates(tmp_path, nms_mode, kept):
    prefix = str(tmp_path / "out" / "res")
    metric = CocoMetric(format_only=True, outfile_prefix=prefix, nms_mode=nms_mode)
    metric.update(_two_people_with_duplicates())
    assert metric.result() == {}
    with open(prefix + ".keypoints.json") as f:
        results = json.load(f)
    # the exact repeat (same id) is always dropped; OKS-NMS drops the near-copies
    assert len(results) == kept
    assert all(len(r["keypoints"]) == 17 * 3 and r["image_id"] == 101 for r in results)
    if nms_mode == "oks_nms":
        # the higher-scoring copy of each pair survives: 0.9 vs 0.7 and 0.95 vs 0.8
        assert sorted(round(r["score"], 4) for r in results) == [0.81, 0.855]


def test_negative_ids_are_not_merged(tmp_path):
    preds = _two_people_with_duplicates()
    preds["id"] = np.full(5, -1)
    prefix = str(tmp_path / "res")
    metric = CocoMetric(format_only=True, outfile_prefix=prefix, nms_mode="none")
    metric.update(preds)
    metric.result()
    with open(prefix + ".keypoints.json") as f:
        assert len(json.load(f)) == 5


def test_rescoring_bbox_keypoint(tmp_path):
    scores = np.array([[0.5, 0.1, 0.3] + [0.0] * 14, [0.1] * 17], np.float32)
    prefix = str(tmp_path / "res")
    metric = CocoMetric(format_only=True, outfile_prefix=prefix, nms_mode="none")
    metric.update(dict(keypoints=np.random.default_rng(0).uniform(0, 100, (2, 17, 2)),
                       keypoint_scores=scores, img_id=np.array([1, 2]), id=np.array([3, 4]),
                       bbox_score=np.array([0.5, 1.0])))
    metric.result()
    with open(prefix + ".keypoints.json") as f:
        results = json.load(f)
    # mean of the scores above 0.2, times the box score; 0 when none passes
    assert [r["score"] for r in results] == pytest.approx([0.5 * 0.4, 0.0])
    assert results[0]["keypoints"][2::3] == pytest.approx(scores[0].tolist())


def test_no_predictions_give_zero_ap():
    metric = CocoMetric(ann_file=ANN_FILE)
    assert metric.result()["AP"] == 0.0


def test_quiet_unless_verbose(capsys):
    metric = CocoMetric(ann_file=ANN_FILE)
    _feed(metric, _columns("perfect_"))
    metric.result()
    assert capsys.readouterr().out == ""
    metric.verbose = True
    metric.result()
    assert "Average Precision" in capsys.readouterr().out


def test_get_config_round_trip():
    metric = CocoMetric(ann_file=ANN_FILE, sigmas=COCO_SIGMAS, nms_mode="soft_oks_nms",
                        nms_thr=0.8, name="val_coco")
    config = metric.get_config()
    again = CocoMetric(**config)
    assert again.get_config() == config
    assert again.name == "val_coco"
    np.testing.assert_array_equal(again.sigmas, metric.sigmas)


@pytest.mark.parametrize("key", ["keypoints", "keypoint_scores", "img_id", "id"])
def test_missing_key_raises(key):
    preds = {k: v[:3] for k, v in _columns().items() if k != key}
    with pytest.raises(ValueError, match=f"'{key}'"):
        CocoMetric(ann_file=ANN_FILE).update(preds)


def test_keypoint_count_mismatch_with_sigmas_raises():
    metric = CocoMetric(ann_file=ANN_FILE, sigmas=np.full(14, 0.05))
    with pytest.raises(ValueError, match="'keypoints'.*K = 14"):
        metric.update({k: v[:3] for k, v in _columns().items()})
    # the ground truth must agree with the sigmas as well
    metric = CocoMetric(ann_file=ANN_FILE, sigmas=np.full(14, 0.05))
    cols = {k: v[:3] for k, v in _columns().items()}
    cols["keypoints"] = cols["keypoints"][:, :14]
    cols["keypoint_scores"] = cols["keypoint_scores"][:, :14]
    metric.update(cols)
    with pytest.raises(ValueError, match="17 keypoints, but there are 14 sigmas"):
        metric.result()


@pytest.mark.parametrize("key, bad", [("keypoint_scores", np.ones((3, 16))),
                                      ("img_id", np.ones((3, 1))), ("scale", np.ones((3, 3))),
                                      ("img_id", np.array([1.5, 2.0, 3.0]))])
def test_bad_shapes_raise(key, bad):
    preds = {k: v[:3] for k, v in _columns().items()}
    preds[key] = bad
    with pytest.raises(ValueError, match=f"'{key}'"):
        CocoMetric(ann_file=ANN_FILE).update(preds)


def test_unknown_image_raises():
    preds = {k: v[:3] for k, v in _columns().items()}
    preds["img_id"] = np.array([101, 999, 101])
    metric = CocoMetric(ann_file=ANN_FILE)
    metric.update(preds)
    with pytest.raises(ValueError, match="999"):
        metric.result()


@pytest.mark.parametrize("kwargs, match", [
    (dict(score_mode="oks"), "score_mode"), (dict(nms_mode="nms"), "nms_mode"),
    (dict(iou_type="keypoints_crowd"), "iou_type"), (dict(sigmas=[0.1, -0.1]), "sigmas"),
    (dict(format_only=True), "outfile_prefix"), (dict(ann_file="/nonexistent.json"), "ann_file"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CocoMetric(**kwargs)


def test_result_without_ann_file_raises():
    metric = CocoMetric()
    metric.update({k: v[:3] for k, v in _columns().items()})
    with pytest.raises(ValueError, match="ann_file"):
        metric.result()
