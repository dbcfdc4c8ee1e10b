import json
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpose.evaluation.functional import COCO_SIGMAS, oks_iou, oks_nms, soft_oks_nms

GOLDENS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "goldens")
INPUTS = dict(np.load(os.path.join(GOLDENS, "coco_metric_inputs.npz")))
with open(os.path.join(GOLDENS, "coco_metric_expected.json")) as f:
    EXPECTED = json.load(f)["nms"]


def _db(img_id):
    return [dict(keypoints=k, score=s, area=a) for k, s, a in zip(
        INPUTS[f"nms_{img_id}_keypoints"], INPUTS[f"nms_{img_id}_score"],
        INPUTS[f"nms_{img_id}_area"])]


@pytest.mark.parametrize("img_id", sorted(EXPECTED))
def test_kept_indices_match_mmpose(img_id):
    db, sig = _db(img_id), INPUTS["sigmas"]
    got = dict(
        oks_0p9=oks_nms(db, 0.9, sigmas=sig),
        oks_0p02_vis0p5=oks_nms(db, 0.02, sigmas=sig, vis_thr=0.5),
        oks_0p01_default_sigmas=oks_nms(db, 0.01),
        soft_0p9=soft_oks_nms(db, 0.9, sigmas=sig),
        soft_0p3_max2=soft_oks_nms(db, 0.3, max_dets=2, sigmas=sig))
    assert {k: v.tolist() for k, v in got.items()} == EXPECTED[img_id]


def test_oks_iou_values():
    g = np.zeros((17, 3))
    g[:, 2] = 1
    d = np.stack([g, g + [1.0, 0.0, 0.0]]).reshape(2, -1)
    ious = oks_iou(g.reshape(-1), d, 100.0, np.array([100.0, 100.0]))
    assert ious.dtype == np.float32
    expected = np.exp(-1.0 / (2 * COCO_SIGMAS) ** 2 / 100.0 / 2).mean()
    np.testing.assert_allclose(ious, [1.0, expected], rtol=1e-6)
    # with vis_thr, no keypoint above it in both instances gives OKS 0
    assert oks_iou(g.reshape(-1), d, 100.0, np.array([100.0, 100.0]), vis_thr=1.0).tolist() \
        == [0.0, 0.0]


def test_score_per_joint_and_empty():
    db = _db(sorted(EXPECTED)[0])
    per_joint = [dict(d, score=np.full(17, d["score"])) for d in db]
    np.testing.assert_array_equal(oks_nms(per_joint, 0.9, score_per_joint=True),
                                  oks_nms(db, 0.9))
    assert oks_nms([], 0.9).shape == (0,)
    assert soft_oks_nms([], 0.9).shape == (0,)


def test_bad_inputs_raise():
    db = _db(sorted(EXPECTED)[0])
    with pytest.raises(ValueError, match="'area'"):
        oks_nms([{k: v for k, v in d.items() if k != "area"} for d in db], 0.9)
    with pytest.raises(ValueError, match="sigmas"):
        oks_nms(db, 0.9, sigmas=np.full(14, 0.05))
    with pytest.raises(ValueError, match="max_dets"):
        soft_oks_nms(db, 0.9, max_dets=-1)
    with pytest.raises(ValueError, match="K\\*3"):
        oks_iou(np.zeros(51), np.zeros((2, 50)), 1.0, np.ones(2))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), n=st.integers(1, 12),
       thr=st.floats(0.05, 0.95))
def test_greedy_nms_invariants(seed, n, thr):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 100, (3, 17, 2))
    kpts = base[rng.integers(0, 3, n)] + rng.normal(0, rng.uniform(0.1, 10), (n, 17, 2))
    kpts = np.concatenate([kpts, np.ones((n, 17, 1))], axis=-1).astype(np.float32)
    db = [dict(keypoints=k, score=s, area=a) for k, s, a in
          zip(kpts, rng.uniform(0, 1, n), rng.uniform(500, 5000, n).astype(np.float32))]
    keep = oks_nms(db, thr)
    flat = kpts.reshape(n, -1)
    areas = np.array([d["area"] for d in db])
    oks = np.stack([oks_iou(flat[i], flat, areas[i], areas) for i in range(n)])
    scores = np.array([d["score"] for d in db])
    # kept instances do not suppress each other; each dropped one overlaps a better kept one
    assert len(set(keep.tolist())) == len(keep)
    assert np.all(np.diff(scores[keep]) <= 0)
    for a in keep:
        for b in keep:
            assert a == b or oks[a, b] <= np.float32(thr)
    for i in set(range(n)) - set(keep.tolist()):
        assert any(oks[k, i] > np.float32(thr) and scores[k] >= scores[i] for k in keep)
    # soft NMS keeps everything (up to max_dets), the best first
    soft = soft_oks_nms(db, thr, max_dets=n)
    assert sorted(soft.tolist()) == list(range(n)) and soft[0] == keep[0]
