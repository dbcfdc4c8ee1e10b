"""Records of 2D sequences -> batched (keypoint_labels, targets / meta) for pose lifting."""

import inspect
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

import gin
import numpy as np
import tensorflow as tf

from kpose.datasets.transforms.random_flip_around_root import RandomFlipAroundRoot

Transform = Callable[[Dict[str, tf.Tensor]], Dict[str, tf.Tensor]]
_TARGET_KEYS = ("lifting_target_label", "lifting_target_weight", "trajectory_weights")


def default_lifting_transforms(train: bool) -> list:
    """MMPose's video-pose-lift configs: a random flip around the root when training."""
    return [RandomFlipAroundRoot()] if train else []


def _takes_camera(codec: Any) -> bool:
    return "camera_param" in inspect.signature(codec.encode).parameters


@gin.configurable(denylist=["records", "meta", "codec", "train", "batch_size"])
def build_lifting_pipeline(
    records: Mapping[str, Any],
    meta: Any,
    codec: Any,
    train: bool,
    batch_size: int,
    input_size: Optional[Sequence[int]] = None,
    transforms: Optional[Sequence[Transform]] = None,
    shuffle: Optional[bool] = None,
    seed: int = 0,
    drop_remainder: Optional[bool] = None,
    num_parallel_calls: int = tf.data.AUTOTUNE,
    repeat: bool = False,
    deterministic: Optional[bool] = None,
) -> tf.data.Dataset:
    """Builds the pose-lifting dataset: one 2D sequence and its target frame per sample.

    A sample gathers `keypoints` (T, K, 2), `keypoints_visible` (T, K) of the sequence's
    frames, `lifting_target` (1, K, 3) and `lifting_target_visible` (1, K) of its target
    frame, `camera_param` (`w`, `h`, `f`, `c` when the records have them), the meta's
    `flip_indices` and a per-sample `seed`; runs the transforms; and encodes it with the
    codec (MMPose's GenerateTarget).

    Args:
        records: `Human36mDataset.records`: `frame_indices` (N, T), `target_frame` (N,),
            `id` (N,), `img_path` (N,) and the per-frame tables under `frames`.
        meta: the dataset's `DatasetMeta` (its `flip_indices`).
        codec: `VideoPoseLifting` or `ImagePoseLifting`.
        train: training (transforms, targets) or evaluation (meta) mode.
        batch_size: samples per batch.
        input_size: ignored; accepted because the trainer passes the codec's input size
            to every pipeline (lifting codecs have none).
        transforms: per-sample transforms replacing `default_lifting_transforms(train)`.
        shuffle: reshuffle each pass; defaults to `train`.
        seed: seeds the order and the augmentation.
        drop_remainder: drop a last partial batch; defaults to `train`.
        num_parallel_calls: parallelism of the per-sample map.
        repeat: repeat forever.
        deterministic: keep sample order under parallelism.

    Returns:
        Training: `(keypoint_labels (B, T, K * D), targets)` with `lifting_target_label`
        (B, K, 3), `lifting_target_weight` (B, K), `trajectory_weights`. Evaluation:
        `(keypoint_labels, meta)` with `id` (B,), `lifting_target` (B, K, 3) and
        `lifting_target_visible` (B, K) (ground truth, camera coordinates), `target_root`
        (B, 3) when the codec zero-centres, and `img_path` (B,).
    """
    del input_size
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, received {batch_size!r}")
    for key in ("frame_indices", "target_frame", "frames"):
        if key not in records:
            raise ValueError(f"lifting records need '{key}' (see Human36mDataset.records), "
                             f"received keys {sorted(records)}")
    num = int(np.shape(records["frame_indices"])[0])
    if num == 0:
        raise ValueError("records are empty: no sequences to build a pipeline from")
    frames = {k: tf.constant(np.asarray(v)) for k, v in records["frames"].items()}
    camera = _takes_camera(codec)
    if camera and not {"camera_w", "camera_h"} <= set(frames):
        raise ValueError(f"{type(codec).__name__} normalises by the image size: the records "
                         "need camera tables (give the dataset a camera_param_file)")
    transforms = default_lifting_transforms(train) if transforms is None else list(transforms)
    for t in transforms:
        if not callable(t):
            raise ValueError(f"every transform must be callable sample -> sample, received {t!r}")
    flip_indices = tf.constant(np.asarray(meta.flip_indices, np.int32))
    shuffle = train if shuffle is None else bool(shuffle)
    drop_remainder = train if drop_remainder is None else bool(drop_remainder)

    columns = {"frame_indices": np.asarray(records["frame_indices"], np.int64),
               "target_frame": np.asarray(records["target_frame"], np.int64),
               "id": np.asarray(records.get("id", np.arange(num)), np.int64)}
    if not train and "img_path" in records:
        columns["img_path"] = np.asarray(records["img_path"]).astype(str)
    table = {k: tf.constant(v) for k, v in columns.items()}
    indices = tf.data.Dataset.range(num)
    if shuffle:
        indices = indices.shuffle(num, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        indices = indices.repeat()
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)

    def load(index, sample_seed):
        row = {k: tf.gather(v, index) for k, v in table.items()}
        ids, target = row["frame_indices"], row["target_frame"][None]
        sample = {
            "keypoints": tf.gather(frames["keypoints"], ids),
            "keypoints_visible": tf.gather(frames["keypoints_visible"], ids),
            "lifting_target": tf.gather(frames["keypoints_3d"], target),
            "lifting_target_visible": tf.gather(frames["keypoints_3d_visible"], target),
            "flip_indices": flip_indices,
        }
        if {"camera_w", "camera_h"} <= set(frames):
            sample["camera_param"] = {
                "w": tf.gather(frames["camera_w"], target[0]),
                "h": tf.gather(frames["camera_h"], target[0])}
            for key in ("f", "c"):
                if f"camera_{key}" in frames:
                    sample["camera_param"][key] = tf.gather(frames[f"camera_{key}"], target[0])
        ground_truth = (sample["lifting_target"][0], sample["lifting_target_visible"][0])
        base_seed = tf.stack([tf.constant(seed, tf.int64), sample_seed])
        for i, transform in enumerate(transforms):
            sample["seed"] = tf.random.experimental.stateless_fold_in(base_seed, i)
            sample = transform(sample)
        kwargs = {"camera_param": sample["camera_param"]} if camera else {}
        encoded = codec.encode(sample["keypoints"], sample["keypoints_visible"],
                               sample["lifting_target"], sample["lifting_target_visible"],
                               **kwargs)
        inputs = encoded["keypoint_labels"]
        if train:
            # One target frame: (1, K, 3) -> (K, 3), as MMPose concatenates samples.
            return inputs, {k: encoded[k][0] for k in _TARGET_KEYS}
        out = {"id": row["id"], "lifting_target": ground_truth[0],
               "lifting_target_visible": ground_truth[1]}
        if "target_root" in encoded:
            out["target_root"] = encoded["target_root"][0]
        if "img_path" in row:
            out["img_path"] = row["img_path"]
        return inputs, out

    ds = tf.data.Dataset.zip(indices, seeds).map(load, num_parallel_calls=num_parallel_calls,
                                                 deterministic=deterministic)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    return ds.prefetch(tf.data.AUTOTUNE)
