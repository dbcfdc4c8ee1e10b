"""Generate the golden fixtures for kpose's evaluation metrics from MMPose 1.3.2.

Run with the reference venv (it imports mmpose; kpose never does)::

    /tmp/mmpose-ref/bin/python tools/dev/make_metric_goldens.py

It builds a tiny COCO keypoints ground truth (6 images, 22 people, one crowd region) and
deterministic noisy top-down predictions (with near-duplicates for OKS-NMS, an exact
repeat for the per-id de-duplication, false positives, a prediction whose keypoint
scores are all zero), runs MMPose's ``CocoMetric`` under several settings, its
``PCKAccuracy``, the functional ``oks_nms`` / ``soft_oks_nms`` and the keypoint error
functions, and writes into ``tests/fixtures/goldens/``:

- ``coco_metric_gt.json``: the ground-truth annotation file.
- ``coco_metric_inputs.npz``: the predictions (one row per top-down instance) in kpose's
  column layout, the PCK inputs, and the per-image NMS inputs.
- ``coco_metric_expected.json``: MMPose's figures and kept indices.

Then, from a separate random stream (so the files above stay byte-identical), the goldens
of the dataset-specific metrics:

- ``metric2d_inputs.npz``: MPII (16 keypoints, head sizes), JHMDB (15, boxes), face
  (68, boxes) and hand (21) predictions / ground truth, and the COCO-WholeBody
  predictions (133 keypoints) in kpose's column layout.
- ``wholebody_metric_gt.json``: a tiny COCO-WholeBody ground truth (body, foot, face,
  hand fields) and ``partition_metric_gt.json``, the same people with all 133
  keypoints in ``keypoints``.
- ``metric2d_expected.json``: MMPose's MpiiPCKAccuracy, JhmdbPCKAccuracy, NME (each
  face dataset's keypoint pair and bbox_size), AUC, EPE, CocoWholeBodyMetric (plus the
  per-part AP/AR from xtcocotools on MMPose's result file) and KeypointPartitionMetric
  (over PCKAccuracy, AUC, EPE, NME, CocoMetric) figures.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from pathlib import Path

import numpy as np

OUT_DIR = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "goldens"
K = 17
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07,
                        1.07, .87, .87, .89, .89], dtype=np.float32) / 10.0
# (image id, number of people); image 606 has no people, image 505 gets no predictions.
IMAGES = [(101, 5), (202, 4), (303, 6), (404, 4), (505, 3), (606, 0)]
IMG_W, IMG_H = 640, 480
INPUT_ASPECT = 192 / 256  # w / h of the model input, for the padded box scale


def _person(rng: np.random.Generator, img_id: int, ann_id: int, size: float) -> dict:
    """One ground-truth person whose box is about ``size`` pixels high."""
    h = size
    w = size * rng.uniform(0.4, 0.8)
    x0 = rng.uniform(0, IMG_W - w)
    y0 = rng.uniform(0, IMG_H - h)
    xy = np.stack([rng.uniform(x0, x0 + w, K), rng.uniform(y0, y0 + h, K)], axis=1)
    vis = rng.choice([0, 1, 2], size=K, p=[0.2, 0.2, 0.6])
    xy[vis == 0] = 0.0
    kpts = np.concatenate([np.round(xy, 2), vis[:, None]], axis=1)
    return dict(id=int(ann_id), image_id=int(img_id), category_id=1, iscrowd=0,
                bbox=[round(float(v), 2) for v in (x0, y0, w, h)],
                area=round(float(w * h * rng.uniform(0.45, 0.7)), 2),
                keypoints=[float(v) if i % 3 != 2 else int(v)
                           for i, v in enumerate(kpts.reshape(-1))],
                num_keypoints=int((vis > 0).sum()))


def build_ground_truth(rng: np.random.Generator) -> dict:
    images, anns = [], []
    ann_id = 0  # id 0 on purpose: pycocotools treats a match to id 0 as no match
    # sizes cover COCO's small (< 32^2), medium and large area ranges
    sizes = iter(rng.permutation(np.concatenate([rng.uniform(30, 60, 5),
                                                 rng.uniform(60, 150, 9),
                                                 rng.uniform(150, 400, 8)])))
    for img_id, n in IMAGES:
        images.append(dict(id=img_id, file_name=f"{img_id:012d}.jpg", width=IMG_W,
                           height=IMG_H))
        for _ in range(n):
            anns.append(_person(rng, img_id, ann_id, next(sizes)))
            ann_id += 7
    # a person with no labelled keypoint: ignored by the evaluation
    anns[3]["keypoints"] = [0] * (3 * K)
    anns[3]["num_keypoints"] = 0
    # a stale num_keypoints: xtcocotools (MMPose) recounts from the keypoints
    anns[8]["num_keypoints"] = 0
    anns.append(dict(id=9001, image_id=303, category_id=1, iscrowd=1,
                     bbox=[300.0, 200.0, 300.0, 250.0], area=50000.0,
                     segmentation=[[300, 200, 600, 200, 600, 450, 300, 450]],
                     keypoints=[0] * (3 * K), num_keypoints=0))
    return dict(
        info=dict(description="kpose metric goldens"), licenses=[], images=images,
        annotations=anns,
        categories=[dict(id=1, name="person", supercategory="person",
                         keypoints=[f"kpt{i}" for i in range(K)], skeleton=[])])


def _padded_scale(xyxy: np.ndarray) -> np.ndarray:
    """MMPose's GetBBoxCenterScale(padding=1.25) then TopdownAffine's aspect fix."""
    w, h = (xyxy[2:] - xyxy[:2]) * 1.25
    if w > h * INPUT_ASPECT:
        h = w / INPUT_ASPECT
    else:
        w = h * INPUT_ASPECT
    return np.array([w, h], dtype=np.float32)


def _prediction(rng, gt_ann, pred_id, noise, bbox_score):
    x, y, w, h = gt_ann["bbox"]
    xyxy = np.array([x, y, x + w, y + h]) + rng.normal(0, 0.05 * h, 4)
    g = np.array(gt_ann["keypoints"], dtype=np.float64).reshape(K, 3)
    kpts = g[:, :2] + rng.normal(0, noise * h, (K, 2))
    missing = g[:, 2] == 0
    kpts[missing] = np.stack([rng.uniform(x, x + w, K), rng.uniform(y, y + h, K)],
                             axis=1)[missing]
    return dict(img_id=gt_ann["image_id"], id=pred_id,
                keypoints=kpts.astype(np.float32),
                keypoint_scores=rng.uniform(0, 1, K).astype(np.float32),
                bbox=xyxy.astype(np.float32), bbox_score=np.float32(bbox_score))


def _copy(pred: dict) -> dict:
    return {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in pred.items()}


def build_predictions(rng: np.random.Generator, gt: dict) -> list[dict]:
    people = [a for a in gt["annotations"] if not a["iscrowd"] and a["image_id"] != 505]
    preds = [_prediction(rng, a, a["id"], rng.uniform(0.005, 0.12),
                         rng.uniform(0.5, 1.0)) for a in people]
    preds[1]["keypoint_scores"] = rng.uniform(0, 0.19, K).astype(np.float32)  # score 0
    preds[2]["keypoint_scores"][:] = 0.0  # xtcocotools drops an all-zero prediction
    preds[5]["bbox_score"] = np.float32(0.25)
    # near-duplicates (new ids) that OKS-NMS at 0.9 must remove, one of them scoring
    # higher than the original so the original goes
    dups = []
    for j, src in enumerate([0, 4, 6, 9, 12]):
        d = _copy(preds[src])
        d["id"] = 5000 + j
        d["keypoints"] = d["keypoints"] + rng.normal(0, 0.4, (K, 2)).astype(np.float32)
        d["keypoint_scores"] = np.clip(
            d["keypoint_scores"] + rng.normal(0, 0.05, K), 0, 1).astype(np.float32)
        d["bbox_score"] = np.float32(d["bbox_score"] * (1.1 if j == 2 else 0.8))
        dups.append(d)
    # an exact repeat of a data sample (same id): MMPose keeps one per id and image
    repeat = _copy(preds[7])
    # false positives, one of them on the image that has no people
    fps = []
    for j, img_id in enumerate([101, 303, 606]):
        size = rng.uniform(50, 200)
        fake = dict(image_id=img_id, id=0, bbox=[rng.uniform(0, 400), rng.uniform(0, 200),
                                                   size * 0.6, size],
                    keypoints=[0.0] * (3 * K))  # no labels: keypoints land anywhere
        p = _prediction(rng, fake, 6000 + j, 0.0, rng.uniform(0.3, 0.9))
        fps.append(p)
    allp = preds + dups + [repeat] + fps
    order = rng.permutation(len(allp))
    allp = [allp[i] for i in order]
    for p in allp:
        p["scale"] = _padded_scale(p["bbox"])
        p["area"] = np.float32(0.0)  # what kpose's records carry for detections
        p["category_id"] = 1
    return allp


def to_columns(preds: list[dict]) -> dict[str, np.ndarray]:
    return dict(
        keypoints=np.stack([p["keypoints"] for p in preds]),
        keypoint_scores=np.stack([p["keypoint_scores"] for p in preds]),
        img_id=np.array([p["img_id"] for p in preds], dtype=np.int64),
        id=np.array([p["id"] for p in preds], dtype=np.int64),
        bbox=np.stack([p["bbox"] for p in preds]),
        bbox_score=np.array([p["bbox_score"] for p in preds], dtype=np.float32),
        scale=np.stack([p["scale"] for p in preds]),
        area=np.array([p["area"] for p in preds], dtype=np.float32),
        category_id=np.array([p["category_id"] for p in preds], dtype=np.int64))


def mmpose_data_samples(preds: list[dict]) -> list[dict]:
    """MMPose's top-down data samples: one instance each, as PackPoseInputs + predict."""
    from mmpose.structures.bbox import bbox_xyxy2xywh  # noqa: F401 (checks the venv)
    samples = []
    for p in preds:
        samples.append(dict(
            id=int(p["id"]), img_id=int(p["img_id"]), category_id=int(p["category_id"]),
            pred_instances=dict(keypoints=p["keypoints"][None],
                                keypoint_scores=p["keypoint_scores"][None],
                                bboxes=p["bbox"][None],
                                bbox_scores=np.array([p["bbox_score"]], np.float32)),
            gt_instances=dict(bbox_scales=p["scale"][None],
                              bbox_scores=np.array([p["bbox_score"]], np.float32))))
    return samples


