"""CocoStyleDataset: COCO-format keypoint annotations -> columnar top-down records."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from typing import Any

import gin
import numpy as np

from kpose.datasets import metainfo as metainfo_lib
from kpose.datasets.metainfo.dataset_meta import DatasetMeta

logger = logging.getLogger(__name__)

RECORD_KEYS = ("img_path", "img_id", "id", "img_shape", "bbox", "bbox_score", "keypoints",
               "keypoints_visible", "area", "category_id")
_MAX_LISTED_MISSING = 5
_INT64 = (-(2 ** 63), 2 ** 63 - 1)


@gin.register
class CocoStyleDataset:
    """Reads a COCO keypoints json into top-down records: one row per person instance.

    ``records`` is a dict of columnar numpy arrays (docs/architecture.md, "Records"):
    ``img_path`` str (N,) absolute, ``img_id`` int64 (N,), ``id`` int64 (N,) annotation id
    (-1 for detections), ``img_shape`` int32 (N, 2) ``(h, w)``, ``bbox`` float32 (N, 4) xyxy,
    ``bbox_score`` float32 (N,), ``keypoints`` float32 (N, K, 2), ``keypoints_visible``
    float32 (N, K), ``area`` float32 (N,), ``category_id`` int64 (N,).

    Instances follow MMPose's ``BaseCocoStyleDataset`` (top-down mode), in train and in test
    mode alike (MMPose filters both the same way):

    - rows are ordered by the order of images in the json, then annotations in file order;
    - ground-truth boxes: xywh -> xyxy, each coordinate clipped to ``[0, w - 1]`` /
      ``[0, h - 1]`` (MMPose's clip), ``bbox_score`` 1;
    - ``keypoints_visible`` is ``min(1, v)``, i.e. 1 for v = 1 (occluded) and v = 2;
    - skipped: annotations without ``bbox`` or ``keypoints``; crowd annotations
      (``iscrowd``); annotations with ``num_keypoints == 0`` (counted from v > 0 when the
      field is absent) or with every keypoint coordinate <= 0; boxes whose clipped width or
      height is <= 0. Skips are counted and logged once (a warning for empty boxes and
      missing fields, since those hint at broken annotations);
    - ``area`` is the annotation's ``area``, else ``max(1, 0.53 * clipped box area)``.

    Broken annotations (beyond MMPose, which would crash or train on NaN): an annotation whose
    ``keypoints``, ``bbox``, ``area``, ``num_keypoints`` or ``category_id`` holds a
    non-number, NaN/Inf, or a visibility flag outside {0, 1, 2} is skipped; each one is listed
    in ``invalid_records`` (file index, annotation id, field, value) and they are counted in
    one warning, so one bad record among many does not end a run. Labelled keypoints outside
    the image are kept (as MMPose; the codec gives them no weight when outside the heatmap),
    counted in ``num_keypoints_outside`` and reported in a warning naming annotation ids.
    Structural faults raise ValueError naming the file, the record and the field: a missing
    or non-integer ``id`` / ``image_id``, an ``image_id`` no image has, a repeated annotation
    id, a keypoint count that disagrees with the metainfo, a malformed ``images`` entry. An
    image ``file_name`` that leaves the image folder (``../``, absolute) is rejected unless
    ``allow_outside_root``.

    With ``bbox_file`` (test mode only, as MMPose) the rows are person detections instead:
    a COCO results json ``[{image_id, bbox (xywh), score, category_id}, ...]``; detections of
    ``category_id != 1`` are dropped (MMPose's person filter) and those with
    ``score < bbox_score_thr``. Detection boxes are converted to xyxy but not clipped (as
    MMPose, so crops match its numbers), ``keypoints`` are zeros, ``keypoints_visible``
    zeros (nothing is labelled; MMPose fills ones), ``id`` is -1 (MMPose numbers them
    0, 1, ...), ``area`` 0 and ``bbox_score`` the detector's score. ``bbox_score_thr`` also
    applies to ground truth, whose score 1 always passes.

    Args:
        ann_file: COCO keypoints json; relative paths are taken under ``data_root``.
        data_root: root of ``ann_file``, ``data_prefix`` and ``bbox_file`` when relative.
        data_prefix: image folder (relative to ``data_root`` unless absolute); an image's
            path is ``data_root / data_prefix / file_name``.
        metainfo: a built-in name (``"coco"``), a metainfo file path, or a ``DatasetMeta``.
        test_mode: evaluation dataset; required for ``bbox_file``.
        bbox_file: person detections json (see above), or None for ground-truth boxes.
        bbox_score_thr: minimum detection score kept, in [0, 1].
        check_images: check that every image a record uses exists (one ``stat`` per image).
        allow_outside_root: accept image file names that resolve outside the image folder
            (absolute paths, ``..``); off by default so an annotation file cannot point the
            loader at arbitrary files.

    Raises:
        FileNotFoundError: the annotation / detection file, or (with ``check_images``) an
            image is missing; the message names the file(s).
        ValueError: unparseable json or an inconsistent field; the message names the file,
            the field and the offending annotation id.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = "",
                 data_prefix: str = "",
                 metainfo: "str | DatasetMeta" = "coco",
                 test_mode: bool = False,
                 bbox_file: str | None = None,
                 bbox_score_thr: float = 0.0,
                 check_images: bool = True,
                 allow_outside_root: bool = False) -> None:
        if not isinstance(ann_file, (str, os.PathLike)) or not os.fspath(ann_file):
            raise ValueError(f"ann_file must be a non-empty path, got {ann_file!r}")
        if not 0.0 <= float(bbox_score_thr) <= 1.0:
            raise ValueError(f"bbox_score_thr must be in [0, 1], got {bbox_score_thr!r}")
        if bbox_file and not test_mode:
            raise ValueError(f"bbox_file is only supported with test_mode=True (evaluation), got "
                             f"bbox_file={bbox_file!r} with test_mode=False")
        self.data_root = os.path.abspath(os.path.expanduser(os.fspath(data_root))) if data_root else os.getcwd()
        self.ann_file = self._under_root(ann_file)
        self.img_dir = self._under_root(data_prefix) if data_prefix else self.data_root
        self.bbox_file = self._under_root(bbox_file) if bbox_file else None
        self.meta: DatasetMeta = metainfo_lib.load(metainfo)
        self.test_mode = bool(test_mode)
        self.bbox_score_thr = float(bbox_score_thr)
        self.check_images = bool(check_images)
        self.allow_outside_root = bool(allow_outside_root)
        self.invalid_records: list[str] = []
        self.num_keypoints_outside = 0

        coco = self._read_annotation_file()
        self._images = self._parse_images(coco)
        if self.bbox_file:
            self.records = self._load_detections()
        else:
            self.records = self._load_annotations(coco)
        if self.check_images:
            self._check_images()

    def __len__(self) -> int:
        return int(self.records["img_id"].shape[0])

    def __repr__(self) -> str:
        source = f", bbox_file={self.bbox_file!r}" if self.bbox_file else ""
        return (f"{type(self).__name__}(ann_file={self.ann_file!r}{source}, meta={self.meta.name!r}, "
                f"test_mode={self.test_mode}, num_instances={len(self)})")

    # ------------------------------------------------------------------ parsing

    def _read_annotation_file(self) -> Any:
        """The parsed annotation json (a hook: PoseTrack18 merges a folder of files)."""
        return _read_json(self.ann_file, "annotation file")

    def _under_root(self, path: "str | os.PathLike[str]") -> str:
        path = os.path.expanduser(os.fspath(path))
        return os.path.abspath(path if os.path.isabs(path) else os.path.join(self.data_root, path))

    def _parse_images(self, coco: Any) -> dict[int, tuple[int, str, int, int]]:
        """Returns {image id: (order, absolute path, height, width)}."""
        if not isinstance(coco, dict):
            raise ValueError(f"{self.ann_file}: expected a COCO json object, got {type(coco).__name__}")
        for field in ("images", "annotations"):
            if not isinstance(coco.get(field), list):
                raise ValueError(f"{self.ann_file}: field '{field}' is missing or not a list")
        images: dict[int, tuple[int, str, int, int]] = {}
        for order, img in enumerate(coco["images"]):
            try:
                img_id, file_name = _as_int(img["id"]), img["file_name"]
                height, width = _as_int(img["height"]), _as_int(img["width"])
                if not isinstance(file_name, str) or not file_name:
                    raise TypeError(f"file_name must be a non-empty string, got {file_name!r}")
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"{self.ann_file}: field 'images[{order}]' needs id, file_name, width and "
                                 f"height, got {_short(img)} ({err!r})") from None
            if img_id in images:
                raise ValueError(f"{self.ann_file}: field 'images[{order}].id' repeats image id {img_id}")
            if not (0 < height < 2 ** 31 and 0 < width < 2 ** 31):
                raise ValueError(f"{self.ann_file}: field 'images[{order}]' (id {img_id}) has size "
                                 f"{width}x{height}; width and height must be positive int32")
            path = os.path.normpath(os.path.join(self.img_dir, file_name))
            if not self.allow_outside_root and os.path.commonpath([self.img_dir, path]) != self.img_dir:
                raise ValueError(f"{self.ann_file}: field 'images[{order}].file_name' (id {img_id}) is "
                                 f"{file_name!r}, which resolves to {path}, outside the image folder "
                                 f"{self.img_dir}; pass allow_outside_root=True to accept it")
            images[img_id] = (order, path, height, width)
        return images

    def _load_annotations(self, coco: dict) -> dict[str, np.ndarray]:
        k = self.meta.num_keypoints
        rows: list[tuple[int, int, Any, Any, Any]] = []  # (image order, ann index, ann, kpts, bbox)
        skipped = {"no bbox or keypoints field": 0, "crowd": 0, "no labelled keypoint": 0, "empty box": 0}
        seen: dict[int, int] = {}
        for index, ann in enumerate(coco["annotations"]):
            if not isinstance(ann, dict):
                raise ValueError(f"{self.ann_file}: field 'annotations[{index}]' must be an object, got {_short(ann)}")
            if "id" not in ann or "image_id" not in ann:
                raise ValueError(f"{self.ann_file}: field 'annotations[{index}]' lacks 'id' or 'image_id'")
            try:
                ann_id = _as_int(ann["id"])
            except (TypeError, ValueError) as err:
                raise ValueError(f"{self.ann_file}: field 'annotations[{index}].id' must be an integer, "
                                 f"got {_short(ann['id'])} ({err})") from None
            if ann_id in seen:
                raise ValueError(f"{self.ann_file}: field 'annotations[{index}].id' repeats annotation id "
                                 f"{ann_id} of annotations[{seen[ann_id]}]")
            seen[ann_id] = index
            try:
                image_id = _as_int(ann["image_id"])
            except (TypeError, ValueError):
                image_id = None
            if image_id not in self._images:
                raise ValueError(f"{self.ann_file}: field 'annotations[{index}].image_id' (annotation id {ann_id}) "
                                 f"is {_short(ann['image_id'])}, which no entry of 'images' has")
            if "bbox" not in ann or "keypoints" not in ann:
                skipped["no bbox or keypoints field"] += 1
                continue
            kpts, bbox = ann["keypoints"], ann["bbox"]
            if not isinstance(kpts, list) or len(kpts) != 3 * k:
                n = "?" if not isinstance(kpts, list) else len(kpts) // 3 if len(kpts) % 3 == 0 else len(kpts) / 3
                raise ValueError(f"{self.ann_file}: field 'keypoints' of annotation id {ann_id} holds "
                                 f"{n} keypoints ({len(kpts) if isinstance(kpts, list) else _short(kpts)} values), but "
                                 f"metainfo {self.meta.name!r} has {k} (3 * {k} values expected)")
            if not isinstance(bbox, list) or len(bbox) != 4:
                raise ValueError(f"{self.ann_file}: field 'bbox' of annotation id {ann_id} must be [x, y, w, h], "
                                 f"got {_short(bbox)}")
            if ann.get("iscrowd", 0):
                skipped["crowd"] += 1
                continue
            problem = _bad_values(ann, kpts, bbox)
            if problem:
                self.invalid_records.append(f"annotations[{index}] (annotation id {ann_id}): {problem}")
                continue
            clean = dict(ann, id=ann_id, image_id=image_id)
            rows.append((self._images[image_id][0], index, clean, kpts, bbox))

        rows.sort(key=lambda r: (r[0], r[1]))  # image order, then file order, as MMPose
        n = len(rows)
        # Values were checked per annotation (_bad_values): numbers, finite, |v| <= 1e30.
        raw_kpts = np.array([r[3] for r in rows], dtype=np.float32).reshape(n, k, 3)
        xywh = np.array([r[4] for r in rows], dtype=np.float64).reshape(n, 4)
        anns = [r[2] for r in rows]
        img_id = np.array([a["image_id"] for a in anns], dtype=np.int64)
        img_info = [self._images[a["image_id"]] for a in anns]
        height = np.array([info[2] for info in img_info], dtype=np.float64)
        width = np.array([info[3] for info in img_info], dtype=np.float64)

        # MMPose clips every corner to [0, size - 1], in float64 before the float32 cast.
        x1 = np.clip(xywh[:, 0], 0, width - 1)
        y1 = np.clip(xywh[:, 1], 0, height - 1)
        x2 = np.clip(xywh[:, 0] + xywh[:, 2], 0, width - 1)
        y2 = np.clip(xywh[:, 1] + xywh[:, 3], 0, height - 1)
        bbox = np.stack([x1, y1, x2, y2], axis=1).astype(np.float32)

        visible = np.minimum(1.0, raw_kpts[..., 2]).astype(np.float32)
        num_labelled = np.array([-1 if a.get("num_keypoints") is None else a["num_keypoints"] for a in anns],
                                dtype=np.int64).reshape(n)
        # Absent `num_keypoints`: MMPose counts keypoints with any non-zero coordinate.
        counted = np.count_nonzero(raw_kpts[..., :2].max(axis=2), axis=1) if n else np.zeros(0, np.int64)
        num_labelled = np.where(num_labelled < 0, counted, num_labelled)
        no_keypoint = (num_labelled == 0) | (raw_kpts[..., :2].reshape(n, 2 * k).max(axis=1, initial=0.0) <= 0)
        empty_box = ~no_keypoint & ((bbox[:, 2] - bbox[:, 0] <= 0) | (bbox[:, 3] - bbox[:, 1] <= 0))
        skipped["no labelled keypoint"] = int(no_keypoint.sum())
        skipped["empty box"] = int(empty_box.sum())
        keep = ~(no_keypoint | empty_box)

        area_raw = np.array([np.nan if a.get("area") is None else a["area"] for a in anns],
                            dtype=np.float64).reshape(n)
        box_area = np.maximum((x2 - x1) * (y2 - y1) * 0.53, 1.0)
        area = np.where(np.isnan(area_raw), box_area, area_raw).astype(np.float32)

        records = {
            "img_path": np.array([info[1] for info in img_info], dtype=str).reshape(n),
            "img_id": img_id,
            "id": np.array([a["id"] for a in anns], dtype=np.int64).reshape(n),
            "img_shape": np.stack([height, width], axis=1).astype(np.int32).reshape(n, 2),
            "bbox": bbox,
            "bbox_score": np.ones(n, dtype=np.float32),
            "keypoints": np.ascontiguousarray(raw_kpts[..., :2]),
            "keypoints_visible": visible,
            "area": area,
            "category_id": np.array([1 if a.get("category_id") is None else a["category_id"] for a in anns],
                                    dtype=np.int64).reshape(n),
        }
        records = {key: value[keep] for key, value in records.items()}
        self.num_skipped = skipped
        self._log_skips(skipped, kept=int(keep.sum()))
        self._log_problems(records)
        return records

    def _log_problems(self, records: dict[str, np.ndarray]) -> None:
        if self.invalid_records:
            listed = "\n  ".join(self.invalid_records[:_MAX_LISTED_MISSING])
            more = len(self.invalid_records) - _MAX_LISTED_MISSING
            logger.warning("%s: skipped %d annotation(s) with invalid values (see invalid_records):\n  %s%s",
                           self.ann_file, len(self.invalid_records), listed,
                           f"\n  ... and {more} more" if more > 0 else "")
        h = records["img_shape"][:, :1].astype(np.float32)
        w = records["img_shape"][:, 1:].astype(np.float32)
        x, y = records["keypoints"][..., 0], records["keypoints"][..., 1]
        outside = (records["keypoints_visible"] > 0) & ((x < 0) | (y < 0) | (x > w - 1) | (y > h - 1))
        self.num_keypoints_outside = int(outside.sum())
        if self.num_keypoints_outside:
            ids = records["id"][outside.any(axis=1)]
            logger.warning("%s: %d labelled keypoint(s) lie outside their image (kept; annotation ids %s%s)",
                           self.ann_file, self.num_keypoints_outside, ids[:_MAX_LISTED_MISSING].tolist(),
                           " ..." if ids.size > _MAX_LISTED_MISSING else "")

    def _log_skips(self, skipped: dict[str, int], kept: int) -> None:
        summary = ", ".join(f"{count} {why}" for why, count in skipped.items() if count)
        if not summary:
            return
        message = f"{self.ann_file}: kept {kept} instances; skipped {summary}"
        if skipped["empty box"] or skipped["no bbox or keypoints field"]:
            logger.warning(message)
        else:
            logger.info(message)

    def _load_detections(self) -> dict[str, np.ndarray]:
        detections = _read_json(self.bbox_file, "bbox file")
        if not isinstance(detections, list):
            raise ValueError(f"{self.bbox_file}: expected a list of detections "
                             f"[{{image_id, bbox, score, category_id}}, ...], got {type(detections).__name__}")
        kept = []
        for index, det in enumerate(detections):
            if not isinstance(det, Mapping):
                raise ValueError(f"{self.bbox_file}: field '[{index}]' must be an object, got {_short(det)}")
            missing = [f for f in ("image_id", "bbox", "score", "category_id") if f not in det]
            if missing:
                raise ValueError(f"{self.bbox_file}: detection [{index}] lacks field(s) {missing}")
            if det["category_id"] != 1:
                continue
            try:
                image_id = _as_int(det["image_id"])
            except (TypeError, ValueError):
                image_id = None
            if image_id not in self._images:
                raise ValueError(f"{self.bbox_file}: field 'image_id' of detection [{index}] is "
                                 f"{det['image_id']!r}, which {self.ann_file} does not list")
            if not isinstance(det["bbox"], (list, tuple)) or len(det["bbox"]) < 4:
                raise ValueError(f"{self.bbox_file}: field 'bbox' of detection [{index}] must be [x, y, w, h], "
                                 f"got {det['bbox']!r}")
            bad = [v for v in list(det["bbox"][:4]) + [det["score"]]
                   if not _is_number(v) or not math.isfinite(v)]
            if bad:
                raise ValueError(f"{self.bbox_file}: fields 'bbox' / 'score' of detection [{index}] must be "
                                 f"finite numbers, got {_short(bad[0])}")
            if det["score"] < self.bbox_score_thr:
                continue
            kept.append(dict(det, image_id=image_id))
        n, k = len(kept), self.meta.num_keypoints
        xywh = np.array([d["bbox"][:4] for d in kept], dtype=np.float32).reshape(n, 4)
        info = [self._images[d["image_id"]] for d in kept]
        logger.info("%s: kept %d of %d detections (person, score >= %g)", self.bbox_file, n, len(detections),
                    self.bbox_score_thr)
        return {
            "img_path": np.array([i[1] for i in info], dtype=str).reshape(n),
            "img_id": np.array([d["image_id"] for d in kept], dtype=np.int64).reshape(n),
            "id": np.full(n, -1, dtype=np.int64),
            "img_shape": np.array([(i[2], i[3]) for i in info], dtype=np.int32).reshape(n, 2),
            "bbox": np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1),
            "bbox_score": np.array([d["score"] for d in kept], dtype=np.float32).reshape(n),
            "keypoints": np.zeros((n, k, 2), dtype=np.float32),
            "keypoints_visible": np.zeros((n, k), dtype=np.float32),
            "area": np.zeros(n, dtype=np.float32),
            "category_id": np.ones(n, dtype=np.int64),
        }

    def _check_images(self) -> None:
        paths = np.unique(self.records["img_path"])
        missing = [p for p in paths.tolist() if not os.path.isfile(p)]
        if missing:
            listed = "\n  ".join(missing[:_MAX_LISTED_MISSING])
            more = f"\n  ... and {len(missing) - _MAX_LISTED_MISSING} more" if len(missing) > _MAX_LISTED_MISSING else ""
            raise FileNotFoundError(
                f"{len(missing)} image(s) referenced by {self.ann_file} do not exist (looked under "
                f"{self.img_dir}; set data_root / data_prefix, or check_images=False):\n  {listed}{more}")


