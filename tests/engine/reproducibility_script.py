"""Trains the tiny quick-start twice with the same seed and op determinism on, in one fresh
process (determinism is process-wide), and reports whether the first training batches and
the final weights are identical. Driven by test_reproducibility.py."""

import json
import os
import sys

import tensorflow as tf

tf.config.experimental.enable_op_determinism()

import gin  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

from kpose.datasets.coco_style_dataset import CocoStyleDataset  # noqa: E402
from kpose.datasets.pipeline import build_topdown_pipeline  # noqa: E402
from kpose.engine import config  # noqa: E402
from kpose.engine.train import train  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tiny_run import QUICKSTART, tiny_params  # noqa: E402


def weights(path):
    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: arrays.__setitem__(name, np.array(obj))
                     if isinstance(obj, h5py.Dataset) else None)
    return arrays


def first_batch(data_root, codec):
    data = CocoStyleDataset(ann_file="annotations/person_keypoints_train.json",
                            data_root=data_root, data_prefix="images/train/", metainfo="coco")
    ds = build_topdown_pipeline(data.records, data.meta, codec, codec.input_size,
                                train=True, batch_size=2, seed=0)
    images, targets = next(iter(ds))
    return images.numpy(), targets["heatmaps"].numpy()


def main(root):
    data_root = os.path.join(root, "data")
    runs = []
    for name in ("a", "b"):
        gin.clear_config()
        config.parse_config([QUICKSTART], tiny_params(data_root, epochs=1) +
                            ["train.mixed_precision = None", "train.val_dataset = None"])
        work_dir = os.path.join(root, name)
        train(work_dir=work_dir)
        runs.append(weights(os.path.join(work_dir, "checkpoints", "latest.weights.h5")))
    from kpose.codecs.msra_heatmap import MSRAHeatmap
    codec = MSRAHeatmap(input_size=(64, 64), heatmap_size=(16, 16))
    batch_a, batch_b = first_batch(data_root, codec), first_batch(data_root, codec)
    a, b = runs
    result = {
        "same_keys": sorted(a) == sorted(b),
        "num_arrays": len(a),
        "max_weight_diff": max(float(np.max(np.abs(a[k] - b[k]))) for k in a
                               if a[k].dtype.kind == "f"),
        "batches_equal": all(np.array_equal(x, y) for x, y in zip(batch_a, batch_b)),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
