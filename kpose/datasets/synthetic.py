"""The built-in synthetic COCO-format person keypoint dataset (kpose's embedded default data).

``make_synthetic_coco(out_dir)`` draws front-facing, human-like figures with the 17 COCO
keypoints on cluttered backgrounds and writes a standard COCO keypoints folder::

    out_dir/images/train/000001.jpg ...        out_dir/images/val/000001.jpg ...
    out_dir/annotations/person_keypoints_train.json
    out_dir/annotations/person_keypoints_val.json

Why the task is learnable, including left/right: every figure faces the camera, so the
person's left side is on the image's right of its torso, as for a real person seen from
the front. That cue survives horizontal flip augmentation (a mirrored front-facing figure is
again a front-facing figure with its labels swapped), unlike a "left side is darker" cue,
which a flip would turn into a contradiction. Faces (eyes, nose, ears, hair on top) fix
which way is up, so rotated figures stay resolvable; clothing changes at elbows and knees
(sleeves, shorts) and joint caps make the joints visible.

Visibility follows COCO: v=2 visible, v=1 inside the image but hidden behind another
figure or a foreground occluder (position still labelled), v=0 outside the image (written
as ``[0, 0, 0]``). ``bbox`` is the tight box of the figure's own silhouette inside the image
(hidden parts included, so every labelled keypoint lies inside it). ``area`` is
``0.53 * box area``, MMPose's rule for annotations without segmentation: a stick figure's
silhouette is much thinner than a person's, and its pixel count would make OKS (which
scales its tolerance with ``sqrt(area)``) stricter than on COCO for the same keypoint spread.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import cv2
import gin
import numpy as np

from kpose.datasets import metainfo as metainfo_lib

__all__ = ["make_synthetic_coco", "ensure_synthetic_coco", "GENERATOR_VERSION"]

# Bump when the drawing changes, so ensure_synthetic_coco regenerates stale folders.
GENERATOR_VERSION = 1
STAMP_FILE = "kpose_synthetic.json"
_SPLIT_STREAM = {"train": 0, "val": 1}
_K = 17
(NOSE, L_EYE, R_EYE, L_EAR, R_EAR, L_SHO, R_SHO, L_ELB, R_ELB, L_WRI, R_WRI,
 L_HIP, R_HIP, L_KNE, R_KNE, L_ANK, R_ANK) = range(_K)

_SKIN_TONES = np.array([[255, 224, 196], [241, 194, 160], [224, 172, 130], [198, 134, 90],
                        [160, 104, 64], [120, 76, 46], [90, 58, 38]], dtype=np.float64)
_HAIR = np.array([[20, 16, 12], [60, 40, 25], [110, 75, 40], [200, 170, 110], [140, 140, 140],
                  [150, 50, 20]], dtype=np.float64)


@gin.register
def make_synthetic_coco(out_dir: str,
                        num_train_images: int = 800,
                        num_val_images: int = 160,
                        image_size: tuple[int, int] = (256, 192),
                        seed: int = 0,
                        max_people: int = 3,
                        occluder_prob: float = 0.3,
                        jpeg_quality: int = 90) -> str:
    """Writes the synthetic COCO-format dataset and returns ``out_dir`` (absolute).

    The defaults (~1500 train and ~300 val person instances at 256x192) are sized for the
    quickstart: a small ResNet at input 128x96 learns it in minutes on a CPU.

    Args:
        out_dir: folder to write (created; existing files of the same names are replaced).
        num_train_images: images in the train split (>= 0).
        num_val_images: images in the val split (>= 0).
        image_size: ``(w, h)`` of every image in pixels, each >= 64.
        seed: seed of the numpy Generator; the same arguments give identical json and image
            bytes (with the same OpenCV build).
        max_people: at most this many figures per image (1..6); 1..max_people are drawn.
        occluder_prob: probability that an image gets foreground occluders in [0, 1].
        jpeg_quality: OpenCV JPEG quality, 50..100.

    Returns:
        The absolute path of ``out_dir``.
    """
    args = _check_args(num_train_images, num_val_images, image_size, seed, max_people, occluder_prob, jpeg_quality)
    out_dir = os.path.abspath(os.path.expanduser(os.fspath(out_dir)))
    meta = metainfo_lib.load("coco")
    for split, count in (("train", args["num_train_images"]), ("val", args["num_val_images"])):
        img_dir = os.path.join(out_dir, "images", split)
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(os.path.join(out_dir, "annotations"), exist_ok=True)
        images, annotations = [], []
        for index in range(count):
            # One stream per (seed, split, image): images do not depend on the split sizes.
            rng = np.random.default_rng([seed, _SPLIT_STREAM[split], index])
            image, people = _draw_image(rng, args["image_size"], args["max_people"], args["occluder_prob"])
            file_name = f"{index + 1:06d}.jpg"
            ok, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                                       [cv2.IMWRITE_JPEG_QUALITY, args["jpeg_quality"]])
            if not ok:
                raise RuntimeError(f"OpenCV could not encode {file_name} as JPEG")
            with open(os.path.join(img_dir, file_name), "wb") as f:
                f.write(encoded.tobytes())
            image_id = index + 1
            images.append({"id": image_id, "file_name": file_name, "width": args["image_size"][0],
                           "height": args["image_size"][1]})
            for person in people:
                person.update({"id": len(annotations) + 1, "image_id": image_id})
                annotations.append(person)
        coco = {
            "info": {"description": f"kpose synthetic person keypoints ({split})",
                     "version": str(GENERATOR_VERSION), "year": 2024},
            "licenses": [],
            "images": images,
            "annotations": annotations,
            "categories": [{
                "id": 1, "name": "person", "supercategory": "person",
                "keypoints": list(meta.keypoint_names),
                # COCO's skeleton is 1-based.
                "skeleton": [[a + 1, b + 1] for a, b in meta.skeleton_links],
            }],
        }
        with open(os.path.join(out_dir, "annotations", f"person_keypoints_{split}.json"), "w") as f:
            json.dump(coco, f, separators=(",", ":"))
    return out_dir


@gin.register
def ensure_synthetic_coco(out_dir: str, force: bool = False, **kwargs: Any) -> str:
    """Creates the synthetic dataset in ``out_dir`` unless it already holds the same one.

    A stamp file (``kpose_synthetic.json``) records the arguments and generator version;
    when they differ, the synthetic files are removed and the dataset regenerated. A
    non-empty ``out_dir`` without a stamp is refused, so real data is never overwritten.

    Args:
        out_dir: dataset folder.
        force: regenerate even when the stamp matches (only a stamped folder is replaced).
        **kwargs: arguments of :func:`make_synthetic_coco` (defaults apply otherwise).

    Returns:
        The absolute path of ``out_dir``.
    """
    out_dir = os.path.abspath(os.path.expanduser(os.fspath(out_dir)))
    defaults = {"num_train_images": 800, "num_val_images": 160, "image_size": (256, 192), "seed": 0,
                "max_people": 3, "occluder_prob": 0.3, "jpeg_quality": 90}
    unknown = sorted(set(kwargs) - set(defaults))
    if unknown:
        raise ValueError(f"ensure_synthetic_coco got unknown arguments {unknown}; known: {sorted(defaults)}")
    wanted = {**defaults, **kwargs}
    wanted = _check_args(**wanted)
    wanted["image_size"] = list(wanted["image_size"])
    wanted["generator_version"] = GENERATOR_VERSION
    stamp_path = os.path.join(out_dir, STAMP_FILE)
    if os.path.isfile(stamp_path):
        try:
            with open(stamp_path) as f:
                stamp = json.load(f)
        except (OSError, json.JSONDecodeError):
            stamp = None
        if stamp == wanted and not force and _complete(out_dir, wanted):
            return out_dir
        for sub in ("images/train", "images/val"):
            shutil.rmtree(os.path.join(out_dir, sub), ignore_errors=True)
        for split in ("train", "val"):
            path = os.path.join(out_dir, "annotations", f"person_keypoints_{split}.json")
            if os.path.exists(path):
                os.remove(path)
        os.remove(stamp_path)
    elif os.path.isdir(out_dir) and os.listdir(out_dir):
        raise ValueError(f"{out_dir} exists, is not empty and has no {STAMP_FILE}: refusing to write the synthetic "
                         "dataset over files kpose did not make; choose another out_dir")
    make_kwargs = {k: v for k, v in wanted.items() if k != "generator_version"}
    make_kwargs["image_size"] = tuple(make_kwargs["image_size"])
    make_synthetic_coco(out_dir, **make_kwargs)
    # The stamp is written last: an interrupted run leaves no stamp and is redone.
    with open(stamp_path, "w") as f:
        json.dump(wanted, f, indent=1)
    return out_dir


def _complete(out_dir: str, wanted: dict) -> bool:
    for split in ("train", "val"):
        if not os.path.isfile(os.path.join(out_dir, "annotations", f"person_keypoints_{split}.json")):
            return False
        folder = os.path.join(out_dir, "images", split)
        count = len(os.listdir(folder)) if os.path.isdir(folder) else 0
        if count != wanted[f"num_{split}_images"]:
            return False
    return True


def _check_args(num_train_images: Any, num_val_images: Any, image_size: Any, seed: Any, max_people: Any,
                occluder_prob: Any, jpeg_quality: Any) -> dict:
    for name, value in (("num_train_images", num_train_images), ("num_val_images", num_val_images), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    if (not isinstance(image_size, (tuple, list)) or len(image_size) != 2
            or not all(isinstance(v, (int, np.integer)) and v >= 64 for v in image_size)):
        raise ValueError(f"image_size must be (w, h) ints >= 64, got {image_size!r}")
    if isinstance(max_people, bool) or not isinstance(max_people, (int, np.integer)) or not 1 <= max_people <= 6:
        raise ValueError(f"max_people must be an int in [1, 6], got {max_people!r}")
    if not isinstance(occluder_prob, (int, float)) or not 0.0 <= occluder_prob <= 1.0:
        raise ValueError(f"occluder_prob must be in [0, 1], got {occluder_prob!r}")
    if isinstance(jpeg_quality, bool) or not isinstance(jpeg_quality, (int, np.integer)) or not 50 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be an int in [50, 100], got {jpeg_quality!r}")
    return {"num_train_images": int(num_train_images), "num_val_images": int(num_val_images),
            "image_size": (int(image_size[0]), int(image_size[1])), "seed": int(seed),
            "max_people": int(max_people), "occluder_prob": float(occluder_prob),
            "jpeg_quality": int(jpeg_quality)}


# ---------------------------------------------------------------------------- drawing
#
# Figures are sampled in a body frame (units of body height, y down, neck at the origin,
# person's left at +x because the figure faces the camera), then rotated, scaled and placed.


def _rand_color(rng: np.random.Generator, low: int = 0, high: int = 256) -> np.ndarray:
    return rng.integers(low, high, size=3).astype(np.float64)


def _unit(angle: float) -> np.ndarray:
    """Direction at `angle` radians from straight down, positive towards +x."""
    return np.array([np.sin(angle), np.cos(angle)])


def _sample_pose(rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Returns keypoints (K, 2) in the body frame and the shape parameters for drawing."""
    kpts = np.zeros((_K, 2))
    shoulder_half = rng.uniform(0.095, 0.125)
    hip_half = rng.uniform(0.065, 0.085)
    torso = rng.uniform(0.27, 0.32)
    lean = rng.normal(0.0, 0.06)
    kpts[L_SHO] = (shoulder_half, 0.03)
    kpts[R_SHO] = (-shoulder_half, 0.03)
    hip_center = np.array([np.sin(lean), np.cos(lean)]) * torso
    kpts[L_HIP] = hip_center + (hip_half, 0.0)
    kpts[R_HIP] = hip_center - (hip_half, 0.0)

    head_r = rng.uniform(0.058, 0.07)
    neck = rng.uniform(0.035, 0.05)
    tilt = rng.normal(0.0, 0.15)
    head_c = np.array([np.sin(tilt), -np.cos(tilt)]) * (neck + head_r)
    yaw = float(np.clip(rng.normal(0.0, 0.18), -0.4, 0.4))  # head turn, shifts the face sideways
    rot = np.array([[np.cos(tilt), -np.sin(tilt)], [np.sin(tilt), np.cos(tilt)]])
    face = {NOSE: (0.55 * yaw, 0.28), L_EYE: (0.36 + 0.45 * yaw, -0.08), R_EYE: (-0.36 + 0.45 * yaw, -0.08),
            L_EAR: (0.93 + 0.12 * yaw, 0.02), R_EAR: (-0.93 + 0.12 * yaw, 0.02)}
    for k, (fx, fy) in face.items():
        kpts[k] = head_c + rot @ (np.array([fx, fy]) * head_r)

    for side, (sho, elb, wri) in ((1, (L_SHO, L_ELB, L_WRI)), (-1, (R_SHO, R_ELB, R_WRI))):
        # Upper arm from hanging (0) to raised (~170 deg) outwards, a little inwards.
        a1 = np.deg2rad(rng.uniform(-25, 165))
        # Elbow bend, mostly folding the forearm up/in (towards the body's midline).
        bend = np.deg2rad(rng.uniform(0, 140)) * (-1 if rng.random() < 0.7 else 1)
        upper = rng.uniform(0.15, 0.18) * (rng.uniform(0.65, 1.0) if rng.random() < 0.3 else 1.0)
        lower = rng.uniform(0.13, 0.16) * (rng.uniform(0.65, 1.0) if rng.random() < 0.3 else 1.0)
        d1 = _unit(a1)
        d1[0] *= side
        d2 = _unit(a1 + bend)
        d2[0] *= side
        kpts[elb] = kpts[sho] + upper * d1
        kpts[wri] = kpts[elb] + lower * d2

    for side, (hip, kne, ank) in ((1, (L_HIP, L_KNE, L_ANK)), (-1, (R_HIP, R_KNE, R_ANK))):
        a1 = np.deg2rad(rng.uniform(-12, 45)) + lean
        a2 = a1 + np.deg2rad(rng.uniform(-35, 35))
        thigh = rng.uniform(0.22, 0.26) * (rng.uniform(0.6, 1.0) if rng.random() < 0.25 else 1.0)
        shin = rng.uniform(0.21, 0.25) * (rng.uniform(0.75, 1.0) if rng.random() < 0.2 else 1.0)
        d1 = _unit(a1)
        d1[0] *= side
        d2 = _unit(a2)
        d2[0] *= side
        kpts[kne] = kpts[hip] + thigh * d1
        kpts[ank] = kpts[kne] + shin * d2

    shape = {"head_c": head_c, "head_r": head_r, "tilt": tilt}
    return kpts, shape


