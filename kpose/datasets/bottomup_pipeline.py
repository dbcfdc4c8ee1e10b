"""Bottom-up data: per-image records (all people of an image) and their tf.data pipeline.

The sample's walk: read and decode the whole image -> transforms (flip, random affine and
heatmap mask for training; resize for evaluation) -> the codec's targets for every
person -> batch. People are padded to the dataset's largest count per image, padding
rows having no visible keypoint (so no target and no tag term).
"""

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

import gin
import numpy as np
import tensorflow as tf

from kpose.datasets.transforms._image import check_image_bytes, image_shape
from kpose.datasets.transforms.bottomup_get_heatmap_mask import BottomupGetHeatmapMask
from kpose.datasets.transforms.bottomup_random_affine import BottomupRandomAffine
from kpose.datasets.transforms.bottomup_resize import BottomupResize
from kpose.datasets.transforms.random_flip import RandomFlip

Transform = Callable[[Dict[str, tf.Tensor]], Dict[str, tf.Tensor]]
_PER_IMAGE = ("img_path", "img_id", "img_shape")
_PER_PERSON = ("keypoints", "keypoints_visible", "bbox", "area", "id")


def bottomup_records(records: Mapping[str, np.ndarray],
                     extra_images: Optional[Sequence[tuple]] = None) -> Dict[str, np.ndarray]:
    """Groups top-down records (one row per person) into one row per image.

    Args:
        records: columnar top-down records (docs/architecture.md), rows of an image
            contiguous or not; image order follows first appearance.
        extra_images: `(img_id, img_path, h, w)` of images without people to add (MMPose
            adds them in test mode, so that false positives on them count).

    Returns:
        `img_path` (M,), `img_id` (M,), `img_shape` (M, 2), `num_instances` (M,) and per
        person, padded to the largest count P: `keypoints` (M, P, K, 2),
        `keypoints_visible` (M, P, K), `bbox` (M, P, 4), `area` (M, P), `id` (M, P)
        (-1 for padding).
    """
    img_ids = np.asarray(records["img_id"], np.int64)
    order = list(dict.fromkeys(img_ids.tolist()))
    rows_of = {i: np.flatnonzero(img_ids == i) for i in order}
    extra = [e for e in (extra_images or ()) if int(e[0]) not in rows_of]
    num_people = max([len(r) for r in rows_of.values()] + [1])
    num_images = len(order) + len(extra)
    kpts = np.asarray(records["keypoints"], np.float32)[..., :2]
    num_kpts = kpts.shape[1]
    out = {
        "img_path": np.empty(num_images, object),
        "img_id": np.zeros(num_images, np.int64),
        "img_shape": np.zeros((num_images, 2), np.int32),
        "num_instances": np.zeros(num_images, np.int32),
        "keypoints": np.zeros((num_images, num_people, num_kpts, 2), np.float32),
        "keypoints_visible": np.zeros((num_images, num_people, num_kpts), np.float32),
        "bbox": np.zeros((num_images, num_people, 4), np.float32),
        "area": np.zeros((num_images, num_people), np.float32),
        "id": np.full((num_images, num_people), -1, np.int64),
    }
    visible = np.asarray(records["keypoints_visible"], np.float32)
    if visible.ndim == 3:
        visible = visible[..., 0]
    for m, img_id in enumerate(order):
        rows = rows_of[img_id]
        n = len(rows)
        out["img_path"][m] = str(records["img_path"][rows[0]])
        out["img_id"][m] = img_id
        if "img_shape" in records:
            out["img_shape"][m] = np.asarray(records["img_shape"])[rows[0]]
        out["num_instances"][m] = n
        out["keypoints"][m, :n] = kpts[rows]
        out["keypoints_visible"][m, :n] = visible[rows]
        for key in ("bbox", "area", "id"):
            if key in records:
                out[key][m, :n] = np.asarray(records[key])[rows]
    for j, (img_id, path, height, width) in enumerate(extra):
        m = len(order) + j
        out["img_path"][m], out["img_id"][m] = str(path), int(img_id)
        out["img_shape"][m] = (height, width)
    out["img_path"] = out["img_path"].astype(str)
    return out


