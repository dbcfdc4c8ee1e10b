"""2D keypoint sequences -> 3D poses with a PoseLifter, and a 3D pose drawing."""

import inspect
from typing import Any, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
import tensorflow as tf

from kpose.datasets.human36m_dataset import sequence_indices

# H36M joint <- COCO joint(s), as MMPose's convert_keypoint_definition('coco', 'h36m').
_COCO_TO_H36M = {1: [12], 2: [14], 3: [16], 4: [11], 5: [13], 6: [15], 9: [0],
                 11: [5], 12: [7], 13: [9], 14: [6], 15: [8], 16: [10],
                 0: [11, 12], 8: [5, 6], 10: [1, 2]}


def coco_to_h36m(keypoints: np.ndarray) -> np.ndarray:
    """COCO's 17 keypoints (..., 17, D) -> Human3.6M's 17 joints (..., 17, D).

    Pelvis = mid-hips, thorax = mid-shoulders, spine = their midpoint, head = mid-eyes,
    neck base = nose; the limbs map one to one (MMPose's conversion for lifting). Extra
    channels (scores) are converted the same way.
    """
    keypoints = np.asarray(keypoints, np.float32)
    if keypoints.shape[-2] != 17:
        raise ValueError(f"COCO keypoints need 17 joints, received shape {keypoints.shape}")
    out = np.zeros_like(keypoints)
    for h36m, coco in _COCO_TO_H36M.items():
        out[..., h36m, :] = keypoints[..., coco, :].mean(axis=-2)
    out[..., 7, :] = (out[..., 0, :] + out[..., 8, :]) / 2
    return out


def inference_pose_lifter(model: Any, keypoints: np.ndarray,
                          image_size: Optional[Sequence[float]] = None,
                          keypoints_visible: Optional[np.ndarray] = None,
                          batch_size: int = 64) -> Dict[str, np.ndarray]:
    """Lifts a 2D keypoint track (e.g. a top-down model's output on a video) to 3D.

    Each frame gets a window of `model.receptive_field` frames centred on it (ending on it
    for a causal backbone), padded at the track ends with the first / last frame as
    MMPose's `pad_video_seq`; the window is encoded by the model's codec and lifted.

    Args:
        model: a `PoseLifter` with trained weights.
        keypoints: (T, K, 2) pixel keypoints of one person over T frames, in the
            dataset's joint layout (see `coco_to_h36m`).
        image_size: (w, h) of the video frames; needed by `VideoPoseLifting`.
        keypoints_visible: (T, K) visibilities or scores; None means 1.
        batch_size: windows per model call.

    Returns:
        {"keypoints": (T, K, 3) root-relative 3D poses (the codec's target units, metres
        for Human3.6M-trained models), "keypoint_scores": (T, K)}.
    """
    keypoints = np.asarray(keypoints, np.float32)
    if keypoints.ndim != 3 or keypoints.shape[-1] != 2 or len(keypoints) == 0:
        raise ValueError(f"keypoints must be (T, K, 2) with T >= 1, received shape "
                         f"{keypoints.shape}")
    num = len(keypoints)
    visible = np.ones(keypoints.shape[:2], np.float32) if keypoints_visible is None else \
        np.asarray(keypoints_visible, np.float32)
    if visible.shape != keypoints.shape[:2]:
        raise ValueError(f"keypoints_visible must be {keypoints.shape[:2]}, received "
                         f"{visible.shape}")
    codec = model.codec
    kwargs = {}
    if "camera_param" in inspect.signature(codec.encode).parameters:
        if image_size is None or len(image_size) != 2:
            raise ValueError(f"{type(codec).__name__} normalises by the image size: pass "
                             f"image_size=(w, h), received {image_size!r}")
        kwargs["camera_param"] = {"w": float(image_size[0]), "h": float(image_size[1])}
    field = model.receptive_field
    windows = sequence_indices(np.arange(num), field, 1, True, model.causal)
    inputs = []
    for ids in windows:
        encoded = codec.encode(keypoints[ids], visible[ids], None, None, **kwargs)
        inputs.append(encoded["keypoint_labels"])
    inputs = np.stack(inputs)
    outputs = []
    for start in range(0, num, batch_size):
        out = model(tf.constant(inputs[start:start + batch_size]), training=False)
        outputs.append(np.asarray(out[0] if isinstance(out, tuple) else out))
    poses, scores = codec.batch_decode(np.concatenate(outputs))
    return {"keypoints": np.asarray(poses, np.float32),
            "keypoint_scores": np.asarray(scores, np.float32)}