def _sample_look(rng: np.random.Generator) -> dict:
    skin = _SKIN_TONES[rng.integers(len(_SKIN_TONES))] * rng.uniform(0.9, 1.05)
    shirt = _rand_color(rng)
    trousers = _rand_color(rng, 0, 200)
    return {
        "skin": np.clip(skin, 0, 255),
        "hair": _HAIR[rng.integers(len(_HAIR))],
        "shirt": shirt,
        "stripes": _rand_color(rng) if rng.random() < 0.4 else None,
        "trousers": trousers,
        "shoes": _rand_color(rng, 0, 120),
        "short_sleeves": rng.random() < 0.45,
        "shorts": rng.random() < 0.3,
        "width": rng.uniform(0.85, 1.2),  # limb thickness factor: slim to broad figures
    }


class _Canvas:
    """Draws each primitive on the RGB image and, with value 1, on the figure's mask."""

    def __init__(self, image: np.ndarray, mask: np.ndarray) -> None:
        self.image, self.mask = image, mask

    @staticmethod
    def _pt(p: np.ndarray) -> tuple[int, int]:
        # 4 fractional bits (shift=4) keep sub-pixel placement of the primitives.
        return int(round(p[0] * 16)), int(round(p[1] * 16))

    def limb(self, a: np.ndarray, b: np.ndarray, thickness: float, color: np.ndarray) -> None:
        t = max(1, int(round(thickness)))
        cv2.line(self.image, self._pt(a), self._pt(b), color.tolist(), t, cv2.LINE_AA, 4)
        cv2.line(self.mask, self._pt(a), self._pt(b), 1, t, cv2.LINE_8, 4)
        # A lighter core line gives the limb a rounded, shaded look.
        light = np.clip(color * 1.18 + 12, 0, 255)
        cv2.line(self.image, self._pt(a), self._pt(b), light.tolist(), max(1, int(t * 0.35)), cv2.LINE_AA, 4)

    def disc(self, c: np.ndarray, radius: float, color: np.ndarray, on_mask: bool = True) -> None:
        r = max(1, int(round(radius * 16)))
        cv2.circle(self.image, self._pt(c), r, color.tolist(), -1, cv2.LINE_AA, 4)
        if on_mask:
            cv2.circle(self.mask, self._pt(c), r, 1, -1, cv2.LINE_8, 4)

    def ellipse(self, c: np.ndarray, axes: tuple[float, float], angle_deg: float, color: np.ndarray,
                on_mask: bool = True) -> None:
        ax = (max(1, int(round(axes[0] * 16))), max(1, int(round(axes[1] * 16))))
        cv2.ellipse(self.image, self._pt(c), ax, angle_deg, 0, 360, color.tolist(), -1, cv2.LINE_AA, 4)
        if on_mask:
            cv2.ellipse(self.mask, self._pt(c), ax, angle_deg, 0, 360, 1, -1, cv2.LINE_8, 4)

    def polygon(self, pts: np.ndarray, color: np.ndarray) -> None:
        p = np.round(pts * 16).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(self.image, [p], color.tolist(), cv2.LINE_AA, 4)
        cv2.fillPoly(self.mask, [p], 1, cv2.LINE_8, 4)


