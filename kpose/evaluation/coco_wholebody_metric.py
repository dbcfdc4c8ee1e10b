"""CocoWholeBodyMetric: COCO-WholeBody AP/AR per body part and for the whole body."""

from __future__ import annotations

import copy
import json
import os
from typing import Optional

import gin
import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from kpose.evaluation.coco_metric import CocoMetric

_STAT_NAMES = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)",
               "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")
# COCO-WholeBody's annotation fields, in the order of the 133 keypoints.
PART_FIELDS = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")
PART_NAMES = ("body", "foot", "face", "lefthand", "righthand")


@gin.register
class CocoWholeBodyMetric(CocoMetric):
    """COCO-WholeBody keypoint evaluation, as MMPose's ``CocoWholeBodyMetric``.

    Predictions carry all K = body + foot + face + left hand + right hand keypoints
    (17 + 6 + 68 + 21 + 21 = 133 by default) in that order; rescoring and OKS-NMS run
    on the whole body exactly as in :class:`CocoMetric` (with the 133 sigmas). Results
    are written in COCO-WholeBody's format (``keypoints`` holds the body only, the other
    parts in ``foot_kpts``, ``face_kpts``, ``lefthand_kpts``, ``righthand_kpts``).

    Evaluation follows xtcocotools' ``keypoints_<part>`` types with pycocotools: for each
    part, OKS over that part's keypoints and sigmas; a ground-truth person is ignored
    when it has no labelled keypoint in the part; a prediction is dropped when none of
    its part's keypoint scores is positive; a prediction's area is that of its *body*
    keypoints' extent (xtcocotools reads it from ``keypoints``). ``'wholebody'`` uses
    all K keypoints.

    ``result()`` returns the whole-body figures under CocoMetric's names (``'AP'``, ...,
    ``'AR (L)'``; these are what MMPose returns) plus ``'<part>/AP'`` and ``'<part>/AR'``
    for ``body``, ``foot``, ``face``, ``lefthand``, ``righthand``.

    Args:
        ann_file: COCO-WholeBody json with the five keypoint fields per annotation.
        sigmas: (K,) OKS sigmas (``load("coco_wholebody").sigmas``); required.
        part_sizes: number of keypoints of each part, in the order above.
        **kwargs: every other argument of :class:`CocoMetric` (``use_area``,
            ``score_mode``, ``nms_mode``, ``nms_thr``, ``outfile_prefix``, ...).
    """

    def __init__(self, ann_file: Optional[str] = None, sigmas: Optional[np.ndarray] = None,
                 part_sizes: tuple[int, ...] = (17, 6, 68, 21, 21), name: str = "coco_wholebody",
                 **kwargs) -> None:
        if sigmas is None:
            raise ValueError("CocoWholeBodyMetric needs the sigmas of all keypoints "
                             "(e.g. kpose.datasets.metainfo.load('coco_wholebody').sigmas), got None")
        sizes = tuple(int(s) for s in part_sizes)
        if len(sizes) != len(PART_FIELDS) or min(sizes) < 1:
            raise ValueError(f"part_sizes must be {len(PART_FIELDS)} positive counts {PART_NAMES}, got {part_sizes!r}")
        super().__init__(ann_file=ann_file, sigmas=sigmas, name=name, **kwargs)
        if sum(sizes) != self.num_keypoints:
            raise ValueError(f"part_sizes {sizes} add up to {sum(sizes)}, but there are {self.num_keypoints} sigmas")
        self.part_sizes = sizes
        self._cuts = np.cumsum((0,) + sizes)
        self._part_gt = None

    def get_config(self) -> dict:
        config = super().get_config()
        config["part_sizes"] = list(self.part_sizes)
        return config

    def _coco_results(self) -> list[dict]:
        # CocoMetric's rescored, NMS-ed results, split into COCO-WholeBody's fields.
        results = super()._coco_results()
        out = []
        for res in results:
            kpts = np.asarray(res.pop("keypoints"))
            for field, lo, hi in zip(PART_FIELDS, self._cuts[:-1], self._cuts[1:]):
                res[field] = kpts[3 * lo:3 * hi].tolist()
            out.append(res)
        return out

    def _load_parts(self) -> dict[str, COCO]:
        """A pycocotools ground truth per part (and 'wholebody'), ids renumbered from 1."""
        key = (os.path.abspath(self.ann_file), os.path.getmtime(self.ann_file), self.use_area)
        if self._part_gt is not None and self._part_gt[0] == key:
            return self._part_gt[1]
        with open(self.ann_file) as f:
            dataset = json.load(f)
        for field in ("images", "annotations", "categories"):
            if field not in dataset:
                raise ValueError(f"ann_file {self.ann_file!r} has no '{field}'")
        for new_id, ann in enumerate(dataset["annotations"], start=1):
            for field, size in zip(PART_FIELDS, self.part_sizes):
                if len(ann.get(field, ())) != 3 * size:
                    raise ValueError(f"annotation {ann.get('id')} in {self.ann_file!r} has "
                                     f"{len(ann.get(field, ())) // 3} '{field}', expected {size}")
            ann["id"] = new_id
            ann.setdefault("iscrowd", 0)
            if not self.use_area:
                ann["area"] = ann["bbox"][2] * ann["bbox"][3] * 0.53
            elif "area" not in ann:
                raise ValueError(f"annotation {ann.get('id')} in {self.ann_file!r} has no 'area'; pass "
                                 "use_area=False for datasets without it")
        parts = {}
        for part in PART_NAMES + ("wholebody",):
            fields = PART_FIELDS if part == "wholebody" else (PART_FIELDS[PART_NAMES.index(part)],)
            part_set = {k: v for k, v in dataset.items() if k != "annotations"}
            part_set["annotations"] = []
            for ann in dataset["annotations"]:
                new = {k: v for k, v in ann.items() if k not in PART_FIELDS}
                new["keypoints"] = [v for field in fields for v in ann[field]]
                new["num_keypoints"] = int(np.count_nonzero(np.asarray(new["keypoints"][2::3]) > 0))
                part_set["annotations"].append(new)
            coco = COCO()
            coco.dataset = part_set
            with self._quiet():
                coco.createIndex()
            parts[part] = coco
        self._part_gt = (key, parts)
        return parts

    def _evaluate(self, results: list[dict]) -> dict[str, float]:
        parts = self._load_parts()
        known = set(parts["wholebody"].getImgIds())
        unknown = sorted({r["image_id"] for r in results} - known)
        if unknown:
            raise ValueError(f"img_id values {unknown[:10]} are not images of {self.ann_file!r}")
        out = {}
        for part in PART_NAMES + ("wholebody",):
            if part == "wholebody":
                lo, hi, fields = 0, self.num_keypoints, PART_FIELDS
            else:
                i = PART_NAMES.index(part)
                lo, hi, fields = self._cuts[i], self._cuts[i + 1], (PART_FIELDS[i],)
            stats = self._evaluate_part(parts[part], results, fields, self.sigmas[lo:hi])
            if part == "wholebody":
                out.update(zip(_STAT_NAMES, stats))
            else:
                out[f"{part}/AP"], out[f"{part}/AR"] = stats[0], stats[5]
        # whole-body figures first, as MMPose's result
        order = list(_STAT_NAMES) + [k for k in out if k not in _STAT_NAMES]
        return {k: float(out[k]) for k in order}

    def _evaluate_part(self, coco_gt: COCO, results: list[dict], fields: tuple[str, ...],
                       sigmas: np.ndarray) -> np.ndarray:
        anns = []
        for index, res in enumerate(results):
            kpts = [v for field in fields for v in res[field]]
            if not any(s > 0 for s in kpts[2::3]):
                continue  # xtcocotools drops a prediction without a positive score in the part
            body = np.asarray(res["keypoints"], dtype=np.float64).reshape(-1, 3)
            x0, y0 = body[:, 0].min(), body[:, 1].min()
            x1, y1 = body[:, 0].max(), body[:, 1].max()
            anns.append(dict(image_id=res["image_id"], category_id=res["category_id"], keypoints=kpts,
                             score=res["score"], id=index + 1, area=(x1 - x0) * (y1 - y0),
                             bbox=[x0, y0, x1 - x0, y1 - y0], iscrowd=0))
        coco_dt = COCO()
        coco_dt.dataset = dict(images=list(coco_gt.dataset["images"]),
                               categories=copy.deepcopy(coco_gt.dataset["categories"]), annotations=anns)
        with self._quiet():
            coco_dt.createIndex()
            coco_eval = COCOeval(coco_gt, coco_dt, "keypoints")
            coco_eval.params.kpt_oks_sigmas = np.asarray(sigmas)
            coco_eval.params.useSegm = None
            coco_eval.evaluate()
            coco_eval.accumulate()
            coco_eval.summarize()
        return coco_eval.stats
