"""Label Studio JSON export (keypointlabels + rectanglelabels) -> COCO keypoints json."""

from __future__ import annotations

import json
import logging
import math
import os
import posixpath
import urllib.parse
from typing import Any

import numpy as np

from kpose.datasets import metainfo as metainfo_lib
from kpose.datasets.converters._coco import annotation, category, write_json
from kpose.datasets.metainfo.dataset_meta import DatasetMeta

logger = logging.getLogger(__name__)


def labelstudio_to_coco(json_file: str, metainfo: "str | DatasetMeta" = "coco", label: str = "person",
                        image_key: str = "image", out_file: "str | None" = None) -> dict[str, Any]:
    """Converts a Label Studio "JSON" export of keypoint tasks to COCO keypoints.

    The labelling interface is expected to have a ``KeyPointLabels`` tag whose labels are
    the metainfo's keypoint names (``nose``, ``left_eye``, ...) and a ``RectangleLabels``
    tag with the person ``label``. Label Studio stores positions in percent of the image;
    they become pixels with each result's ``original_width`` / ``original_height``
    (rectangles rotated by ``rotation`` degrees about their top-left corner, as Label
    Studio draws them, get the axis-aligned box of their corners).

    Each task becomes a COCO image (id = the task ``id``, ``file_name`` = the basename of
    ``data[image_key]``, URL-decoded); the first annotation not ``was_cancelled`` is used.
    Keypoints are grouped into people by, in order: their ``parentID`` naming a rectangle;
    a ``relation`` result linking them to a rectangle; the smallest rectangle containing
    them. Keypoints that reach no rectangle are dropped with a warning, unless the task
    has no rectangle at all, in which case its keypoints form one person boxed by their
    extent. Label Studio has no visibility flag: placed keypoints get v=2, the rest
    ``[0, 0, 0]``. ``area`` is 0.53 x the box area; annotation ids count from 1.

    Args:
        json_file: the export (a list of tasks).
        metainfo: the keypoint layout (built-in name, file or ``DatasetMeta``).
        label: the rectangle label of the people.
        image_key: the task ``data`` field holding the image URL or path.
        out_file: also write the json there.

    Returns:
        The COCO dict (``images``, ``annotations``, ``categories``).

    Raises:
        FileNotFoundError: ``json_file`` is missing.
        ValueError: unparseable json, a task without ``data[image_key]``, a keypoint label
            the metainfo lacks, one person labelling the same keypoint twice, or a result
            without its image size; messages name the file, the task id and the result id.
    """
    meta = metainfo_lib.load(metainfo)
    if not os.path.isfile(json_file):
        raise FileNotFoundError(f"Label Studio export {json_file} does not exist")
    try:
        with open(json_file, "rb") as f:
            tasks = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{json_file}: not valid JSON ({err})") from err
    if not isinstance(tasks, list):
        raise ValueError(f"{json_file}: expected Label Studio's JSON export (a list of tasks), got "
                         f"{type(tasks).__name__}")
    index = {name: i for i, name in enumerate(meta.keypoint_names)}
    images, annotations = [], []
    dropped = 0
    for t, task in enumerate(tasks):
        task_id = task.get("id", t) if isinstance(task, dict) else t
        where = f"{json_file}: task id {task_id!r}"
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get(image_key), str):
            raise ValueError(f"{where} has no data[{image_key!r}] image (set image_key)")
        results = _first_annotation(task)
        if results is None:
            logger.warning("%s has no annotation; skipped", where)
            continue
        size = _image_size(results, where)
        if size is None:
            logger.warning("%s has no labelled region (so no image size); skipped", where)
            continue
        width, height = size
        file_name = posixpath.basename(urllib.parse.unquote(urllib.parse.urlparse(data[image_key]).path))
        images.append({"id": int(task_id), "file_name": file_name, "width": width, "height": height})
        boxes, points, relations = {}, [], {}
        for r in results:
            kind, value = r.get("type"), r.get("value", {})
            if kind == "rectanglelabels" and label in value.get("rectanglelabels", []):
                boxes[r.get("id")] = _rectangle(value, width, height, f"{where}, result {r.get('id')!r}")
            elif kind == "keypointlabels":
                names = value.get("keypointlabels", [])
                if len(names) != 1 or names[0] not in index:
                    raise ValueError(f"{where}, result {r.get('id')!r}: keypoint label {names!r} is not one "
                                     f"keypoint name of metainfo {meta.name!r} (known: {list(meta.keypoint_names)})")
                x, y = _percent(value, ("x", "y"), f"{where}, result {r.get('id')!r}")
                points.append((r.get("id"), r.get("parentID"), index[names[0]],
                               x * width / 100.0, y * height / 100.0))
            elif kind == "relation":
                relations[r.get("from_id")] = r.get("to_id")
                relations[r.get("to_id")] = r.get("from_id")
        people: dict[Any, np.ndarray] = {}
        for point_id, parent, k, x, y in points:
            owner = parent if parent in boxes else relations.get(point_id)
            if owner not in boxes:
                owner = _smallest_box_containing(boxes, x, y)
            if owner is None and boxes:
                dropped += 1
                continue
            kpts = people.setdefault(owner, np.zeros((meta.num_keypoints, 3)))
            if kpts[k, 2] > 0:
                raise ValueError(f"{where}: keypoint {meta.keypoint_names[k]!r} is labelled twice for one person "
                                 f"(result {point_id!r})")
            kpts[k] = [x, y, 2]
        # people in rectangle order; rectangles without keypoints are not people
        for owner in [b for b in boxes if b in people] + ([None] if None in people else []):
            annotations.append(annotation(len(annotations) + 1, int(task_id), people[owner], boxes.get(owner)))
    if dropped:
        logger.warning("%s: dropped %d keypoint(s) outside every %r rectangle", json_file, dropped, label)
    coco = {"images": images, "annotations": annotations, "categories": [category(meta, label)]}
    logger.info("%s: %d images, %d people", json_file, len(images), len(annotations))
    if out_file:
        write_json(coco, out_file)
    return coco


