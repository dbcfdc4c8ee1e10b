import keras
import numpy as np
import pytest
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.models.utils.rtmcc_block import RTMCCBlock, rope


def tokens(b=2, k=5, c=8, seed=0):
    return np.random.default_rng(seed).standard_normal((b, k, c)).astype(np.float32)


def mmpose_rel_pos_bias(w, seq_len):
    """MMPose's pad / repeat / reshape / crop of `w`, in numpy."""
    t = np.pad(w[:2 * seq_len - 1], (0, seq_len))
    t = np.tile(t, seq_len)[:-seq_len].reshape(-1, seq_len, 3 * seq_len - 2)
    r = (2 * seq_len - 1) // 2
    return t[..., r:-r]


@pytest.mark.parametrize("num_token, length", [(5, 5), (7, 4)])
def test_rel_pos_bias_equals_mmposes_construction(num_token, length):
    block = RTMCCBlock(num_token, 8, 8, s=4)
    block.build((None, length, 8))
    w = np.arange(2 * num_token - 1, dtype=np.float32) * 0.5 - 1.0
    block.w.assign(w)
    np.testing.assert_allclose(np.asarray(block._rel_pos_bias(length)),
                               mmpose_rel_pos_bias(w, length)[0])


def test_rope_matches_the_formula():
    x = np.random.default_rng(1).standard_normal((2, 3, 2, 4)).astype(np.float32)
    out = np.asarray(rope(x, axis=1))
    inv_freq = 10000.0 ** (np.arange(2) / 2.0)  # MMPose's growing frequencies
    angle = np.arange(3)[:, None, None] * inv_freq  # (K, 1, D/2)
    x1, x2 = x[..., :2], x[..., 2:]
    expected = np.concatenate([x1 * np.cos(angle) - x2 * np.sin(angle),
                               x2 * np.cos(angle) + x1 * np.sin(angle)], -1)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out[:, 0], x[:, 0])  # position 0 is not rotated


def test_gated_attention_by_hand():
    """One token, e = 2, s = 1, ReLU, no position bias, worked out on paper."""
    block = RTMCCBlock(1, 2, 2, expansion_factor=1, s=1, act_fn="ReLU", use_rel_bias=False)
    x = np.array([[[3.0, 4.0]]], np.float32)
    block.build(x.shape)
    # uv columns: u = (n0, n1), v = (n1, 0), base = n0, for n = ln(x).
    block.uv.kernel.assign(np.array([[1, 0, 0, 0, 1], [0, 1, 1, 0, 0]], np.float32))
    block.gamma.assign([[2.0], [1.0]])  # q = 2 n0, k = n0
    block.beta.assign([[0.0], [0.0]])
    block.o.kernel.assign(np.eye(2, dtype=np.float32))
    block.res_scale.scale.assign([10.0, 0.0])
    n0, n1 = np.array([3.0, 4.0]) / (5.0 / np.sqrt(2.0))  # ScaleNorm, dim 2
    kernel = (2 * n0 * n0) ** 2  # relu(q k / sqrt(s)) ** 2
    # u * (kernel v) = (n0 * kernel * n1, n1 * kernel * 0), plus the scaled shortcut.
    expected = [10.0 * 3.0 + n0 * kernel * n1, 0.0]
    np.testing.assert_allclose(np.asarray(block(x))[0, 0], expected, rtol=1e-5)


def test_shapes_names_and_shortcut():
    block = RTMCCBlock(5, 8, 6, s=4, expansion_factor=1.5)
    out = block(tokens())
    assert out.shape == (2, 5, 6)
    names = {w.path.split("/", 1)[1] for w in block.weights}
    assert names == {"w", "gamma", "beta", "ln/g", "uv/kernel", "o/kernel"}
    assert block.uv.kernel.shape == (8, 2 * 12 + 4)
    same = RTMCCBlock(5, 8, 8, s=4, use_rel_bias=False, bias=True)
    same(tokens())
    names = {w.path.split("/", 1)[1] for w in same.weights}
    assert names == {"gamma", "beta", "ln/g", "uv/kernel", "uv/bias", "o/kernel", "o/bias",
                     "res_scale/scale"}


def test_drop_path_drops_whole_samples_in_training_only():
    keras.utils.set_random_seed(0)
    block = RTMCCBlock(5, 8, 8, s=4, drop_path=0.5)
    x = tokens(b=64)
    block(x)
    block.res_scale.scale.assign(np.zeros(8, np.float32))  # only the branch remains
    plain = np.asarray(block(x, training=False))
    dropped = np.asarray(block(x, training=True))
    zero = np.all(dropped == 0, axis=(1, 2))
    assert 10 < zero.sum() < 54
    np.testing.assert_allclose(dropped[~zero], plain[~zero] * 2.0, rtol=1e-5)


def test_dropout_only_in_training():
    keras.utils.set_random_seed(0)
    block = RTMCCBlock(5, 8, 8, s=4, dropout_rate=0.5)
    x = tokens()
    np.testing.assert_array_equal(np.asarray(block(x)), np.asarray(block(x)))
    assert not np.allclose(np.asarray(block(x, training=True)), np.asarray(block(x)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_token=0), "num_token"),
    (dict(s=0), "s must"),
    (dict(attn_type="cross-attn"), "attn_type"),
    (dict(act_fn="GELU"), "act_fn"),
    (dict(dropout_rate=1.0), "dropout_rate"),
    (dict(drop_path=-0.1), "drop_path"),
    (dict(pos_enc=True, s=5), "even s"),
])
def test_bad_arguments_raise(kwargs, match):
    args = dict(num_token=5, in_token_dims=8, out_token_dims=8)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        RTMCCBlock(**args)


def test_too_many_tokens_or_wrong_width_raise():
    with pytest.raises(ValueError, match="tokens"):
        RTMCCBlock(4, 8, 8)(tokens(k=5))
    with pytest.raises(ValueError, match="input dims"):
        RTMCCBlock(5, 6, 6)(tokens())


def test_config_and_saving_round_trip(tmp_path):
    block = RTMCCBlock(5, 8, 8, expansion_factor=1.5, s=4, eps=1e-4, dropout_rate=0.1,
                       drop_path=0.1, act_fn="ReLU", bias=True, use_rel_bias=True,
                       pos_enc=True)
    rebuilt = assert_config_round_trip(block)
    assert rebuilt.pos_enc and rebuilt.e == 12
    assert_saving_round_trip(block, tokens(), tmp_path, call_kwargs={"training": False})
