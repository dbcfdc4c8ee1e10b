"""The pipeline's vectorised path (batched geometry and targets) against the per-sample one."""

import os
import types

import cv2
import numpy as np
import pytest
import tensorflow as tf

from kpose.codecs.msra_heatmap import MSRAHeatmap
from kpose.datasets.pipeline import _vectorised_plan, build_topdown_pipeline
from kpose.datasets.transforms.generate_target import GenerateTarget
from kpose.datasets.transforms.get_bbox_center_scale import GetBBoxCenterScale
from kpose.datasets.transforms.random_bbox_transform import RandomBBoxTransform
from kpose.datasets.transforms.random_flip import RandomFlip
from kpose.datasets.transforms.random_half_body import RandomHalfBody
from kpose.datasets.transforms.topdown_affine import TopdownAffine

K = 17
FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
META = types.SimpleNamespace(flip_indices=FLIP, upper_body_ids=list(range(11)),
                             lower_body_ids=list(range(11, 17)),
                             joint_weights=np.linspace(0.5, 1.5, K).astype(np.float32))
CODEC = MSRAHeatmap(input_size=(48, 64), heatmap_size=(12, 16), sigma=2)


def _records(folder, n=10):
    """n JPEGs of 80x60 or 60x80 (so the flips differ per sample) with random poses."""
    rng = np.random.default_rng(3)
    paths, shapes = [], []
    for i in range(n):
        h, w = (60, 80) if i % 2 else (80, 60)
        img = cv2.resize(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
        path = os.path.join(folder, f"{i:03d}.jpg")
        cv2.imwrite(path, img)
        paths.append(path)
        shapes.append((h, w))
    x1y1 = rng.uniform(2, 15, (n, 2))
    bbox = np.concatenate([x1y1, x1y1 + rng.uniform(25, 40, (n, 2))], 1).astype(np.float32)
    keypoints = rng.uniform(bbox[:, None, :2], bbox[:, None, 2:], (n, K, 2)).astype(np.float32)
    return {
        "img_path": np.array(paths), "img_id": np.arange(n), "id": np.arange(n) + 100,
        "bbox": bbox, "bbox_score": np.ones(n, np.float32), "area": np.full(n, 500.0, np.float32),
        "keypoints": keypoints, "keypoints_visible": (rng.uniform(size=(n, K)) > 0.15).astype(np.float32),
    }


def _train_transforms():
    # probabilities that exercise every branch in a few samples
    return [GetBBoxCenterScale(), RandomFlip(prob=[0.3, 0.2, 0.2], direction=["horizontal", "vertical", "diagonal"]),
            RandomHalfBody(prob=0.6, min_total_keypoints=8), RandomBBoxTransform(shift_prob=0.5),
            TopdownAffine((48, 64)), GenerateTarget(CODEC, use_dataset_keypoint_weights=True)]


def _per_sample(transforms):
    """The same transforms, the first hidden behind a plain function: forces the general path."""
    first = transforms[0]
    return [lambda sample: first(sample)] + list(transforms[1:])


def _numpy(batches):
    return [tf.nest.map_structure(lambda t: t.numpy(), b) for b in batches]


def _assert_identical(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        tf.nest.assert_same_structure(x, y)
        for u, v in zip(tf.nest.flatten(x), tf.nest.flatten(y)):
            np.testing.assert_array_equal(u, v)


def test_plan_splits_the_default_lists():
    head, affine, tail, batched = _vectorised_plan(_train_transforms())
    assert [type(t) for t in head] == [GetBBoxCenterScale, RandomFlip, RandomHalfBody, RandomBBoxTransform]
    assert isinstance(affine, TopdownAffine) and tail == [] and isinstance(batched, GenerateTarget)
    assert _vectorised_plan(_per_sample(_train_transforms())) is None
    assert _vectorised_plan([GetBBoxCenterScale()]) is None


def test_training_batches_equal_the_per_sample_path(tmp_path):
    records = _records(str(tmp_path))
    kwargs = dict(train=True, batch_size=3, seed=5)
    fast = _numpy(build_topdown_pipeline(records, META, CODEC, (48, 64), transforms=_train_transforms(), **kwargs))
    slow = _numpy(build_topdown_pipeline(records, META, CODEC, (48, 64),
                                         transforms=_per_sample(_train_transforms()), **kwargs))
    assert len(fast) == 3 and fast[0][0].shape == (3, 64, 48, 3) and fast[0][1]["heatmaps"].shape == (3, 16, 12, K)
    _assert_identical(fast, slow)
    weights = np.concatenate([b[1]["keypoint_weights"] for b in fast])  # the dataset's joint weights
    joint = np.broadcast_to(META.joint_weights, weights.shape)
    assert (weights > 0).sum() > 20
    np.testing.assert_array_equal(weights[weights > 0], joint[weights > 0])


def test_evaluation_batches_equal_the_per_sample_path(tmp_path):
    records = _records(str(tmp_path), n=5)
    transforms = [GetBBoxCenterScale(), TopdownAffine((48, 64))]
    fast = _numpy(build_topdown_pipeline(records, META, None, (48, 64), False, 2, transforms=transforms))
    slow = _numpy(build_topdown_pipeline(records, META, None, (48, 64), False, 2,
                                         transforms=_per_sample(transforms)))
    assert [b[0].shape[0] for b in fast] == [2, 2, 1]
    _assert_identical(fast, slow)


def test_per_sample_pixel_tail_runs_after_the_warp(tmp_path):
    """A tail transform that is not batched (here: a stand-in pixel augmentation) still
    runs per sample with its own seed, between the warp and the batched targets."""
    records = _records(str(tmp_path), n=4)

    def invert(sample):
        return {**sample, "img": 255 - sample["img"]}

    transforms = [GetBBoxCenterScale(), TopdownAffine((48, 64)), invert, GenerateTarget(CODEC)]
    plan = _vectorised_plan(transforms)
    assert plan[2] == [invert] and isinstance(plan[3], GenerateTarget)
    kwargs = dict(train=True, batch_size=2, shuffle=False)
    fast = _numpy(build_topdown_pipeline(records, META, CODEC, (48, 64), transforms=transforms, **kwargs))
    slow = _numpy(build_topdown_pipeline(records, META, CODEC, (48, 64), transforms=_per_sample(transforms),
                                         **kwargs))
    _assert_identical(fast, slow)


def _stack(samples):
    return {k: np.stack([s[k] for s in samples]) for k in samples[0]}


@pytest.mark.parametrize("graph", [False, True])
def test_batched_apply_equals_per_sample_calls(tmp_path, graph):
    """Every head transform and the affine's geometry, on a batch of 8, give each sample's
    own numbers bit for bit (eagerly and inside tf.data)."""
    records = _records(str(tmp_path), n=8)
    meta = {"flip_indices": np.array(FLIP, np.int32), "upper_body_ids": np.arange(11, dtype=np.int32),
            "lower_body_ids": np.arange(11, 17, dtype=np.int32)}
    samples = [{"bbox": records["bbox"][i], "keypoints": records["keypoints"][i],
                "keypoints_visible": records["keypoints_visible"][i],
                "img_shape": np.array([60, 80] if i % 2 else [80, 60], np.int32)} for i in range(8)]
    transforms = _train_transforms()[:5]
    seeds = [np.array([7, i], np.int64) for i in range(8)]

    def per_sample(sample, seed):
        sample = {**sample, **meta}
        for j, t in enumerate(transforms[:4]):
            sample["seed"] = tf.random.experimental.stateless_fold_in(seed, j)
            sample = t(sample)
        return transforms[4].geometry(sample)

    def batched(batch, seeds):
        batch = {**batch, **meta}
        for j, t in enumerate(transforms[:4]):
            fold = [tf.random.experimental.stateless_fold_in(seeds[i], j) for i in range(8)]
            drawn = [t.draw(s) for s in fold] if hasattr(t, "draw") else [{}]
            draws = {k: tf.stack([d[k] for d in drawn]) for k in drawn[0]}
            batch = t.apply(batch, draws)
        return transforms[4].geometry(batch)

    if graph:
        run_one = lambda s, seed: next(iter(tf.data.Dataset.from_tensors((s, seed)).map(per_sample)))
        out = next(iter(tf.data.Dataset.from_tensors((_stack(samples), np.stack(seeds))).map(
            lambda b, s: batched(b, tf.unstack(s)))))
    else:
        run_one = per_sample
        out = batched(_stack(samples), seeds)
    singles = [run_one(s, seed) for s, seed in zip(samples, seeds)]
    keys = ["bbox", "bbox_center", "bbox_scale", "bbox_rotation", "keypoints", "keypoints_visible", "flip_x",
            "flip_y", "flip_direction", "half_body", "warp_matrix", "transformed_keypoints", "input_size",
            "_window", "_crop_to_pixels"]
    for key in keys:
        np.testing.assert_array_equal(np.asarray(out[key]), np.stack([np.asarray(s[key]) for s in singles]),
                                      err_msg=key)
    # the draws did vary across the batch
    assert len(set(np.asarray(out["flip_direction"]).tolist())) > 1
    assert 0 < np.asarray(out["half_body"]).sum() < 8


def test_generate_target_apply_batch_equals_calls():
    rng = np.random.default_rng(0)
    batch = {"transformed_keypoints": rng.uniform(-5, 70, (4, K, 2)).astype(np.float32),
             "keypoints_visible": (rng.uniform(size=(4, K)) > 0.3).astype(np.float32),
             "joint_weights": np.linspace(0.5, 1.5, K).astype(np.float32)}
    t = GenerateTarget(CODEC, use_dataset_keypoint_weights=True)
    assert t.batchable and not GenerateTarget(types.SimpleNamespace(encode=lambda *a: {})).batchable
    out = t.apply_batch(batch)["targets"]
    for i in range(4):
        one = t({"transformed_keypoints": batch["transformed_keypoints"][i],
                 "keypoints_visible": batch["keypoints_visible"][i],
                 "joint_weights": batch["joint_weights"]})["targets"]
        for name in ("heatmaps", "keypoint_weights"):
            np.testing.assert_array_equal(np.asarray(out[name][i]), np.asarray(one[name]), err_msg=name)
    # joint weights applied: a visible, drawn keypoint's weight is its joint weight
    w = np.asarray(out["keypoint_weights"])
    assert np.isclose(w[w > 0].min(), batch["joint_weights"][np.argwhere(w > 0)[:, 1]].min())
    with pytest.raises(ValueError, match="batch_encode"):
        GenerateTarget(types.SimpleNamespace(encode=lambda *a: {})).apply_batch(batch)
