"""TF building blocks shared by the codecs (target generation, maxima, refinement)."""

from kpose.codecs.utils.gaussian_heatmap import (generate_gaussian_heatmaps,
                                                 generate_unbiased_gaussian_heatmaps,
                                                 trunc)
from kpose.codecs.utils.numpy_io import to_numpy, wants_numpy
from kpose.codecs.utils.post_processing import (flatten_heatmaps, gaussian_blur,
                                                gaussian_blur1d, gaussian_kernel_1d,
                                                get_heatmap_maximum)
from kpose.codecs.utils.refinement import refine_keypoints, refine_keypoints_dark

__all__ = [
    "flatten_heatmaps",
    "gaussian_blur",
    "gaussian_blur1d",
    "gaussian_kernel_1d",
    "generate_gaussian_heatmaps",
    "generate_unbiased_gaussian_heatmaps",
    "get_heatmap_maximum",
    "refine_keypoints",
    "refine_keypoints_dark",
    "to_numpy",
    "trunc",
    "wants_numpy",
]
