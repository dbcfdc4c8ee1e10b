"""PCK accuracy of predicted heatmaps against target heatmaps, in TF ops.

This is the training-time `acc_pose` figure MMPose logs next to the heatmap loss. It runs
inside `train_step` (graph mode, under `tf.distribute`), so it is written in TF ops; the
dataset-level metrics live in `kpose.evaluation`.
"""

from typing import Optional, Tuple

import tensorflow as tf


def heatmap_argmax(heatmaps: tf.Tensor) -> tf.Tensor:
    """Integer location of each channel's maximum.

    Args:
        heatmaps: (B, H, W, K) heatmaps.

    Returns:
        (B, K, 2) float32 `(x, y)` of the maximum; `(-1, -1)` where the maximum is <= 0
        (an empty or negative channel has no location, as in MMPose).
    """
    heatmaps = tf.convert_to_tensor(heatmaps)
    shape = tf.shape(heatmaps)
    b, w, k = shape[0], shape[2], shape[3]
    # (B, K, H*W): one row per channel.
    flat = tf.reshape(tf.transpose(heatmaps, (0, 3, 1, 2)), (b, k, -1))
    index = tf.argmax(flat, axis=-1, output_type=tf.int32)
    value = tf.reduce_max(flat, axis=-1)
    locs = tf.cast(tf.stack([index % w, index // w], axis=-1), tf.float32)
    return tf.where((value > 0)[..., None], locs, -tf.ones_like(locs))


def pose_pck_accuracy(
    output: tf.Tensor,
    target: tf.Tensor,
    mask: tf.Tensor,
    thr: float = 0.05,
    normalize: Optional[tf.Tensor] = None,
) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """PCK of the argmax of predicted heatmaps against the argmax of target heatmaps.

    Matches MMPose's `pose_pck_accuracy`, including its quirks: the default normaliser is
    `(H, W)` applied to `(x, y)` (so x is divided by the heatmap height), the accuracy is
    averaged per keypoint first and then over the keypoints that had any valid instance.

    Args:
        output: (B, H, W, K) predicted heatmaps.
        target: (B, H, W, K) target heatmaps.
        mask: (B, K) bool, True where the keypoint counts.
        thr: PCK threshold on the normalised distance.
        normalize: (B, 2) normaliser of `(x, y)` distances; defaults to `(H, W)` per row.

    Returns:
        `(acc, avg_acc, cnt)`: (K,) per-keypoint accuracy (-1 where no instance counted),
        the scalar mean over counted keypoints (0 when none), and the int32 number of
        counted keypoints. All carry no gradient.
    """
    output = tf.stop_gradient(tf.convert_to_tensor(output))
    target = tf.stop_gradient(tf.convert_to_tensor(target))
    mask = tf.cast(mask, tf.bool)
    shape = tf.shape(output)
    b, h, w = shape[0], shape[1], shape[2]
    if normalize is None:
        normalize = tf.tile(tf.cast(tf.stack([h, w])[None], tf.float32), (b, 1))
    normalize = tf.cast(normalize, tf.float32)
    # A row with a zero normaliser does not count; non-positive normalisers become huge.
    mask = tf.logical_and(mask, tf.reduce_all(normalize != 0, axis=-1)[:, None])
    normalize = tf.where(normalize <= 0, tf.fill(tf.shape(normalize), 1e6), normalize)

    pred = heatmap_argmax(output)
    gt = heatmap_argmax(target)
    dist = tf.norm((pred - gt) / normalize[:, None, :], axis=-1)  # (B, K)
    maskf = tf.cast(mask, tf.float32)
    valid = tf.reduce_sum(maskf, axis=0)  # (K,)
    hits = tf.reduce_sum(tf.cast(dist < thr, tf.float32) * maskf, axis=0)
    acc = tf.where(valid > 0, hits / tf.maximum(valid, 1.0), -tf.ones_like(valid))
    counted = valid > 0
    cnt = tf.reduce_sum(tf.cast(counted, tf.int32))
    avg_acc = tf.math.divide_no_nan(
        tf.reduce_sum(tf.where(counted, acc, tf.zeros_like(acc))), tf.cast(cnt, tf.float32))
    return acc, avg_acc, cnt
