"""Builds a recipe's model and a batch of training data without any dataset on disk.

Shared by `benchmarks/models.py` and `benchmarks/train_step.py`: a recipe is named by its
gin file (path, or stem looked up under `gin_configs/experiments/`); the model comes from
the recipe's own `train.model` binding, the targets from its codec through
`GenerateTarget`, so every family (heatmap, SimCC, regression) is measured the same way.
"""

import glob
import os
from typing import Any, Dict, Tuple

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
EXPERIMENTS = os.path.join(REPO, "gin_configs", "experiments")


def find_recipe(name: str) -> str:
    """Path of a recipe given its path or its file stem (`td-hm_res50_coco-256x192`)."""
    if os.path.isfile(name):
        return os.path.abspath(name)
    matches = glob.glob(os.path.join(EXPERIMENTS, "**", f"{name}.gin"), recursive=True)
    if len(matches) != 1:
        raise ValueError(f"recipe {name!r} matches {len(matches)} files under {EXPERIMENTS}")
    return matches[0]


def all_recipes():
    """Stems of every experiment gin file, sorted."""
    paths = glob.glob(os.path.join(EXPERIMENTS, "**", "*.gin"), recursive=True)
    return sorted(os.path.splitext(os.path.basename(p))[0] for p in paths)


def build_recipe(name: str, extra_bindings=()) -> Dict[str, Any]:
    """Parses a recipe and returns its train root's bindings with references resolved.

    The data macros point at a folder that need not exist: only factories that are called
    touch the disk, and the model factory does not.
    """
    import gin

    from kpose.engine import config

    gin.clear_config()
    config.parse_config([find_recipe(name)], ["DATA_ROOT = '/nonexistent'",
                                              *extra_bindings])
    return gin.get_bindings("train", resolve_references=True)


def random_batch(model, batch_size: int, seed: int = 0) -> Tuple[Any, Dict[str, Any]]:
    """Random uint8 crops at the codec's input size and targets encoded by the codec.

    Returns:
        images (B, H, W, 3) uint8 and the targets dict GenerateTarget makes (batched).
    """
    import tensorflow as tf

    from kpose.datasets.transforms.generate_target import GenerateTarget

    codec = model.codec
    w, h = codec.input_size
    num_keypoints = len(model.flip_indices) if model.flip_indices else model.head.out_channels
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (batch_size, h, w, 3), dtype=np.uint8)
    encode = GenerateTarget(codec)
    samples = []
    for _ in range(batch_size):
        keypoints = rng.uniform((0.1 * w, 0.1 * h), (0.9 * w, 0.9 * h), (num_keypoints, 2))
        visible = (rng.uniform(size=num_keypoints) > 0.2).astype(np.float32)
        sample = encode({"keypoints": tf.constant(keypoints, tf.float32),
                         "keypoints_visible": tf.constant(visible)})
        samples.append(sample["targets"])
    targets = {key: tf.stack([s[key] for s in samples]) for key in samples[0]}
    return tf.constant(images), targets


def count_params(model) -> int:
    """Parameters as PyTorch counts them: trainable weights (BatchNorm statistics are
    buffers there, not parameters), plus the integral heads' coordinate grids, which MMPose
    keeps as frozen parameters."""
    frozen = [v for v in model.non_trainable_weights if v.name.startswith("linspace")]
    return int(sum(np.prod(v.shape) for v in model.trainable_weights + frozen))
