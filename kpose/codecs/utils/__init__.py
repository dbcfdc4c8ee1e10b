"""TF building blocks shared by the codecs (target generation, maxima, refinement)."""

from kpose.codecs.utils.gaussian_heatmap import (generate_gaussian_heatmaps,
                                                 generate_unbiased_gaussian_heatmaps,
                                                 trunc)
from kpose.utils.numpy_io import to_numpy, wants_numpy
from kpose.codecs.utils.post_processing import (flatten_heatmaps, gaussian_blur,
                                                gaussian_blur1d, gaussian_kernel_1d,
                                                get_heatmap_maximum)
from kpose.codecs.utils.reflect_blur import (gaussian_blur_reflect101,
                                             reflect101_blur_matrix)
from kpose.codecs.utils.refinement import refine_keypoints, refine_keypoints_dark
from kpose.codecs.utils.simcc import get_simcc_maximum, refine_simcc_dark
from kpose.codecs.utils.udp_heatmap import (decode_udp_combined,
                                            generate_offset_heatmap,
                                            generate_udp_gaussian_heatmaps,
                                            refine_keypoints_dark_udp)

__all__ = [
    "decode_udp_combined",
    "flatten_heatmaps",
    "gaussian_blur",
    "gaussian_blur1d",
    "gaussian_blur_reflect101",
    "gaussian_kernel_1d",
    "generate_gaussian_heatmaps",
    "generate_offset_heatmap",
    "generate_udp_gaussian_heatmaps",
    "generate_unbiased_gaussian_heatmaps",
    "get_heatmap_maximum",
    "get_simcc_maximum",
    "refine_keypoints",
    "refine_keypoints_dark",
    "refine_keypoints_dark_udp",
    "refine_simcc_dark",
    "reflect101_blur_matrix",
    "to_numpy",
    "trunc",
    "wants_numpy",
]
