"""LayerDecayAdamW: one step equals PyTorch's AdamW per parameter group, computed in numpy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_test_case import assert_config_round_trip
from kpose.engine.layer_decay_adam_w import LayerDecayAdamW, configure_layer_decay
from kpose.engine.weight_decay import configure_weight_decay

NUM_LAYERS = 2


@keras.saving.register_keras_serializable(package="kpose_test")
def tiny_vit_layer_id(path):
    """0 for embeddings, i + 1 for block `layers_i`, NUM_LAYERS + 1 for the rest."""
    if "pos_embed" in path or "patch_embed" in path:
        return 0
    for i in range(NUM_LAYERS):
        if f"layers_{i}" in path:
            return i + 1
    return NUM_LAYERS + 1


class PosEmbed(keras.layers.Layer):
    def build(self, input_shape):
        self.pos_embed = self.add_weight(shape=(1, input_shape[-1]), name="pos_embed",
                                         initializer="random_normal")

    def call(self, x):
        return x + self.pos_embed


def _model():
    keras.utils.set_random_seed(3)
    return keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(5, name="patch_embed"),
        PosEmbed(name="embed"),
        keras.layers.Dense(5, name="layers_0"),
        keras.layers.LayerNormalization(name="layers_1_ln1", epsilon=1e-6),
        keras.layers.Dense(5, name="layers_1_fc"),
        keras.layers.Dense(3, name="head"),
    ])


def _torch_adamw(p, g, lr, wd, beta_1=0.9, beta_2=0.999, eps=1e-8, steps=1):
    """PyTorch's AdamW on one parameter, `steps` times with the same gradient."""
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t in range(1, steps + 1):
        p = p * (1 - lr * wd)
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - beta_2 ** t) + eps
        p = p - lr / (1 - beta_1 ** t) * m / denom
    return p


def test_steps_equal_pytorch_adamw_per_layer_group_with_clipping():
    model = _model()
    lr, wd, rate, max_norm = 1e-2, 0.1, 0.75, 1.0
    opt = LayerDecayAdamW(learning_rate=lr, weight_decay=wd, layer_decay_rate=rate,
                          num_layers=NUM_LAYERS, layer_id_fn=tiny_vit_layer_id, epsilon=1e-8,
                          global_clipnorm=max_norm)
    exempt = configure_weight_decay(opt, model, flat_decay=False, bias_decay=False,
                                    no_decay_keys=["pos_embed"])
    assert sorted(v.path for v in exempt) == sorted(
        v.path for v in model.trainable_variables if len(v.shape) == 1 or "pos_embed" in v.path)
    opt.build(model.trainable_variables)
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    y = np.random.default_rng(1).normal(size=(6, 3)).astype(np.float32) * 10
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - y) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    total = np.sqrt(sum(float(np.sum(g.numpy() ** 2)) for g in grads))
    assert total > max_norm  # clipping is exercised
    before = [v.numpy().astype(np.float64) for v in model.trainable_variables]
    steps = 2
    for _ in range(steps):
        opt.apply_gradients(zip(grads, model.trainable_variables))
    exempt_paths = {v.path for v in exempt}
    expected_scales = []
    for p0, g, var in zip(before, grads, model.trainable_variables):
        layer_id = tiny_vit_layer_id(var.path)
        scale = rate ** (NUM_LAYERS + 1 - layer_id)
        expected_scales.append(scale)
        clipped = g.numpy().astype(np.float64) * max_norm / (total + 1e-6)  # torch's clip
        want = _torch_adamw(p0, clipped, lr * scale, 0.0 if var.path in exempt_paths else wd,
                            steps=steps)
        np.testing.assert_allclose(var.numpy(), want, rtol=2e-5, atol=1e-6, err_msg=var.path)
        assert not np.allclose(var.numpy(), p0)
    assert opt.lr_scales == pytest.approx(expected_scales)
    # The embeddings step with 0.75 ** 3 of the head's rate: blocks 0.75 ** 2 and 0.75.
    assert sorted(set(np.round(expected_scales, 6))) == pytest.approx(
        [0.421875, 0.5625, 0.75, 1.0])


