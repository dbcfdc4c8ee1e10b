"""Helpers shared by the codec tests: golden fixtures, graph and TFLite runs.

The fixtures in tests/fixtures/goldens/<codec>.npz hold MMPose 1.3.2's outputs, written
by tools/dev/make_mmpose_goldens.py; nothing here imports mmpose or torch. A fixture
stores several configurations, each under the key prefix `<config>__`.
"""

import pathlib
from typing import Callable, Dict, List, Sequence

import numpy as np
import tensorflow as tf

GOLDENS = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "goldens"


def load_goldens(codec: str):
    """The fixture `<codec>.npz`, as a dict-like NpzFile."""
    return np.load(GOLDENS / f"{codec}.npz")


def golden_configs(codec: str, section: str) -> List[str]:
    """Configurations of the fixture holding `<section>_...` arrays ('enc', 'dec')."""
    data = load_goldens(codec)
    return [str(name) for name in data["configs"]
            if any(key.startswith(f"{name}__{section}_") for key in data.files)]


def encode_sections(data, prefix: str, keys: Sequence[str]):
    """Yields (section, keypoints, visible, {key: expected}) for the enc and multi
    sections (one instance, three instances) of a configuration."""
    for section in ("enc", "multi"):
        if prefix + section + "_keypoints" not in data.files:
            continue
        expected = {key: data[f"{prefix}{section}_{key}"] for key in keys}
        for i, (keypoints, visible) in enumerate(
                zip(data[prefix + section + "_keypoints"],
                    data[prefix + section + "_visible"])):
            yield section, keypoints, visible, {k: v[i] for k, v in expected.items()}


def run_tflite(function: Callable, input_signature: Sequence[tf.TensorSpec],
               inputs: Sequence[np.ndarray]) -> List[np.ndarray]:
    """Converts `function` to TFLite (builtin ops only), runs it on `inputs` with the
    dynamic dimensions resized, returns its outputs sorted by rank."""
    from ai_edge_litert.interpreter import Interpreter

    graph_fn = tf.function(function, input_signature=list(input_signature))
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [graph_fn.get_concrete_function()], graph_fn)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = Interpreter(model_content=converter.convert())
    details = interpreter.get_input_details()
    # Input order follows the signature's argument names (args_0, args_1, ...).
    details = sorted(details, key=lambda d: d["name"])
    for detail, value in zip(details, inputs):
        interpreter.resize_tensor_input(detail["index"], value.shape)
    interpreter.allocate_tensors()
    for detail, value in zip(details, inputs):
        interpreter.set_tensor(detail["index"], value)
    interpreter.invoke()
    outputs = [interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()]
    return sorted(outputs, key=np.ndim)


def assert_eager_graph_and_tf_data_agree(codec, keypoints: np.ndarray,
                                         visible: np.ndarray) -> Dict[str, np.ndarray]:
    """Encodes eagerly, in a tf.function with dynamic N, and in a tf.data map; all must
    be identical. Returns the eager result."""
    eager = codec.encode(keypoints, visible)
    num_keypoints = keypoints.shape[1]
    encode_fn = tf.function(codec.encode, input_signature=[
        tf.TensorSpec([None, num_keypoints, 2], tf.float32),
        tf.TensorSpec([None, num_keypoints], tf.float32)])
    graph = encode_fn(tf.constant(keypoints), tf.constant(visible))
    assert set(graph) == set(eager)
    for key in eager:
        np.testing.assert_array_equal(graph[key].numpy(), eager[key])
    dataset = tf.data.Dataset.from_tensors((keypoints, visible)).map(
        lambda kp, vis: codec.encode(kp, vis))
    for sample in dataset:
        for key in eager:
            np.testing.assert_array_equal(sample[key].numpy(), eager[key])
    return eager
