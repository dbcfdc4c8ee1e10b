"""Shared checks for Keras layers, models and serializable kpose objects.

Every layer and model in kpose must pass both:

- `assert_config_round_trip(obj)`: `get_config` -> JSON -> `from_config` rebuilds an
  object with the same config (through `keras.saving.serialize_keras_object`, as a
  `.keras` file stores it).
- `assert_saving_round_trip(obj, inputs, tmp_path)`: a `.keras` file written with
  `save` and read back with `keras.saving.load_model(path, safe_mode=True)` gives
  identical outputs. A bare layer is wrapped in a functional model for the check.

Import with `from keras_test_case import ...` (tests/ is on sys.path through conftest.py).
"""

import json
import os
from typing import Any, Optional

import keras
import numpy as np
from keras import tree


def assert_config_round_trip(obj: Any) -> Any:
    """Checks that `obj` serializes to JSON and deserializes to an equal config.

    Args:
        obj: a registered Keras layer/model or a kpose object with `get_config`.

    Returns:
        The rebuilt object.
    """
    serialized = keras.saving.serialize_keras_object(obj)
    # JSON turns tuples into lists, exactly as the `.keras` config does.
    serialized = json.loads(json.dumps(serialized))
    rebuilt = keras.saving.deserialize_keras_object(serialized, safe_mode=True)
    assert type(rebuilt) is type(obj), (type(rebuilt), type(obj))
    original = json.loads(json.dumps(keras.saving.serialize_keras_object(obj)))
    again = json.loads(json.dumps(keras.saving.serialize_keras_object(rebuilt)))
    assert _strip_names(again) == _strip_names(original)
    return rebuilt


def _strip_names(config: Any) -> Any:
    # Auto-generated layer names differ between instances; everything else must match.
    if isinstance(config, dict):
        return {k: _strip_names(v) for k, v in config.items() if k != "name"}
    if isinstance(config, list):
        return [_strip_names(v) for v in config]
    return config


def _as_model(obj: Any, inputs: Any) -> keras.Model:
    if isinstance(obj, keras.Model):
        return obj
    symbolic = tree.map_structure(
        lambda x: keras.Input(shape=np.shape(x)[1:], batch_size=None,
                              dtype=str(np.asarray(x).dtype)),
        inputs)
    return keras.Model(symbolic, obj(symbolic))


def randomize_weights(obj: Any, seed: int = 0, scale: float = 0.1) -> None:
    """Overwrites every variable of a built layer/model with random values.

    Fresh initialisations hide bugs (zero BN gammas, unit moving variances); random
    values make a save/load or conversion check meaningful. Moving variances stay
    positive.
    """
    rng = np.random.default_rng(seed)
    for variable in obj.weights:
        value = rng.standard_normal(tuple(variable.shape)) * scale
        if "variance" in variable.path:
            value = np.abs(value) + 0.5
        variable.assign(value.astype(keras.backend.standardize_dtype(variable.dtype)))


def assert_saving_round_trip(obj: Any, inputs: Any, tmp_path: os.PathLike,
                             atol: float = 0.0, call_kwargs: Optional[dict] = None,
                             randomize: bool = True) -> keras.Model:
    """Saves `obj` to `.keras`, loads it with safe_mode=True and compares outputs.

    Args:
        obj: a built or unbuilt Keras layer or model; it is called on `inputs` first.
        inputs: a numpy array or a nested structure of arrays (a layer taking a tuple of
            feature maps gets a tuple).
        tmp_path: directory for the file (pytest's `tmp_path`).
        atol: allowed absolute difference (0: identical).
        call_kwargs: extra call arguments (e.g. `{"training": False}`).
        randomize: give every variable random values first (see `randomize_weights`).

    Returns:
        The loaded model.
    """
    call_kwargs = call_kwargs or {}
    model = _as_model(obj, inputs)
    model(inputs, **call_kwargs)  # builds a subclassed model
    if randomize:
        randomize_weights(model)
    expected = model(inputs, **call_kwargs)
    path = os.path.join(os.fspath(tmp_path), "round_trip.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    actual = loaded(inputs, **call_kwargs)
    expected_flat = [keras.ops.convert_to_numpy(x) for x in tree.flatten(expected)]
    actual_flat = [keras.ops.convert_to_numpy(x) for x in tree.flatten(actual)]
    assert len(expected_flat) == len(actual_flat)
    for want, got in zip(expected_flat, actual_flat):
        assert want.shape == got.shape
        np.testing.assert_allclose(got, want, rtol=0, atol=atol)
    assert len(loaded.weights) == len(model.weights)
    for want, got in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(got),
                                      keras.ops.convert_to_numpy(want))
    return loaded
