"""Bottom-up records and pipeline; an oracle model scored through the whole evaluation
path (pipeline meta -> decoding -> image coordinates -> CocoMetric) reaches AP 1."""

import numpy as np
import pytest
import tensorflow as tf

from kpose.codecs.associative_embedding import AssociativeEmbedding
from kpose.datasets.bottomup_pipeline import (bottomup_dataset, bottomup_records,
                                              build_bottomup_pipeline)
from kpose.datasets.coco_style_dataset import CocoStyleDataset
from kpose.datasets.synthetic import make_synthetic_coco
from kpose.evaluation.coco_metric import CocoMetric
from kpose.models.backbones.res_net import ResNet
from kpose.models.estimators.bottomup_pose_estimator import (BottomupPoseEstimator,
                                                              flatten_instances)
from kpose.models.heads.ae_head import AssociativeEmbeddingHead

ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = make_synthetic_coco(str(tmp_path_factory.mktemp("syn")), num_train_images=3,
                               num_val_images=3, image_size=(96, 72), max_people=3, seed=3)
    train = bottomup_dataset(CocoStyleDataset("annotations/person_keypoints_train.json",
                                              data_root=root, data_prefix="images/train/"))
    val = bottomup_dataset(CocoStyleDataset("annotations/person_keypoints_val.json",
                                            data_root=root, data_prefix="images/val/",
                                            test_mode=True))
    return train, val


def test_records_group_people_by_image():
    records = {"img_path": np.array(["a", "b", "a"]), "img_id": np.array([7, 9, 7]),
               "keypoints": np.arange(3 * 2 * 2, dtype=np.float32).reshape(3, 2, 2),
               "keypoints_visible": np.ones((3, 2), np.float32), "id": np.array([1, 2, 3])}
    out = bottomup_records(records, extra_images=[(11, "c", 5, 6), (9, "b", 1, 1)])
    assert out["img_id"].tolist() == [7, 9, 11]
    assert out["num_instances"].tolist() == [2, 1, 0]
    np.testing.assert_array_equal(out["keypoints"][0], records["keypoints"][[0, 2]])
    np.testing.assert_array_equal(out["keypoints_visible"][1], [[1, 1], [0, 0]])
    assert out["id"].tolist() == [[1, 3], [2, -1], [-1, -1]]
    assert out["img_shape"][2].tolist() == [5, 6]


def test_train_batches_hold_every_person(data):
    train, _ = data
    assert len(train) == 3 and train.records["keypoints"].ndim == 4
    codec = AssociativeEmbedding((64, 64), (16, 16), sigma=1.0)
    ds = build_bottomup_pipeline(train.records, train.meta, codec, codec.input_size, True, 3,
                                 shuffle=False)
    images, targets = next(iter(ds))
    people = train.records["keypoints"].shape[1]
    assert images.shape == (3, 64, 64, 3) and images.dtype == tf.uint8
    assert targets["keypoint_indices"].shape == (3, people, 17, 2)
    assert targets["heatmap_mask"].shape == (3, 16, 16)
    # every valid index points at a heatmap peak of its keypoint type
    idx = targets["keypoint_indices"].numpy()
    heatmaps = targets["heatmaps"].numpy().reshape(3, 256, 17)
    b, n, k = np.nonzero(idx[..., 1])
    assert len(b) > 10
    np.testing.assert_allclose(heatmaps[b, idx[b, n, k, 0], k], 1.0)
    # padding people have no valid keypoint
    num = train.records["num_instances"]
    for i in range(3):
        assert not idx[i, num[i]:, :, 1].any()


def _oracle_maps(records, meta):
    """Heatmaps at the input size and tags (person index * 3) for the ground truth."""
    maps = []
    for b, img_id in enumerate(meta["img_id"].numpy()):
        row = int(np.flatnonzero(records["img_id"] == img_id)[0])
        w, h = meta["input_size"][b].numpy()
        scale, center = meta["scale"][b].numpy(), meta["center"][b].numpy()
        kpts = (records["keypoints"][row] - center + 0.5 * scale) * np.array([w, h]) / scale
        vis = records["keypoints_visible"][row]
        full = AssociativeEmbedding((int(w), int(h)), (int(w), int(h)), sigma=2.0)
        heatmaps = full.encode(kpts, vis)["heatmaps"]
        tags = np.zeros_like(heatmaps)
        for n in range(kpts.shape[0]):
            for k in range(kpts.shape[1]):
                if vis[n, k] > 0:
                    x, y = np.clip((kpts[n, k] + 0.5).astype(int), 0, [w - 1, h - 1])
                    tags[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3, k] = 3.0 * n
        maps.append((heatmaps, tags))
    return (tf.constant(np.stack([m[0] for m in maps])),
            tf.constant(np.stack([m[1] for m in maps])))


def test_oracle_outputs_score_ap_one(data):
    _, val = data
    assert len(val) == 3
    codec = AssociativeEmbedding((64, 64), (16, 16), decode_keypoint_order=ORDER,
                                 decode_max_instances=6, decode_center_shift=0.0)
    est = BottomupPoseEstimator(
        ResNet(depth=18, stem_channels=8, base_channels=8),
        AssociativeEmbeddingHead(num_keypoints=17, deconv_out_channels=(8, 8, 8)),
        codec, flip_test=False)
    ds = build_bottomup_pipeline(val.records, val.meta, codec, codec.input_size, False, 2)
    outputs = []
    for images, meta in ds:
        maps = _oracle_maps(val.records, meta)
        est.predict_outputs = lambda images, maps=maps: maps
        outputs.append({k: np.asarray(v) for k, v in est.predict_step((images, meta)).items()})
    merged = {k: np.concatenate([o[k] for o in outputs]) for k in outputs[0]}
    rows = flatten_instances(merged)
    assert len(rows["keypoints"]) == int(val.records["num_instances"].sum())
    metric = CocoMetric(ann_file=val.ann_file, score_mode="bbox", nms_mode="none")
    metric.update(rows)
    assert metric.result()["AP"] == pytest.approx(1.0)


def test_bad_arguments(data):
    train, _ = data
    codec = AssociativeEmbedding((64, 64), (16, 16))
    with pytest.raises(ValueError, match="batch_size"):
        build_bottomup_pipeline(train.records, train.meta, codec, (64, 64), True, 0)
    with pytest.raises(ValueError, match="columns"):
        build_bottomup_pipeline({"img_path": []}, train.meta, codec, (64, 64), True, 2)
