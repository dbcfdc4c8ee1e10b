"""Trains the same tiny estimator on one device and under MirroredStrategy(2 CPUs).

Run by test_topdown_pose_estimator.py in a fresh process (logical devices must be set
before TensorFlow initialises). Prints one JSON line with the largest weight difference
and both runs' logged losses.
"""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kpose.codecs import MSRAHeatmap  # noqa: E402
from kpose.models.backbones.res_net import ResNet  # noqa: E402
from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator  # noqa: E402
from kpose.models.heads.heatmap_head import HeatmapHead  # noqa: E402

STEPS, GLOBAL_BATCH, K = 3, 8, 3


def build():
    # Synchronised BN: plain BN normalises each replica's half batch on its own.
    model = TopdownPoseEstimator(
        backbone=ResNet(18, stem_channels=4, base_channels=4, num_stages=2,
                        strides=(1, 2), out_indices=(1,), synchronized_bn=True,
                        zero_init_residual=False),
        head=HeatmapHead(8, out_channels=K, deconv_out_channels=(8,),
                         deconv_kernel_sizes=(4,), synchronized_bn=True),
        codec=MSRAHeatmap(input_size=(32, 32), heatmap_size=(8, 8)),
        flip_test=False)
    model(np.zeros((1, 32, 32, 3), np.uint8))
    return model


def dataset():
    rng = np.random.default_rng(0)
    n = STEPS * GLOBAL_BATCH
    images = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    targets = {
        "heatmaps": rng.uniform(0, 1, (n, 8, 8, K)).astype(np.float32),
        "keypoint_weights": (rng.uniform(0, 1, (n, K)) > 0.3).astype(np.float32),
    }
    return tf.data.Dataset.from_tensor_slices((images, targets)).batch(GLOBAL_BATCH)


def train(model):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5))
    history = model.fit(dataset(), epochs=1, verbose=0, shuffle=False)
    return history.history


def main():
    keras.utils.set_random_seed(0)
    single = build()
    initial = single.get_weights()
    single_log = train(single)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        multi = build()
        multi.set_weights(initial)
        multi_log = train(multi)
    diffs = [float(np.max(np.abs(a - b)))
             for a, b in zip(single.get_weights(), multi.get_weights())]
    moved = [float(np.max(np.abs(a - b))) for a, b in zip(initial, single.get_weights())]
    json.dump({"max_weight_diff": max(diffs), "max_weight_change": max(moved),
               "single": single_log, "multi": multi_log}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
