"""Helpers shared by the regression-family heads (regression, RLE, integral, DSNT)."""

from typing import Any, Mapping, Optional, Sequence

import tensorflow as tf

from kpose.models.utils.accuracy import keypoint_pck_accuracy


def check_input_size(size: Optional[Sequence[int]], name: str = "input_size"
                     ) -> Optional[tuple]:
    """`(w, h)` as a tuple of two positive ints, or None; ValueError otherwise."""
    if size is None:
        return None
    checked = tuple(size) if isinstance(size, (list, tuple)) else None
    if checked is None or len(checked) != 2 or not all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in checked):
        raise ValueError(f"{name} must be (w, h), two positive ints, or None, received "
                         f"{size!r}")
    return checked


def regression_targets(targets: Mapping[str, Any], owner: str, extra: Sequence[str] = ()):
    """`keypoint_labels` (B, K, 2) and `keypoint_weights` (B, K) from a target dict."""
    needed = ("keypoint_labels", "keypoint_weights") + tuple(extra)
    missing = [k for k in needed if k not in targets]
    if missing:
        raise ValueError(f"{owner}.loss needs targets {missing}, received keys "
                         f"{sorted(targets)}")
    return (tf.cast(targets["keypoint_labels"], tf.float32),
            tf.cast(targets["keypoint_weights"], tf.float32))


def coordinate_accuracy(pred_coords, labels, weights) -> tf.Tensor:
    """MMPose's regression `acc_pose`: PCK@0.05 of normalised coordinates (norm 1)."""
    norm = tf.ones(tf.stack([tf.shape(labels)[0], 2]), tf.float32)
    _, avg_acc, _ = keypoint_pck_accuracy(pred_coords[..., :2], labels, weights > 0,
                                          thr=0.05, norm_factor=norm)
    return avg_acc


def flip_input_size(head: Any, input_size: Optional[Sequence[int]]) -> Optional[tuple]:
    """The `(w, h)` a head's `flip_back` shifts coordinates by: the given one, else the
    head's `input_size`; ValueError if `head.shift_coords` needs one and there is none."""
    size = check_input_size(input_size) or head.input_size
    if head.shift_coords and size is None:
        raise ValueError(f"{type(head).__name__}.flip_back with shift_coords=True needs the "
                         "input size: set the head's input_size (w, h) to the codec's "
                         "input_size, received None")
    return size