class _BottomupDataset:
    """A dataset's per-image view: `records`, `meta`, `ann_file`, `len()` in images."""

    def __init__(self, dataset: Any, records: Dict[str, np.ndarray]) -> None:
        self.dataset = dataset
        self.records = records
        self.meta = dataset.meta
        self.ann_file = getattr(dataset, "ann_file", None)

    def __len__(self) -> int:
        return int(self.records["img_id"].shape[0])

    def __repr__(self) -> str:
        return f"bottomup_dataset({self.dataset!r}, num_images={len(self)})"


@gin.configurable
def bottomup_dataset(dataset: Any = gin.REQUIRED) -> _BottomupDataset:
    """MMPose's `data_mode='bottomup'`: a COCO-style dataset with one record per image.

    Args:
        dataset: a dataset with top-down `records` and `meta` (e.g. `CocoStyleDataset`;
            in gin `bottomup_dataset.dataset = @CocoStyleDataset()`).

    Returns:
        An object with `records` (see `bottomup_records`), `meta`, `ann_file` and
        `len()` = number of images. In test mode images without people are included.

    Unlike MMPose, crowd and unlabelled people are not carried (kpose's records drop
    them), so images holding only such people are left out of training, and their
    segmentation does not mask the heatmap loss.
    """
    extra = None
    images = getattr(dataset, "_images", None)
    if getattr(dataset, "test_mode", False) and isinstance(images, dict):
        listed = sorted(images.items(), key=lambda item: item[1][0])
        extra = [(img_id, path, h, w) for img_id, (_, path, h, w) in listed]
    return _BottomupDataset(dataset, bottomup_records(dataset.records, extra))


def default_bottomup_transforms(codec: Any, input_size: Sequence[int],
                                train: bool) -> List[Transform]:
    """Train: RandomFlip, BottomupRandomAffine, BottomupGetHeatmapMask (MMPose's bottom-up
    training recipe, as its DEKR configs). Eval: BottomupResize with the AE recipe's
    `size_factor=64, resize_mode='expand'`."""
    use_udp = bool(getattr(codec, "use_udp", False))
    if not train:
        return [BottomupResize(input_size, size_factor=64, resize_mode="expand", use_udp=use_udp)]
    return [RandomFlip(direction="horizontal"),
            BottomupRandomAffine(input_size, use_udp=use_udp),
            BottomupGetHeatmapMask(heatmap_size=codec.heatmap_size)]