def _draw_figure(canvas: _Canvas, kpts: np.ndarray, shape: dict, look: dict, to_img: Any, height: float,
                 angle: float) -> None:
    """Draws one figure; ``kpts`` are already in image pixels, ``to_img`` maps body-frame points."""
    w = look["width"] * height
    skin, shirt, trousers = look["skin"], look["shirt"], look["trousers"]
    joint_dark = lambda c: np.clip(c * 0.72, 0, 255)  # noqa: E731
    # Legs behind the torso.
    for hip, kne, ank, side in ((L_HIP, L_KNE, L_ANK, 1), (R_HIP, R_KNE, R_ANK, -1)):
        shin_color = skin if look["shorts"] else trousers
        canvas.limb(kpts[hip], kpts[kne], 0.062 * w, trousers)
        canvas.limb(kpts[kne], kpts[ank], 0.05 * w, shin_color)
        canvas.disc(kpts[kne], 0.027 * w, joint_dark(shin_color))
        # Shoe: an ellipse just below the ankle, pointing outwards-forwards.
        leg_dir = kpts[ank] - kpts[kne]
        leg_dir = leg_dir / (np.linalg.norm(leg_dir) + 1e-6)
        side_dir = np.array([-leg_dir[1], leg_dir[0]]) * -side
        shoe_c = kpts[ank] + leg_dir * 0.025 * height + side_dir * 0.02 * height
        canvas.ellipse(shoe_c, (0.045 * w, 0.022 * w), np.rad2deg(np.arctan2(side_dir[1], side_dir[0])),
                       look["shoes"])
        canvas.disc(kpts[ank], 0.02 * w, joint_dark(shin_color))
    # Torso: shoulders and hips widened by half a limb so the joints sit inside it.
    across = kpts[L_SHO] - kpts[R_SHO]
    across /= np.linalg.norm(across) + 1e-6
    hips_across = kpts[L_HIP] - kpts[R_HIP]
    hips_across /= np.linalg.norm(hips_across) + 1e-6
    up = (kpts[L_SHO] + kpts[R_SHO] - kpts[L_HIP] - kpts[R_HIP]) / 2
    up /= np.linalg.norm(up) + 1e-6
    outline = np.array([
        kpts[L_SHO] + across * 0.025 * w + up * 0.012 * height,
        kpts[L_HIP] + hips_across * 0.03 * w - up * 0.025 * height,
        kpts[R_HIP] - hips_across * 0.03 * w - up * 0.025 * height,
        kpts[R_SHO] - across * 0.025 * w + up * 0.012 * height,
        (kpts[L_SHO] + kpts[R_SHO]) / 2 + up * 0.035 * height,
    ])
    canvas.polygon(outline, shirt)
    if look["stripes"] is not None:
        for t in np.linspace(0.2, 0.9, 5):
            left = outline[0] + (outline[1] - outline[0]) * t
            right = outline[3] + (outline[2] - outline[3]) * t
            cv2.line(canvas.image, canvas._pt(left), canvas._pt(right), look["stripes"].tolist(),
                     max(1, int(0.012 * height)), cv2.LINE_AA, 4)
    # Belt line between the hips marks the hip joints.
    canvas.limb(kpts[L_HIP], kpts[R_HIP], 0.03 * w, np.clip(trousers * 0.8, 0, 255))
    # Neck and head.
    neck_base = to_img(np.array([0.0, 0.0]))
    head_c = to_img(shape["head_c"])
    r = shape["head_r"] * height
    canvas.limb(neck_base, neck_base + (head_c - neck_base) * 0.6, 0.05 * w, skin)
    # Ears behind the face, then face, hair, eyes, nose.
    for ear in (L_EAR, R_EAR):
        canvas.ellipse(kpts[ear], (0.22 * r, 0.32 * r), np.rad2deg(angle), np.clip(skin * 0.9, 0, 255))
    canvas.ellipse(head_c, (0.88 * r, 1.05 * r), np.rad2deg(angle), skin)
    # Hair: a cap over the upper part of the head, upward in the figure's frame.
    hair_shift = to_img(shape["head_c"] + np.array([np.sin(shape["tilt"]), -np.cos(shape["tilt"])]) * shape["head_r"]
                * 0.55) - head_c
    canvas.ellipse(head_c + hair_shift, (0.9 * r, 0.55 * r), np.rad2deg(angle + shape["tilt"]), look["hair"])
    for eye in (L_EYE, R_EYE):
        canvas.disc(kpts[eye], 0.2 * r, np.array([250.0, 250.0, 250.0]), on_mask=False)
        canvas.disc(kpts[eye], 0.11 * r, np.array([25.0, 20.0, 20.0]), on_mask=False)
    canvas.disc(kpts[NOSE], 0.14 * r, np.clip(skin * 0.75, 0, 255), on_mask=False)
    mouth = kpts[NOSE] + (head_c - kpts[NOSE]) * -0.9
    canvas.ellipse(mouth, (0.28 * r, 0.08 * r), np.rad2deg(angle + shape["tilt"]), np.array([150.0, 40, 40]),
                   on_mask=False)
    # Arms in front of the torso.
    for sho, elb, wri in ((L_SHO, L_ELB, L_WRI), (R_SHO, R_ELB, R_WRI)):
        fore = skin if look["short_sleeves"] else shirt
        canvas.limb(kpts[sho], kpts[elb], 0.05 * w, shirt)
        canvas.limb(kpts[elb], kpts[wri], 0.042 * w, fore)
        canvas.disc(kpts[elb], 0.024 * w, joint_dark(fore))
        hand_dir = kpts[wri] - kpts[elb]
        hand_dir = hand_dir / (np.linalg.norm(hand_dir) + 1e-6)
        canvas.disc(kpts[wri], 0.02 * w, joint_dark(skin))
        canvas.ellipse(kpts[wri] + hand_dir * 0.03 * height, (0.035 * w, 0.025 * w),
                       np.rad2deg(np.arctan2(hand_dir[1], hand_dir[0])), skin)


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    kind = rng.integers(3)
    if kind == 0:  # flat colour
        img = np.ones((h, w, 3)) * _rand_color(rng)
    elif kind == 1:  # linear gradient
        a, b = _rand_color(rng), _rand_color(rng)
        theta = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w]
        t = (xx * np.cos(theta) + yy * np.sin(theta))
        t = (t - t.min()) / (np.ptp(t) + 1e-6)
        img = a + (b - a) * t[..., None]
    else:  # smooth blotches: upscaled low-resolution noise
        small = rng.uniform(0, 255, size=(int(rng.integers(2, 6)), int(rng.integers(2, 6)), 3))
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img, 0, 255).astype(np.uint8)
    # Background clutter: shapes and a few limb-like bars (hard negatives).
    for _ in range(int(rng.integers(2, 10))):
        _clutter_shape(rng, img, None, w, h, size=rng.uniform(0.05, 0.3) * min(w, h))
    return img


