"""MMPose's UDP decoding on hard heatmaps, for tests/codecs/test_udp_heatmap.py.

    /tmp/mmpose-ref/bin/python tools/dev/make_udp_refine_goldens.py \
        tests/fixtures/goldens/udp_refine_edge_cases.npz

Two kinds of heatmaps that random-weight models give and that make the DARK-UDP Newton
step ill-conditioned: channels negative everywhere (no positive maximum: MMPose's location
is (-1, -1) and numpy's index wrap reads the neighbours from the previous channel's last
row), and outputs in the hundreds (clipped at 50 before the log: flat plateaus). Besides
MMPose's keypoints and scores, each keypoint's range over decodes of the same heatmaps
perturbed by a few float32 ulps is stored: where that range is wide, MMPose's own answer is
decided by float32 rounding (cv2's blur), which no other blur reproduces bit for bit.
"""
import argparse

import cv2
import numpy as np
from mmpose.codecs import UDPHeatmap

INPUT_SIZE = (48, 64)
HEATMAP_SIZE = (12, 16)
NUM_PERTURBED = 24


def smooth_maps(rng, num, scale, offset, sigma):
    """(num, K, H, W) random maps spanning offset +- scale, smoothed when sigma > 0."""
    w, h = HEATMAP_SIZE
    maps = rng.standard_normal((num, 8, h, w)).astype(np.float32)
    for sample in maps if sigma else ():
        for k in range(len(sample)):
            sample[k] = cv2.GaussianBlur(sample[k], (0, 0), sigma)
    maps /= np.abs(maps).max(axis=(2, 3), keepdims=True)
    return (maps * scale + offset).astype(np.float32)


def decode(codec, heatmaps):
    keypoints, scores = [], []
    for sample in heatmaps:
        k, s = codec.decode(sample.copy())
        keypoints.append(k[0])
        scores.append(s[0])
    return np.stack(keypoints), np.stack(scores)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", nargs="?",
                        default="tests/fixtures/goldens/udp_refine_edge_cases.npz")
    args = parser.parse_args()
    rng = np.random.RandomState(7)
    codec = UDPHeatmap(input_size=INPUT_SIZE, heatmap_size=HEATMAP_SIZE, sigma=2)
    # Heatmap-like values (-0.2..0.8) with some channels pushed below zero, channel 0
    # among them (its wrapped reads come from the last channel).
    negative = np.concatenate([smooth_maps(rng, 6, 0.5, 0.3, 1.5),
                               smooth_maps(rng, 6, 5.0, 0.3, 0)])
    for sample in negative:
        for k in np.flatnonzero(rng.rand(8) < 0.4).tolist() + [0]:
            sample[k] = -np.abs(sample[k]) - rng.choice([0.0, 0.02])
    # Outputs in the hundreds: plateaus at the clip value 50.
    large = np.concatenate([smooth_maps(rng, 6, 300.0, 100.0, 2.0),
                            smooth_maps(rng, 6, 300.0, 0.0, 0)])
    heatmaps = np.concatenate([negative, large])
    keypoints, scores = decode(codec, heatmaps)
    perturbed = []
    for _ in range(NUM_PERTURBED):
        ulps = rng.randint(-4, 5, heatmaps.shape).astype(np.float32)
        noisy = heatmaps * (1 + ulps * np.finfo(np.float32).eps / 2)
        perturbed.append(decode(codec, noisy.astype(np.float32))[0])
    perturbed = np.stack(perturbed + [keypoints])
    np.savez_compressed(
        args.out, heatmaps=heatmaps.transpose(0, 2, 3, 1), keypoints=keypoints,
        scores=scores, keypoints_low=perturbed.min(axis=0),
        keypoints_high=perturbed.max(axis=0),
        negative=np.arange(len(heatmaps)) < len(negative),
        input_size=np.array(INPUT_SIZE), heatmap_size=np.array(HEATMAP_SIZE))
    spread = (perturbed.max(axis=0) - perturbed.min(axis=0)).max(axis=-1)
    print(f"{args.out}: {heatmaps.shape}, keypoints up to {np.abs(keypoints).max():.1f} px, "
          f"{(spread > 1e-3).sum()} of {spread.size} move > 1e-3 px under ulp noise "
          f"(up to {spread.max():.3g} px)")


if __name__ == "__main__":
    main()