def test_fit_runs_with_a_schedule_and_round_trips():
    model = _model()
    opt = LayerDecayAdamW(learning_rate=keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.5),
                          weight_decay=0.05, num_layers=NUM_LAYERS, layer_id_fn=tiny_vit_layer_id,
                          global_clipnorm=1.0)
    model.compile(optimizer=opt, loss="mse")
    x = np.ones((8, 4), np.float32)
    model.fit(x, np.zeros((8, 3), np.float32), batch_size=4, epochs=1, verbose=0)
    assert int(opt.iterations) == 2
    clone = assert_config_round_trip(opt)
    assert clone.layer_id_fn is tiny_vit_layer_id
    assert clone.global_clipnorm == 1.0 and clone.layer_decay_rate == 0.75


def test_bad_arguments():
    with pytest.raises(ValueError, match="received"):
        LayerDecayAdamW(layer_decay_rate=0.0, layer_id_fn=tiny_vit_layer_id)
    with pytest.raises(ValueError, match="received"):
        LayerDecayAdamW(num_layers=-1, layer_id_fn=tiny_vit_layer_id)
    with pytest.raises(ValueError, match="received 3"):
        LayerDecayAdamW(layer_id_fn=3)
    with pytest.raises(ValueError, match="received neither"):
        LayerDecayAdamW().build(_model().trainable_variables)
    opt = LayerDecayAdamW(num_layers=0, layer_id_fn=tiny_vit_layer_id)  # ids reach 3 > 1
    with pytest.raises(ValueError, match="layer ids must be in"):
        opt.build(_model().trainable_variables)


class _Backbone(keras.layers.Layer):
    """A ViT-like backbone that labels its own weights, as VisionTransformer.layer_id does."""

    num_layers = NUM_LAYERS

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.patch_embed = keras.layers.Dense(4, name="patch_embed")
        self.blocks = [keras.layers.Dense(4, name=f"layers_{i}") for i in range(NUM_LAYERS)]

    def call(self, x):
        x = self.patch_embed(x)
        for block in self.blocks:
            x = block(x)
        return x

    def layer_id(self, variable):
        for i, layer in enumerate([self.patch_embed] + self.blocks):
            if any(variable is w for w in layer.weights):
                return i
        return NUM_LAYERS + 1


class _Estimator(keras.Model):
    def __init__(self):
        super().__init__(name="estimator")
        self.backbone = _Backbone(name="backbone")
        self.head = keras.layers.Dense(2, name="head")

    def call(self, x):
        return self.head(self.backbone(x))


def test_configure_layer_decay_takes_ids_from_the_backbone():
    model = _Estimator()
    model(np.zeros((1, 3), np.float32))
    opt = LayerDecayAdamW(learning_rate=1e-3, layer_decay_rate=0.5, num_layers=NUM_LAYERS)
    ids = configure_layer_decay(opt, model)
    assert ids == {"estimator/backbone/patch_embed/kernel": 0,
                   "estimator/backbone/patch_embed/bias": 0,
                   "estimator/backbone/layers_0/kernel": 1, "estimator/backbone/layers_0/bias": 1,
                   "estimator/backbone/layers_1/kernel": 2, "estimator/backbone/layers_1/bias": 2,
                   "estimator/head/kernel": 3, "estimator/head/bias": 3}
    opt.build(model.trainable_variables)
    assert opt.lr_scales == [0.125, 0.125, 0.25, 0.25, 0.5, 0.5, 1.0, 1.0]
    clone = assert_config_round_trip(opt)
    assert clone.layer_ids == ids
    with pytest.raises(ValueError, match="built"):
        configure_layer_decay(opt, model)
    with pytest.raises(ValueError, match="LayerDecayAdamW"):
        configure_layer_decay(keras.optimizers.AdamW(), model)
    with pytest.raises(ValueError, match="mismatched"):
        configure_layer_decay(LayerDecayAdamW(num_layers=12), model)
    with pytest.raises(ValueError, match="no layer_id"):
        configure_layer_decay(LayerDecayAdamW(num_layers=NUM_LAYERS), _model())