def _clutter_shape(rng: np.random.Generator, img: np.ndarray, label: np.ndarray | None, w: int, h: int,
                   size: float, center: np.ndarray | None = None) -> None:
    c = center if center is not None else np.array([rng.uniform(0, w), rng.uniform(0, h)])
    color = _rand_color(rng).tolist()
    kind = rng.integers(4)
    targets = [(img, color)] + ([(label, -2)] if label is not None else [])
    if kind == 0:
        half = rng.uniform(0.3, 1.0, size=2) * size
        pts = cv2.boxPoints(((float(c[0]), float(c[1])), (float(2 * half[0]), float(2 * half[1])),
                             float(rng.uniform(0, 180)))).astype(np.int32)
        for target, value in targets:
            cv2.fillConvexPoly(target, pts, value)
    elif kind == 1:
        axes = (int(rng.uniform(0.3, 1.0) * size), int(rng.uniform(0.3, 1.0) * size))
        for target, value in targets:
            cv2.ellipse(target, (int(c[0]), int(c[1])), axes, float(rng.uniform(0, 180)), 0, 360, value, -1)
    elif kind == 2:
        n = int(rng.integers(3, 7))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        pts = (c + np.stack([np.cos(ang), np.sin(ang)], 1) * rng.uniform(0.4, 1.0, (n, 1)) * size).astype(np.int32)
        for target, value in targets:
            cv2.fillPoly(target, [pts], value)
    else:
        d = _unit(rng.uniform(0, 2 * np.pi)) * size
        thick = max(2, int(size * rng.uniform(0.1, 0.25)))
        for target, value in targets:
            cv2.line(target, tuple(int(v) for v in c - d), tuple(int(v) for v in c + d), value, thick)


