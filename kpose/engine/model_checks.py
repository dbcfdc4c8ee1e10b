"""Build-time checks that a model, its codec and the dataset agree, with errors naming both
sides (instead of a shape error from deep inside a loss at the first training step)."""

from typing import Any, Optional

import numpy as np
import tensorflow as tf


def _shapes(structure: Any) -> Any:
    return tf.nest.map_structure(lambda t: tuple(t.shape), structure)


def _num_keypoints_of_outputs(model, outputs) -> Optional[int]:
    """K as the head produces it: heatmaps (B, H, W, K); SimCC / coordinates (B, K, ...)."""
    leaf = tf.nest.flatten(outputs)[0]
    codec = model.codec
    if getattr(codec, "heatmap_size", None) is not None and leaf.shape.rank == 4:
        return int(leaf.shape[-1])
    if leaf.shape.rank == 3:
        return int(leaf.shape[1])
    return None


def check_model_fits_data(model, meta: Optional[Any] = None) -> None:
    """Checks a top-down estimator against its codec and, if given, the dataset meta.

    Runs the model on one blank crop at the codec's input size and compares:
    - the number of keypoints the head outputs with the dataset meta's `num_keypoints`;
    - the head's output sizes with the codec's (heatmap size, SimCC bins);
    - that `head.loss` accepts the codec's targets for K keypoints.

    Args:
        model: a built or unbuilt `TopdownPoseEstimator` (anything with `codec`, `head`).
        meta: the dataset's `DatasetMeta`, or None to skip the keypoint-count check.

    Raises:
        ValueError: naming the two sides that disagree.
    """
    from kpose.datasets.transforms.generate_target import GenerateTarget

    codec = model.codec
    w, h = codec.input_size
    outputs = model(tf.zeros((1, h, w, 3), tf.uint8), training=False)
    num_out = _num_keypoints_of_outputs(model, outputs)
    if meta is not None and num_out is not None and num_out != meta.num_keypoints:
        raise ValueError(
            f"the head outputs {num_out} keypoints but the dataset meta "
            f"'{getattr(meta, 'name', meta)}' has {meta.num_keypoints}: set the head's "
            f"keypoint count (e.g. NUM_KEYPOINTS) to the dataset's")
    heatmap_size = getattr(codec, "heatmap_size", None)
    leaf = tf.nest.flatten(outputs)[0]
    if heatmap_size is not None and leaf.shape.rank == 4 \
            and tuple(leaf.shape[1:3]) != (heatmap_size[1], heatmap_size[0]):
        raise ValueError(
            f"the head outputs heatmaps of (h, w) = {tuple(leaf.shape[1:3])} for input_size "
            f"{tuple(codec.input_size)}, but the codec's heatmap_size (w, h) is "
            f"{tuple(heatmap_size)}")
    ratio = getattr(codec, "simcc_split_ratio", None)
    if ratio is not None and isinstance(outputs, (tuple, list)) and len(outputs) == 2:
        expected = (int(round(w * ratio)), int(round(h * ratio)))
        got = (int(outputs[0].shape[-1]), int(outputs[1].shape[-1]))
        if got != expected:
            raise ValueError(
                f"the head outputs SimCC vectors of (x, y) lengths {got}, but the codec "
                f"(input_size {tuple(codec.input_size)}, simcc_split_ratio {ratio}) makes "
                f"{expected}")
    head = getattr(model, "head", None)
    if num_out is None or not callable(getattr(head, "loss", None)):
        return
    keypoints = np.full((num_out, 2), 0.5, np.float32) * np.array([w, h], np.float32)
    sample = GenerateTarget(codec)({"keypoints": tf.constant(keypoints),
                                    "keypoints_visible": tf.ones((num_out,), tf.float32)})
    targets = tf.nest.map_structure(lambda t: t[None], sample["targets"])
    try:
        head.loss(outputs, targets)
    except (ValueError, tf.errors.InvalidArgumentError) as err:
        raise ValueError(
            f"the head's outputs {_shapes(outputs)} do not fit the codec's targets "
            f"{_shapes(targets)} ({type(codec).__name__}): {err}") from err