def run_coco_metric(ann_file: str, preds: list[dict], batch: int = 4, **kwargs) -> dict:
    from mmpose.evaluation.metrics import CocoMetric
    samples = mmpose_data_samples(preds)
    with contextlib.redirect_stdout(io.StringIO()):
        metric = CocoMetric(ann_file=ann_file, **kwargs)
        metric.dataset_meta = dict(dataset_name="coco", num_keypoints=K, sigmas=COCO_SIGMAS)
        for i in range(0, len(samples), batch):
            metric.process([], samples[i:i + batch])
        out = metric.compute_metrics(metric.results)
    return {k: float(v) for k, v in out.items()}


def nms_goldens(preds: list[dict]) -> tuple[dict, dict]:
    """Per-image NMS inputs in MMPose's kpts_db form and the indices MMPose keeps."""
    from mmpose.evaluation.functional import oks_nms, soft_oks_nms
    arrays, keeps = {}, {}
    for img_id in sorted({p["img_id"] for p in preds}):
        group = [p for p in preds if p["img_id"] == img_id]
        if len(group) < 2:
            continue
        db = [dict(keypoints=np.concatenate([p["keypoints"], p["keypoint_scores"][:, None]],
                                            axis=1),
                   score=float(p["bbox_score"] * p["keypoint_scores"].mean()),
                   area=float(np.prod(p["scale"]))) for p in group]
        arrays[f"nms_{img_id}_keypoints"] = np.stack([d["keypoints"] for d in db])
        arrays[f"nms_{img_id}_score"] = np.array([d["score"] for d in db])
        arrays[f"nms_{img_id}_area"] = np.array([d["area"] for d in db])
        keeps[str(img_id)] = dict(
            oks_0p9=oks_nms(db, 0.9, sigmas=COCO_SIGMAS).tolist(),
            oks_0p02_vis0p5=oks_nms(db, 0.02, sigmas=COCO_SIGMAS, vis_thr=0.5).tolist(),
            oks_0p01_default_sigmas=oks_nms(db, 0.01).tolist(),
            soft_0p9=np.asarray(soft_oks_nms(db, 0.9, sigmas=COCO_SIGMAS)).tolist(),
            soft_0p3_max2=np.asarray(
                soft_oks_nms(db, 0.3, max_dets=2, sigmas=COCO_SIGMAS)).tolist())
    return arrays, keeps