def _draw_image(rng: np.random.Generator, image_size: tuple[int, int], max_people: int,
                occluder_prob: float) -> tuple[np.ndarray, list[dict]]:
    """Returns an RGB uint8 (H, W, 3) image and its COCO annotations (without ids)."""
    w, h = image_size
    img = _background(rng, w, h)
    # label[y, x]: index of the top-most figure, -1 background, -2 foreground occluder.
    label = np.full((h, w), -1, dtype=np.int32)
    num = int(rng.integers(1, max_people + 1))
    figures, boxes = [], []
    for _ in range(num):
        for _attempt in range(12):
            height = rng.uniform(0.45, 0.95) * h * (1.0 if num == 1 else rng.uniform(0.7, 1.0))
            angle = float(np.clip(rng.normal(0, np.deg2rad(15)), -np.deg2rad(45), np.deg2rad(45)))
            body_kpts, shape = _sample_pose(rng)
            rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            local = body_kpts @ rot.T * height
            lo, hi = local.min(0) - 0.08 * height, local.max(0) + 0.08 * height
            # Most figures fully inside; some cut by the border (truncation).
            slack = 0.35 * (hi - lo) if rng.random() < 0.25 else np.zeros(2)
            x_min, x_max = -lo[0] - slack[0], w - hi[0] + slack[0]
            y_min, y_max = -lo[1] - slack[1], h - hi[1] + slack[1]
            if x_min > x_max or y_min > y_max:
                continue
            origin = np.array([rng.uniform(x_min, x_max), rng.uniform(y_min, y_max)])
            box = np.concatenate([origin + lo, origin + hi])
            if any(_iou(box, b) > 0.25 for b in boxes):
                continue
            boxes.append(box)
            figures.append((origin, rot, height, angle, body_kpts, shape, _sample_look(rng)))
            break
    annotations = []
    masks = []
    for index, (origin, rot, height, angle, body_kpts, shape, look) in enumerate(figures):
        to_img = lambda p, o=origin, r=rot, s=height: o + (r @ p) * s  # noqa: E731
        kpts = body_kpts @ rot.T * height + origin
        mask = np.zeros((h, w), dtype=np.uint8)
        _draw_figure(_Canvas(img, mask), kpts, shape, look, to_img, height, angle)
        label[mask > 0] = index
        masks.append(mask)
        annotations.append(kpts)
    if figures and rng.random() < occluder_prob:
        for _ in range(int(rng.integers(1, 3))):
            height = figures[int(rng.integers(len(figures)))][2]
            target = annotations[int(rng.integers(len(annotations)))][int(rng.integers(_K))]
            _clutter_shape(rng, img, label, w, h, size=rng.uniform(0.08, 0.18) * height,
                           center=target + rng.normal(0, 0.05 * height, 2))
    # Photometric variety: brightness/contrast, noise, sometimes blur.
    out = img.astype(np.float32) * rng.uniform(0.8, 1.15) + rng.uniform(-20, 20)
    out += rng.normal(0, rng.uniform(0, 6), size=out.shape).astype(np.float32)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.25:
        out = cv2.GaussianBlur(out, (3, 3), 0)

    people = []
    for index, (kpts, mask) in enumerate(zip(annotations, masks)):
        ys, xs = np.nonzero(mask)
        if xs.size == 0:
            continue
        triplets = []
        for x, y in kpts:
            if 0 <= x <= w - 1 and 0 <= y <= h - 1:
                visible = label[int(round(y)), int(round(x))] == index
                triplets += [round(float(x), 2), round(float(y), 2), 2 if visible else 1]
            else:
                triplets += [0, 0, 0]
        num_kpts = sum(1 for v in triplets[2::3] if v > 0)
        if num_kpts == 0:
            continue
        x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        people.append({
            "keypoints": triplets,
            "num_keypoints": num_kpts,
            "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
            # Stick figures are thinner than people: their silhouette would make OKS far
            # stricter than on COCO for the same keypoint spread, so use MMPose's
            # "no segmentation" rule, 0.53 * box area.
            "area": round(0.53 * (x1 - x0) * (y1 - y0), 2),
            "iscrowd": 0,
            "category_id": 1,
        })
    return out, people


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