def _first_annotation(task: dict) -> "list | None":
    for ann in task.get("annotations") or []:
        if isinstance(ann, dict) and not ann.get("was_cancelled") and isinstance(ann.get("result"), list):
            return ann["result"]
    return None


def _image_size(results: list, where: str) -> "tuple[int, int] | None":
    for r in results:
        if r.get("type") in ("keypointlabels", "rectanglelabels"):
            try:
                return int(r["original_width"]), int(r["original_height"])
            except (KeyError, TypeError, ValueError):
                raise ValueError(f"{where}, result {r.get('id')!r}: needs original_width and original_height") from None
    return None


def _percent(value: dict, keys: tuple, where: str) -> list[float]:
    out = []
    for key in keys:
        v = value.get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{where}: value.{key} must be a number (percent), got {v!r}")
        out.append(float(v))
    return out


def _rectangle(value: dict, width: int, height: int, where: str) -> np.ndarray:
    x, y, w, h = _percent(value, ("x", "y", "width", "height"), where)
    x, w = x * width / 100.0, w * width / 100.0
    y, h = y * height / 100.0, h * height / 100.0
    angle = math.radians(float(value.get("rotation", 0) or 0))
    if angle == 0:
        return np.array([x, y, x + w, y + h])
    c, s = math.cos(angle), math.sin(angle)
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]]) @ np.array([[c, s], [-s, c]]) + [x, y]
    return np.concatenate([corners.min(axis=0), corners.max(axis=0)])


def _smallest_box_containing(boxes: dict, x: float, y: float) -> Any:
    best, best_area = None, None
    for key, (x1, y1, x2, y2) in boxes.items():
        if x1 <= x <= x2 and y1 <= y <= y2:
            area = (x2 - x1) * (y2 - y1)
            if best_area is None or area < best_area:
                best, best_area = key, area
    return best