def pck_goldens(rng: np.random.Generator, gt: dict) -> tuple[dict, dict]:
    """PCK inputs (one row per labelled person plus two corner cases) and MMPose's PCK."""
    from mmpose.evaluation.functional import keypoint_auc, keypoint_epe, keypoint_nme
    from mmpose.evaluation.metrics import PCKAccuracy
    people = [a for a in gt["annotations"] if not a["iscrowd"]]
    gt_kpts, vis, boxes = [], [], []
    for a in people:
        g = np.array(a["keypoints"], dtype=np.float32).reshape(K, 3)
        x, y, w, h = a["bbox"]
        gt_kpts.append(g[:, :2])
        vis.append((g[:, 2] > 0).astype(np.float32))
        boxes.append([x, y, x + w, y + h])
    gt_kpts = np.stack(gt_kpts)
    vis = np.stack(vis)
    boxes = np.array(boxes, dtype=np.float32)
    boxes[0, 2:] = boxes[0, :2]  # a degenerate box: its keypoints are left out
    gt_kpts[1, 5] = gt_kpts[1, 4] + 0.5  # torso < 1 px: MMPose falls back to the preds
    vis[1, 4:6] = 1.0
    size = (boxes[:, 2:] - boxes[:, :2]).max(axis=1, keepdims=True)[:, :, None]
    pred = (gt_kpts + rng.normal(0, 1, gt_kpts.shape) * rng.uniform(0.01, 0.15, (len(people), 1, 1))
            * np.maximum(size, 20)).astype(np.float32)
    head = rng.uniform(10, 60, len(people)).astype(np.float32)
    inputs = dict(pck_keypoints=pred, pck_gt_keypoints=gt_kpts, pck_keypoints_visible=vis,
                  pck_bbox=boxes, pck_head_size=head)

    def run(thr, norm_item):
        metric = PCKAccuracy(thr=thr, norm_item=norm_item)
        samples = [dict(pred_instances=dict(keypoints=pred[i:i + 1]),
                        gt_instances=dict(keypoints=gt_kpts[i:i + 1],
                                          keypoints_visible=vis[i:i + 1],
                                          bboxes=boxes[i:i + 1], head_size=head[i:i + 1]))
                   for i in range(len(people))]
        with contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            metric.process([], samples[:7])
            metric.process([], samples[7:])
            out = metric.compute_metrics(metric.results)
        return {k: float(v) for k, v in out.items()}

    mask = vis > 0
    norm = np.full((len(people), 2), 100.0, dtype=np.float32)
    expected = dict(
        pck_0p05_bbox=run(0.05, "bbox"),
        pck_0p2_all=run(0.2, ["bbox", "head", "torso"]),
        auc_30=float(keypoint_auc(pred, gt_kpts, mask, 30.0, num_thrs=20)),
        epe=float(keypoint_epe(pred, gt_kpts, mask)),
        nme_100=float(keypoint_nme(pred, gt_kpts, mask, norm)))
    return inputs, expected


