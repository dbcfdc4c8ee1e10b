"""Third-party classes made configurable from gin without wrapping them."""

import gin
import keras

for _optimizer in (keras.optimizers.Adam, keras.optimizers.AdamW, keras.optimizers.SGD):
    gin.external_configurable(_optimizer, module="keras.optimizers")


@gin.register
def metainfo_flip_indices(metainfo="coco"):
    """The flip indices of a dataset's meta information, for `TopdownPoseEstimator`.

    Lets a model gin file take its flip pairs from the same `METAINFO` macro as the data.
    """
    from kpose.datasets.metainfo import load

    return list(load(metainfo).flip_indices)
