"""One worker of a two-process MultiWorkerMirroredStrategy run (driven by
test_multi_worker.py, which sets TF_CONFIG). Trains a tiny estimator for a few steps and
writes its weights, and on the chief a single-device run's weights too, to an npz file."""

import sys

from kpose.engine.strategy import get_strategy

# The strategy must exist before any other TF op: it starts the collective runtime.
STRATEGY = get_strategy("multi_worker")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kpose.codecs import MSRAHeatmap  # noqa: E402
from kpose.models.backbones.res_net import ResNet  # noqa: E402
from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator  # noqa: E402
from kpose.models.heads.heatmap_head import HeatmapHead  # noqa: E402

STEPS, GLOBAL_BATCH, K = 3, 8, 3


def build():
    # Synchronised BN: each worker sees half of every global batch.
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
    ds = tf.data.Dataset.from_tensor_slices((images, targets)).batch(GLOBAL_BATCH)
    options = tf.data.Options()
    # In-memory data has no files to shard by: split every global batch between workers.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


def train(model):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.5))
    model.optimizer.build(model.trainable_variables)  # as kpose's trainer does before fit
    return model.fit(dataset(), epochs=1, verbose=0, shuffle=False).history


def main(out_path, is_chief):
    keras.config.disable_traceback_filtering()
    keras.utils.set_random_seed(0)
    with STRATEGY.scope():  # compile and fit too, as kpose's trainer does
        multi = build()
        initial = [np.array(w) for w in multi.get_weights()]
        log = train(multi)
    arrays = {f"multi_{i}": w for i, w in enumerate(multi.get_weights())}
    arrays["multi_loss"] = np.array(log["loss"])
    arrays["replicas"] = np.array(STRATEGY.num_replicas_in_sync)
    if is_chief:
        single = build()
        single.set_weights(initial)
        single_log = train(single)
        arrays.update({f"single_{i}": w for i, w in enumerate(single.get_weights())})
        arrays["single_loss"] = np.array(single_log["loss"])
        arrays.update({f"initial_{i}": w for i, w in enumerate(initial)})
    np.savez(out_path, **arrays)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] == "chief")
