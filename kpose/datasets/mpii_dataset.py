"""MpiiDataset: MPII's json (center / scale per person) -> columnar top-down records."""

from __future__ import annotations

import json
import logging
import math
import os
from typing import Any

import gin
import numpy as np

from kpose.datasets import metainfo as metainfo_lib
from kpose.datasets._image_size import image_sizes
from kpose.datasets.coco_style_dataset import _MAX_LISTED_MISSING, _is_number, _read_json, _short
from kpose.datasets.metainfo.dataset_meta import DatasetMeta

logger = logging.getLogger(__name__)

_PIXEL_STD = 200.0  # MPII's scale is the person height in units of 200 px
_HEAD_SIZE_FACTOR = 0.6  # PCKh's head size: 0.6 x the head box diagonal (MPII's SC_BIAS)


@gin.register
class MpiiDataset:
    """MPII Human Pose (16 keypoints) as MMPose's ``MpiiDataset`` reads it (top-down).

    The annotation file is MMPose's json (``mpii_train.json``, ``mpii_val.json``): a list
    of people ``{"image", "center": [x, y], "scale", "joints": 16 x [x, y],
    "joints_vis": 16 x 0/1}``. As MMPose:

    - ``bbox_scale = scale * 200`` (both sides); the center moves down by
      ``15 / 200 * bbox_scale`` (unless its x is -1) and then by -1 on both axes (MATLAB's
      1-based center to 0-based); ``bbox`` is the unclipped xyxy box of that center and
      scale. The pipeline's ``GetBBoxCenterScale`` pads ``bbox_center`` / ``bbox_scale``
      by 1.25, so crops cover ``scale * 200 * 1.25`` pixels, as MMPose's.
    - ``keypoints`` are the file's joints, unchanged (1-based, as MMPose keeps them;
      ``MpiiPCKAccuracy`` adds 1 to predictions to compare), ``keypoints_visible`` the
      ``joints_vis`` flags.
    - ``img_id`` is the image file's number (``015601864.jpg`` -> 15601864), ``id`` the
      person's position in the file (0, 1, ...), ``area`` ``max(1, 0.53 * box area)``.
    - People whose every joint coordinate is <= 0 are skipped (MMPose's filter).

    Columns (N rows): those of ``CocoStyleDataset`` (``img_path``, ``img_id``, ``id``,
    ``img_shape``, ``bbox``, ``bbox_score``, ``keypoints``, ``keypoints_visible``,
    ``area``, ``category_id``) plus ``bbox_center``, ``bbox_scale`` float32 (N, 2), and with
    ``headbox_file`` ``head_size`` float32 (N,) for PCKh: ``0.6 *`` the distance between
    the two corners of the person's head box. ``img_shape`` is read from the image headers
    when ``check_images`` (the json has no sizes), else zeros.

    Args:
        ann_file: MPII json; relative paths are taken under ``data_root``.
        data_root: root of ``ann_file``, ``data_prefix`` and ``headbox_file`` when relative.
        data_prefix: image folder; an image's path is ``data_root / data_prefix / image``.
        metainfo: a built-in name, a metainfo file or a ``DatasetMeta``; 16 keypoints.
        test_mode: evaluation dataset; required with ``headbox_file`` (as MMPose).
        headbox_file: MPII's ``mpii_gt_val.mat`` (needs scipy), or a ``.npz`` / ``.npy`` /
            ``.json`` holding its ``headboxes_src`` array (2, 2, N), one head box per person
            of ``ann_file`` in file order.
        check_images: check that every image exists and read its size.
        allow_outside_root: accept image names that resolve outside the image folder.

    Raises:
        FileNotFoundError: a missing annotation, head box or (with ``check_images``) image
            file; the message names it.
        ValueError: a malformed entry (naming the file, the entry index and the field), a
            head box count that differs from the number of people, or ``headbox_file``
            without ``test_mode``.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = "",
                 data_prefix: str = "",
                 metainfo: "str | DatasetMeta" = "mpii",
                 test_mode: bool = False,
                 headbox_file: "str | None" = None,
                 check_images: bool = True,
                 allow_outside_root: bool = False) -> None:
        if not isinstance(ann_file, (str, os.PathLike)) or not os.fspath(ann_file):
            raise ValueError(f"ann_file must be a non-empty path, received {ann_file!r}")
        if headbox_file and not test_mode:
            raise ValueError(f"headbox_file is only used for evaluation (PCKh): pass test_mode=True, received "
                             f"headbox_file={headbox_file!r} with test_mode={test_mode!r}")
        self.data_root = os.path.abspath(os.path.expanduser(os.fspath(data_root))) if data_root else os.getcwd()
        self.ann_file = self._under_root(ann_file)
        self.img_dir = self._under_root(data_prefix) if data_prefix else self.data_root
        self.headbox_file = self._under_root(headbox_file) if headbox_file else None
        self.meta: DatasetMeta = metainfo_lib.load(metainfo)
        if self.meta.num_keypoints != 16:
            raise ValueError(f"MpiiDataset reads MPII's 16 joints, but metainfo {self.meta.name!r} has "
                             f"{self.meta.num_keypoints} keypoints")
        self.test_mode = bool(test_mode)
        self.check_images = bool(check_images)
        self.allow_outside_root = bool(allow_outside_root)
        self.records = self._load(_read_json(self.ann_file, "annotation file"))
        if self.check_images:
            self._check_images()

    def __len__(self) -> int:
        return int(self.records["img_id"].shape[0])

    def __repr__(self) -> str:
        return (f"MpiiDataset(ann_file={self.ann_file!r}, meta={self.meta.name!r}, "
                f"test_mode={self.test_mode}, num_instances={len(self)})")

    def _under_root(self, path: "str | os.PathLike[str]") -> str:
        path = os.path.expanduser(os.fspath(path))
        return os.path.abspath(path if os.path.isabs(path) else os.path.join(self.data_root, path))

    def _load(self, anns: Any) -> dict[str, np.ndarray]:
        if not isinstance(anns, list):
            raise ValueError(f"{self.ann_file}: expected MPII's json list of people, got {type(anns).__name__}")
        n = len(anns)
        paths, img_ids = [], np.zeros(n, np.int64)
        centers = np.zeros((n, 2), np.float32)
        scales = np.zeros(n, np.float32)
        joints = np.zeros((n, 16, 2), np.float32)
        vis = np.zeros((n, 16), np.float32)
        for i, ann in enumerate(anns):
            where = f"{self.ann_file}: entry [{i}]"
            if not isinstance(ann, dict):
                raise ValueError(f"{where} must be an object, got {_short(ann)}")
            missing = [f for f in ("image", "center", "scale", "joints", "joints_vis") if f not in ann]
            if missing:
                raise ValueError(f"{where} lacks field(s) {missing}")
            image = ann["image"]
            stem = os.path.splitext(image)[0] if isinstance(image, str) else ""
            if not stem.isdigit():
                raise ValueError(f"{where}: field 'image' must be a numbered file name such as "
                                 f"'015601864.jpg', got {_short(image)}")
            img_ids[i] = int(image.split(".")[0])
            paths.append(self._image_path(image, where))
            centers[i] = _numbers(ann["center"], (2,), f"{where}: field 'center'")
            scale = ann["scale"]
            if not _is_number(scale) or not math.isfinite(scale) or scale <= 0:
                raise ValueError(f"{where}: field 'scale' must be a positive number, got {_short(scale)}")
            scales[i] = scale
            joints[i] = _numbers(ann["joints"], (16, 2), f"{where}: field 'joints'")
            flags = _numbers(ann["joints_vis"], (16,), f"{where}: field 'joints_vis'")
            if not np.isin(flags, (0, 1)).all():
                raise ValueError(f"{where}: field 'joints_vis' must hold 0 / 1 flags, got {_short(ann['joints_vis'])}")
            vis[i] = flags

        # float32 arithmetic throughout, in MMPose's order of operations
        scale_wh = np.repeat(scales[:, None], 2, axis=1) * np.float32(_PIXEL_STD)
        shift = np.float32(15.0 / _PIXEL_STD) * scale_wh[:, 1]
        centers[:, 1] = np.where(centers[:, 0] != -1, centers[:, 1] + shift, centers[:, 1])
        centers = centers - np.float32(1)
        corner = centers - np.float32(0.5) * scale_wh
        bbox = np.concatenate([corner, corner + scale_wh], axis=1)
        area = np.maximum((bbox[:, 2] - bbox[:, 0]) * (bbox[:, 3] - bbox[:, 1]) * np.float32(0.53),
                          np.float32(1.0)).astype(np.float32)
        records = {
            "img_path": np.array(paths, dtype=str).reshape(n),
            "img_id": img_ids,
            "id": np.arange(n, dtype=np.int64),
            "img_shape": np.zeros((n, 2), np.int32),
            "bbox": bbox.astype(np.float32),
            "bbox_center": centers,
            "bbox_scale": scale_wh,
            "bbox_score": np.ones(n, np.float32),
            "keypoints": joints,
            "keypoints_visible": vis,
            "area": area,
            "category_id": np.ones(n, np.int64),
        }
        if self.headbox_file:
            records["head_size"] = self._head_sizes(n)
        keep = joints.reshape(n, -1).max(axis=1, initial=-np.inf) > 0 if n else np.zeros(0, bool)
        self.num_skipped = {"no positive keypoint coordinate": int(n - keep.sum())}
        if self.num_skipped["no positive keypoint coordinate"]:
            logger.info("%s: kept %d people; skipped %d with no positive keypoint coordinate",
                        self.ann_file, int(keep.sum()), n - int(keep.sum()))
        return {key: value[keep] for key, value in records.items()}

    def _image_path(self, image: str, where: str) -> str:
        path = os.path.normpath(os.path.join(self.img_dir, image))
        if not self.allow_outside_root and os.path.commonpath([self.img_dir, path]) != self.img_dir:
            raise ValueError(f"{where}: field 'image' is {image!r}, which resolves to {path}, outside the image "
                             f"folder {self.img_dir}; pass allow_outside_root=True to accept it")
        return path

    def _head_sizes(self, n: int) -> np.ndarray:
        boxes = np.asarray(_read_headboxes(self.headbox_file), dtype=np.float64)
        if boxes.ndim != 3 or boxes.shape[:2] != (2, 2) or boxes.shape[2] != n:
            raise ValueError(f"{self.headbox_file}: 'headboxes_src' must have shape (2, 2, {n}) (one head box "
                             f"per person of {self.ann_file}), got {boxes.shape}")
        boxes = np.transpose(boxes, (2, 0, 1))  # (N, 2, 2), as MMPose indexes it
        return (np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=-1) * _HEAD_SIZE_FACTOR).astype(np.float32)

    def _check_images(self) -> None:
        paths = self.records["img_path"].tolist()
        missing = sorted({p for p in paths if not os.path.isfile(p)})
        if missing:
            listed = "\n  ".join(missing[:_MAX_LISTED_MISSING])
            raise FileNotFoundError(
                f"{len(missing)} image(s) referenced by {self.ann_file} do not exist (looked under "
                f"{self.img_dir}; set data_root / data_prefix, or check_images=False):\n  {listed}")
        self.records["img_shape"] = image_sizes(paths)


def _numbers(value: Any, shape: tuple, where: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.shape != shape or not np.isfinite(arr).all():
        raise ValueError(f"{where} must be finite numbers of shape {shape}, got {_short(value)}")
    return arr


def _read_headboxes(path: str) -> Any:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"head box file {path} does not exist")
    ext = os.path.splitext(path)[1].lower()
    if ext == ".mat":
        try:
            from scipy.io import loadmat  # optional: only MPII's .mat needs it
        except ImportError as err:
            raise ValueError(f"{path}: reading .mat files needs scipy (pip install scipy), or convert its "
                             "'headboxes_src' to .npz / .json") from err
        return loadmat(path)["headboxes_src"]
    if ext == ".npz":
        with np.load(path) as data:
            if "headboxes_src" not in data:
                raise ValueError(f"{path}: no 'headboxes_src' array (found {sorted(data.files)})")
            return data["headboxes_src"]
    if ext == ".npy":
        return np.load(path)
    if ext == ".json":
        with open(path) as f:
            data = json.load(f)
        if not isinstance(data, dict) or "headboxes_src" not in data:
            raise ValueError(f"{path}: expected a json object with 'headboxes_src'")
        return data["headboxes_src"]
    raise ValueError(f"head box file must be .mat, .npz, .npy or .json, received {path!r}")
