"""Inferencer: top-down pose estimation over images, folders, videos and webcams."""

import json
import os
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Union

import cv2
import gin
import numpy as np

from kpose.apis.export import IMAGE_EXTENSIONS, list_images
from kpose.apis.pose_tracker import PoseTracker

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
Source = Union[str, int, np.ndarray]


def _xywh_to_xyxy(box: Sequence[float]) -> List[float]:
    x, y, w, h = (float(v) for v in box[:4])
    return [x, y, x + w, y + h]


def load_detections(path: str) -> Dict[Any, np.ndarray]:
    """Reads person boxes from a detections json.

    Accepts a COCO-results list (`bbox` xywh, `score`, optional `category_id`, keyed by
    `file_name` or `image_id`) or a dict `{key: [[x1, y1, x2, y2, score], ...]}`. A key is
    an image file name (matched by basename) or a frame index (`image_id` / int: the
    frame's position in a video or folder).

    Returns:
        `{key: (N, 5) float32 xyxy + score}`.
    """
    with open(path) as f:
        data = json.load(f)
    boxes: Dict[Any, list] = {}
    if isinstance(data, dict):
        for key, rows in data.items():
            key = int(key) if str(key).isdigit() else os.path.basename(str(key))
            for row in rows:
                score = float(row[4]) if len(row) > 4 else 1.0
                boxes.setdefault(key, []).append([float(v) for v in row[:4]] + [score])
    elif isinstance(data, list):
        for det in data:
            if det.get("category_id", 1) != 1:
                continue  # persons only (COCO category 1)
            key = (os.path.basename(det["file_name"]) if "file_name" in det
                   else int(det["image_id"]))
            boxes.setdefault(key, []).append(_xywh_to_xyxy(det["bbox"]) +
                                             [float(det.get("score", 1.0))])
    else:
        raise ValueError(f"{path}: detections must be a list or a dict, received "
                         f"{type(data).__name__}")
    return {k: np.asarray(v, np.float32).reshape(-1, 5) for k, v in boxes.items()}


