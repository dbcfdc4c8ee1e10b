"""Writes golden fixtures from MMPose 1.3.2 for kpose's codec tests.

Run with the MMPose reference venv (see ../shared/tools/setup_mmpose_reference.sh):

    /tmp/mmpose-ref/bin/python tools/dev/make_mmpose_goldens.py \
        --codec msra_heatmap --out tests/fixtures/goldens/

Each codec has one `make_<codec>` function returning a flat dict of arrays, written to
`<out>/<codec>.npz`. Arrays are stored in kpose's layout (channels-last heatmaps), so the
tests read them without MMPose or torch. A fixture holds several configurations, each
under the key prefix `<config name>__`; `configs` lists the names. To add a codec, write
its `make_` function and add it to `GOLDEN_MAKERS`.
"""

import argparse
import os
import zlib
from typing import Callable, Dict, List

import numpy as np

SEED = 20240613


def _keypoints_msra(rng: np.random.Generator, num_instances: int, num_keypoints: int,
                    input_size, sigma: float, scale: np.ndarray) -> np.ndarray:
    """Input-space keypoints (N, K, 2) float32 mixing the cases the encoder special-cases.

    Kinds: inside the image; on its border; just outside, within the Gaussian's reach;
    far outside; on the heatmap's half-pixel rounding boundaries (including negative
    ones, where truncation and floor differ); coincident with another keypoint; at the
    limit of the Gaussian's reach (the weight-0 rule's edge, e.g. a patch ending exactly
    at pixel 0, which draws nothing yet keeps its weight).
    """
    w, h = input_size
    reach = (3 * sigma + 2) * scale  # input pixels, per axis
    kps = np.empty((num_instances, num_keypoints, 2), np.float64)
    kinds = rng.integers(0, 7, size=(num_instances, num_keypoints))
    for n in range(num_instances):
        for k in range(num_keypoints):
            kind = kinds[n, k]
            p = rng.uniform([0, 0], [w, h])
            if kind == 1:  # border
                axis = rng.integers(0, 2)
                size = (w, h)[axis]
                p[axis] = rng.choice([0.0, size - 1.0, float(size), -0.5, size - 0.5])
            elif kind == 2:  # just outside, where the patch may still reach in
                axis = rng.integers(0, 2)
                size = (w, h)[axis]
                d = rng.uniform(0, reach[axis])
                p[axis] = -d if rng.random() < 0.5 else size + d
            elif kind == 3:  # far outside
                p = p + rng.choice([-1.0, 1.0], size=2) * rng.uniform(300, 2000, size=2)
            elif kind == 4:  # heatmap coordinate i - 0.5: a rounding boundary
                cells = rng.integers(-4, np.asarray(input_size) / scale + 4)
                p = (cells - 0.5) * scale
            elif kind == 5 and k > 0:  # coincident with the previous keypoint
                p = kps[n, k - 1].copy()
            elif kind == 6:  # at the reach limit, in heatmap pixels, then scaled back
                axis = rng.integers(0, 2)
                cells = (np.asarray(input_size) / scale)[axis]
                delta = rng.choice([-1.0, -0.5, 0.0, 0.25, 0.5, 1.0])
                edge = -(3 * sigma + 1) if rng.random() < 0.5 else cells + 3 * sigma
                p[axis] = (edge + delta) * scale[axis]
            kps[n, k] = p
    return kps.astype(np.float32)


def _visibility(rng: np.random.Generator, shape) -> np.ndarray:
    # 0.5 is the drawing threshold itself (MMPose skips below it).
    choices = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.3, 0.5, 0.7, 2.0], np.float32)
    return rng.choice(choices, size=shape).astype(np.float32)


