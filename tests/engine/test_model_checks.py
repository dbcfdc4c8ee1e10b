"""A model that disagrees with its codec or dataset fails at build time naming both sides."""

import pytest

from kpose.codecs.msra_heatmap import MSRAHeatmap
from kpose.datasets.metainfo import load
from kpose.engine.model_checks import check_model_fits_data
from kpose.models.backbones.res_net import ResNet
from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
from kpose.models.heads.heatmap_head import HeatmapHead


def tiny_model(num_keypoints=17, deconvs=(8, 8, 8), heatmap_size=(8, 8)):
    return TopdownPoseEstimator(
        ResNet(18, stem_channels=4, base_channels=4),
        HeatmapHead(out_channels=num_keypoints, deconv_out_channels=deconvs,
                    deconv_kernel_sizes=(4,) * len(deconvs)),
        MSRAHeatmap(input_size=(32, 32), heatmap_size=heatmap_size), flip_test=False)


def test_matching_model_passes():
    check_model_fits_data(tiny_model(), load("coco"))


def test_keypoint_count_disagreeing_with_the_metainfo_names_both():
    with pytest.raises(ValueError, match=r"head outputs 14 keypoints .*'coco' has 17"):
        check_model_fits_data(tiny_model(num_keypoints=14), load("coco"))


def test_heatmap_size_disagreeing_with_the_codec_names_both():
    # Two deconvs give 4x4 heatmaps from a 32x32 input, the codec says 8x8.
    with pytest.raises(ValueError, match=r"\(h, w\) = \(4, 4\).*heatmap_size \(w, h\) is "
                                         r"\(8, 8\)"):
        check_model_fits_data(tiny_model(deconvs=(8, 8)))
