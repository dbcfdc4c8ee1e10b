"""CrowdPoseDataset: CrowdPose's COCO-style json, with each image's crowd index."""

from __future__ import annotations

import math
from typing import Any

import gin
import numpy as np

from kpose.datasets.coco_style_dataset import CocoStyleDataset


@gin.register
class CrowdPoseDataset(CocoStyleDataset):
    """CrowdPose (14 keypoints): COCO-format annotations read as ``CocoStyleDataset`` does.

    MMPose reads CrowdPose with its plain COCO-style reader; so does this class (same rows,
    boxes, visibility and filtering). What CrowdPose adds is the per-image ``crowdIndex``
    of its ``images`` entries (how much people overlap; it splits the benchmark into
    easy / medium / hard), which MMPose carries as ``crowd_index``. Here it is the
    float32 (N,) column ``records["crowd_index"]`` of each row's image, -1 where the image
    entry has none. ``metainfo`` defaults to ``"crowdpose"``.

    Args:
        ann_file: CrowdPose json (``mmpose_crowdpose_trainval.json``, ``..._test.json``).
        metainfo: defaults to the built-in ``"crowdpose"``.
        data_root, data_prefix, test_mode, bbox_file, bbox_score_thr, check_images,
            allow_outside_root: as ``CocoStyleDataset``.

    Raises:
        ValueError: besides ``CocoStyleDataset``'s errors, a ``crowdIndex`` that is not a
            finite number (naming the file and the image).
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = "",
                 data_prefix: str = "",
                 metainfo: Any = "crowdpose",
                 test_mode: bool = False,
                 bbox_file: "str | None" = None,
                 bbox_score_thr: float = 0.0,
                 check_images: bool = True,
                 allow_outside_root: bool = False) -> None:
        super().__init__(ann_file, data_root=data_root, data_prefix=data_prefix, metainfo=metainfo,
                         test_mode=test_mode, bbox_file=bbox_file, bbox_score_thr=bbox_score_thr,
                         check_images=check_images, allow_outside_root=allow_outside_root)

    def _parse_images(self, coco: Any) -> dict:
        images = super()._parse_images(coco)
        self._crowd_index: dict[int, float] = {}
        for order, img in enumerate(coco["images"]):
            value = img.get("crowdIndex")
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{self.ann_file}: field 'images[{order}].crowdIndex' (image id {img['id']}) "
                                 f"must be a finite number, got {value!r}")
            self._crowd_index[int(img["id"])] = float(value)
        return images

    def _load_annotations(self, coco: dict) -> dict[str, np.ndarray]:
        return self._add_crowd_index(super()._load_annotations(coco))

    def _load_detections(self) -> dict[str, np.ndarray]:
        return self._add_crowd_index(super()._load_detections())

    def _add_crowd_index(self, records: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        lookup = self._crowd_index
        records["crowd_index"] = np.array([lookup.get(int(i), -1.0) for i in records["img_id"]],
                                          dtype=np.float32).reshape(-1)
        return records
