"""A built-in synthetic motion-capture source in Human3.6M's format, so lifters train here.

Skeletons with Human3.6M's 17 joints and fixed bone lengths move smoothly (walking-like
limb swings plus slow random posture changes: crouching, leaning, reaching) along a
wandering path; four cameras per take project them to 2D. The result is written exactly as
MMPose's preprocessed Human3.6M (`h36m_train.npz`-style `imgname`, `S`, `part`, `center`,
`scale`, and a `cameras.pkl`), so `Human36mDataset` reads it like the real thing.
"""

import json
import os
import pickle
from typing import Any, Dict, Sequence, Tuple

import gin
import numpy as np

# Bone lengths (metres), roughly Human3.6M subject S1's.
_HIP_HALF_WIDTH = 0.13
_THIGH, _SHIN = 0.45, 0.44
_SPINE, _THORAX, _NECK, _HEAD = 0.23, 0.25, 0.10, 0.12
_SHOULDER_HALF_WIDTH, _UPPER_ARM, _FOREARM = 0.16, 0.28, 0.25
_PELVIS_HEIGHT = 0.93
IMAGE_SIZE = (1000, 1002)  # (w, h) of Human3.6M's cameras 54138969 and 60457274
CAMERA_IDS = ("54138969", "55011271", "58860488", "60457274")
STAMP_FILE = "kpose_synthetic_mocap.json"
GENERATOR_VERSION = 1