def _read_json(path: str, what: str) -> Any:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} {path} does not exist")
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: {what} is not valid JSON ({err})") from err


def _as_int(value: Any) -> int:
    """An int64 from an int or an integral float; TypeError / ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected an integer, got {_short(value)}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise ValueError(f"expected an integer, got {value!r}")
    value = int(value)
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError(f"{value} does not fit in int64")
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bad_values(ann: dict, kpts: list, bbox: list) -> str:
    """Why an annotation's values cannot be used (naming the field), or ''."""
    for field, values in (("keypoints", kpts), ("bbox", bbox)):
        for i, value in enumerate(values):
            if not _is_number(value):
                return f"field '{field}[{i}]' is {_short(value)}, not a number"
            if not math.isfinite(value) or abs(value) > 1e30:
                return f"field '{field}[{i}]' is {value!r}, not a finite coordinate"
    for i in range(2, len(kpts), 3):
        if kpts[i] not in (0, 1, 2):
            return f"field 'keypoints[{i}]' (visibility of keypoint {i // 3}) is {kpts[i]!r}, not 0, 1 or 2"
    area = ann.get("area")
    if area is not None and (not _is_number(area) or math.isinf(area) or area < 0):
        return f"field 'area' is {_short(area)}, not a non-negative number"
    for field in ("num_keypoints", "category_id"):
        value = ann.get(field)
        if value is None:
            continue
        try:
            value = _as_int(value)
        except (TypeError, ValueError):
            return f"field '{field}' is {_short(value)}, not an integer"
        if field == "num_keypoints" and not 0 <= value <= len(kpts) // 3:
            return f"field 'num_keypoints' is {value}, outside [0, {len(kpts) // 3}]"
    return ""


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
