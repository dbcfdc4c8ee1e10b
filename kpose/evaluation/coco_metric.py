"""CocoMetric: COCO keypoint AP/AR (OKS) through pycocotools, with MMPose's rescoring and
OKS-NMS."""

from __future__ import annotations

import contextlib
import io
import json
import os
from typing import Mapping, Optional

import gin
import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from kpose.evaluation.functional.nms import COCO_SIGMAS, oks_nms, soft_oks_nms

_SCORE_MODES = ("bbox", "bbox_keypoint", "bbox_rle", "keypoint")
_NMS_MODES = ("oks_nms", "soft_oks_nms", "none")
_STAT_NAMES = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)",
               "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")
_REQUIRED_KEYS = ("keypoints", "keypoint_scores", "img_id", "id")


@gin.register
class CocoMetric:
    """COCO keypoint evaluation (OKS AP/AR) of top-down predictions, as MMPose's CocoMetric.

    ``result()`` runs, over every batch given to ``update()`` since ``reset()``:

    1. Grouping by image; within an image, one prediction per annotation ``id`` (the
       first one given) survives, so a sample seen twice counts once. Negative ids
       (kpose's records use -1 for detector boxes) are never merged.
    2. Rescoring by ``score_mode``: ``'bbox_keypoint'`` (default) gives
       ``bbox_score * mean(keypoint scores > keypoint_score_thr)``, and 0 when no
       keypoint score passes; ``'bbox'`` the box score; ``'keypoint'`` the mean keypoint
       score; ``'bbox_rle'`` box score + mean + max keypoint score.
    3. OKS-NMS per image at ``nms_thr`` (``'oks_nms'``, ``'soft_oks_nms'`` keeping at
       most 20, or ``'none'``). An instance's OKS area is the product of its padded box
       ``scale`` (MMPose's ``bbox_scales``); without ``scale``, the area of the
       keypoints' extent.
    4. pycocotools' ``COCOeval`` with ``iouType='keypoints'`` and
       ``kpt_oks_sigmas = sigmas`` against ``ann_file``. The ground truth is adjusted so
       pycocotools behaves as xtcocotools (which MMPose uses): a person counts as
       unlabelled from its keypoints' visibility flags, not from ``num_keypoints``;
       annotation ids are renumbered from 1 (pycocotools mistakes a match to id 0 for no
       match); with ``use_area=False`` the area is ``0.53 * box w * h``; predictions
       whose keypoint scores are all 0 are dropped.

    ``update(preds)`` takes a dict of numpy arrays with leading batch axis B:

    - ``keypoints`` (B, K, 2): predicted keypoints in original-image pixels.
    - ``keypoint_scores`` (B, K): their scores.
    - ``img_id`` (B,): COCO image ids (must be images of ``ann_file``).
    - ``id`` (B,): COCO annotation ids of the boxes (unique per detection; < 0: none).
    - ``bbox_score`` (B,), optional (default 1): the box (detector) score.
    - ``scale`` (B, 2), optional: the box size (w, h) the crop was cut with, i.e. the
      1.25-padded scale after TopdownAffine's aspect-ratio fix (what MMPose packs as
      ``bbox_scales``).
    - ``bbox`` (B, 4), optional: the box xyxy; written to the results as COCO xywh.
      pycocotools then takes an unmatched prediction's area from it (for the M/L
      ranges; without it, from the keypoints' extent), as for MMPose, whose top-down
      predictions always carry their box.
    - ``category_id`` (B,), optional (default 1).

    Other keys (``area``, ...) are ignored: MMPose sizes a prediction by its padded box,
    not by the annotation area.

    ``result()`` returns ``{'AP', 'AP .5', 'AP .75', 'AP (M)', 'AP (L)', 'AR', 'AR .5',
    'AR .75', 'AR (M)', 'AR (L)'}`` as floats (``{}`` with ``format_only``).

    Args:
        ann_file: COCO keypoints json with the ground truth. Needed unless
            ``format_only``; may also be set as an attribute before ``result()``.
        sigmas: (K,) per-keypoint OKS sigmas (``DatasetMeta.sigmas``); COCO's 17 when
            None.
        use_area: use the annotations' ``area`` as OKS scale; False for datasets
            without it (``0.53 * box area`` instead).
        iou_type: ``'keypoints'`` (the only type pycocotools knows).
        score_mode: ``'bbox_keypoint'``, ``'bbox'``, ``'keypoint'`` or ``'bbox_rle'``.
        keypoint_score_thr: keypoint scores above it enter ``'bbox_keypoint'`` rescoring.
        nms_mode: ``'oks_nms'``, ``'soft_oks_nms'`` or ``'none'``.
        nms_thr: OKS threshold of the NMS.
        format_only: only write ``{outfile_prefix}.keypoints.json`` (e.g. for a test-dev
            submission) and return ``{}``.
        outfile_prefix: when given, the results json is written to
            ``{outfile_prefix}.keypoints.json``.
        verbose: let pycocotools print its progress and summary table.
        name: name of the metric (for logs).
    """

    def __init__(self, ann_file: Optional[str] = None, sigmas: Optional[np.ndarray] = None,
                 use_area: bool = True, iou_type: str = "keypoints",
                 score_mode: str = "bbox_keypoint", keypoint_score_thr: float = 0.2,
                 nms_mode: str = "oks_nms", nms_thr: float = 0.9, format_only: bool = False,
                 outfile_prefix: Optional[str] = None, verbose: bool = False,
                 name: str = "coco") -> None:
        if iou_type != "keypoints":
            raise ValueError(f"iou_type must be 'keypoints' (pycocotools' only keypoint type), "
                             f"got {iou_type!r}")
        if score_mode not in _SCORE_MODES:
            raise ValueError(f"score_mode must be one of {_SCORE_MODES}, got {score_mode!r}")
        if nms_mode not in _NMS_MODES:
            raise ValueError(f"nms_mode must be one of {_NMS_MODES}, got {nms_mode!r}")
        if format_only and outfile_prefix is None:
            raise ValueError("format_only=True needs an outfile_prefix to write the results "
                             "to, got outfile_prefix=None")
        if ann_file is not None and not os.path.isfile(ann_file):
            raise ValueError(f"ann_file {ann_file!r} is not a file")
        sigmas = COCO_SIGMAS if sigmas is None else sigmas
        # float32, as MMPose's dataset meta holds them (the OKS arithmetic follows)
        sigmas = np.array(sigmas, dtype=np.float32)
        if sigmas.ndim != 1 or sigmas.size == 0 or not np.all(sigmas > 0):
            raise ValueError(f"sigmas must be a non-empty (K,) array of positive values, got "
                             f"{sigmas.tolist()}")
        self.ann_file = ann_file
        self.sigmas = sigmas
        self.use_area = bool(use_area)
        self.iou_type = iou_type
        self.score_mode = score_mode
        self.keypoint_score_thr = float(keypoint_score_thr)
        self.nms_mode = nms_mode
        self.nms_thr = float(nms_thr)
        self.format_only = bool(format_only)
        self.outfile_prefix = outfile_prefix
        self.verbose = bool(verbose)
        self.name = name
        self._batches: list[dict[str, np.ndarray]] = []
        self._coco_gt: Optional[COCO] = None
        self._coco_gt_key = None

    @property
    def num_keypoints(self) -> int:
        return int(self.sigmas.shape[0])

    def get_config(self) -> dict:
        return dict(ann_file=self.ann_file, sigmas=self.sigmas.tolist(),
                    use_area=self.use_area, iou_type=self.iou_type, score_mode=self.score_mode,
                    keypoint_score_thr=self.keypoint_score_thr, nms_mode=self.nms_mode,
                    nms_thr=self.nms_thr, format_only=self.format_only,
                    outfile_prefix=self.outfile_prefix, verbose=self.verbose, name=self.name)

    def reset(self) -> None:
        """Forget every batch seen so far."""
        self._batches = []

    # ------------------------------------------------------------------ update
    def update(self, preds: Mapping[str, np.ndarray]) -> None:
        """Add one batch of predictions (see the class docstring for keys and shapes)."""
        for key in _REQUIRED_KEYS:
            if key not in preds:
                raise ValueError(f"CocoMetric.update: preds has no '{key}'; got keys "
                                 f"{sorted(preds)}")
        k = self.num_keypoints
        kpts = np.asarray(preds["keypoints"])
        if kpts.ndim != 3 or kpts.shape[1:] != (k, 2):
            raise ValueError(f"'keypoints' must have shape (B, K, 2) with K = {k} (the number "
                             f"of sigmas), got {kpts.shape}")
        b = kpts.shape[0]
        batch = {"keypoints": kpts.copy()}
        expected = {"keypoint_scores": (b, k), "img_id": (b,), "id": (b,),
                    "bbox_score": (b,), "scale": (b, 2), "bbox": (b, 4), "category_id": (b,)}
        for key, shape in expected.items():
            if key not in preds:
                continue
            value = np.asarray(preds[key])
            if value.shape != shape:
                raise ValueError(f"'{key}' must have shape {shape} (B = {b}, K = {k}), got "
                                 f"{value.shape}")
            batch[key] = value.copy()
        for key in ("img_id", "id", "category_id"):
            if key in batch:
                if not np.all(np.equal(np.mod(batch[key], 1), 0)):
                    raise ValueError(f"'{key}' must hold integers, got {batch[key].tolist()}")
                batch[key] = batch[key].astype(np.int64)
        if "bbox_score" not in batch:
            batch["bbox_score"] = np.ones(b)
        if "category_id" not in batch:
            batch["category_id"] = np.ones(b, dtype=np.int64)
        # every batch must carry the same optional keys to be concatenated
        if self._batches and set(self._batches[0]) != set(batch):
            raise ValueError(f"CocoMetric.update: this batch has keys {sorted(batch)} but "
                             f"earlier ones had {sorted(self._batches[0])}")
        self._batches.append(batch)

    # ------------------------------------------------------------------ result
    def result(self) -> dict[str, float]:
        """Rescore, NMS, write and evaluate every prediction since the last ``reset()``."""
        results = self._coco_results()
        if self.outfile_prefix is not None:
            res_file = f"{self.outfile_prefix}.keypoints.json"
            os.makedirs(os.path.dirname(os.path.abspath(res_file)), exist_ok=True)
            with open(res_file, "w") as f:
                json.dump(results, f, sort_keys=True, indent=4)
        if self.format_only:
            return {}
        if self.ann_file is None:
            raise ValueError("CocoMetric.result: ann_file is None; set it to the ground-truth "
                             "json (or use format_only=True)")
        return self._evaluate(results)

    def _columns(self) -> dict[str, np.ndarray]:
        if not self._batches:
            return {}
        return {key: np.concatenate([b[key] for b in self._batches])
                for key in self._batches[0]}

    def _instance_scores(self, cols: dict[str, np.ndarray]) -> np.ndarray:
        scores = cols["keypoint_scores"]
        bbox_score = cols["bbox_score"]
        if self.score_mode == "bbox":
            return bbox_score
        if self.score_mode == "keypoint":
            return scores.mean(axis=1)
        if self.score_mode == "bbox_rle":
            return bbox_score + scores.mean(axis=1) + scores.max(axis=1)
        passed = scores > self.keypoint_score_thr
        count = passed.sum(axis=1)
        # a running sum in the scores' dtype (masked entries add an exact 0), so the
        # result rounds exactly like MMPose's Python loop
        total = np.cumsum(np.where(passed, scores, 0), axis=1)[:, -1]
        mean = np.where(count > 0, total / np.maximum(count, 1).astype(total.dtype), 0)
        return bbox_score * mean.astype(total.dtype)

    def _areas(self, cols: dict[str, np.ndarray]) -> np.ndarray:
        if "scale" in cols:
            return np.prod(cols["scale"], axis=1)
        kpts = cols["keypoints"]
        extent = kpts.max(axis=1) - kpts.min(axis=1)
        return extent[:, 0] * extent[:, 1]

    def _image_groups(self, cols: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Row indices per image (images in order of first appearance), each sorted by id
        with repeated ids dropped."""
        img_ids = cols["img_id"]
        order = np.argsort(img_ids, kind="stable")
        starts = np.flatnonzero(np.r_[True, img_ids[order][1:] != img_ids[order][:-1]])
        groups = np.split(order, starts[1:])
        groups.sort(key=lambda rows: rows[0])
        ann_ids = cols["id"]
        out = []
        for rows in groups:
            rows = rows[np.argsort(ann_ids[rows], kind="stable")]
            ids = ann_ids[rows]
            repeat = np.r_[False, (ids[1:] == ids[:-1]) & (ids[1:] >= 0)]
            out.append(rows[~repeat])
        return out

    def _coco_results(self) -> list[dict]:
        """COCO-format result dicts after rescoring and NMS."""
        cols = self._columns()
        if not cols or len(cols["img_id"]) == 0:  # e.g. a bottom-up model that found nobody
            return []
        scores = self._instance_scores(cols)
        areas = self._areas(cols)
        kpts3 = np.concatenate([cols["keypoints"], cols["keypoint_scores"][..., None]], axis=-1)
        results = []
        for rows in self._image_groups(cols):
            if self.nms_mode == "none":
                keep = rows
            else:
                db = [dict(keypoints=kpts3[r], score=scores[r], area=areas[r]) for r in rows]
                nms = oks_nms if self.nms_mode == "oks_nms" else soft_oks_nms
                keep = rows[nms(db, self.nms_thr, sigmas=self.sigmas)]
            for r in keep:
                res = dict(image_id=int(cols["img_id"][r]),
                           category_id=int(cols["category_id"][r]),
                           keypoints=kpts3[r].reshape(-1).tolist(), score=float(scores[r]))
                if "bbox" in cols:
                    x0, y0, x1, y1 = cols["bbox"][r]
                    res["bbox"] = np.array([x0, y0, x1 - x0, y1 - y0]).tolist()
                results.append(res)
        return results

    def _ground_truth(self) -> COCO:
        """The ground truth, adjusted so pycocotools scores as xtcocotools (see class doc)."""
        key = (os.path.abspath(self.ann_file), os.path.getmtime(self.ann_file), self.use_area)
        if self._coco_gt is not None and self._coco_gt_key == key:
            return self._coco_gt
        with open(self.ann_file) as f:
            dataset = json.load(f)
        for field in ("images", "annotations", "categories"):
            if field not in dataset:
                raise ValueError(f"ann_file {self.ann_file!r} has no '{field}'")
        for new_id, ann in enumerate(dataset["annotations"], start=1):
            for field in ("keypoints", "bbox", "image_id", "category_id"):
                if field not in ann:
                    raise ValueError(f"annotation {ann.get('id')} in {self.ann_file!r} has no "
                                     f"'{field}'")
            if len(ann["keypoints"]) != 3 * self.num_keypoints:
                raise ValueError(f"annotation {ann.get('id')} in {self.ann_file!r} has "
                                 f"{len(ann['keypoints']) // 3} keypoints, but there are "
                                 f"{self.num_keypoints} sigmas")
            ann["id"] = new_id
            ann.setdefault("iscrowd", 0)
            ann["num_keypoints"] = int(np.count_nonzero(np.asarray(ann["keypoints"][2::3]) > 0))
            if not self.use_area:
                ann["area"] = ann["bbox"][2] * ann["bbox"][3] * 0.53
            elif "area" not in ann:
                raise ValueError(f"annotation {ann.get('id')} in {self.ann_file!r} has no "
                                 "'area'; pass use_area=False for datasets without it")
        coco = COCO()
        coco.dataset = dataset
        with self._quiet():
            coco.createIndex()
        self._coco_gt, self._coco_gt_key = coco, key
        return coco

    def _quiet(self):
        return contextlib.nullcontext() if self.verbose else \
            contextlib.redirect_stdout(io.StringIO())

    def _evaluate(self, results: list[dict]) -> dict[str, float]:
        coco_gt = self._ground_truth()
        known = set(coco_gt.getImgIds())
        unknown = sorted({r["image_id"] for r in results} - known)
        if unknown:
            raise ValueError(f"img_id values {unknown[:10]} are not images of {self.ann_file!r}")
        # xtcocotools (MMPose) skips predictions without any positive keypoint score
        results = [r for r in results if any(s > 0 for s in r["keypoints"][2::3])]
        with self._quiet():
            if results:
                coco_dt = coco_gt.loadRes(results)
            else:  # pycocotools' loadRes cannot take an empty list
                coco_dt = COCO()
                coco_dt.dataset = dict(images=list(coco_gt.dataset["images"]),
                                       categories=list(coco_gt.dataset["categories"]),
                                       annotations=[])
                coco_dt.createIndex()
            coco_eval = COCOeval(coco_gt, coco_dt, "keypoints")
            coco_eval.params.kpt_oks_sigmas = self.sigmas
            coco_eval.params.useSegm = None
            coco_eval.evaluate()
            coco_eval.accumulate()
            coco_eval.summarize()
        return {name: float(value) for name, value in zip(_STAT_NAMES, coco_eval.stats)}
