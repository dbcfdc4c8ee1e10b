"""PoseTrack18Dataset: PoseTrack18's COCO-style video annotations (one json or a folder)."""

from __future__ import annotations

import glob
import os
from typing import Any

import gin
import numpy as np

from kpose.datasets._image_size import read_image_size
from kpose.datasets.coco_style_dataset import CocoStyleDataset, _as_int, _read_json


@gin.register
class PoseTrack18Dataset(CocoStyleDataset):
    """PoseTrack18 (17 keypoints, COCO's order) for top-down training and evaluation.

    ``ann_file`` is either MMPose's merged json (``posetrack18_train.json``,
    ``posetrack18_val.json``) or a folder of the official per-video files
    (``annotations/val/000342_mpii_test.json``, ...), merged in file-name order. Rows
    follow ``CocoStyleDataset`` (MMPose reads PoseTrack18 with its plain COCO-style reader);
    image ``file_name`` s are frame paths such as ``images/val/000342_mpii_test/000000.jpg``
    under ``data_root / data_prefix``. The official files give no ``width`` / ``height``;
    those are then read from the frame's image header (so the frame must exist).

    Extra columns (N,): ``frame_id`` int64 (the image's ``frame_id``, else its ``id``),
    ``nframes`` int64 (frames in the video, -1 if absent), ``frame_index`` int64 (the
    frame's number from its file name, ``000012.jpg`` -> 12, else -1), ``vid_id`` str
    (the image's ``vid_id``, else the video folder name), ``track_id`` int64 (the
    annotation's ``track_id``, -1 if absent and for detections). With ``bbox_file``
    (test mode) rows are person detections as in ``CocoStyleDataset``.
    ``metainfo`` defaults to ``"posetrack18"``.

    Args:
        ann_file: merged json, or a folder of per-video json files.
        metainfo: defaults to the built-in ``"posetrack18"``.
        data_root, data_prefix, test_mode, bbox_file, bbox_score_thr, check_images,
            allow_outside_root: as ``CocoStyleDataset``.

    Raises:
        FileNotFoundError: ``ann_file`` is missing, a folder without json files, or a frame
            whose size must be read does not exist.
        ValueError: besides ``CocoStyleDataset``'s errors, per-video files that repeat an
            image or annotation id (naming both files).
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = "",
                 data_prefix: str = "",
                 metainfo: Any = "posetrack18",
                 test_mode: bool = False,
                 bbox_file: "str | None" = None,
                 bbox_score_thr: float = 0.0,
                 check_images: bool = True,
                 allow_outside_root: bool = False) -> None:
        super().__init__(ann_file, data_root=data_root, data_prefix=data_prefix, metainfo=metainfo,
                         test_mode=test_mode, bbox_file=bbox_file, bbox_score_thr=bbox_score_thr,
                         check_images=check_images, allow_outside_root=allow_outside_root)

    def _read_annotation_file(self) -> Any:
        if not os.path.isdir(self.ann_file):
            return super()._read_annotation_file()
        files = sorted(glob.glob(os.path.join(self.ann_file, "*.json")))
        if not files:
            raise FileNotFoundError(f"annotation folder {self.ann_file} holds no .json files")
        merged: dict[str, Any] = {"images": [], "annotations": [], "categories": []}
        image_owner: dict[Any, str] = {}
        ann_owner: dict[Any, str] = {}
        for path in files:
            video = _read_json(path, "annotation file")
            for field in ("images", "annotations"):
                if not isinstance(video, dict) or not isinstance(video.get(field), list):
                    raise ValueError(f"{path}: field '{field}' is missing or not a list")
            for field, owner in (("images", image_owner), ("annotations", ann_owner)):
                for entry in video[field]:
                    key = entry.get("id") if isinstance(entry, dict) else None
                    if key is not None and key in owner:
                        raise ValueError(f"{path}: field '{field}' repeats id {key!r} of {owner[key]}")
                    owner[key] = path
                merged[field].extend(video[field])
            if not merged["categories"]:
                merged["categories"] = video.get("categories", [])
        return merged

    def _parse_images(self, coco: Any) -> dict:
        if isinstance(coco, dict) and isinstance(coco.get("images"), list):
            for order, img in enumerate(coco["images"]):
                if isinstance(img, dict) and ("width" not in img or "height" not in img) \
                        and isinstance(img.get("file_name"), str):
                    path = os.path.normpath(os.path.join(self.img_dir, img["file_name"]))
                    if not os.path.isfile(path):
                        raise FileNotFoundError(
                            f"{self.ann_file}: 'images[{order}]' (id {img.get('id')!r}) has no width/height "
                            f"and its frame {path} does not exist to read them from")
                    img["height"], img["width"] = read_image_size(path)
        images = super()._parse_images(coco)
        self._frames: dict[int, tuple[int, int, int, str]] = {}
        for img in coco["images"]:
            img_id = _as_int(img["id"])
            frame_id = img.get("frame_id", img_id)
            nframes = img.get("nframes", -1)
            stem = os.path.splitext(os.path.basename(img["file_name"]))[0]
            vid_id = img.get("vid_id", os.path.basename(os.path.dirname(img["file_name"])))
            try:
                frame_id, nframes = _as_int(frame_id), _as_int(nframes)
            except (TypeError, ValueError):
                raise ValueError(f"{self.ann_file}: image id {img_id} has a non-integer 'frame_id' "
                                 f"({frame_id!r}) or 'nframes' ({nframes!r})") from None
            self._frames[img_id] = (frame_id, nframes, int(stem) if stem.isdigit() else -1, str(vid_id))
        return images

    def _load_annotations(self, coco: dict) -> dict[str, np.ndarray]:
        tracks = {}
        for ann in coco["annotations"]:
            if isinstance(ann, dict) and isinstance(ann.get("track_id"), int) and "id" in ann:
                tracks[ann["id"]] = ann["track_id"]
        records = self._add_frames(super()._load_annotations(coco))
        records["track_id"] = np.array([tracks.get(int(i), -1) for i in records["id"]],
                                       dtype=np.int64).reshape(-1)
        return records

    def _load_detections(self) -> dict[str, np.ndarray]:
        records = self._add_frames(super()._load_detections())
        records["track_id"] = np.full(len(records["id"]), -1, dtype=np.int64)
        return records

    def _add_frames(self, records: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        frames = [self._frames[int(i)] for i in records["img_id"]]
        n = len(frames)
        records["frame_id"] = np.array([f[0] for f in frames], dtype=np.int64).reshape(n)
        records["nframes"] = np.array([f[1] for f in frames], dtype=np.int64).reshape(n)
        records["frame_index"] = np.array([f[2] for f in frames], dtype=np.int64).reshape(n)
        records["vid_id"] = np.array([f[3] for f in frames], dtype=str).reshape(n)
        return records
