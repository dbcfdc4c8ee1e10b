"""CocoWholeBodyDataset: COCO-WholeBody's json, five keypoint parts -> 133 keypoints."""

from __future__ import annotations

import math
from typing import Any

import gin
import numpy as np

from kpose.datasets.coco_style_dataset import CocoStyleDataset, _is_number

# (annotation field, keypoints) in MMPose's concatenation order: 17 + 6 + 68 + 21 + 21 = 133.
PARTS = (("keypoints", 17), ("foot_kpts", 6), ("face_kpts", 68), ("lefthand_kpts", 21),
         ("righthand_kpts", 21))


@gin.register
class CocoWholeBodyDataset(CocoStyleDataset):
    """COCO-WholeBody (133 keypoints) as MMPose's ``CocoWholeBodyDataset`` reads it.

    Each annotation stores its keypoints in five fields; a row's ``keypoints`` are
    ``keypoints`` (body, 17) + ``foot_kpts`` (6) + ``face_kpts`` (68) + ``lefthand_kpts``
    (21) + ``righthand_kpts`` (21), in that order, as MMPose concatenates them. A keypoint
    is visible when its flag is > 0 (MMPose's rule; flags other than 0, 1, 2 are read as 1
    when positive, 0 otherwise). ``num_keypoints`` is the file's, which in COCO-WholeBody
    counts the body keypoints only, so a person with no labelled body keypoint is skipped
    even if a hand is labelled (as in MMPose); when absent, body keypoints with a non-zero
    coordinate are counted. The rest (boxes, area, filtering, ``bbox_file``, errors) is
    ``CocoStyleDataset``'s. ``metainfo`` defaults to ``"coco_wholebody"``.

    Args:
        ann_file: ``coco_wholebody_train_v1.0.json`` / ``coco_wholebody_val_v1.0.json``.
        metainfo: defaults to the built-in ``"coco_wholebody"``.
        data_root, data_prefix, test_mode, bbox_file, bbox_score_thr, check_images,
            allow_outside_root: as ``CocoStyleDataset``.

    Raises:
        ValueError: besides ``CocoStyleDataset``'s errors, an annotation with ``keypoints``
            whose part field is missing or holds the wrong number of values (naming the
            file, the annotation id and the field).
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = "",
                 data_prefix: str = "",
                 metainfo: Any = "coco_wholebody",
                 test_mode: bool = False,
                 bbox_file: "str | None" = None,
                 bbox_score_thr: float = 0.0,
                 check_images: bool = True,
                 allow_outside_root: bool = False) -> None:
        super().__init__(ann_file, data_root=data_root, data_prefix=data_prefix, metainfo=metainfo,
                         test_mode=test_mode, bbox_file=bbox_file, bbox_score_thr=bbox_score_thr,
                         check_images=check_images, allow_outside_root=allow_outside_root)

    def _load_annotations(self, coco: dict) -> dict[str, np.ndarray]:
        total = sum(n for _, n in PARTS)
        if self.meta.num_keypoints != total:
            raise ValueError(f"CocoWholeBodyDataset concatenates {total} keypoints, but metainfo "
                             f"{self.meta.name!r} has {self.meta.num_keypoints}")
        annotations = [self._concatenate(index, ann) for index, ann in enumerate(coco["annotations"])]
        return super()._load_annotations(dict(coco, annotations=annotations))

    def _concatenate(self, index: int, ann: Any) -> Any:
        if not isinstance(ann, dict) or "keypoints" not in ann:
            return ann  # the base class reports or skips it
        joined: list = []
        for field, count in PARTS:
            values = ann.get(field)
            if not isinstance(values, list) or len(values) != 3 * count:
                got = "missing" if field not in ann else (
                    f"{len(values)} values" if isinstance(values, list) else repr(values)[:60])
                raise ValueError(f"{self.ann_file}: field '{field}' of annotation id {ann.get('id')!r} "
                                 f"(annotations[{index}]) must hold {3 * count} values ({count} keypoints), "
                                 f"got {got}")
            joined.extend(values)
        for i in range(2, len(joined), 3):
            v = joined[i]
            if _is_number(v) and math.isfinite(v) and v not in (0, 1, 2):
                joined[i] = 1 if v > 0 else 0  # MMPose: visible = flag > 0
        out = dict(ann, keypoints=joined)
        if out.get("num_keypoints") is None:
            body = ann["keypoints"]
            out["num_keypoints"] = sum(
                1 for i in range(0, len(body), 3)
                if all(_is_number(v) for v in body[i:i + 2]) and max(body[i], body[i + 1]) != 0)
        return out