@gin.register
class Inferencer:
    """Runs a top-down pose model over images, a folder, a video file or a webcam.

    Person boxes come from, in order of precedence: `bboxes` given to the call, a
    detections json, a `detector` callable, or else the whole frame. Each frame yields
    MMPose-style instance dicts: `keypoints` (K, 2) image pixels, `keypoint_scores` (K,),
    `bbox` (4,) xyxy, `bbox_score`, `track_id` (video with tracking; else None).

    Args:
        model: a `TopdownPoseEstimator`, or the path of an exported artifact
            (SavedModel folder, `.tflite`, `.keras`; its metadata json gives the metainfo).
        metainfo: a `DatasetMeta` or name for drawing and OKS; defaults to the
            artifact's metadata, else "coco".
        detector: callable `image (H, W, 3) uint8 RGB -> (N, 4) xyxy or (N, 5) with score`.
        detections: path of a detections json (see `load_detections`).
        bbox_thr: boxes scoring below this are dropped.
        tracking: None, "iou" or "oks": track ids across video frames.
        smoothing: None, True (a default `OneEuroFilter`) or a filter factory; needs
            tracking (smoothing follows a track). Off by default.
        kpt_thr: keypoint score threshold for drawing and OKS.
    """

    def __init__(self, model: Any, metainfo: Any = None,
                 detector: Optional[Callable[[np.ndarray], np.ndarray]] = None,
                 detections: Optional[str] = None, bbox_thr: float = 0.0,
                 tracking: Optional[str] = None, smoothing: Any = None,
                 kpt_thr: float = 0.3) -> None:
        from kpose.apis.exported_model import ExportedModel
        from kpose.datasets import metainfo as metainfo_lib

        if isinstance(model, (str, os.PathLike)):
            self.model = ExportedModel(os.fspath(model))
            if metainfo is None and "keypoint_names" in self.model.metadata:
                metainfo = self.model.metadata.get("dataset_name") or "coco"
        elif callable(getattr(model, "predict_step", None)) and hasattr(model, "codec"):
            self.model = model
        else:
            raise ValueError(f"model must be a top-down estimator or an artifact path, "
                             f"received {model!r}")
        try:
            self.metainfo = metainfo_lib.load(metainfo if metainfo is not None else "coco")
        except ValueError:
            self.metainfo = metainfo_lib.load("coco")
        if detector is not None and not callable(detector):
            raise ValueError(f"detector must be callable image -> boxes, received {detector!r}")
        self.detector = detector
        self.detections = load_detections(detections) if detections else None
        self.bbox_thr = float(bbox_thr)
        self.kpt_thr = float(kpt_thr)
        if smoothing is True:
            from kpose.apis.one_euro_filter import OneEuroFilter
            smoothing = OneEuroFilter
        if smoothing and tracking is None:
            raise ValueError("smoothing needs tracking ('iou' or 'oks'): a filter follows a track")
        self.tracker = None
        if tracking is not None:
            self.tracker = PoseTracker(matching=tracking, sigmas=self.metainfo.sigmas,
                                       kpt_thr=kpt_thr, smoothing=smoothing or None)

    # ---------------------------------------------------------------- estimation

    def predict(self, image: np.ndarray, bboxes: Optional[np.ndarray] = None
                ) -> List[Dict[str, Any]]:
        """Instances of one RGB image for (N, 4|5) xyxy[+score] boxes (None: whole image).

        Inputs are checked as `kpose.apis.inference.check_image` / `check_bboxes` say:
        grayscale and RGBA images are converted, other dtypes, shapes and non-finite or
        inverted boxes raise ValueError; no boxes (or none above `bbox_thr`) give `[]`;
        zero-size boxes get keypoints at their centre with score 0.
        """
        from kpose.apis.inference import check_bboxes, check_image

        image = check_image(image)
        boxes, scores = check_bboxes(bboxes, image.shape[:2])
        if scores is None:
            scores = np.ones(len(boxes), np.float32)
        keep = scores >= self.bbox_thr
        boxes, scores = boxes[keep], scores[keep]
        if len(boxes) == 0:
            return []
        if hasattr(self.model, "predict_image"):
            keypoints, kpt_scores = self.model.predict_image(image, boxes)
        else:
            from kpose.apis.inference import inference_topdown
            results = inference_topdown(self.model, image, boxes)
            keypoints = np.stack([r["keypoints"] for r in results])
            kpt_scores = np.stack([r["keypoint_scores"] for r in results])
        return [{"keypoints": np.asarray(keypoints[i], np.float32),
                 "keypoint_scores": np.asarray(kpt_scores[i], np.float32),
                 "bbox": boxes[i], "bbox_score": float(scores[i]), "track_id": None}
                for i in range(len(boxes))]

    def _boxes_for(self, image: np.ndarray, name: Optional[str], index: int,
                   bboxes: Optional[np.ndarray]):
        if bboxes is not None:
            return bboxes
        if self.detections is not None:
            if name is not None and os.path.basename(name) in self.detections:
                return self.detections[os.path.basename(name)]
            if index in self.detections:
                return self.detections[index]
            return np.zeros((0, 5), np.float32)
        if self.detector is not None:
            return _as_boxes(self.detector(image))
        return None

    # ---------------------------------------------------------------- sources

    @staticmethod
    def _frames(source: Source) -> Iterator:
        """Yields (name, index, rgb image, timestamp seconds or None) for a source."""
        if isinstance(source, np.ndarray):
            yield None, 0, source, None
            return
        if isinstance(source, int):
            yield from _video_frames(source, f"webcam{source}")
            return
        path = os.fspath(source)
        if os.path.isdir(path):
            for i, f in enumerate(list_images(path)):
                yield f, i, _read_rgb(f), None
        elif path.lower().endswith(VIDEO_EXTENSIONS):
            yield from _video_frames(path, path)
        elif path.lower().endswith(IMAGE_EXTENSIONS):
            yield path, 0, _read_rgb(path), None
        else:
            raise ValueError(f"source must be an image, a folder, a video "
                             f"({', '.join(VIDEO_EXTENSIONS)}), a webcam index or an array; "
                             f"received {source!r}")

    def __call__(self, source: Source, bboxes: Optional[np.ndarray] = None,
                 out_dir: Optional[str] = None, draw: bool = True,
                 max_frames: Optional[int] = None) -> Iterator[Dict[str, Any]]:
        """Runs over a source, yielding one result per frame.

        Args:
            source: image path, folder, video path, webcam index (int) or an RGB array.
            bboxes: (N, 4|5) boxes used for every frame (overrides the other box sources).
            out_dir: if given, writes `predictions.json` (all frames) and the drawn
                frames: `vis/<image name>` for images, `<video name>.mp4` for video.
            draw: also return the drawn frame as `visualization` (and write it).
            max_frames: stop after this many frames (webcams run until then or forever).

        Yields:
            `{"frame_index", "source", "instances": [...], "visualization": image or None}`.
        """
        from kpose.visualization import draw_instances

        if self.tracker is not None:
            self.tracker.reset()
        records, writer = [], None
        is_video = isinstance(source, int) or (isinstance(source, (str, os.PathLike)) and
                                               os.fspath(source).lower().endswith(VIDEO_EXTENSIONS))
        try:
            for count, (name, index, image, stamp) in enumerate(self._frames(source)):
                if max_frames is not None and count >= max_frames:
                    break
                instances = self.predict(image, self._boxes_for(image, name, index, bboxes))
                if self.tracker is not None and is_video:
                    instances = self.tracker.update(instances, stamp)
                vis = draw_instances(image, instances, self.metainfo, self.kpt_thr) if (
                    draw or out_dir) else None
                if out_dir:
                    os.makedirs(out_dir, exist_ok=True)
                    if is_video:
                        if writer is None:
                            stem = "webcam" if isinstance(source, int) else os.path.splitext(
                                os.path.basename(os.fspath(source)))[0]
                            writer = cv2.VideoWriter(os.path.join(out_dir, f"{stem}.mp4"),
                                                     cv2.VideoWriter_fourcc(*"mp4v"), 30.0,
                                                     (image.shape[1], image.shape[0]))
                        writer.write(cv2.cvtColor(vis, cv2.COLOR_RGB2BGR))
                    else:
                        vis_dir = os.path.join(out_dir, "vis")
                        os.makedirs(vis_dir, exist_ok=True)
                        fname = os.path.basename(name) if name else f"{index:06d}.png"
                        cv2.imwrite(os.path.join(vis_dir, fname), cv2.cvtColor(vis, cv2.COLOR_RGB2BGR))
                    records.append({"frame_index": index, "source": name,
                                    "instances": [_jsonable(i) for i in instances]})
                yield {"frame_index": index, "source": name, "instances": instances,
                       "visualization": vis if draw else None}
        finally:
            if writer is not None:
                writer.release()
            if out_dir and records:
                with open(os.path.join(out_dir, "predictions.json"), "w") as f:
                    json.dump(records, f)


def _as_boxes(boxes: Any) -> np.ndarray:
    boxes = np.asarray(boxes, np.float32)
    if boxes.size == 0:
        return np.zeros((0, 5), np.float32)
    if boxes.ndim != 2 or boxes.shape[1] not in (4, 5):
        raise ValueError(f"detector must return (N, 4) or (N, 5) boxes, returned shape "
                         f"{boxes.shape}")
    return boxes


def _read_rgb(path: str) -> np.ndarray:
    data = cv2.imread(path, cv2.IMREAD_COLOR)
    if data is None:
        raise ValueError(f"cannot read image file {path!r}")
    return cv2.cvtColor(data, cv2.COLOR_BGR2RGB)


def _video_frames(source: Union[str, int], name: str) -> Iterator:
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise ValueError(f"cannot open video source {source!r}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            yield name, index, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), index / fps
            index += 1
    finally:
        capture.release()


def _jsonable(instance: Dict[str, Any]) -> Dict[str, Any]:
    return {k: (np.asarray(v).tolist() if isinstance(v, (np.ndarray, np.generic)) else v)
            for k, v in instance.items()}