COCO_SETTINGS = {
    "default": dict(),
    "soft_oks_nms": dict(nms_mode="soft_oks_nms"),
    "no_nms_bbox_score": dict(nms_mode="none", score_mode="bbox"),
    "keypoint_score_nms_0p5": dict(score_mode="keypoint", nms_thr=0.5),
    "bbox_rle": dict(score_mode="bbox_rle"),
    "no_area_thr_0p5": dict(use_area=False, keypoint_score_thr=0.5),
}


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240607)
    gt = build_ground_truth(rng)
    ann_file = OUT_DIR / "coco_metric_gt.json"
    ann_file.write_text(json.dumps(gt, indent=1))
    preds = build_predictions(rng, gt)
    expected = {"coco": {}}
    for name, kwargs in COCO_SETTINGS.items():
        expected["coco"][name] = dict(kwargs=kwargs,
                                      result=run_coco_metric(str(ann_file), preds, **kwargs))
    # perfect predictions: the ground truth itself with unit scores
    perfect = []
    for a in gt["annotations"]:
        if a["iscrowd"] or not any(a["keypoints"][2::3]):
            continue
        g = np.array(a["keypoints"], dtype=np.float32).reshape(K, 3)
        x, y, w, h = a["bbox"]
        box = np.array([x, y, x + w, y + h], np.float32)
        perfect.append(dict(img_id=a["image_id"], id=a["id"], keypoints=g[:, :2],
                            keypoint_scores=np.ones(K, np.float32), bbox=box,
                            bbox_score=np.float32(1.0), scale=_padded_scale(box),
                            area=np.float32(a["area"]), category_id=1))
    expected["coco"]["perfect"] = dict(kwargs={}, result=run_coco_metric(str(ann_file),
                                                                         perfect))
    nms_arrays, expected["nms"] = nms_goldens(preds)
    pck_inputs, expected["pck"] = pck_goldens(rng, gt)
    columns = to_columns(preds)
    np.savez_compressed(OUT_DIR / "coco_metric_inputs.npz", **columns, **nms_arrays,
                        **pck_inputs,
                        **{f"perfect_{k}": v for k, v in to_columns(perfect).items()},
                        sigmas=COCO_SIGMAS)
    (OUT_DIR / "coco_metric_expected.json").write_text(json.dumps(expected, indent=1))
    print(json.dumps(expected, indent=1))
    print("wrote", *sorted(os.listdir(OUT_DIR)), file=sys.stderr)


