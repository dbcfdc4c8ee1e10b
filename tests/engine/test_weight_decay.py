"""Weight-decay exemptions follow mmengine's paramwise_cfg rules."""

import keras
import numpy as np
import pytest

from kpose.engine.weight_decay import configure_weight_decay, no_decay_variables


def _model():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Conv2D(4, 1, name="conv_bias")(x)
    x = keras.layers.LayerNormalization(name="ln")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(2, name="fc")(x)
    return keras.Model(inputs, outputs)


def _paths(variables):
    return sorted(v.path for v in variables)


def test_rtmpose_rules_exempt_norms_and_biases():
    model = _model()
    exempt = no_decay_variables(model, norm_decay=False, bias_decay=False)
    assert _paths(exempt) == ["bn/beta", "bn/gamma", "conv_bias/bias", "fc/bias", "ln/beta",
                              "ln/gamma"]


def test_bias_rule_alone_takes_norm_betas_as_mmengine():
    model = _model()
    assert _paths(no_decay_variables(model, bias_decay=False)) == [
        "bn/beta", "conv_bias/bias", "fc/bias", "ln/beta"]
    assert _paths(no_decay_variables(model, norm_decay=False)) == [
        "bn/beta", "bn/gamma", "ln/beta", "ln/gamma"]
    assert no_decay_variables(model) == []


def test_flat_rule_and_keys():
    model = _model()
    exempt = no_decay_variables(model, flat_decay=False, no_decay_keys=["fc/kernel"])
    assert _paths(exempt) == ["bn/beta", "bn/gamma", "conv_bias/bias", "fc/bias", "fc/kernel",
                              "ln/beta", "ln/gamma"]


def test_exempt_variables_keep_their_values_under_adamw():
    model = _model()
    opt = keras.optimizers.AdamW(learning_rate=0.1, weight_decay=0.5)
    exempt = configure_weight_decay(opt, model, norm_decay=False, bias_decay=False)
    opt.build(model.trainable_variables)
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    zeros = [np.zeros(v.shape, np.float32) for v in model.trainable_variables]
    opt.apply_gradients(zip(zeros, model.trainable_variables))  # only the decay moves weights
    exempt_paths = {v.path for v in exempt}
    for v in model.trainable_variables:
        if v.path in exempt_paths:
            np.testing.assert_array_equal(v.numpy(), before[v.path])
        else:
            np.testing.assert_allclose(v.numpy(), before[v.path] * (1 - 0.1 * 0.5), rtol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="received 'pos_embed'"):
        no_decay_variables(_model(), no_decay_keys="pos_embed")
    with pytest.raises(ValueError, match="received"):
        configure_weight_decay(object(), _model())
