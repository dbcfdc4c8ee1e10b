"""tools/convert_mmpose_checkpoint.py end to end: .pth -> .weights.h5 / .keras, and refusals."""

import importlib.util
import os

import gin
import keras
import numpy as np
import pytest

from converter_cases import RAW_ATOL, build_from_gin, fixture_path, load_case

TOOL = os.path.join(os.path.dirname(__file__), "..", "..", "tools",
                    "convert_mmpose_checkpoint.py")


def _load_tool():
    # tools/ holds scripts, not a package: load the file by path.
    spec = importlib.util.spec_from_file_location("kpose_tool_convert", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


convert = _load_tool()


@pytest.fixture(autouse=True)
def clean_gin():
    yield
    gin.clear_config()


def _argv(config, output, *extra):
    argv = ["--gin_file", os.path.join(os.path.dirname(TOOL), "..", config["gin"]),
            "--checkpoint", fixture_path(config["checkpoint"]), "--output", str(output)]
    for param in config["gin_params"]:
        argv += ["--gin_param", param]
    return argv + list(extra)


def test_weights_and_keras_outputs_reproduce_mmpose(tmp_path, capsys):
    data, config = load_case("res18")
    weights = tmp_path / "res18.weights.h5"
    convert.main(_argv(config, weights))
    assert "converted 122 weights" in capsys.readouterr().out
    model, _ = build_from_gin(config["gin"], config["gin_params"])
    model.load_weights(str(weights))
    np.testing.assert_allclose(np.asarray(model(data["images"][:1], training=False)),
                               data["raw"], rtol=0, atol=RAW_ATOL)

    gin.clear_config()
    saved = tmp_path / "res18.keras"
    convert.main(_argv(config, saved, "--format", "keras"))
    loaded = keras.saving.load_model(str(saved))
    np.testing.assert_allclose(np.asarray(loaded(data["images"][:1], training=False)),
                               data["raw"], rtol=0, atol=RAW_ATOL)


def test_training_checkpoint_needs_allow_inert_globals(tmp_path):
    _, config = load_case("res50")
    output = tmp_path / "res50.weights.h5"
    with pytest.raises(Exception, match="HistoryBuffer"):
        convert.main(_argv(config, output))
    assert not output.exists()
    gin.clear_config()
    convert.main(_argv(config, output, "--allow_inert_globals"))
    assert output.exists()


def test_dataset_meta_mismatch_and_bad_output_are_refused(tmp_path):
    _, config = load_case("res18")
    output = tmp_path / "out.weights.h5"
    # AP-10K also has 17 keypoints, but animal ones: the checkpoint's COCO meta differs.
    with pytest.raises(ValueError, match=r"keypoint_names: checkpoint \(coco\) \['nose'"):
        convert.main(_argv(config, output, "--gin_param", "METAINFO = 'ap10k'"))
    assert not output.exists()
    gin.clear_config()
    with pytest.raises(SystemExit):
        convert.main(_argv(config, tmp_path / "out.h5"))