def _noisy_heatmaps(rng: np.random.Generator, heatmaps: np.ndarray) -> np.ndarray:
    """Perturbs clean (K, H, W) targets per channel so argmax and refinement vary.

    Also builds channels that hit the decoder's conventions: all zero and all negative
    (location -1), constant (argmax tie -> first pixel) and two equal peaks. The result
    is rounded to float16 so the fixture can store it exactly (both sides decode the
    float16 values widened to float32).
    """
    out = heatmaps.astype(np.float32).copy()
    num_keypoints, height, width = out.shape
    for k in range(num_keypoints):
        kind = rng.integers(0, 9)
        amplitude = rng.uniform(0.2, 1.5)
        if kind == 0:
            pass  # clean
        elif kind == 1:
            out[k] = amplitude * out[k] + rng.uniform(0, 0.05, (height, width))
        elif kind == 2:
            out[k] = amplitude * out[k] + rng.uniform(0, 0.5, (height, width))
        elif kind == 3:
            out[k] = amplitude * out[k] + rng.normal(0, 0.1, (height, width))
        elif kind == 4:
            out[k] = 0.0
        elif kind == 5:
            out[k] = -rng.uniform(0.01, 1.0, (height, width))
        elif kind == 6:
            out[k] = 0.5
        elif kind == 7:  # a second, equal peak somewhere else
            out[k] = out[k] + rng.uniform(0, 0.05, (height, width))
            y, x = np.unravel_index(np.argmax(out[k]), out[k].shape)
            y2, x2 = rng.integers(0, height), rng.integers(0, width)
            out[k, y2, x2] = out[k, y, x]
        else:  # a lone noisy peak anywhere (tests the border rules)
            out[k] = rng.uniform(0, 0.05, (height, width))
            out[k, rng.integers(0, height), rng.integers(0, width)] = amplitude
    return out.astype(np.float16)


def _msra_configs() -> List[tuple]:
    """(name, input_size, heatmap_size, sigma, unbiased, blur_kernel_size,
    single-instance encode cases, multi-instance encode cases, decode cases).

    Most cases use the small size to keep the fixture under 1 MB: DARK targets cover
    the whole heatmap and noisy decode inputs do not compress.
    """
    configs = []
    for unbiased in (False, True):
        tag = "dark" if unbiased else "msra"
        for sigma, ks in ((1.0, 7), (2.0, 11), (3.0, 17)):
            if sigma == 2.0 or not unbiased:
                configs.append((f"{tag}_s{int(sigma)}_192x256", (192, 256), (48, 64),
                                sigma, unbiased, ks, 1, 1, int(sigma == 2.0)))
            configs.append((f"{tag}_s{int(sigma)}_96x128", (96, 128), (24, 32), sigma,
                            unbiased, ks, 6, 2, 5))
        # Non-integer scale factors and 3 sigma, the latter exercising MMPose's rounding.
        for sigma, ks in ((1.5, 5), (2.5, 9)):
            configs.append((f"{tag}_s{sigma}_100x120", (100, 120), (24, 32), sigma,
                            unbiased, ks, 3, 1, 3))
    return configs


