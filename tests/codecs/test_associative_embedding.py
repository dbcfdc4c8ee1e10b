"""AssociativeEmbedding against MMPose 1.3.2 goldens (tools/dev/make_ae_goldens.py)."""

import itertools
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kpose.codecs.associative_embedding import AssociativeEmbedding
from kpose.codecs.utils.linear_sum_assignment import linear_sum_assignment

GOLDENS = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "goldens",
                               "associative_embedding.npz"))
ENCODE = {
    "msra": dict(input_size=(64, 48), heatmap_size=(32, 24), sigma=2.0),
    "udp": dict(input_size=(64, 64), heatmap_size=(16, 16), use_udp=True),
}
DECODE = {
    "plain": dict(input_size=(96, 64), heatmap_size=(48, 32), decode_topk=10,
                  decode_keypoint_order=[0, 1, 2, 3, 4]),
    "shifted": dict(input_size=(128, 128), heatmap_size=(32, 32), decode_center_shift=0.5,
                    decode_keypoint_order=[2, 0, 1, 3, 4], decode_max_instances=3,
                    decode_topk=8),
    "tag2": dict(input_size=(64, 64), heatmap_size=(32, 32), decode_tag_thr=0.8,
                 decode_keypoint_thr=0.2, decode_keypoint_order=[4, 3, 2, 1, 0]),
    "udp": dict(input_size=(64, 64), heatmap_size=(32, 32), use_udp=True,
                decode_center_shift=0.0, decode_keypoint_order=[1, 0, 2, 3, 4]),
}


def g(case, key):
    return GOLDENS[f"{case}__{key}"]


@pytest.mark.parametrize("name", sorted(ENCODE))
def test_encode_matches_mmpose(name):
    codec = AssociativeEmbedding(**ENCODE[name])
    case = f"enc_{name}"
    enc = codec.encode(g(case, "keypoints"), g(case, "keypoints_visible"))
    np.testing.assert_allclose(enc["heatmaps"], g(case, "heatmaps"), atol=1e-6)
    np.testing.assert_array_equal(enc["keypoint_indices"], g(case, "keypoint_indices"))
    np.testing.assert_array_equal(enc["keypoint_weights"], g(case, "keypoint_weights"))
    assert enc["keypoint_indices"].dtype == np.int64


def test_encode_runs_in_graph():
    codec = AssociativeEmbedding(**ENCODE["msra"])
    kpts, vis = g("enc_msra", "keypoints"), g("enc_msra", "keypoints_visible")
    enc = tf.function(codec.encode)(tf.constant(kpts), tf.constant(vis))
    np.testing.assert_array_equal(enc["keypoint_indices"].numpy(),
                                  g("enc_msra", "keypoint_indices"))


@pytest.mark.parametrize("name", sorted(DECODE))
def test_batch_decode_matches_mmpose(name):
    codec = AssociativeEmbedding(**DECODE[name])
    case = f"dec_{name}"
    kpts, scores, inst = codec.batch_decode(g(case, "heatmaps"), g(case, "tags"))
    for b, num in enumerate(g(case, "num")):
        assert len(kpts[b]) == num
        np.testing.assert_allclose(kpts[b], g(case, "keypoints")[b, :num], atol=1e-4)
        np.testing.assert_allclose(scores[b], g(case, "scores")[b, :num], atol=1e-6)
        np.testing.assert_allclose(inst[b], g(case, "instance_scores")[b, :num], atol=1e-6)


def test_padded_decode_in_graph_matches_lists():
    codec = AssociativeEmbedding(**DECODE["plain"])
    heatmaps, tags = g("dec_plain", "heatmaps"), g("dec_plain", "tags")
    fn = tf.function(lambda h, t: codec.batch_decode_padded(h, t, max_instances=6))
    kpts, scores, inst, valid = [x.numpy() for x in fn(tf.constant(heatmaps), tf.constant(tags))]
    assert kpts.shape == (2, 6, 5, 2) and valid.dtype == bool
    np.testing.assert_array_equal(valid.sum(1), g("dec_plain", "num"))
    np.testing.assert_allclose(kpts, g("dec_plain", "keypoints")[:, :6], atol=1e-4)
    np.testing.assert_allclose(inst, g("dec_plain", "instance_scores")[:, :6], atol=1e-6)


def test_decode_of_empty_heatmaps_gives_no_people():
    codec = AssociativeEmbedding(input_size=(32, 32), heatmap_size=(16, 16))
    kpts, scores, inst = codec.decode(np.zeros((16, 16, 3), np.float32),
                                      np.zeros((16, 16, 3), np.float32))
    assert kpts.shape == (0, 3, 2) and scores.shape == (0, 3) and inst.shape == (0,)


def test_round_trip_of_separated_people():
    # Encoded heatmaps + ideal tags decode back to the people (within the refinement).
    codec = AssociativeEmbedding(input_size=(64, 64), heatmap_size=(32, 32), sigma=1.0)
    kpts = np.array([[[10, 10], [20, 12], [14, 30]], [[50, 40], [40, 50], [56, 56]]], np.float32)
    enc = codec.encode(kpts)
    tags = np.zeros((32, 32, 3), np.float32)
    for n, person in enumerate(kpts):
        for k, (x, y) in enumerate(person / 2):
            tags[max(int(y) - 2, 0):int(y) + 3, max(int(x) - 2, 0):int(x) + 3, k] = 3.0 * n
    out, scores, _ = codec.decode(enc["heatmaps"], tags)
    order = np.argsort(out[:, 0, 0])
    np.testing.assert_allclose(out[order], kpts, atol=1.0)
    np.testing.assert_allclose(scores, 1.0)


def test_linear_sum_assignment_is_optimal():
    rng = np.random.default_rng(0)
    for n, m in [(3, 3), (3, 5), (4, 4), (1, 4)]:
        cost = rng.integers(0, 5, size=(n, m)).astype(float)  # many ties
        pairs = linear_sum_assignment(cost)
        assert [r for r, _ in pairs] == list(range(n))
        assert len({c for _, c in pairs}) == n
        best = min(sum(cost[i, p[i]] for i in range(n))
                   for p in itertools.permutations(range(m), n))
        assert sum(cost[r, c] for r, c in pairs) == best
    with pytest.raises(ValueError, match="columns"):
        linear_sum_assignment(np.zeros((3, 2)))


def test_config_round_trip_and_bad_arguments():
    codec = AssociativeEmbedding(**DECODE["shifted"])
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(codec))
    assert clone.get_config() == codec.get_config()
    assert codec.sigma == 0.5  # sqrt(32 * 32) / 64, MMPose's default
    with pytest.raises(ValueError, match="decode_topk"):
        AssociativeEmbedding((64, 64), (32, 32), decode_topk=0)
    with pytest.raises(ValueError, match="decode_keypoint_order"):
        AssociativeEmbedding((64, 64), (32, 32), decode_keypoint_order=[0, 0])
    with pytest.raises(ValueError, match="received"):
        codec.batch_decode(np.zeros((1, 8, 8, 5)), np.zeros((1, 8, 9, 5)))
