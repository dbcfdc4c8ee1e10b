"""BottomupGetHeatmapMask against MMPose 1.3.2 (goldens from tools/dev/make_ae_goldens.py)."""

import os

import numpy as np
import pytest
import tensorflow as tf

from kpose.datasets.transforms.bottomup_get_heatmap_mask import BottomupGetHeatmapMask

GOLDENS = np.load(os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "goldens",
                               "associative_embedding.npz"))
INPUT_SIZES = {"short": (48, 64), "long": (48, 64), "udp": (64, 48)}


@pytest.mark.parametrize("name", sorted(INPUT_SIZES))
def test_mask_matches_mmpose(name):
    w, h = INPUT_SIZES[name]
    img_hw = GOLDENS[f"affine_{name}__img_in"].shape[:2]
    sample = {"img_shape": tf.constant(img_hw), "input_size": tf.constant([w, h]),
              "warp_mat": tf.constant(GOLDENS[f"affine_{name}__warp_mat"])}
    mask = BottomupGetHeatmapMask(heatmap_size=(w // 4, h // 4))(sample)["heatmap_mask"]
    expected = GOLDENS[f"affine_{name}__heatmap_mask"]
    assert mask.dtype == tf.bool
    if name == "long":  # fitting the long side brings in padding
        assert not expected.all()
    np.testing.assert_array_equal(mask.numpy(), expected)


def test_mask_at_input_size_without_heatmap_size():
    sample = {"img_shape": tf.constant([10, 20]), "input_size": tf.constant([20, 10]),
              "warp_mat": tf.constant([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])}
    mask = BottomupGetHeatmapMask()(sample)["heatmap_mask"].numpy()
    assert mask.shape == (10, 20) and mask.all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="heatmap_size"):
        BottomupGetHeatmapMask(heatmap_size=(0, 4))
    with pytest.raises(ValueError, match="BottomupRandomAffine first"):
        BottomupGetHeatmapMask()({"img_shape": tf.constant([4, 4])})
