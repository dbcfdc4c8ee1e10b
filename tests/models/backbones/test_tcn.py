"""TCN + TemporalRegressionHead against MMPose 1.3.2 (tests/fixtures/goldens/pose_lifting.npz):
same outputs for the same weights (drawn by the golden script's recipe), same parameter
counts, including MMPose's full 243- and 27-frame configs."""

import keras
import numpy as np
import pytest

from kpose.models.backbones.tcn import TCN
from kpose.models.heads.temporal_regression_head import TemporalRegressionHead
from keras_test_case import assert_config_round_trip, assert_saving_round_trip
from lifting_goldens import load, section

CASES = ["tcn_dilated", "tcn_stride", "tcn_causal", "tcn_causal_stride_nores"]


def fill_value(rng, key, shape):
    """tools/dev/make_lifting_goldens.py's recipe."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if len(shape) == 3:
        return noise / np.sqrt(shape[1] * shape[2])
    if key.endswith("running_var"):
        return np.abs(noise) * 0.5 + 0.5
    if key.endswith("num_batches_tracked"):
        return np.zeros(shape, np.float32)
    if key.endswith("weight"):
        return 1.0 + 0.1 * noise
    return 0.1 * noise


def _layer(root, module_path):
    """MMPose module path ('tcn_blocks.0.conv1.0.conv') -> kpose sublayer."""
    parts = module_path.split(".")
    if parts[0] == "tcn_blocks":
        return getattr(root.tcn_blocks[int(parts[1])], "_".join(parts[2:]))
    return getattr(root, "_".join(parts))


def load_mmpose_weights(backbone, head, keys, shapes, seed):
    rng = np.random.RandomState(seed)
    values = {key: fill_value(rng, key, tuple(shape)) for key, shape in zip(keys, shapes)}
    for key, value in values.items():
        owner, rest = key.split(".", 1)
        module, param = rest.rsplit(".", 1)
        layer = _layer(backbone if owner == "backbone" else head, module)
        if param == "num_batches_tracked":
            continue
        if isinstance(layer, keras.layers.BatchNormalization):
            target = {"weight": layer.gamma, "bias": layer.beta,
                      "running_mean": layer.moving_mean,
                      "running_var": layer.moving_variance}[param]
            target.assign(value)
        elif param == "weight":
            layer.kernel.assign(value.transpose(2, 1, 0))  # (out, in, k) -> (k, in, out)
        else:
            layer.bias.assign(value)


def build(case_config):
    backbone = TCN(**case_config["backbone"])
    head = TemporalRegressionHead(**case_config["head"])
    return backbone, head


@pytest.mark.parametrize("case", CASES)
def test_outputs_and_parameter_count_match_mmpose(case):
    data, configs = load()
    config = configs[case]
    expected = section(data, case)
    backbone, head = build(config)
    x = expected["inputs"]
    feats = backbone(x, training=False)
    head(feats)
    load_mmpose_weights(backbone, head, config["keys"], config["shapes"], config["seed"])
    feats = backbone(x, training=False)
    out = head(feats)
    for i, f in enumerate(feats):
        np.testing.assert_allclose(np.asarray(f), expected[f"feat{i}"], atol=2e-5, rtol=1e-4)
    mm = expected["outputs"]
    frames = expected[f"feat{len(feats) - 1}"].shape[1]
    if frames > 1:
        # MMPose reshapes (B, K * 3, T') to (-1, K, 3) in memory order, interleaving frames
        # and channels; kpose gives one (K, 3) pose per frame. Same numbers, re-laid out.
        b = x.shape[0]
        mm = mm.reshape(b, -1, frames).transpose(0, 2, 1).reshape(-1, *mm.shape[1:])
    np.testing.assert_allclose(np.asarray(out), mm, atol=2e-5, rtol=1e-4)
    trainable = sum(int(np.prod(v.shape)) for v in backbone.trainable_weights + head.trainable_weights)
    assert trainable == int(expected["num_params"])


@pytest.mark.parametrize("name, frames", [("243frm", 243), ("27frm", 27)])
def test_full_configs_have_mmposes_parameter_count(name, frames):
    data, configs = load()
    backbone = TCN(**configs[f"full_{name}"])
    head = TemporalRegressionHead(1024, 17)
    backbone.build((None, frames, 34))
    head.build((None, 1, 1024))
    assert backbone.receptive_field == frames
    trainable = sum(int(np.prod(v.shape)) for v in backbone.trainable_weights + head.trainable_weights)
    assert trainable == int(data[f"full_{name}/num_params"])  # 16,952,371 / 8,555,571


def test_one_output_frame_per_receptive_field_and_causal_shift():
    backbone = TCN(in_channels=4, stem_channels=6, num_blocks=2, kernel_sizes=(3, 3, 3),
                   dropout=0.0, causal=True)
    x = np.random.default_rng(0).normal(size=(1, 27, 4)).astype(np.float32)
    assert tuple(backbone(x)[-1].shape) == (1, 1, 6)
    strided = TCN(in_channels=4, stem_channels=6, num_blocks=2, kernel_sizes=(3, 3, 3),
                  dropout=0.0, causal=True, use_stride_conv=True)
    strided(x)
    strided.set_weights(backbone.get_weights())
    # The strided and dilated forms share weights and agree on one receptive field.
    np.testing.assert_allclose(np.asarray(strided(x)[-1]), np.asarray(backbone(x)[-1]),
                               atol=1e-5)
    with pytest.raises(ValueError, match="frames"):
        backbone(x[:, :5])


def test_max_norm_clips_kernels_after_an_update():
    backbone = TCN(in_channels=4, stem_channels=6, num_blocks=1, kernel_sizes=(3, 3),
                   max_norm=0.5)
    model_in = keras.Input((9, 4))
    model = keras.Model(model_in, backbone(model_in)[-1])
    model.compile(optimizer=keras.optimizers.SGD(10.0), loss="mse")
    model.fit(np.ones((2, 9, 4)), np.ones((2, 1, 6)), epochs=1, verbose=0)
    kernel = backbone.expand_conv_conv.kernel.numpy()
    assert np.linalg.norm(kernel) <= 0.5 + 1e-4


def test_config_and_saving_round_trip(tmp_path):
    backbone = TCN(in_channels=6, stem_channels=8, num_blocks=2, kernel_sizes=(3, 3, 3),
                   causal=True, use_stride_conv=True, max_norm=2.0)
    assert_config_round_trip(backbone)
    x = np.random.default_rng(1).normal(size=(2, 27, 6)).astype(np.float32)
    assert_saving_round_trip(backbone, x, tmp_path)


@pytest.mark.parametrize("kwargs, match", [
    (dict(in_channels=0), "in_channels"),
    (dict(in_channels=4, num_blocks=2, kernel_sizes=(3, 3)), "kernel_sizes"),
    (dict(in_channels=4, num_blocks=1, kernel_sizes=(3, 4)), "odd"),
    (dict(in_channels=4, dropout=1.5), "dropout"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TCN(**kwargs)
