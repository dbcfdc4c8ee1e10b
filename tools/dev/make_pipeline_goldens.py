"""Write the golden fixtures for kpose's geometry and top-down transforms from MMPose.

Run with the MMPose 1.3.2 reference venv (never from the kpose test suite):

    /tmp/mmpose-ref/bin/python tools/dev/make_pipeline_goldens.py [--out tests/fixtures/goldens]

It writes `pipeline_geometry.npz`: inputs and MMPose's outputs for the bbox conversions,
warp matrices (plain, shifted, inverse, free aspect ratio, UDP), bbox/keypoint flips, the
aspect-ratio fix, the half-body box, and a flip + TopdownAffine crop of a small image.
"""

import argparse
import os

import numpy as np


def _test_image(h: int = 60, w: int = 80) -> np.ndarray:
    """A smooth, asymmetric RGB image so flips and warps are visible in the pixels."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 255.0 * xx / (w - 1)
    g = 255.0 * (0.5 + 0.5 * np.sin(yy / 5.0 + xx / 9.0))
    b = 255.0 * ((xx - 20.0) ** 2 + (yy - 15.0) ** 2 < 150.0)
    return np.stack([r, g, b], axis=-1).round().astype(np.uint8)


def make_pipeline_goldens(out_dir: str) -> str:
    """Compute MMPose's results on fixed inputs and save them to `out_dir`; returns the path."""
    from mmpose.datasets.transforms import RandomFlip, RandomHalfBody, TopdownAffine
    from mmpose.structures.bbox import (
        bbox_cs2xyxy,
        bbox_xyxy2cs,
        flip_bbox,
        get_udp_warp_matrix,
        get_warp_matrix,
    )
    from mmpose.structures.keypoint import flip_keypoints

    rng = np.random.default_rng(20240601)
    n = 12
    g = {}

    # bbox conversions
    xy = rng.uniform(0, 400, size=(n, 2))
    wh = rng.uniform(5, 300, size=(n, 2))
    bbox = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    g["bbox"] = bbox
    g["cs_center"], g["cs_scale"] = bbox_xyxy2cs(bbox, padding=1.25)
    g["cs_back"] = bbox_cs2xyxy(g["cs_center"], g["cs_scale"], padding=1.25)

    # warp matrices
    centers = rng.uniform(0, 500, size=(n, 2)).astype(np.float32)
    scales = rng.uniform(10, 400, size=(n, 2)).astype(np.float32)
    rots = np.concatenate([[0.0, 90.0, -45.0], rng.uniform(-80, 80, size=n - 3)]).astype(np.float32)
    shifts = rng.uniform(-0.2, 0.2, size=(n, 2)).astype(np.float32)
    out_size = (192, 256)
    g.update(warp_center=centers, warp_scale=scales, warp_rot=rots, warp_shift=shifts,
             warp_output_size=np.array(out_size))
    g["warp"] = np.stack([get_warp_matrix(c, s, r, out_size) for c, s, r in zip(centers, scales, rots)])
    g["warp_shift_inv"] = np.stack([
        get_warp_matrix(c, s, r, out_size, shift=sh, inv=True)
        for c, s, r, sh in zip(centers, scales, rots, shifts)])
    g["warp_free"] = np.stack([
        get_warp_matrix(c, s, r, out_size, fix_aspect_ratio=False)
        for c, s, r in zip(centers, scales, rots)])
    g["warp_udp"] = np.stack([get_udp_warp_matrix(c, s, r, out_size)
                              for c, s, r in zip(centers, scales, rots)])

    # flips
    image_size = (640, 480)
    kpts = rng.uniform(0, 480, size=(2, 17, 2)).astype(np.float32)
    vis = (rng.uniform(size=(2, 17)) > 0.3).astype(np.float32)
    flip_indices = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    g.update(flip_keypoints_in=kpts, flip_visible_in=vis, flip_image_size=np.array(image_size))
    for direction in ("horizontal", "vertical", "diagonal"):
        k, v = flip_keypoints(kpts.copy(), vis.copy(), image_size, flip_indices, direction)
        g[f"flip_keypoints_{direction}"] = k
        g[f"flip_visible_{direction}"] = v
        g[f"flip_bbox_xyxy_{direction}"] = flip_bbox(bbox, image_size, "xyxy", direction)
        g[f"flip_bbox_center_{direction}"] = flip_bbox(centers, image_size, "center", direction)

    # aspect-ratio fix (TopdownAffine's first step)
    g["fix_aspect_in"] = scales
    g["fix_aspect_out"] = TopdownAffine._fix_aspect_ratio(scales, aspect_ratio=192 / 256)

    # half-body box from chosen keypoint ids
    half = RandomHalfBody()
    ids = [1, 2, 5, 6, 7, 9]
    g["half_ids"] = np.array(ids)
    g["half_center"], g["half_scale"] = half._get_half_body_bbox(kpts[0], ids)

    # horizontal flip of the pixels + TopdownAffine on a small image
    img = _test_image()
    h, w = img.shape[:2]
    kp = rng.uniform([0, 0], [w, h], size=(1, 17, 2)).astype(np.float32)
    kv = np.ones((1, 17), np.float32)
    results = dict(img=img.copy(), img_shape=(h, w), bbox=np.array([[12.0, 8.0, 50.0, 55.0]], np.float32),
                   bbox_center=np.array([[31.0, 31.5]], np.float32),
                   bbox_scale=np.array([[38.0, 47.0]], np.float32),
                   bbox_rotation=np.array([25.0], np.float32),
                   keypoints=kp.copy(), keypoints_visible=kv.copy(), flip_indices=flip_indices)
    results = RandomFlip(prob=1.0)(results)
    results = TopdownAffine(input_size=(48, 64))(results)
    g.update(affine_image_in=img, affine_keypoints_in=kp, affine_center_in=np.array([31.0, 31.5]),
             affine_scale_in=np.array([38.0, 47.0]), affine_rot=np.float32(25.0),
             affine_image_out=results["img"], affine_keypoints_out=results["transformed_keypoints"],
             affine_center_out=results["bbox_center"], affine_scale_out=results["bbox_scale"])

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "pipeline_geometry.npz")
    np.savez_compressed(path, **{k: np.asarray(v) for k, v in g.items()})
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                      "tests", "fixtures", "goldens"))
    args = parser.parse_args()
    print(make_pipeline_goldens(os.path.normpath(args.out)))


if __name__ == "__main__":
    main()
