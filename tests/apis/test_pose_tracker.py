"""Tests of kpose/apis/pose_tracker.py and one_euro_filter.py: ids and smoothing."""

import numpy as np
import pytest

from kpose.apis import OneEuroFilter, PoseTracker
from kpose.apis.pose_tracker import bbox_iou, keypoint_oks
from kpose.datasets import metainfo

SIGMAS = metainfo.load("coco").sigmas


def person(center, k=17, rng=None):
    """A 40x80 box and K keypoints around `center`."""
    cx, cy = center
    offsets = np.linspace(-30, 30, k)
    kpts = np.stack([cx + offsets * 0.3, cy + offsets], axis=1)
    if rng is not None:
        kpts = kpts + rng.normal(0, 1, kpts.shape)
    return {"keypoints": kpts.astype(np.float32), "keypoint_scores": np.ones(k, np.float32),
            "bbox": np.array([cx - 20, cy - 40, cx + 20, cy + 40], np.float32)}


@pytest.mark.parametrize("matching", ["iou", "oks"])
def test_ids_follow_two_walking_people(matching):
    tracker = PoseTracker(matching=matching, sigmas=SIGMAS)
    ids = []
    for t in range(10):
        a, b = person((50 + 3 * t, 100)), person((200 - 3 * t, 100))
        frame = [a, b] if t % 2 == 0 else [b, a]  # detection order changes
        out = tracker.update(frame)
        by_x = sorted(out, key=lambda i: i["bbox"][0])
        ids.append([i["track_id"] for i in by_x])
    assert all(row == ids[0] for row in ids) and len(set(ids[0])) == 2


def test_new_person_gets_new_id_and_lost_track_expires():
    tracker = PoseTracker(matching="iou", max_age=0)
    first = tracker.update([person((50, 100))])[0]["track_id"]
    tracker.update([])
    assert tracker.update([person((50, 100))])[0]["track_id"] != first


def test_similarities():
    box = np.array([[0, 0, 10, 10]], np.float32)
    np.testing.assert_allclose(bbox_iou(box, np.array([[0, 0, 10, 10], [5, 0, 15, 10]])),
                               [[1.0, 1 / 3]])
    kpts = np.zeros((1, 17, 2))
    assert keypoint_oks(kpts, kpts, SIGMAS, np.array([100.0]))[0, 0] == pytest.approx(1.0)
    assert keypoint_oks(kpts, kpts + 5, SIGMAS, np.array([100.0]))[0, 0] < 0.5


def test_one_euro_smoothing_reduces_jitter_on_a_synthetic_video():
    """A person walking right at 2 px/frame, with 3 px Gaussian jitter on every keypoint."""
    rng = np.random.default_rng(0)
    truth = [person((40 + 2.0 * t, 100)) for t in range(60)]
    noisy = [dict(p, keypoints=p["keypoints"] + rng.normal(0, 3, p["keypoints"].shape))
             for p in truth]
    raw_tracker = PoseTracker(matching="iou")
    smooth_tracker = PoseTracker(matching="iou",
                                 smoothing=lambda: OneEuroFilter(min_cutoff=1.0, beta=0.05))
    raw = np.stack([raw_tracker.update([p])[0]["keypoints"] for p in noisy])
    smooth = np.stack([smooth_tracker.update([p])[0]["keypoints"] for p in noisy])
    true = np.stack([p["keypoints"] for p in truth])

    def jitter(seq):  # frame-to-frame error: movement beyond the true movement
        return np.mean(np.linalg.norm(np.diff(seq, axis=0) - np.diff(true, axis=0), axis=-1))

    assert jitter(smooth) < 0.5 * jitter(raw)
    # and it stays on the person: mean position error not worse than the raw jitter
    assert np.mean(np.linalg.norm(smooth[10:] - true[10:], axis=-1)) < \
        np.mean(np.linalg.norm(raw[10:] - true[10:], axis=-1))


def test_one_euro_filter_basics():
    f = OneEuroFilter(freq=10)
    np.testing.assert_array_equal(f(np.array([1.0, 2.0])), [1.0, 2.0])  # first passes
    out = f(np.array([2.0, 2.0]))
    assert 1.0 < out[0] < 2.0 and out[1] == 2.0
    with pytest.raises(ValueError, match="shape"):
        f(np.zeros(3))
    with pytest.raises(ValueError, match="min_cutoff"):
        OneEuroFilter(min_cutoff=0)
    with pytest.raises(ValueError, match="matching"):
        PoseTracker(matching="hungarian")
    with pytest.raises(ValueError, match="sigmas"):
        PoseTracker(matching="oks")