def _view_rotation(elevation: float, azimuth: float) -> np.ndarray:
    """Camera-coordinate pose (x right, y down, z forward) -> view (x right, y down)."""
    el, az = np.deg2rad(elevation), np.deg2rad(azimuth)
    yaw = np.array([[np.cos(az), 0, np.sin(az)], [0, 1, 0], [-np.sin(az), 0, np.cos(az)]])
    pitch = np.array([[1, 0, 0], [0, np.cos(el), -np.sin(el)], [0, np.sin(el), np.cos(el)]])
    return pitch @ yaw


def draw_pose_3d(keypoints: np.ndarray, skeleton: Sequence[Tuple[int, int]],
                 size: Tuple[int, int] = (320, 320), elevation: float = 15.0,
                 azimuth: float = 70.0, extent: Optional[float] = None,
                 link_colors: Optional[Sequence[Sequence[int]]] = None) -> np.ndarray:
    """An orthographic drawing of a 3D pose (matplotlib-free): a uint8 RGB image.

    The pose is taken in camera coordinates (x right, y down, z away, as Human3.6M's `S`),
    centred on its root (joint 0), turned by `azimuth` about the vertical and tilted by
    `elevation`, and projected orthographically; a floor grid under the feet and farther
    joints drawn first give depth cues.

    Args:
        keypoints: (K, 3) joints.
        skeleton: joint index pairs to connect (the metainfo's `skeleton_links`).
        size: (w, h) of the image.
        elevation, azimuth: view angles in degrees.
        extent: half-width of the drawn cube in the pose's units; None fits the pose.
        link_colors: RGB colour per link; default light blue.

    Returns:
        (h, w, 3) uint8 image.
    """
    keypoints = np.asarray(keypoints, np.float64)
    if keypoints.ndim != 2 or keypoints.shape[1] != 3:
        raise ValueError(f"keypoints must be (K, 3), received shape {keypoints.shape}")
    w, h = size
    centred = keypoints - keypoints[0]
    extent = extent or max(float(np.abs(centred).max()) * 1.1, 1e-6)
    rot = _view_rotation(elevation, azimuth)
    scale = 0.45 * min(w, h) / extent
    centre = np.array([w / 2, h / 2])

    def to_image(points):
        view = points @ rot.T
        return view[:, :2] * scale + centre, view[:, 2]

    image = np.full((h, w, 3), 255, np.uint8)
    floor = centred[:, 1].max()  # y points down: the lowest joint
    ticks = np.linspace(-extent, extent, 5)
    for t in ticks:
        for a, b in (((t, floor, -extent), (t, floor, extent)),
                     ((-extent, floor, t), (extent, floor, t))):
            (p, q), _ = to_image(np.array([a, b]))
            cv2.line(image, tuple(np.round(p).astype(int)), tuple(np.round(q).astype(int)),
                     (210, 210, 210), 1, cv2.LINE_AA)
    points, depth = to_image(centred)
    order = sorted(range(len(skeleton)),
                   key=lambda i: -(depth[skeleton[i][0]] + depth[skeleton[i][1]]))
    for i in order:
        a, b = skeleton[i]
        color = (51, 153, 255) if link_colors is None else link_colors[i]
        color = tuple(int(c) for c in color)
        cv2.line(image, tuple(np.round(points[a]).astype(int)),
                 tuple(np.round(points[b]).astype(int)), color, 2, cv2.LINE_AA)
    for p in points:
        cv2.circle(image, tuple(np.round(p).astype(int)), 3, (40, 40, 40), -1, cv2.LINE_AA)
    return image