def _rotation(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """(T, 3, 3) rotations by `angle` (T,) about the unit `axis` (3,) (Rodrigues)."""
    x, y, z = axis
    k = np.array([[0, -z, y], [z, 0, -x], [-y, x, 0]], np.float64)
    s = np.sin(angle)[:, None, None]
    c = np.cos(angle)[:, None, None]
    return np.eye(3) + s * k + (1 - c) * (k @ k)


def _apply(rot: np.ndarray, vec: Sequence[float]) -> np.ndarray:
    return rot @ np.asarray(vec, np.float64)


def _smooth(rng: np.random.Generator, t: np.ndarray, amplitude: float,
            max_hz: float = 0.5) -> np.ndarray:
    """A smooth random signal: three sinusoids of random low frequencies and phases."""
    out = np.zeros_like(t)
    for _ in range(3):
        out += rng.uniform(0.2, 1.0) * np.sin(2 * np.pi * rng.uniform(0.05, max_hz) * t +
                                              rng.uniform(0, 2 * np.pi))
    return amplitude * out / 3.0


FORWARD, LEFT, UP = np.eye(3)


def skeleton_motion(rng: np.random.Generator, num_frames: int, fps: float = 50.0
                    ) -> np.ndarray:
    """World coordinates (T, 17, 3) in metres (z up) of one take, in H36M's joint order.

    Joints: 0 root, 1-3 right hip/knee/foot, 4-6 left hip/knee/foot, 7 spine, 8 thorax,
    9 neck base, 10 head, 11-13 left shoulder/elbow/wrist, 14-16 right.
    """
    t = np.arange(num_frames) / fps
    gait_hz = rng.uniform(0.4, 1.1)
    phase = 2 * np.pi * gait_hz * t + rng.uniform(0, 2 * np.pi)
    swing = rng.uniform(0.1, 0.5)
    crouch = np.clip(rng.uniform(-0.3, 0.9) + _smooth(rng, t, 0.6), 0.0, 1.4)
    # A bounded wandering path (within about 1.5 m of its centre, so the cameras keep the
    # subject in view) and a heading that turns slowly.
    heading = rng.uniform(0, 2 * np.pi) + _smooth(rng, t, 1.5, 0.2)
    root = np.stack([_smooth(rng, t, 1.5, 0.15), _smooth(rng, t, 1.5, 0.15),
                     np.zeros_like(t)], -1)
    root[:, 2] = _PELVIS_HEIGHT - 0.35 * crouch * (1 - np.cos(np.minimum(crouch, 1.2))) \
        - 0.02 * np.abs(np.sin(phase))
    body = _rotation(UP, heading) @ _rotation(LEFT, 0.25 * crouch + _smooth(rng, t, 0.2))
    body = body @ _rotation(FORWARD, _smooth(rng, t, 0.1))
    joints = np.zeros((num_frames, 17, 3))
    joints[:, 0] = root
    pelvis = _rotation(UP, heading)
    for side, (hip_i, knee_i, foot_i), sign in ((-1, (1, 2, 3), 0.0), (1, (4, 5, 6), np.pi)):
        hip = root + _apply(pelvis, [0, side * _HIP_HALF_WIDTH, 0])
        flex = swing * np.sin(phase + sign) + crouch + _smooth(rng, t, 0.2)
        abduct = side * (0.05 + _smooth(rng, t, 0.1))
        thigh_rot = pelvis @ _rotation(LEFT, -flex) @ _rotation(FORWARD, -abduct)
        knee = hip + _apply(thigh_rot, [0, 0, -_THIGH])
        knee_flex = np.maximum(0.0, 1.2 * swing * np.sin(phase + sign + 1.2)) + 1.6 * crouch \
            + np.abs(_smooth(rng, t, 0.2))
        shin_rot = thigh_rot @ _rotation(LEFT, knee_flex)
        joints[:, hip_i] = hip
        joints[:, knee_i] = knee
        joints[:, foot_i] = knee + _apply(shin_rot, [0, 0, -_SHIN])
    joints[:, 7] = root + _apply(body, [0, 0, _SPINE])
    thorax = root + _apply(body, [0, 0, _SPINE + _THORAX])
    joints[:, 8] = thorax
    neck_rot = body @ _rotation(LEFT, _smooth(rng, t, 0.3)) @ _rotation(UP, _smooth(rng, t, 0.6))
    joints[:, 9] = thorax + _apply(neck_rot, [0.02, 0, _NECK])
    joints[:, 10] = joints[:, 9] + _apply(neck_rot, [0.05, 0, _HEAD])
    for side, (sh_i, el_i, wr_i), sign in ((1, (11, 12, 13), 0.0), (-1, (14, 15, 16), np.pi)):
        shoulder = thorax + _apply(body, [0, side * _SHOULDER_HALF_WIDTH, -0.03])
        # Arms swing against the same-side leg; slow reaching and raising on top.
        flex = 0.6 * swing * np.sin(phase + sign + np.pi) + _smooth(rng, t, 1.2)
        abduct = 0.15 + np.abs(_smooth(rng, t, 1.0))
        arm_rot = body @ _rotation(FORWARD, side * abduct) @ _rotation(LEFT, -flex)
        elbow = shoulder + _apply(arm_rot, [0, 0, -_UPPER_ARM])
        bend = 0.2 + np.abs(_smooth(rng, t, 1.5))
        fore_rot = arm_rot @ _rotation(LEFT, -bend)
        joints[:, sh_i] = shoulder
        joints[:, el_i] = elbow
        joints[:, wr_i] = elbow + _apply(fore_rot, [0, 0, -_FOREARM])
    return joints.astype(np.float32)


def random_camera(rng: np.random.Generator, target: np.ndarray) -> Dict[str, np.ndarray]:
    """A camera 4-6.5 m from `target` (3,), 0.8-2.2 m high, looking at it.

    Returns MMPose's camera dict: `R` (3, 3) world->camera rotation, `T` (3, 1) camera
    centre in world coordinates, `f`, `c` (2, 1) pixels, `w`, `h`, and zero distortion
    `k` (3, 1), `p` (2, 1).
    """
    azimuth = rng.uniform(0, 2 * np.pi)
    distance = rng.uniform(4.0, 6.5)
    centre = target + np.array([distance * np.cos(azimuth), distance * np.sin(azimuth), 0.0])
    centre[2] = rng.uniform(0.8, 2.2)
    look = np.array([target[0], target[1], 0.9]) - centre
    z = look / np.linalg.norm(look)  # optical axis
    x = np.cross(z, UP)
    x /= np.linalg.norm(x)  # image right
    y = np.cross(z, x)  # image down
    rot = np.stack([x, y, z])
    w, h = IMAGE_SIZE
    f = rng.uniform(1100, 1200)
    return {"R": rot.astype(np.float32), "T": centre[:, None].astype(np.float32),
            "f": np.array([[f], [f]], np.float32),
            "c": np.array([[w / 2 + rng.uniform(-15, 15)], [h / 2 + rng.uniform(-15, 15)]],
                          np.float32),
            "k": np.zeros((3, 1), np.float32), "p": np.zeros((2, 1), np.float32),
            "w": w, "h": h}


def project(world: np.ndarray, camera: Dict[str, Any]) -> Tuple[np.ndarray, np.ndarray]:
    """World joints (..., 3) -> (camera coordinates (..., 3), pixels (..., 2))."""
    cam = (world - camera["T"][:, 0]) @ camera["R"].T
    pixels = cam[..., :2] / cam[..., 2:3] * camera["f"][:, 0] + camera["c"][:, 0]
    return cam.astype(np.float32), pixels.astype(np.float32)


def make_synthetic_mocap(out_dir: str, subjects: Sequence[str] = ("S1", "S5", "S6", "S7", "S8"),
                         test_subjects: Sequence[str] = ("S9", "S11"),
                         takes_per_subject: int = 4, frames_per_take: int = 400,
                         fps: float = 50.0, seed: int = 0) -> Dict[str, str]:
    """Writes `annotation_body3d/fps50/h36m_{train,test}.npz` and
    `annotation_body3d/cameras.pkl` under `out_dir`, in MMPose's Human3.6M format.

    Each subject gets `takes_per_subject` takes of `frames_per_take` frames, each seen by
    four cameras (as H36M's S, A, camera image names `S1_Take2.54138969_000001.jpg`).
    Per frame: `S` (17, 4) camera-coordinate joints in metres plus visibility 1, `part`
    (17, 3) pixels plus visibility 1, `center` (2,) and `scale` () of the 2D box (MMPose's
    1.2 x max side / 200).

    Returns:
        {"train": path, "test": path, "cameras": path}.
    """
    for name, value in (("takes_per_subject", takes_per_subject),
                        ("frames_per_take", frames_per_take)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, received {value!r}")
    if not subjects or not test_subjects or set(subjects) & set(test_subjects):
        raise ValueError(f"subjects and test_subjects must be non-empty and disjoint, received "
                         f"{subjects!r} and {test_subjects!r}")
    rng = np.random.default_rng(seed)
    ann_dir = os.path.join(out_dir, "annotation_body3d")
    os.makedirs(os.path.join(ann_dir, "fps50"), exist_ok=True)
    cameras = {}
    paths = {}
    for split, split_subjects in (("train", subjects), ("test", test_subjects)):
        columns = {"imgname": [], "S": [], "part": [], "center": [], "scale": []}
        for subject in split_subjects:
            for take in range(takes_per_subject):
                world = skeleton_motion(rng, frames_per_take, fps)
                # Each take is centred on the origin, which the subject's cameras watch.
                world[..., :2] -= world[:, 0, :2].mean(axis=0)
                for camera_id in CAMERA_IDS:
                    # One camera per (subject, camera id), as in Human3.6M.
                    if (subject, camera_id) not in cameras:
                        cameras[(subject, camera_id)] = random_camera(rng, np.zeros(3))
                    camera = cameras[(subject, camera_id)]
                    cam3d, pixels = project(world, camera)
                    ones = np.ones(pixels.shape[:-1] + (1,), np.float32)
                    columns["S"].append(np.concatenate([cam3d, ones], -1))
                    columns["part"].append(np.concatenate([pixels, ones], -1))
                    lo, hi = pixels.min(axis=1), pixels.max(axis=1)
                    columns["center"].append((lo + hi) / 2)
                    columns["scale"].append(1.2 * (hi - lo).max(axis=1) / 200.0)
                    columns["imgname"] += [f"{subject}_Take{take + 1}.{camera_id}_{i + 1:06d}.jpg"
                                           for i in range(frames_per_take)]
        arrays = {k: (np.array(v) if k == "imgname" else np.concatenate(v).astype(np.float32))
                  for k, v in columns.items()}
        paths[split] = os.path.join(ann_dir, "fps50", f"h36m_{split}.npz")
        np.savez(paths[split], **arrays)
    paths["cameras"] = os.path.join(ann_dir, "cameras.pkl")
    with open(paths["cameras"], "wb") as f:
        pickle.dump(cameras, f)
    return paths


@gin.configurable
def ensure_synthetic_mocap(out_dir: str = "data/synthetic_mocap", force: bool = False,
                           **kwargs: Any) -> str:
    """Writes the synthetic mocap data into `out_dir` unless the same data is there.

    A stamp file records the arguments; a non-empty folder without it is refused, so real
    data is never overwritten.

    Args:
        out_dir: dataset folder (MMPose's `data/h36m` layout inside).
        force: regenerate even when the stamp matches.
        **kwargs: arguments of `make_synthetic_mocap`.

    Returns:
        The absolute path of `out_dir`.
    """
    out_dir = os.path.abspath(os.path.expanduser(os.fspath(out_dir)))
    wanted = json.loads(json.dumps({**kwargs, "generator_version": GENERATOR_VERSION}))
    stamp = os.path.join(out_dir, STAMP_FILE)
    if os.path.isfile(stamp):
        with open(stamp) as f:
            if json.load(f) == wanted and not force:
                return out_dir
        os.remove(stamp)
    elif os.path.isdir(out_dir) and os.listdir(out_dir):
        raise ValueError(f"{out_dir} exists, is not empty and has no {STAMP_FILE}: refusing to "
                         "write synthetic mocap data over files kpose did not make")
    make_synthetic_mocap(out_dir, **kwargs)
    with open(stamp, "w") as f:
        json.dump(wanted, f)
    return out_dir
