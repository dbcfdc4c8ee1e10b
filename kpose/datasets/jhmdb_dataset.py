"""JhmdbDataset: JHMDB's COCO-style json with MATLAB's 1-based coordinates."""

from __future__ import annotations

from typing import Any

import gin
import numpy as np

from kpose.datasets.coco_style_dataset import CocoStyleDataset, _is_number


@gin.register
class JhmdbDataset(CocoStyleDataset):
    """JHMDB (15 keypoints) as MMPose's ``JhmdbDataset`` reads it.

    The files are COCO-format, but their coordinates are 1-based (MATLAB), so, as MMPose:

    - the box's ``x`` and ``y`` are shifted by -1 before the xyxy conversion and clipping;
    - every keypoint coordinate is shifted by -1 (in float32, as MMPose), labelled or not;
    - ``num_keypoints`` is recounted from the shifted keypoints (those with a non-zero
      coordinate), whatever the file says;
    - ``area`` is always ``max(1, 0.53 x clipped box area)``: the file's ``area`` is ignored.

    Everything else (rows, visibility ``min(1, v)``, filtering, errors, ``bbox_file``) is
    ``CocoStyleDataset``'s. ``metainfo`` defaults to ``"jhmdb"``.

    Args:
        ann_file: a JHMDB split json (``Sub1_train.json``, ``Sub1_test.json``, ...).
        metainfo: defaults to the built-in ``"jhmdb"``.
        data_root, data_prefix, test_mode, bbox_file, bbox_score_thr, check_images,
            allow_outside_root: as ``CocoStyleDataset``.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = "",
                 data_prefix: str = "",
                 metainfo: Any = "jhmdb",
                 test_mode: bool = False,
                 bbox_file: "str | None" = None,
                 bbox_score_thr: float = 0.0,
                 check_images: bool = True,
                 allow_outside_root: bool = False) -> None:
        super().__init__(ann_file, data_root=data_root, data_prefix=data_prefix, metainfo=metainfo,
                         test_mode=test_mode, bbox_file=bbox_file, bbox_score_thr=bbox_score_thr,
                         check_images=check_images, allow_outside_root=allow_outside_root)

    def _load_annotations(self, coco: dict) -> dict[str, np.ndarray]:
        annotations = [_to_zero_based(ann) for ann in coco["annotations"]]
        return super()._load_annotations(dict(coco, annotations=annotations))


def _to_zero_based(ann: Any) -> Any:
    """The annotation with 0-based box and keypoints; malformed ones are returned as they
    are, for the base class to report."""
    if not isinstance(ann, dict):
        return ann
    ann = dict(ann)
    ann.pop("area", None)
    bbox, kpts = ann.get("bbox"), ann.get("keypoints")
    if isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox):
        ann["bbox"] = [bbox[0] - 1, bbox[1] - 1, bbox[2], bbox[3]]
    if isinstance(kpts, list) and len(kpts) % 3 == 0 and all(_is_number(v) for v in kpts):
        raw = np.array(kpts, dtype=np.float32).reshape(-1, 3)
        xy = raw[:, :2] - np.float32(1)  # float32 arithmetic, as MMPose
        out = np.concatenate([xy, raw[:, 2:]], axis=1)
        ann["keypoints"] = [float(v) for v in out.reshape(-1)]
        ann["num_keypoints"] = int(np.count_nonzero(xy.max(axis=1)))
    return ann
