"""Rewrite a COCO keypoints json in another keypoint layout (and a synthetic source so made)."""

from __future__ import annotations

import os
from typing import Any

import gin
import numpy as np

from kpose.datasets import metainfo as metainfo_lib
from kpose.datasets.coco_style_dataset import _read_json
from kpose.datasets.converters._coco import category, write_json
from kpose.datasets.keypoint_converter import KeypointConverter
from kpose.datasets.metainfo.dataset_meta import DatasetMeta
from kpose.datasets.synthetic import ensure_synthetic_coco


def convert_keypoint_layout(ann_file: str, converter: KeypointConverter, metainfo: "str | DatasetMeta",
                            out_file: "str | None" = None, crowd_index: bool = False) -> dict[str, Any]:
    """Rewrites every annotation's keypoints of a COCO json in the converter's layout.

    Target keypoints take their source's ``[x, y, v]``; a pair source takes the midpoint
    and the smaller flag (labelled only when both are; occluded when either is); unmapped
    targets are ``[0, 0, 0]``. ``num_keypoints`` is recounted; images, boxes, areas and
    ids are kept; the category gets the target keypoint names and skeleton.

    Args:
        ann_file: COCO keypoints json in the source layout.
        converter: source -> target ``KeypointConverter``.
        metainfo: the target layout (its K must equal ``converter.num_keypoints``).
        out_file: also write the json there.
        crowd_index: add CrowdPose's ``crowdIndex`` to every image: the mean over its
            people of (other people's labelled keypoints inside the person's box) / (the
            person's own labelled keypoints).

    Returns:
        The converted COCO dict.
    """
    meta = metainfo_lib.load(metainfo)
    if converter.num_keypoints != meta.num_keypoints:
        raise ValueError(f"converter maps to {converter.num_keypoints} keypoints, but metainfo {meta.name!r} "
                         f"has {meta.num_keypoints}")
    coco = _read_json(os.path.abspath(ann_file), "annotation file")
    annotations = []
    for ann in coco.get("annotations", []):
        ann = dict(ann)
        if "keypoints" in ann:
            src = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
            if src.shape[0] < converter.min_source_keypoints:
                raise ValueError(f"{ann_file}: annotation id {ann.get('id')!r} has {src.shape[0]} keypoints; the "
                                 f"converter indexes keypoint {converter.min_source_keypoints - 1}")
            out = np.zeros((converter.num_keypoints, 3))
            for source, target in converter.mapping:
                a, b = source if isinstance(source, tuple) else (source, source)
                v = min(src[a, 2], src[b, 2])
                if v > 0:
                    out[target] = [0.5 * (src[a, 0] + src[b, 0]), 0.5 * (src[a, 1] + src[b, 1]), v]
            ann["keypoints"] = [float(x) if i % 3 != 2 else int(x) for i, x in enumerate(out.reshape(-1))]
            ann["num_keypoints"] = int((out[:, 2] > 0).sum())
        annotations.append(ann)
    images = [dict(img) for img in coco.get("images", [])]
    if crowd_index:
        for img in images:
            img["crowdIndex"] = _crowd_index([a for a in annotations if a.get("image_id") == img.get("id")])
    name = coco["categories"][0]["name"] if coco.get("categories") else "person"
    result = dict(coco, images=images, annotations=annotations, categories=[category(meta, name)])
    if out_file:
        write_json(result, out_file)
    return result


def _crowd_index(anns: list) -> float:
    people = [(np.asarray(a["keypoints"], np.float64).reshape(-1, 3), a["bbox"]) for a in anns
              if "keypoints" in a and "bbox" in a and not a.get("iscrowd", 0)]
    ratios = []
    for i, (kpts, (x, y, w, h)) in enumerate(people):
        own = int((kpts[:, 2] > 0).sum())
        if own == 0:
            continue
        others = 0
        for j, (other, _) in enumerate(people):
            if j != i:
                pts = other[other[:, 2] > 0, :2]
                others += int(np.sum((pts[:, 0] >= x) & (pts[:, 0] <= x + w) &
                                     (pts[:, 1] >= y) & (pts[:, 1] <= y + h)))
        ratios.append(others / own)
    return round(float(np.mean(ratios)), 4) if ratios else 0.0


@gin.configurable
def ensure_synthetic_in_layout(source_root: str, converter: KeypointConverter, metainfo: "str | DatasetMeta",
                               suffix: str = "_converted", seed: int = 1, num_train_images: int = 400,
                               num_val_images: int = 0, image_size: tuple = (256, 192),
                               crowd_index: bool = False) -> str:
    """A second synthetic dataset, in another keypoint layout, beside ``source_root``.

    Writes (once; ``ensure_synthetic_coco`` reuses a matching folder) a synthetic COCO set
    with its own ``seed`` into ``source_root + suffix`` and converts its annotations to
    ``annotations/<meta name>_<split>.json`` with ``convert_keypoint_layout`` (rewritten on
    every call; it takes milliseconds). Used by the multi-dataset recipe to stand in for
    a dataset such as CrowdPose.

    Returns:
        The new folder (the ``data_root`` of its reader).
    """
    meta = metainfo_lib.load(metainfo)
    out_dir = os.path.abspath(os.path.expanduser(os.fspath(source_root))).rstrip(os.sep) + suffix
    ensure_synthetic_coco(out_dir, seed=seed, num_train_images=num_train_images, num_val_images=num_val_images,
                          image_size=tuple(image_size))
    for split, count in (("train", num_train_images), ("val", num_val_images)):
        if count:
            convert_keypoint_layout(os.path.join(out_dir, "annotations", f"person_keypoints_{split}.json"),
                                    converter, meta,
                                    out_file=os.path.join(out_dir, "annotations", f"{meta.name}_{split}.json"),
                                    crowd_index=crowd_index)
    return out_dir