@gin.configurable
def build_bottomup_pipeline(
    records: Mapping[str, np.ndarray],
    meta: Any,
    codec: Any,
    input_size: Sequence[int],
    train: bool,
    batch_size: int,
    transforms: Optional[Sequence[Transform]] = None,
    shuffle: Optional[bool] = None,
    seed: int = 0,
    drop_remainder: Optional[bool] = None,
    num_parallel_calls: int = tf.data.AUTOTUNE,
    repeat: bool = False,
    skip_corrupt: Optional[bool] = None,
    deterministic: Optional[bool] = None,
) -> tf.data.Dataset:
    """Builds the bottom-up dataset; the arguments are `build_topdown_pipeline`'s.

    Args:
        records: per-image records (`bottomup_records`); top-down records (one row per
            person, 3-D `keypoints`) are grouped first.
        meta: dataset meta (`flip_indices` for RandomFlip).
        codec: encodes every person of a sample (`AssociativeEmbedding`).
        input_size: model input `(w, h)`.
        train: training (augmentation, targets) or evaluation (meta).
        batch_size, shuffle, seed, drop_remainder, num_parallel_calls, repeat,
            skip_corrupt, deterministic: as `build_topdown_pipeline` (corrupt images are
            skipped in training, without a running count).
        transforms: replace `default_bottomup_transforms`.

    Returns:
        Training: `(images uint8 (B, h, w, 3), targets)` with the codec's `heatmaps`
        (B, H, W, K), `keypoint_indices` (B, P, K, 2), `keypoint_weights` (B, P, K) and
        `heatmap_mask` (B, H, W). Evaluation: `(images, meta)` padded at the bottom/right
        to the batch's largest image, meta `center`, `scale`, `input_size` (B, 2),
        `img_id` (B,).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive int, received {batch_size!r}")
    if "img_path" not in records or "keypoints" not in records:
        raise ValueError(f"records need 'img_path' and 'keypoints', received columns "
                         f"{sorted(records)}")
    if np.asarray(records["keypoints"]).ndim == 3:
        records = bottomup_records(records)
    num = len(records["img_path"])
    if num == 0:
        raise ValueError("records are empty: no images to build a pipeline from")
    if transforms is None:
        transforms = default_bottomup_transforms(codec, input_size, train)
    transforms = list(transforms)
    for t in transforms:
        if not callable(t):
            raise ValueError(f"every transform must be callable sample -> sample, received {t!r}")
    shuffle = train if shuffle is None else bool(shuffle)
    drop_remainder = train if drop_remainder is None else bool(drop_remainder)
    skip_corrupt = train if skip_corrupt is None else bool(skip_corrupt)
    table = {"img_path": tf.constant(np.asarray(records["img_path"]).astype(str)),
             "img_id": tf.constant(np.asarray(records["img_id"], np.int64))}
    if train:
        table["keypoints"] = tf.constant(np.asarray(records["keypoints"], np.float32))
        table["keypoints_visible"] = tf.constant(
            np.asarray(records["keypoints_visible"], np.float32))
    flip_indices = getattr(meta, "flip_indices", None)
    if flip_indices is None and isinstance(meta, Mapping):
        flip_indices = meta.get("flip_indices")
    constants = {}
    if flip_indices is not None:
        constants["flip_indices"] = tf.constant(np.asarray(flip_indices, np.int32).reshape(-1))

    indices = tf.data.Dataset.range(num)
    if shuffle:
        indices = indices.shuffle(num, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        indices = indices.repeat()
    sample_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    ds = tf.data.Dataset.zip(indices, sample_seeds)

    # Plain TF ops throughout (tf.cond / tf.where, Python loops over Python lists): skipping
    # autograph's conversion makes building the pipeline several times faster.
    @tf.autograph.experimental.do_not_convert
    def load(index, sample_seed):
        sample = {k: tf.gather(v, index) for k, v in table.items()}
        sample.update(constants)
        data = tf.io.read_file(sample["img_path"])
        sample["img"] = check_image_bytes(data)
        sample["img_shape"] = image_shape(data)
        base_seed = tf.stack([tf.constant(seed, tf.int64), sample_seed])
        for i, transform in enumerate(transforms):
            sample["seed"] = tf.random.experimental.stateless_fold_in(base_seed, i)
            sample = transform(sample)
        return _outputs(sample, codec, train)

    ds = ds.map(load, num_parallel_calls=num_parallel_calls, deterministic=deterministic)
    if skip_corrupt:
        ds = ds.ignore_errors(log_warning=True)
    if train:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    else:
        ds = ds.padded_batch(batch_size, drop_remainder=drop_remainder)
    options = tf.data.Options()
    if deterministic is not None:
        options.deterministic = deterministic
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def _outputs(sample: Dict[str, Any], codec: Any, train: bool):
    image = sample["img"]
    if train:
        if "input_size" not in sample:
            raise ValueError("train=True needs BottomupRandomAffine among the transforms; "
                             f"sample keys were {sorted(sample)}")
        targets = dict(codec.encode(sample["keypoints"], sample["keypoints_visible"]))
        if "heatmap_mask" in sample:
            targets["heatmap_mask"] = tf.cast(sample["heatmap_mask"], tf.float32)
        return image, targets
    if "input_center" not in sample:
        raise ValueError("train=False needs BottomupResize among the transforms; sample keys "
                         f"were {sorted(sample)}")
    meta = {"center": sample["input_center"], "scale": sample["input_scale"],
            "input_size": sample["input_size"], "img_id": sample["img_id"]}
    return image, meta


__all__ = ["bottomup_dataset", "bottomup_records", "build_bottomup_pipeline",
           "default_bottomup_transforms"]
