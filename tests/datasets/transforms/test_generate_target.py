import numpy as np
import pytest

from kpose.datasets.transforms import GenerateTarget


def test_targets_and_dataset_weights(coco_sample, tiny_codec, in_tf_data, assert_same):
    vis = (np.arange(17) % 4 > 0).astype(np.float32)
    sample = coco_sample(keypoints_visible=vis,
                         transformed_keypoints=np.full((17, 2), 20.0, np.float32))
    out = GenerateTarget(tiny_codec)(sample)["targets"]
    assert out["heatmaps"].shape == (16, 12, 17) and out["keypoint_weights"].shape == (17,)
    np.testing.assert_array_equal(out["keypoint_weights"], vis)
    # transformed_keypoints (20, 20) / stride 4 -> peak at heatmap (x=5, y=5)
    assert np.unravel_index(np.argmax(out["heatmaps"][..., 1]), (16, 12)) == (5, 5)

    t = GenerateTarget(tiny_codec, use_dataset_keypoint_weights=True)
    weighted = t(sample)["targets"]
    np.testing.assert_allclose(weighted["keypoint_weights"], vis * sample["joint_weights"], rtol=1e-6)
    graph = in_tf_data(t, sample)["targets"]
    assert_same(weighted, graph, ["heatmaps", "keypoint_weights"])


def test_with_msra_heatmap_codec(coco_sample):
    msra = pytest.importorskip("kpose.codecs.msra_heatmap")
    codec = msra.MSRAHeatmap(input_size=(48, 64), heatmap_size=(12, 16), sigma=2)
    out = GenerateTarget(codec)(coco_sample(transformed_keypoints=np.full((17, 2), 20.0, np.float32)))
    assert out["targets"]["heatmaps"].shape == (16, 12, 17)
    assert out["targets"]["keypoint_weights"].shape == (17,)


def test_bad_encoder_raises():
    with pytest.raises(ValueError, match="encode"):
        GenerateTarget(encoder="MSRAHeatmap")
