"""PCK accuracy of predicted heatmaps against target heatmaps, in TF ops.

This is the training-time `acc_pose` figure MMPose logs next to the heatmap loss. It runs
inside `train_step` (graph mode, under `tf.distribute`), so it is written in TF ops; the
dataset-level metrics live in `kpose.evaluation`.
"""

from typing import Optional, Tuple

import tensorflow as tf

from kpose.codecs.utils.simcc import get_simcc_maximum


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


def keypoint_pck_accuracy(
    pred: tf.Tensor,
    gt: tf.Tensor,
    mask: tf.Tensor,
    thr: float,
    norm_factor: tf.Tensor,
) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """PCK of predicted coordinates against target coordinates, as MMPose's
    `keypoint_pck_accuracy` (the `acc_pose` of regression heads, on normalised
    coordinates with `norm_factor` ones).

    Args:
        pred: (B, K, D) predicted coordinates.
        gt: (B, K, D) target coordinates.
        mask: (B, K) bool, True where the keypoint counts.
        thr: PCK threshold on the normalised distance.
        norm_factor: (B, D) normaliser of each coordinate; a row with a zero entry does
            not count, other non-positive entries become 1e6 (MMPose's rule).

    Returns:
        `(acc, avg_acc, cnt)`: (K,) per-keypoint accuracy (-1 where no instance counted),
        the scalar mean over counted keypoints (0 when none), and the int32 number of
        counted keypoints. All carry no gradient.
    """
    pred = tf.cast(tf.stop_gradient(tf.convert_to_tensor(pred)), tf.float32)
    gt = tf.cast(tf.stop_gradient(tf.convert_to_tensor(gt)), tf.float32)
    mask = tf.cast(mask, tf.bool)
    norm_factor = tf.cast(tf.convert_to_tensor(norm_factor), tf.float32)
    mask = tf.logical_and(mask, tf.reduce_all(norm_factor != 0, axis=-1)[:, None])
    norm_factor = tf.where(norm_factor <= 0, tf.fill(tf.shape(norm_factor), 1e6),
                           norm_factor)
    dist = tf.norm((pred - gt) / norm_factor[:, None, :], axis=-1)  # (B, K)
    maskf = tf.cast(mask, tf.float32)
    valid = tf.reduce_sum(maskf, axis=0)  # (K,)
    hits = tf.reduce_sum(tf.cast(dist < thr, tf.float32) * maskf, axis=0)
    acc = tf.where(valid > 0, hits / tf.maximum(valid, 1.0), -tf.ones_like(valid))
    counted = valid > 0
    cnt = tf.reduce_sum(tf.cast(counted, tf.int32))
    avg_acc = tf.math.divide_no_nan(
        tf.reduce_sum(tf.where(counted, acc, tf.zeros_like(acc))), tf.cast(cnt, tf.float32))
    return acc, avg_acc, cnt


def simcc_pck_accuracy(
    output: Tuple[tf.Tensor, tf.Tensor],
    target: Tuple[tf.Tensor, tf.Tensor],
    simcc_split_ratio: float,
    mask: tf.Tensor,
    thr: float = 0.05,
    normalize: Optional[tf.Tensor] = None,
) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """PCK of the argmax of predicted SimCC vectors against that of the labels, as
    MMPose's `simcc_pck_accuracy` (the `acc_pose` of SimCC and RTMPose heads).

    Both argmax bins are divided by `simcc_split_ratio` (bins with a maximum <= 0 give
    location -1 first). The default normaliser keeps MMPose's quirk: `(H, W)` of the
    input, `W = int(Wx / ratio)`, `H = int(Wy / ratio)`, applied to `(x, y)`.

    Args:
        output: (pred_x (B, K, Wx), pred_y (B, K, Wy)) predicted vectors.
        target: (gt_x (B, K, Wx), gt_y (B, K, Wy)) label vectors.
        simcc_split_ratio: bins per input pixel.
        mask: (B, K) bool, True where the keypoint counts.
        thr: PCK threshold on the normalised distance.
        normalize: (B, 2) normaliser of `(x, y)` distances; defaults to `(H, W)` per row.

    Returns:
        `(acc, avg_acc, cnt)` as `keypoint_pck_accuracy`, without gradient.
    """
    pred_x, pred_y = (tf.stop_gradient(tf.convert_to_tensor(t)) for t in output)
    gt_x, gt_y = (tf.stop_gradient(tf.convert_to_tensor(t)) for t in target)
    if normalize is None:
        width = tf.cast(tf.cast(tf.shape(pred_x)[-1], tf.float32) / simcc_split_ratio,
                        tf.int32)
        height = tf.cast(tf.cast(tf.shape(pred_y)[-1], tf.float32) / simcc_split_ratio,
                         tf.int32)
        normalize = tf.tile(tf.cast(tf.stack([height, width])[None], tf.float32),
                            (tf.shape(pred_x)[0], 1))
    pred, _ = get_simcc_maximum(pred_x, pred_y)
    gt, _ = get_simcc_maximum(gt_x, gt_y)
    return keypoint_pck_accuracy(pred / simcc_split_ratio, gt / simcc_split_ratio, mask,
                                 thr, normalize)