# --------------------------------------------------------------------------------------
# Dataset-specific 2D metrics (MPII, JHMDB, faces, hands, COCO-WholeBody, partitions)
# --------------------------------------------------------------------------------------
WB_SIZES = (17, 6, 68, 21, 21)
WB_FIELDS = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")


def _samples(pred, gt, vis, **gt_extra):
    """MMPose top-down data samples, one instance each."""
    out = []
    for i in range(len(pred)):
        g = dict(keypoints=gt[i:i + 1], keypoints_visible=vis[i:i + 1])
        for key, value in gt_extra.items():
            g[key] = value[i:i + 1]
        out.append(dict(pred_instances=dict(keypoints=pred[i:i + 1]), gt_instances=g))
    return out


def _run_metric(metric, samples, dataset_meta=None, batch=5):
    if dataset_meta is not None:
        metric.dataset_meta = dataset_meta
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(0, len(samples), batch):
                metric.process([], samples[i:i + batch])
            # a partition metric evaluates through its children
            out = metric.evaluate(len(samples)) if hasattr(metric, "partitions") else \
                metric.compute_metrics(metric.results)
    return {k: float(v) for k, v in out.items()}


def _noisy(rng, n, k, spread, noise):
    gt = rng.uniform(20, 20 + spread, (n, k, 2)).astype(np.float32)
    pred = (gt + rng.normal(0, 1, gt.shape) * rng.uniform(0.2, 1.5, (n, 1, 1)) * noise).astype(np.float32)
    vis = (rng.uniform(0, 1, (n, k)) > 0.15).astype(np.float32)
    return pred, gt, vis


