"""CombinedDataset: sources in two layouts, sampling ratios, the pipeline on its records."""

import json
import os

import numpy as np
import pytest

from kpose.datasets.coco_style_dataset import CocoStyleDataset
from kpose.datasets.combined_dataset import CombinedDataset, _stratified
from kpose.datasets.keypoint_converter import KeypointConverter
from kpose.datasets.metainfo import load as load_meta

CROWDPOSE_COCO = [(i, i + 5) for i in range(12)]


class _Source:
    """A minimal dataset: `n` rows of K keypoints whose x is the row number."""

    def __init__(self, n, k, meta, extra=None, img_prefix="a"):
        self.meta = load_meta(meta)
        kpts = np.zeros((n, k, 2), np.float32)
        kpts[..., 0] = np.arange(n)[:, None]
        self.records = {
            "img_path": np.array([f"/{img_prefix}/{i}.jpg" for i in range(n)]), "img_id": np.arange(n),
            "id": np.arange(n) + 100, "img_shape": np.full((n, 2), 64, np.int32),
            "bbox": np.tile(np.float32([0, 0, 10, 10]), (n, 1)), "bbox_score": np.ones(n, np.float32),
            "keypoints": kpts, "keypoints_visible": np.ones((n, k), np.float32),
            "area": np.ones(n, np.float32), "category_id": np.ones(n, np.int64)}
        self.records.update(extra or {})


def test_two_layouts_in_the_target_layout():
    coco, crowd = _Source(4, 17, "coco"), _Source(6, 14, "crowdpose", {"crowd_index": np.zeros(6, np.float32)})
    ds = CombinedDataset("coco", [coco, crowd], [None, KeypointConverter(17, CROWDPOSE_COCO)])
    assert len(ds) == 10 and ds.lens == [4, 6] and ds.meta.name == "coco"
    r = ds.records
    np.testing.assert_array_equal(r["dataset_index"], [0] * 4 + [1] * 6)
    assert r["keypoints"].shape == (10, 17, 2)
    # CrowdPose rows: COCO's face keypoints unlabelled, body keypoints mapped
    np.testing.assert_array_equal(r["keypoints_visible"][4:, :5], 0)
    np.testing.assert_array_equal(r["keypoints_visible"][4:, 5:], 1)
    np.testing.assert_array_equal(r["keypoints"][4:, 5, 0], np.arange(6))
    assert "crowd_index" not in r  # not every source has it
    assert r["img_path"].tolist()[4] == "/a/0.jpg"


def test_sampling_ratios_follow_mmpose_lengths_and_strata():
    a, b = _Source(10, 17, "coco"), _Source(7, 17, "coco")
    ds = CombinedDataset("coco", [a, b], sample_ratio_factor=[0.5, 2.0], seed=3)
    assert ds.lens == [5, 14]  # round(10 * 0.5), round(7 * 2)
    rows_a = ds.records["keypoints"][ds.records["dataset_index"] == 0, 0, 0]
    rows_b = ds.records["keypoints"][ds.records["dataset_index"] == 1, 0, 0]
    # ratio 0.5: one row from each consecutive pair; ratio 2: each row about twice
    np.testing.assert_array_equal(rows_a // 2, np.arange(5))
    counts = np.bincount(rows_b.astype(int), minlength=7)
    assert counts.sum() == 14 and counts.min() >= 1 and counts.max() <= 3
    again = CombinedDataset("coco", [a, b], sample_ratio_factor=[0.5, 2.0], seed=3)
    np.testing.assert_array_equal(again.records["keypoints"], ds.records["keypoints"])


def test_stratified_draw_matches_mmpose_formula():
    rng = np.random.default_rng(0)
    u = np.random.default_rng(0).random(4)
    gap = (10 - 1e-4) / 4
    expected = [round(gap * j + u[j] * gap - 0.5) for j in range(4)]
    np.testing.assert_array_equal(_stratified(10, 4, rng), expected)
    assert _stratified(5, 0, rng).size == 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(datasets=[]), "at least one dataset"),
    (dict(converters=[None, None]), r"one entry .* per dataset: 1 datasets, received 2"),
    (dict(sample_ratio_factor=[-1.0]), r"must be >= 0, received \[-1.0\]"),
    (dict(sample_ratio_factor=[1.0, 1.0]), r"one ratio per dataset \(1\)"),
    (dict(converters=["x"]), "must be a KeypointConverter or None, received 'x'"),
    (dict(converters=[KeypointConverter(14, [(0, 0)])]), "maps to 14 keypoints, but the target meta 'coco' has 17"),
    (dict(sample_ratio_factor=[0.0]), "the combined dataset is empty"),
])
def test_bad_arguments(kwargs, message):
    args = dict(metainfo="coco", datasets=[_Source(3, 17, "coco")])
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        CombinedDataset(**args)


def test_layout_mismatch_without_converter():
    with pytest.raises(ValueError, match="datasets\\[0\\] has 14 keypoints .* give it a KeypointConverter"):
        CombinedDataset("coco", [_Source(3, 14, "crowdpose")])
    with pytest.raises(ValueError, match="indexes source keypoint 11, but datasets\\[0\\] has 5 keypoints"):
        CombinedDataset("coco", [_Source(3, 5, "coco")], [KeypointConverter(17, CROWDPOSE_COCO)])


def test_real_readers_and_pipeline(tmp_path):
    """Records from two readers go through the training pipeline in the target layout."""
    import cv2

    from kpose.codecs import MSRAHeatmap
    from kpose.datasets.crowd_pose_dataset import CrowdPoseDataset
    from kpose.datasets.pipeline import build_topdown_pipeline

    root = str(tmp_path)
    cv2.imwrite(os.path.join(root, "a.jpg"), np.zeros((64, 48, 3), np.uint8))
    body = [[20.0 + i, 10.0 + 2 * i, 2] for i in range(17)]
    coco = {"images": [{"id": 1, "file_name": "a.jpg", "width": 48, "height": 64}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 5, 30, 50],
                             "keypoints": sum(body, []), "num_keypoints": 17}]}
    crowd = dict(coco, annotations=[dict(coco["annotations"][0], keypoints=sum(body[:14], []), num_keypoints=14)])
    for name, content in (("coco.json", coco), ("crowd.json", crowd)):
        with open(os.path.join(root, name), "w") as f:
            json.dump(content, f)
    ds = CombinedDataset("coco", [CocoStyleDataset("coco.json", data_root=root),
                                  CrowdPoseDataset("crowd.json", data_root=root)],
                         [None, KeypointConverter(17, CROWDPOSE_COCO)])
    np.testing.assert_array_equal(ds.records["keypoints"][1, 5:], np.asarray(body)[:12, :2])
    codec = MSRAHeatmap(input_size=(48, 64), heatmap_size=(12, 16), sigma=2)
    images, targets = next(iter(build_topdown_pipeline(ds.records, ds.meta, codec, (48, 64), train=True,
                                                       batch_size=2, shuffle=False)))
    assert images.shape == (2, 64, 48, 3)
    weights = targets["keypoint_weights"].numpy()
    # the converted row has no COCO face keypoints: their targets get no weight
    np.testing.assert_array_equal(weights[1, :5], 0)
    assert weights[0, :5].sum() > 0
