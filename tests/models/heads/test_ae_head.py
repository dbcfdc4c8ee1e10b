"""AssociativeEmbeddingHead: MMPose's parameter counts, split outputs, loss and flip test."""

import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip, assert_saving_round_trip, randomize_weights

from kpose.models.heads.ae_head import AssociativeEmbeddingHead
from kpose.models.losses.ae_loss import AssociativeEmbeddingLoss


def _trainable(layer):
    return int(sum(np.prod(w.shape) for w in layer.trainable_weights))


@pytest.mark.parametrize("kwargs,in_ch,expected", [
    # trainable parameter counts of MMPose 1.3.2's AssociativeEmbeddingHead
    (dict(num_keypoints=17, deconv_out_channels=None), 32, 1122),
    (dict(num_keypoints=5, tag_dim=2, deconv_out_channels=(16,), deconv_kernel_sizes=(4,)),
     8, 2335),
    (dict(num_keypoints=5, tag_dim=2, tag_per_keypoint=False, deconv_out_channels=None), 8, 63),
])
def test_parameter_count_matches_mmpose(kwargs, in_ch, expected):
    head = AssociativeEmbeddingHead(in_ch, **kwargs)
    heatmaps, tags = head([tf.zeros((1, 8, 8, in_ch))])
    assert _trainable(head) == expected
    k, l = kwargs["num_keypoints"], kwargs.get("tag_dim", 1)
    assert heatmaps.shape[-1] == k
    assert tags.shape[-1] == (k * l if kwargs.get("tag_per_keypoint", True) else l)


def test_outputs_split_the_final_conv():
    head = AssociativeEmbeddingHead(4, num_keypoints=3, deconv_out_channels=None)
    feats = [tf.random.stateless_normal((2, 5, 6, 4), seed=(1, 2))]
    heatmaps, tags = head(feats)
    randomize_weights(head)
    heatmaps, tags = head(feats)
    kernel, bias = head.final_layer.kernel.numpy(), head.final_layer.bias.numpy()
    full = np.einsum("bhwc,cd->bhwd", feats[0].numpy(), kernel[0, 0]) + bias
    np.testing.assert_allclose(heatmaps.numpy(), full[..., :3], atol=1e-5)
    np.testing.assert_allclose(tags.numpy(), full[..., 3:], atol=1e-5)


def test_flip_back_permutes_heatmaps_and_tags():
    head = AssociativeEmbeddingHead(4, num_keypoints=3, tag_dim=2, deconv_out_channels=None)
    heatmaps = tf.reshape(tf.range(2 * 4 * 3, dtype=tf.float32), (1, 2, 4, 3))
    tags = tf.reshape(tf.range(2 * 4 * 6, dtype=tf.float32), (1, 2, 4, 6))
    flip = [0, 2, 1]
    out_h, out_t = head.flip_back((heatmaps, tags), flip)
    h, t = heatmaps.numpy()[:, :, ::-1], tags.numpy()[:, :, ::-1]
    np.testing.assert_array_equal(out_h.numpy(), h[..., flip])
    # channel l * K + k takes tag l of mirror keypoint flip[k]
    np.testing.assert_array_equal(out_t.numpy(), t[..., [0, 2, 1, 3, 5, 4]])
    _, shifted = head.flip_back((heatmaps, tags), flip, shift_heatmap=True)
    np.testing.assert_array_equal(shifted.numpy()[:, :, 1:], out_t.numpy()[:, :, :-1])


def test_loss_terms():
    head = AssociativeEmbeddingHead(4, num_keypoints=2, deconv_out_channels=None,
                                    tag_loss=AssociativeEmbeddingLoss(loss_weight=0.001))
    heatmaps = tf.ones((1, 2, 2, 2))
    tags = tf.constant([[[[0.0, 0.0], [1.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]]])
    targets = {"heatmaps": tf.zeros((1, 2, 2, 2)),
               "heatmap_mask": tf.constant([[[1.0, 0.0], [1.0, 1.0]]]),
               "keypoint_indices": tf.constant([[[[0, 1], [0, 0]], [[1, 1], [0, 0]]]])}
    terms = head.loss((heatmaps, tags), targets)
    assert set(terms) == set(head.loss_names)
    assert float(terms["loss_kpt"]) == pytest.approx(6 / 8)  # 3 of 4 pixels, 2 channels
    assert float(terms["loss_pull"]) == pytest.approx(0.0)
    expected_push = 0.001 * 0.5 * (2 + 2 * np.exp(-1.0)) / (2 + 1e-6)
    assert float(terms["loss_push"]) == pytest.approx(expected_push, rel=1e-5)
    with pytest.raises(ValueError, match="keypoint_indices"):
        head.loss((heatmaps, tags), {"heatmaps": targets["heatmaps"]})


def test_serialisation(tmp_path):
    head = AssociativeEmbeddingHead(4, num_keypoints=3, tag_dim=2, deconv_out_channels=(8,),
                                    deconv_kernel_sizes=(4,),
                                    tag_loss=AssociativeEmbeddingLoss(loss_weight=0.01))
    assert_config_round_trip(head)
    assert_saving_round_trip(head, [tf.random.stateless_normal((1, 4, 4, 4), seed=(0, 1))],
                             tmp_path)
    with pytest.raises(ValueError, match="num_keypoints"):
        AssociativeEmbeddingHead(4, num_keypoints=0)