def metric2d_goldens(rng: np.random.Generator) -> tuple[dict, dict]:
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    from mmpose.evaluation.metrics import (AUC, EPE, NME, JhmdbPCKAccuracy,
                                           KeypointPartitionMetric, MpiiPCKAccuracy)
    datasets_dir = Path(__import__("mmpose").__file__).parent / ".mim" / "configs" / "_base_" / "datasets"

    def meta(stem):
        return parse_pose_metainfo({"from_file": str(datasets_dir / f"{stem}.py")})

    arrays, expected = {}, {}
    # MPII: 16 keypoints, head sizes; joint 7 (thorax) never labelled in one column
    pred, gt, vis = _noisy(rng, 23, 16, 150, 6.0)
    vis[:, 7] = 0
    head = rng.uniform(15, 50, 23).astype(np.float32)
    arrays.update(mpii_keypoints=pred, mpii_gt_keypoints=gt, mpii_keypoints_visible=vis, mpii_head_size=head)
    samples = _samples(pred, gt, vis, head_size=head)
    expected["mpii_pckh_0p5"] = _run_metric(MpiiPCKAccuracy(), samples)
    expected["mpii_pckh_0p3"] = _run_metric(MpiiPCKAccuracy(thr=0.3), samples)
    # JHMDB: 15 keypoints, boxes, torso (one tiny ground-truth torso)
    pred, gt, vis = _noisy(rng, 19, 15, 120, 5.0)
    gt[2, 5] = gt[2, 4] + 0.3
    boxes = np.concatenate([gt.min(axis=1) - 5, gt.max(axis=1) + 5], axis=1).astype(np.float32)
    arrays.update(jhmdb_keypoints=pred, jhmdb_gt_keypoints=gt, jhmdb_keypoints_visible=vis, jhmdb_bbox=boxes)
    samples = _samples(pred, gt, vis, bboxes=boxes)
    expected["jhmdb_0p2_bbox_torso"] = _run_metric(JhmdbPCKAccuracy(thr=0.2, norm_item=["bbox", "torso"]), samples)
    expected["jhmdb_0p05_bbox"] = _run_metric(JhmdbPCKAccuracy(), samples)
    # faces: one set per layout, NME by the dataset's default keypoint pair
    expected["nme"] = {}
    for stem in ("300w", "coco_wholebody_face", "cofw", "wflw", "lapa", "horse10"):
        m = meta(stem)
        pred, gt, vis = _noisy(rng, 9, m["num_keypoints"], 100, 2.0)
        arrays.update({f"nme_{stem}_keypoints": pred, f"nme_{stem}_gt_keypoints": gt,
                       f"nme_{stem}_keypoints_visible": vis})
        expected["nme"][stem] = _run_metric(NME(norm_mode="keypoint_distance"), _samples(pred, gt, vis), m)
    pred, gt, vis = _noisy(rng, 11, 19, 100, 3.0)
    boxes = np.concatenate([gt.min(axis=1), gt.max(axis=1)], axis=1).astype(np.float32)
    arrays.update(nme_aflw_keypoints=pred, nme_aflw_gt_keypoints=gt, nme_aflw_keypoints_visible=vis,
                  nme_aflw_bbox=boxes)
    expected["nme"]["aflw_bbox_size"] = _run_metric(NME(norm_mode="use_norm_item", norm_item="bbox_size"),
                                                    _samples(pred, gt, vis, bboxes=boxes))
    expected["nme"]["wflw_indices_0_32"] = _run_metric(
        NME(norm_mode="keypoint_distance", keypoint_indices=[0, 32]),
        _samples(*[arrays[f"nme_wflw_{k}"] for k in ("keypoints", "gt_keypoints", "keypoints_visible")]),
        meta("wflw"))
    # hands: AUC and EPE
    pred, gt, vis = _noisy(rng, 17, 21, 80, 8.0)
    arrays.update(hand_keypoints=pred, hand_gt_keypoints=gt, hand_keypoints_visible=vis)
    samples = _samples(pred, gt, vis)
    expected["auc_30_20"] = _run_metric(AUC(), samples)
    expected["auc_20_10"] = _run_metric(AUC(norm_factor=20, num_thrs=10), samples)
    expected["epe"] = _run_metric(EPE(), samples)
    # partitions of the hand set: PCK (bbox), AUC, EPE, NME (bbox_size)
    boxes = np.concatenate([gt.min(axis=1), gt.max(axis=1)], axis=1).astype(np.float32)
    arrays["hand_bbox"] = boxes
    parts = dict(thumb=[1, 2, 3, 4], index=[5, 6, 7, 8], palm=[0, 1, 5, 9, 13, 17])
    samples = _samples(pred, gt, vis, bboxes=boxes)
    hand_meta = dict(meta("onehand10k"), sigmas=np.ones(21, np.float32))  # its file gives no sigmas
    expected["partition"] = {
        "pck_0p2": _run_metric(KeypointPartitionMetric(dict(type="PCKAccuracy", thr=0.2), parts), samples,
                               hand_meta),
        "auc": _run_metric(KeypointPartitionMetric(dict(type="AUC"), parts), samples, hand_meta),
        "epe": _run_metric(KeypointPartitionMetric(dict(type="EPE"), parts), samples, hand_meta),
        "nme_bbox": _run_metric(KeypointPartitionMetric(
            dict(type="NME", norm_mode="use_norm_item", norm_item="bbox_size"), parts), samples,
            hand_meta),
    }
    return arrays, expected


