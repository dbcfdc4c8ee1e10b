"""Configuration mistakes fail at parse time with errors naming the binding (issue 8)."""

import os

import gin
import pytest

from kpose.engine import config

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
QUICKSTART = os.path.join(REPO, "gin_configs", "quickstart.gin")


@pytest.fixture(autouse=True)
def _clear_gin():
    gin.clear_config()
    yield
    gin.clear_config()


def test_quickstart_passes_the_checks():
    config.parse_config([QUICKSTART])


def test_unknown_configurable_is_rejected():
    with pytest.raises(ValueError, match="NoSuchThing"):
        config.parse_config([QUICKSTART], ["NoSuchThing.x = 1"])


def test_misspelt_layer_argument_is_rejected_before_build():
    # Keras layers take **kwargs, so gin alone would accept this until the model is built.
    with pytest.raises(ValueError, match=r"HeatmapHead\.deconv_out_channel .*takes: .*"
                                         r"deconv_out_channels"):
        config.parse_config([QUICKSTART], ["HeatmapHead.deconv_out_channel = (8,)"])


def test_keras_base_arguments_are_accepted():
    config.parse_config([QUICKSTART], ["HeatmapHead.name = 'head'",
                                       "ResNet.trainable = True"])


def test_missing_required_macro_names_the_macro_and_its_users(tmp_path):
    recipe = tmp_path / "gin_configs" / "partial.gin"
    recipe.parent.mkdir()
    recipe.write_text("include 'models/td-hm_resnet.gin'\n"
                      "include 'datasets/coco_topdown.gin'\n"
                      "include 'runs/topdown.gin'\n"
                      "DATA_ROOT = 'x'\nINPUT_SIZE = (192, 256)\nHEATMAP_SIZE = (48, 64)\n"
                      "EPOCHS = 1\nBATCH_SIZE = 2\nBASE_LR = 1e-3\nMILESTONES = (1,)\n")
    with pytest.raises(ValueError, match=r"%RESNET_DEPTH \(used by ResNet\.depth\)"):
        config.parse_config([str(recipe)])


def test_check_can_be_deferred_for_macros_bound_later(tmp_path):
    recipe = tmp_path / "late.gin"
    recipe.write_text("include 'quickstart.gin'\nRESNET_DEPTH = %LATER\n")
    config.parse_config([str(recipe)], check=False)
    gin.bind_parameter("%LATER", 18)
    config.check_bindings()
