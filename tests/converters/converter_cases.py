"""Shared helpers of the converter tests: the fixture cases and building their kpose models.

Fixtures in tests/fixtures/converter/ were made with the MMPose reference venv:
`/tmp/mmpose-ref/bin/python tools/dev/make_converter_goldens.py tests/fixtures/converter`.
Each `<case>.npz` names its MMPose config, kpose gin file, the gin bindings that shrink the
model as the generator shrank MMPose's, and its checkpoint `<case>.pth`.
"""

import json
import os

import numpy as np

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "converter")
REPO = os.path.join(os.path.dirname(__file__), "..", "..")
CASES = ("res18", "res50", "hrnet")
# Families converted from real reduced-width MMPose checkpoints (test_converter_families.py).
FAMILY_CASES = ("resnetv1d", "mobilenetv2", "simcc", "rtmpose", "rle", "ipr", "vitpose")


def fixture_path(name: str) -> str:
    return os.path.join(FIXTURES, name)


def load_case(case: str):
    """(arrays of `<case>.npz`, its config dict)."""
    data = np.load(fixture_path(f"{case}.npz"))
    return data, json.loads(str(data["config"]))


def build_from_gin(gin_file: str, gin_params=()):
    """Builds (and calls once) the estimator bound to `evaluate.model`; clears gin after."""
    import gin  # imported here so that reader-only tests do not load TensorFlow
    import tensorflow as tf

    from kpose.engine import config

    gin.clear_config()
    try:
        config.parse_config([os.path.join(REPO, gin_file)], list(gin_params))
        model = gin.query_parameter("evaluate.model").scoped_configurable_fn()
        metainfo = gin.query_parameter("metainfo_flip_indices.metainfo")
        if isinstance(metainfo, gin.config.ConfigurableReference):  # a %MACRO
            metainfo = metainfo.scoped_configurable_fn()
    finally:
        gin.clear_config()
    w, h = model.codec.input_size
    model(tf.zeros((1, h, w, 3), tf.uint8))
    return model, metainfo


RAW_ATOL = 1e-4
KEYPOINT_ATOL = 1e-2


def convert_case(case):
    """(converted model, assigned map, npz arrays, case config) of one fixture case."""
    from kpose.converters.mmpose_to_keras import load_mmpose_checkpoint

    data, config = load_case(case)
    model, metainfo = build_from_gin(config["gin"], config["gin_params"])
    assigned = load_mmpose_checkpoint(
        model, fixture_path(config["checkpoint"]), metainfo=metainfo,
        allow_inert_globals=(case == "res50"))  # res50.pth is a training checkpoint
    return model, assigned, data, config


def predict(model, data):
    meta = {"center": data["center"], "scale": data["scale"]}
    return model.predict_on_batch((data["images"], meta))


def raw_outputs(model, images):
    """The estimator's raw outputs on `images` as a list of arrays (one per head output)."""
    outputs = model(images, training=False)
    if isinstance(outputs, (tuple, list)):
        return [np.asarray(o) for o in outputs]
    return [np.asarray(outputs)]


def golden_raw(data):
    """MMPose's raw outputs stored in a case (`raw`, or `raw_0`, `raw_1`, ...)."""
    if "raw" in data:
        return [data["raw"]]
    return [data[f"raw_{i}"] for i in range(len([k for k in data if k.startswith("raw_")]))]


def check_against_goldens(model, assigned, data, config):
    from kpose.converters.mmpose_to_keras import mmpose_state_dict
    from kpose.converters.torch_checkpoint import load_torch_checkpoint

    state = mmpose_state_dict(load_torch_checkpoint(fixture_path(config["checkpoint"]),
                                                    allow_inert_globals=True))
    weights = [k for k in state if not k.endswith("num_batches_tracked")]
    assert sorted(assigned.values()) == sorted(weights)
    assert len(assigned) == len(model.weights)
    expected = golden_raw(data)
    raw = raw_outputs(model, data["images"][:1])
    assert len(raw) == len(expected)
    for ours, theirs in zip(raw, expected):
        scale = min(1.0, float(np.abs(theirs).max()))  # probability maps are small numbers
        assert theirs.std() > 0.005 * scale  # outputs vary: a wrong weight shows
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=RAW_ATOL * scale)
    preds = predict(model, data)
    np.testing.assert_allclose(preds["keypoints"], data["keypoints"], rtol=0,
                               atol=KEYPOINT_ATOL)
    np.testing.assert_allclose(preds["keypoint_scores"], data["keypoint_scores"], rtol=0,
                               atol=RAW_ATOL)