def _wholebody_gt(rng: np.random.Generator) -> dict:
    k = sum(WB_SIZES)
    images, anns, ann_id = [], [], 0
    for img_id, n in [(11, 3), (22, 4), (33, 2), (44, 0)]:
        images.append(dict(id=img_id, file_name=f"{img_id:012d}.jpg", width=IMG_W, height=IMG_H))
        for _ in range(n):
            h = rng.uniform(40, 380)
            w = h * rng.uniform(0.4, 0.8)
            x0, y0 = rng.uniform(0, IMG_W - w), rng.uniform(0, IMG_H - h)
            xy = np.stack([rng.uniform(x0, x0 + w, k), rng.uniform(y0, y0 + h, k)], axis=1)
            vis = rng.choice([0, 1, 2], size=k, p=[0.25, 0.15, 0.6])
            xy[vis == 0] = 0.0
            flat = np.concatenate([np.round(xy, 2), vis[:, None]], axis=1)
            ann = dict(id=ann_id, image_id=img_id, category_id=1, iscrowd=0,
                       bbox=[round(float(v), 2) for v in (x0, y0, w, h)],
                       area=round(float(w * h * rng.uniform(0.45, 0.7)), 2))
            cuts = np.cumsum((0,) + WB_SIZES)
            for field, lo, hi in zip(WB_FIELDS, cuts[:-1], cuts[1:]):
                part = flat[lo:hi].reshape(-1)
                ann[field] = [float(v) if i % 3 != 2 else int(v) for i, v in enumerate(part)]
            ann["num_keypoints"] = int((vis[:17] > 0).sum())
            anns.append(ann)
            ann_id += 3
    anns[1]["lefthand_kpts"] = [0] * 63  # a person without a labelled left hand
    anns[4]["face_kpts"] = [0] * 204
    return dict(info=dict(description="kpose wholebody metric goldens"), licenses=[], images=images,
                annotations=anns, categories=[dict(id=1, name="person", supercategory="person")])