def make_msra_heatmap(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """MSRAHeatmap encode and decode outputs over sizes, sigmas and both modes.

    Per configuration `<name>__`:
      - enc_keypoints (E, 1, K, 2), enc_visible (E, 1, K): single-instance inputs, run
        through `MSRAHeatmap.encode` -> enc_heatmaps (E, H, W, K), enc_weights (E, 1, K).
      - multi_keypoints (M, 3, K, 2), multi_visible (M, 3, K): three instances, run
        through the codec's generator function on `keypoints / scale_factor` exactly as
        `encode` does (MMPose's codec itself accepts one instance only)
        -> multi_heatmaps, multi_weights.
      - dec_heatmaps (D, H, W, K) float16: encoded targets with per-channel noise;
        `MSRAHeatmap.decode` of each -> dec_keypoints (D, K, 2), dec_scores (D, K).
    """
    from mmpose.codecs import MSRAHeatmap
    from mmpose.codecs.utils.gaussian_heatmap import (
        generate_gaussian_heatmaps, generate_unbiased_gaussian_heatmaps)

    num_keypoints = 8
    arrays: Dict[str, np.ndarray] = {}
    names: List[str] = []
    for (name, input_size, heatmap_size, sigma, unbiased, ks, n_enc, n_multi,
         n_dec) in _msra_configs():
        codec = MSRAHeatmap(input_size=input_size, heatmap_size=heatmap_size,
                            sigma=sigma, unbiased=unbiased, blur_kernel_size=ks)
        scale = codec.scale_factor
        generate = (generate_unbiased_gaussian_heatmaps
                    if unbiased else generate_gaussian_heatmaps)
        p = f"{name}__"
        names.append(name)
        arrays[p + "input_size"] = np.asarray(input_size, np.int32)
        arrays[p + "heatmap_size"] = np.asarray(heatmap_size, np.int32)
        arrays[p + "sigma"] = np.float64(sigma)
        arrays[p + "unbiased"] = np.bool_(unbiased)
        arrays[p + "blur_kernel_size"] = np.int32(ks)

        def encode_section(prefix, count, num_instances, encode_one):
            """Stores `count` encode cases; sections with no cases are left out."""
            if not count:
                return
            kps = np.stack([
                _keypoints_msra(rng, num_instances, num_keypoints, input_size, sigma,
                                scale) for _ in range(count)
            ])
            vis = np.stack([
                _visibility(rng, (num_instances, num_keypoints)) for _ in range(count)
            ])
            results = [encode_one(kp, v) for kp, v in zip(kps, vis)]
            arrays[p + prefix + "_keypoints"], arrays[p + prefix + "_visible"] = kps, vis
            heatmaps = np.stack([hm.transpose(1, 2, 0) for hm, _ in results])
            # DARK targets cover the whole map with tails down to 1e-38, whose random
            # low bits do not compress; below 1e-8 (1000x under the tests' 1e-5
            # tolerance) they are stored as 0.
            heatmaps[heatmaps < 1e-8] = 0.0
            arrays[p + prefix + "_heatmaps"] = heatmaps.astype(np.float32)
            arrays[p + prefix + "_weights"] = np.stack(
                [wt for _, wt in results]).astype(np.float32)

        def encode_single(kp, v):
            enc = codec.encode(kp, v)
            return enc["heatmaps"], enc["keypoint_weights"]

        def encode_multi(kp, v):
            # What MMPose's encode does inside, without its one-instance assertion.
            return generate(heatmap_size=heatmap_size, keypoints=kp / scale,
                            keypoints_visible=v, sigma=sigma)

        encode_section("enc", n_enc, 1, encode_single)
        encode_section("multi", n_multi, 3, encode_multi)

        if n_dec:
            inputs, keypoints, scores = [], [], []
            margin = 4 * scale
            for _ in range(n_dec):
                kp = rng.uniform(-margin, np.asarray(input_size) + margin,
                                 size=(1, num_keypoints, 2)).astype(np.float32)
                noisy = _noisy_heatmaps(rng, codec.encode(kp)["heatmaps"])
                kp_out, score = codec.decode(noisy.astype(np.float32))
                inputs.append(noisy.transpose(1, 2, 0))
                keypoints.append(kp_out[0])
                scores.append(score[0])
            arrays[p + "dec_heatmaps"] = np.stack(inputs)
            arrays[p + "dec_keypoints"] = np.stack(keypoints).astype(np.float32)
            arrays[p + "dec_scores"] = np.stack(scores).astype(np.float32)
    arrays["configs"] = np.asarray(names)
    return arrays


def _udp_configs() -> List[tuple]:
    """(name, input_size, heatmap_size, heatmap_type, sigma, radius_factor,
    blur_kernel_size, single-instance encode cases, multi-instance cases, decode cases).
    """
    return [
        ("gauss_s2_192x256", (192, 256), (48, 64), "gaussian", 2.0, 0.0546875, 11,
         1, 0, 1),
        ("gauss_s2_48x64", (48, 64), (12, 16), "gaussian", 2.0, 0.0546875, 11,
         16, 3, 12),
        ("gauss_s1_48x64", (48, 64), (12, 16), "gaussian", 1.0, 0.0546875, 7,
         10, 2, 8),
        ("gauss_s1.5_50x60", (50, 60), (13, 16), "gaussian", 1.5, 0.0546875, 5,
         10, 2, 8),
        ("combined_192x256", (192, 256), (48, 64), "combined", 2.0, 0.0546875, 11,
         1, 0, 0),
        ("combined_48x64", (48, 64), (12, 16), "combined", 2.0, 0.0546875, 5,
         10, 3, 10),
        ("combined_r0.2_50x60", (50, 60), (13, 16), "combined", 2.0, 0.2, 3,
         8, 2, 8),
    ]


def make_udp_heatmap(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """UDPHeatmap encode and decode outputs, both heatmap types.

    Per configuration `<name>__`, with the same sections as `make_msra_heatmap`:
    enc_* (one instance, `UDPHeatmap.encode`), multi_* (three instances, through the
    generator function on `keypoints / scale_factor` as `encode` does) and dec_*
    (noisy float16 targets -> `UDPHeatmap.decode`).
    """
    from mmpose.codecs import UDPHeatmap
    from mmpose.codecs.utils.gaussian_heatmap import generate_udp_gaussian_heatmaps
    from mmpose.codecs.utils.offset_heatmap import generate_offset_heatmap

    num_keypoints = 8
    arrays: Dict[str, np.ndarray] = {}
    names: List[str] = []
    for (name, input_size, heatmap_size, heatmap_type, sigma, radius_factor, ks, n_enc,
         n_multi, n_dec) in _udp_configs():
        codec = UDPHeatmap(input_size=input_size, heatmap_size=heatmap_size,
                           heatmap_type=heatmap_type, sigma=sigma,
                           radius_factor=radius_factor, blur_kernel_size=ks)
        scale = codec.scale_factor
        p = f"{name}__"
        names.append(name)
        arrays[p + "input_size"] = np.asarray(input_size, np.int32)
        arrays[p + "heatmap_size"] = np.asarray(heatmap_size, np.int32)
        arrays[p + "heatmap_type"] = np.asarray(heatmap_type)
        arrays[p + "sigma"] = np.float64(sigma)
        arrays[p + "radius_factor"] = np.float64(radius_factor)
        arrays[p + "blur_kernel_size"] = np.int32(ks)

        def generate(kp, v):
            if heatmap_type == "gaussian":
                return generate_udp_gaussian_heatmaps(
                    heatmap_size=heatmap_size, keypoints=kp / scale,
                    keypoints_visible=v, sigma=sigma)
            return generate_offset_heatmap(
                heatmap_size=heatmap_size, keypoints=kp / scale, keypoints_visible=v,
                radius_factor=radius_factor)

        def single(kp, v):
            enc = codec.encode(kp, v)
            return enc["heatmaps"], enc["keypoint_weights"]

        for section, count, num_instances, encode_one in (("enc", n_enc, 1, single),
                                                          ("multi", n_multi, 3, generate)):
            if not count:
                continue
            kps = np.stack([_keypoints_msra(rng, num_instances, num_keypoints,
                                            input_size, sigma, scale)
                            for _ in range(count)])
            vis = np.stack([_visibility(rng, (num_instances, num_keypoints))
                            for _ in range(count)])
            results = [encode_one(kp, v) for kp, v in zip(kps, vis)]
            arrays[p + section + "_keypoints"], arrays[p + section + "_visible"] = kps, vis
            arrays[p + section + "_heatmaps"] = np.stack(
                [hm.transpose(1, 2, 0) for hm, _ in results]).astype(np.float32)
            arrays[p + section + "_weights"] = np.stack(
                [wt for _, wt in results]).astype(np.float32)

        inputs, keypoints, scores = [], [], []
        margin = 4 * scale
        for _ in range(n_dec):
            kp = rng.uniform(-margin, np.asarray(input_size) + margin,
                             size=(1, num_keypoints, 2)).astype(np.float32)
            noisy = codec.encode(kp)["heatmaps"].astype(np.float16)
            # Noise on the class / Gaussian channels only: clean offset ramps keep the
            # fixture small, and the decoder reads offsets without comparing them.
            step = 3 if heatmap_type == "combined" else 1
            noisy[::step] = _noisy_heatmaps(rng, noisy[::step].astype(np.float32))
            kp_out, score = codec.decode(noisy.astype(np.float32))
            inputs.append(noisy.transpose(1, 2, 0))
            keypoints.append(kp_out[0])
            scores.append(score[0])
        if n_dec:
            arrays[p + "dec_heatmaps"] = np.stack(inputs)
            arrays[p + "dec_keypoints"] = np.stack(keypoints).astype(np.float32)
            arrays[p + "dec_scores"] = np.stack(scores).astype(np.float32)
    arrays["configs"] = np.asarray(names)
    return arrays


def _simcc_configs() -> List[tuple]:
    """(name, SimCCLabel kwargs, single-instance encode cases, multi-instance encode
    cases, decode cases)."""
    return [
        ("gauss_s6_192x256", dict(input_size=(192, 256), sigma=6.0), 4, 0, 4),
        ("gauss_dark_s4.9x5.66_48x64",
         dict(input_size=(48, 64), sigma=(4.9, 5.66), normalize=False, use_dark=True),
         12, 3, 12),
        ("gauss_dark_s3_r1.5_50x61",
         dict(input_size=(50, 61), sigma=3.0, simcc_split_ratio=1.5, use_dark=True),
         12, 3, 12),
        ("gauss_vis_s2_r1_40x40",
         dict(input_size=(40, 40), sigma=2.0, simcc_split_ratio=1.0,
              decode_visibility=True, decode_beta=150.0), 6, 0, 10),
        ("standard_48x64", dict(input_size=(48, 64), smoothing_type="standard"),
         10, 3, 8),
        ("standard_ls0.1_r3_30x20",
         dict(input_size=(30, 20), smoothing_type="standard", simcc_split_ratio=3.0,
              label_smooth_weight=0.1), 10, 3, 8),
    ]


def make_simcc_label(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """SimCCLabel encode and decode outputs over its options.

    Per configuration `<name>__`: `kwargs` (a JSON string of the constructor
    arguments); enc_* / multi_* sections with keypoints, visible, x_labels, y_labels,
    weights (MMPose's codec encodes several instances itself); dec_x, dec_y float16
    noisy labels (B, K, L) -> dec_keypoints (B, K, 2), dec_scores (B, K) and, with
    decode_visibility, dec_visibility (B, K).
    """
    import json

    from mmpose.codecs import SimCCLabel

    num_keypoints = 8
    arrays: Dict[str, np.ndarray] = {}
    names: List[str] = []
    for name, kwargs, n_enc, n_multi, n_dec in _simcc_configs():
        codec = SimCCLabel(**kwargs)
        ratio = kwargs.get("simcc_split_ratio", 2.0)
        sigma = float(np.max(codec.sigma))
        scale = np.full(2, 1.0 / ratio)  # input pixels per bin
        p = f"{name}__"
        names.append(name)
        arrays[p + "kwargs"] = np.asarray(json.dumps(kwargs))
        for section, count, num_instances in (("enc", n_enc, 1), ("multi", n_multi, 3)):
            if not count:
                continue
            kps = np.stack([_keypoints_msra(rng, num_instances, num_keypoints,
                                            kwargs["input_size"], sigma, scale)
                            for _ in range(count)])
            vis = np.stack([_visibility(rng, (num_instances, num_keypoints))
                            for _ in range(count)])
            results = [codec.encode(kp, v) for kp, v in zip(kps, vis)]
            arrays[p + section + "_keypoints"], arrays[p + section + "_visible"] = kps, vis
            for key, short in (("keypoint_x_labels", "x_labels"),
                               ("keypoint_y_labels", "y_labels"),
                               ("keypoint_weights", "weights")):
                arrays[p + section + "_" + short] = np.stack(
                    [r[key] for r in results]).astype(np.float32)
        dec_x, dec_y, keypoints, scores, visibility = [], [], [], [], []
        for _ in range(n_dec):
            kp = rng.uniform(-4, np.asarray(kwargs["input_size"]) + 4,
                             size=(1, num_keypoints, 2)).astype(np.float32)
            enc = codec.encode(kp)
            # (K, 1, L) "heatmaps" so the heatmap noise recipe applies per keypoint.
            x = _noisy_heatmaps(rng, enc["keypoint_x_labels"][0][:, None])[:, 0]
            y = _noisy_heatmaps(rng, enc["keypoint_y_labels"][0][:, None])[:, 0]
            kp_out, score = codec.decode(x[None].astype(np.float32),
                                         y[None].astype(np.float32))
            if codec.decode_visibility:
                score, vis_out = score
                visibility.append(vis_out[0])
            dec_x.append(x)
            dec_y.append(y)
            keypoints.append(kp_out[0])
            scores.append(score[0])
        if n_dec:
            arrays[p + "dec_x"] = np.stack(dec_x)
            arrays[p + "dec_y"] = np.stack(dec_y)
            arrays[p + "dec_keypoints"] = np.stack(keypoints).astype(np.float32)
            arrays[p + "dec_scores"] = np.stack(scores).astype(np.float32)
            if visibility:
                arrays[p + "dec_visibility"] = np.stack(visibility).astype(np.float32)
    arrays["configs"] = np.asarray(names)
    return arrays


def _encode_cases(rng, count, num_instances, num_keypoints, input_size, sigma, scale):
    """`count` keypoint sets (count, N, K, 2) and visibilities (count, N, K)."""
    kps = np.stack([_keypoints_msra(rng, num_instances, num_keypoints, input_size, sigma,
                                    scale) for _ in range(count)])
    vis = np.stack([_visibility(rng, (num_instances, num_keypoints))
                    for _ in range(count)])
    return kps, vis


def make_regression_label(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """RegressionLabel encode (several instances) and decode (D = 2 and D = 4).

    Per configuration: enc_keypoints, enc_visible -> enc_labels, enc_weights;
    dec2_inputs (B, K, 2) / dec4_inputs (B, K, 4) -> dec2_/dec4_keypoints and _scores.
    """
    from mmpose.codecs import RegressionLabel

    arrays: Dict[str, np.ndarray] = {}
    names: List[str] = []
    for name, input_size in (("r192x256", (192, 256)), ("r50x61", (50, 61))):
        codec = RegressionLabel(input_size=input_size)
        p = f"{name}__"
        names.append(name)
        arrays[p + "input_size"] = np.asarray(input_size, np.int32)
        kps, vis = _encode_cases(rng, 30, 2, 8, input_size, 1.0, np.ones(2))
        # Exactly on the limits 0 and w - 1 / h - 1, which count as inside.
        kps[0, 0, :4] = [[0, 0], [input_size[0] - 1, input_size[1] - 1],
                         [input_size[0] - 1, 0], [-1e-3, 5]]
        results = [codec.encode(kp, v) for kp, v in zip(kps, vis)]
        arrays[p + "enc_keypoints"], arrays[p + "enc_visible"] = kps, vis
        arrays[p + "enc_labels"] = np.stack([r["keypoint_labels"] for r in results])
        arrays[p + "enc_weights"] = np.stack(
            [r["keypoint_weights"] for r in results]).astype(np.float32)
        for depth in (2, 4):
            inputs = rng.uniform(-0.2, 1.2, size=(20, 8, depth)).astype(np.float32)
            keypoints, scores = codec.decode(inputs)
            arrays[p + f"dec{depth}_inputs"] = inputs
            arrays[p + f"dec{depth}_keypoints"] = keypoints.astype(np.float32)
            arrays[p + f"dec{depth}_scores"] = scores.astype(np.float32)
    arrays["configs"] = np.asarray(names)
    return arrays


def make_integral_regression_label(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """IntegralRegressionLabel encode outputs (one instance; decode is RegressionLabel's).

    Per configuration: kwargs (JSON), enc_keypoints, enc_visible -> enc_labels,
    enc_heatmaps (E, H, W, K), enc_weights.
    """
    import json

    from mmpose.codecs import IntegralRegressionLabel

    arrays: Dict[str, np.ndarray] = {}
    names: List[str] = []
    configs = (
        ("s2_48x64", dict(input_size=(48, 64), heatmap_size=(12, 16), sigma=2.0)),
        ("s1_dark_48x64", dict(input_size=(48, 64), heatmap_size=(12, 16), sigma=1.0,
                               unbiased=True)),
        ("s2_raw_50x60", dict(input_size=(50, 60), heatmap_size=(13, 16), sigma=2.0,
                              normalize=False)),
    )
    for name, kwargs in configs:
        codec = IntegralRegressionLabel(**kwargs)
        p = f"{name}__"
        names.append(name)
        arrays[p + "kwargs"] = np.asarray(json.dumps(kwargs))
        scale = codec.heatmap_codec.scale_factor
        kps, vis = _encode_cases(rng, 12, 1, 8, kwargs["input_size"], kwargs["sigma"],
                                 scale)
        results = [codec.encode(kp, v) for kp, v in zip(kps, vis)]
        arrays[p + "enc_keypoints"], arrays[p + "enc_visible"] = kps, vis
        arrays[p + "enc_labels"] = np.stack([r["keypoint_labels"] for r in results])
        heatmaps = np.stack([r["heatmaps"].transpose(1, 2, 0) for r in results])
        heatmaps[np.abs(heatmaps) < 1e-8] = 0.0  # tails far below the 1e-5 tolerance
        arrays[p + "enc_heatmaps"] = heatmaps.astype(np.float32)
        arrays[p + "enc_weights"] = np.stack(
            [r["keypoint_weights"] for r in results]).astype(np.float32)
    arrays["configs"] = np.asarray(names)
    return arrays


def make_megvii_heatmap(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """MegviiHeatmap encode and decode outputs over sizes and kernel sizes.

    Per configuration: input_size, heatmap_size, kernel_size; enc_* (one instance)
    and dec_* sections as in `make_msra_heatmap`.
    """
    from mmpose.codecs import MegviiHeatmap

    arrays: Dict[str, np.ndarray] = {}
    names: List[str] = []
    configs = (
        ("k11_192x256", (192, 256), (48, 64), 11, 2, 2),
        ("k5_48x64", (48, 64), (12, 16), 5, 20, 12),
        ("k7_48x64", (48, 64), (12, 16), 7, 12, 8),
        ("k9_50x60", (50, 60), (13, 16), 9, 12, 8),
    )
    for name, input_size, heatmap_size, ks, n_enc, n_dec in configs:
        codec = MegviiHeatmap(input_size=input_size, heatmap_size=heatmap_size,
                              kernel_size=ks)
        p = f"{name}__"
        names.append(name)
        arrays[p + "input_size"] = np.asarray(input_size, np.int32)
        arrays[p + "heatmap_size"] = np.asarray(heatmap_size, np.int32)
        arrays[p + "kernel_size"] = np.int32(ks)
        scale = codec.scale_factor
        kps, vis = _encode_cases(rng, n_enc, 1, 8, input_size, ks / 6.0, scale)
        results = [codec.encode(kp, v) for kp, v in zip(kps, vis)]
        arrays[p + "enc_keypoints"], arrays[p + "enc_visible"] = kps, vis
        arrays[p + "enc_heatmaps"] = np.stack(
            [r["heatmaps"].transpose(1, 2, 0) for r in results]).astype(np.float32)
        arrays[p + "enc_weights"] = np.stack(
            [r["keypoint_weights"] for r in results]).astype(np.float32)
        inputs, keypoints, scores = [], [], []
        for _ in range(n_dec):
            kp = rng.uniform(-scale, np.asarray(input_size) + scale,
                             size=(1, 8, 2)).astype(np.float32)
            # MegviiHeatmap.encode needs explicit visibilities (it copies them).
            clean = codec.encode(kp, np.ones((1, 8), np.float32))["heatmaps"]
            noisy = _noisy_heatmaps(rng, clean / 255.0) * np.float16(255.0)
            kp_out, score = codec.decode(noisy.astype(np.float32))
            inputs.append(noisy.transpose(1, 2, 0))
            keypoints.append(kp_out[0])
            scores.append(score[0])
        arrays[p + "dec_heatmaps"] = np.stack(inputs)
        arrays[p + "dec_keypoints"] = np.stack(keypoints).astype(np.float32)
        arrays[p + "dec_scores"] = np.stack(scores).astype(np.float32)
    arrays["configs"] = np.asarray(names)
    return arrays


GOLDEN_MAKERS: Dict[str, Callable[[np.random.Generator], Dict[str, np.ndarray]]] = {
    "msra_heatmap": make_msra_heatmap,
    "udp_heatmap": make_udp_heatmap,
    "simcc_label": make_simcc_label,
    "regression_label": make_regression_label,
    "integral_regression_label": make_integral_regression_label,
    "megvii_heatmap": make_megvii_heatmap,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codec", action="append", choices=sorted(GOLDEN_MAKERS),
                        help="codec to generate (repeatable); default: all")
    parser.add_argument("--out", default="tests/fixtures/goldens/",
                        help="output directory")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()

    import mmpose
    os.makedirs(args.out, exist_ok=True)
    for codec in args.codec or sorted(GOLDEN_MAKERS):
        # A generator per codec, so adding a codec leaves the others' fixtures alone.
        rng = np.random.default_rng([args.seed, zlib.crc32(codec.encode())])
        arrays = GOLDEN_MAKERS[codec](rng)
        arrays["mmpose_version"] = np.asarray(mmpose.__version__)
        arrays["seed"] = np.int64(args.seed)
        path = os.path.join(args.out, f"{codec}.npz")
        np.savez_compressed(path, **arrays)
        print(f"wrote {path}: {len(arrays)} arrays, {os.path.getsize(path) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