def wholebody_goldens(rng: np.random.Generator) -> tuple[dict, dict, dict, dict]:
    import tempfile

    from mmpose.evaluation.metrics import CocoWholeBodyMetric, KeypointPartitionMetric
    from xtcocotools.coco import COCO as XCOCO
    from xtcocotools.cocoeval import COCOeval as XCOCOeval

    gt = _wholebody_gt(rng)
    k = sum(WB_SIZES)
    datasets_dir = Path(__import__("mmpose").__file__).parent / ".mim" / "configs" / "_base_" / "datasets"
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    meta = parse_pose_metainfo({"from_file": str(datasets_dir / "coco_wholebody.py")})
    sigmas = meta["sigmas"]
    preds = []
    for a in gt["annotations"]:
        g = np.concatenate([np.array(a[f], dtype=np.float64).reshape(-1, 3) for f in WB_FIELDS])
        x, y, w, h = a["bbox"]
        kpts = g[:, :2] + rng.normal(0, rng.uniform(0.005, 0.06) * h, (k, 2))
        miss = g[:, 2] == 0
        kpts[miss] = np.stack([rng.uniform(x, x + w, k), rng.uniform(y, y + h, k)], axis=1)[miss]
        box = np.array([x, y, x + w, y + h], np.float32)
        preds.append(dict(img_id=a["image_id"], id=a["id"], keypoints=kpts.astype(np.float32),
                          keypoint_scores=rng.uniform(0.05, 1, k).astype(np.float32), bbox=box,
                          bbox_score=np.float32(rng.uniform(0.5, 1)), scale=_padded_scale(box),
                          area=np.float32(0), category_id=1))
    preds[2]["keypoint_scores"][91:112] = 0.0  # no positive left-hand score: dropped there
    dup = _copy(preds[0])
    dup["id"] = 900
    dup["keypoints"] = dup["keypoints"] + rng.normal(0, 0.5, (k, 2)).astype(np.float32)
    fp = _copy(preds[3])
    fp["id"], fp["img_id"] = 901, 44
    preds += [dup, fp]
    gt_file = OUT_DIR / "wholebody_metric_gt.json"
    gt_file.write_text(json.dumps(gt, indent=1))
    expected = {}
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "wb")
        metric = CocoWholeBodyMetric(ann_file=str(gt_file), outfile_prefix=prefix)
        expected["default"] = _run_metric(metric, mmpose_data_samples(preds),
                                          dict(dataset_name="coco_wholebody", num_keypoints=k, sigmas=sigmas))
        # per-part AP/AR from xtcocotools on MMPose's own result file
        with contextlib.redirect_stdout(io.StringIO()):
            coco = XCOCO(str(gt_file))
            det = coco.loadRes(f"{prefix}.keypoints.json")
            cuts = np.cumsum((0,) + WB_SIZES)
            for part, lo, hi in zip(("body", "foot", "face", "lefthand", "righthand"), cuts[:-1], cuts[1:]):
                ev = XCOCOeval(coco, det, f"keypoints_{part}", sigmas[lo:hi], use_area=True)
                ev.params.useSegm = None
                ev.evaluate()
                ev.accumulate()
                ev.summarize()
                expected["default"][f"{part}/AP"] = float(ev.stats[0])
                expected["default"][f"{part}/AR"] = float(ev.stats[5])
        metric = CocoWholeBodyMetric(ann_file=str(gt_file), use_area=False, nms_mode="none", score_mode="keypoint")
        expected["no_area_no_nms"] = _run_metric(metric, mmpose_data_samples(preds),
                                                 dict(dataset_name="coco_wholebody", num_keypoints=k, sigmas=sigmas))
    # KeypointPartitionMetric over CocoMetric: the ground truth with all K in 'keypoints'
    flat_gt = json.loads(json.dumps(gt))
    for a in flat_gt["annotations"]:
        a["keypoints"] = [v for f in WB_FIELDS for v in a.pop(f)]
    part_file = OUT_DIR / "partition_metric_gt.json"
    part_file.write_text(json.dumps(flat_gt, indent=1))
    samples = mmpose_data_samples(preds)
    anns_by_id = {a["id"]: a for a in flat_gt["annotations"]}
    for smp in samples:
        smp["ori_shape"] = (IMG_H, IMG_W)
        # a top-down sample carries its own annotation (none for the duplicate / false positive)
        own = anns_by_id.get(smp["id"])
        smp["raw_ann_info"] = [json.loads(json.dumps(own))] if own is not None else []
        smp["gt_instances"]["keypoints"] = np.zeros((1, k, 2), np.float32)
        smp["gt_instances"]["keypoints_visible"] = np.zeros((1, k), np.float32)
    parts = dict(body=list(range(17)), foot=list(range(17, 23)), face=list(range(23, 91)),
                 hands=list(range(91, 133)))
    metric = KeypointPartitionMetric(dict(type="CocoMetric", score_mode="bbox", nms_mode="none"), parts)
    metric.dataset_meta = dict(dataset_name="coco_wholebody", num_keypoints=k, sigmas=sigmas,
                               CLASSES=gt["categories"])
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for i in range(0, len(samples), 4):
                metric.process([], samples[i:i + 4])
            out = metric.evaluate(len(samples))
    # MMPose inserts the wrapped metric's prefix ('body/coco/AP'); kpose names 'body/AP'
    expected["partition_coco_bbox_nonms"] = {k2.replace("/coco/", "/"): float(v) for k2, v in out.items()}
    cols = to_columns(preds)
    return {f"wb_{key}": v for key, v in cols.items()}, {"wb_sigmas": sigmas}, expected, parts


def main_metric2d() -> None:
    rng = np.random.default_rng(20250101)
    arrays, expected = metric2d_goldens(rng)
    wb_cols, wb_meta, expected["wholebody"], parts = wholebody_goldens(rng)
    expected["wholebody_partitions"] = parts
    np.savez_compressed(OUT_DIR / "metric2d_inputs.npz", **arrays, **wb_cols, **wb_meta)
    (OUT_DIR / "metric2d_expected.json").write_text(json.dumps(expected, indent=1))
    print(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main()
    main_metric2d()
