"""Batched decode throughput of kpose's codecs against MMPose 1.3.2's numpy decode.

    python benchmarks/codecs.py [--backend kpose|mmpose] [--batch_size 64]
        [--repeats 10] [--codec msra_dark|udp|simcc]

Decodes the same randomised inputs (17 keypoints; heatmaps 64x48 for MSRAHeatmap with
DARK and for UDPHeatmap, SimCC 384x512 bins for SimCCLabel) and prints one line per codec:
`codec=<name> backend=<backend> instances_per_s=<float>`.

- `--backend kpose` (the kpose venv): `codec.batch_decode` on (B, ...) inside a
  `tf.function` with a fixed input signature, i.e. as an exported graph runs it.
- `--backend mmpose` (the reference venv, /tmp/mmpose-ref/bin/python): MMPose's
  `codec.decode`, which takes one instance at a time, over the same B instances.

The inputs come from a fixed numpy seed, so both backends decode identical numbers.
Run both and divide; RESULTS.md records the figures and the machine.
"""

import argparse
import time

import numpy as np

NUM_KEYPOINTS = 17
INPUT_SIZE = (192, 256)
HEATMAP_SIZE = (48, 64)
CODECS = ("msra_dark", "udp", "simcc")


def make_inputs(codec: str, batch_size: int, seed: int = 0) -> tuple:
    """Channels-last inputs for kpose: heatmaps (B, 64, 48, 17), or the SimCC pair
    (B, 17, 384), (B, 17, 512). Gaussian peaks plus noise, so refinement does work."""
    rng = np.random.default_rng(seed)
    if codec == "simcc":
        centres = rng.uniform(10, [374, 502], size=(batch_size, NUM_KEYPOINTS, 2))
        labels = []
        for axis, length in ((0, 384), (1, 512)):
            grid = np.arange(length)
            label = np.exp(-(grid - centres[..., axis:axis + 1])**2 / (2 * 6.0**2))
            label += rng.uniform(0, 0.05, label.shape)
            labels.append(label.astype(np.float32))
        return tuple(labels)
    width, height = HEATMAP_SIZE
    centres = rng.uniform(2, [width - 2, height - 2], size=(batch_size, NUM_KEYPOINTS, 2))
    ys, xs = np.mgrid[0:height, 0:width]
    heatmaps = np.exp(-((xs[None, None] - centres[..., 0, None, None])**2 +
                        (ys[None, None] - centres[..., 1, None, None])**2) / 8.0)
    heatmaps += rng.uniform(0, 0.05, heatmaps.shape)
    return (heatmaps.transpose(0, 2, 3, 1).astype(np.float32),)  # (B, H, W, K)


def time_per_call(function, repeats: int) -> float:
    """Median seconds of `repeats` calls, after two warm-up calls."""
    function()
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def kpose_decoder(codec: str, inputs: tuple):
    import tensorflow as tf

    from kpose.codecs import MSRAHeatmap, SimCCLabel, UDPHeatmap

    if codec == "msra_dark":
        decoder = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, unbiased=True)
    elif codec == "udp":
        decoder = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
    else:
        decoder = SimCCLabel(INPUT_SIZE, sigma=(4.9, 5.66), simcc_split_ratio=2.0,
                             normalize=False, use_dark=False)
    specs = [tf.TensorSpec((None,) + x.shape[1:], tf.float32) for x in inputs]
    if codec == "simcc":
        graph = tf.function(lambda x, y: decoder.batch_decode((x, y)),
                            input_signature=specs)
    else:
        graph = tf.function(decoder.batch_decode, input_signature=specs)
    tensors = [tf.constant(x) for x in inputs]
    return lambda: [t.numpy() for t in tf.nest.flatten(graph(*tensors))]


def mmpose_decoder(codec: str, inputs: tuple):
    from mmpose.codecs import MSRAHeatmap, SimCCLabel, UDPHeatmap

    if codec == "msra_dark":
        decoder = MSRAHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0, unbiased=True)
    elif codec == "udp":
        decoder = UDPHeatmap(INPUT_SIZE, HEATMAP_SIZE, sigma=2.0)
    else:
        decoder = SimCCLabel(INPUT_SIZE, sigma=(4.9, 5.66), simcc_split_ratio=2.0,
                             normalize=False, use_dark=False)
    if codec == "simcc":
        simcc_x, simcc_y = inputs
        return lambda: [decoder.decode(simcc_x[i:i + 1], simcc_y[i:i + 1])
                        for i in range(len(simcc_x))]
    # MMPose's heatmaps are channels-first (K, H, W), one instance per call.
    heatmaps = np.ascontiguousarray(inputs[0].transpose(0, 3, 1, 2))
    return lambda: [decoder.decode(h) for h in heatmaps]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("kpose", "mmpose"), default="kpose")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--codec", action="append", choices=CODECS,
                        help="codec to time (repeatable); default: all")
    args = parser.parse_args(argv)
    build = kpose_decoder if args.backend == "kpose" else mmpose_decoder
    for codec in args.codec or CODECS:
        inputs = make_inputs(codec, args.batch_size)
        seconds = time_per_call(build(codec, inputs), args.repeats)
        print(f"codec={codec} backend={args.backend} batch_size={args.batch_size} "
              f"instances_per_s={args.batch_size / seconds:.1f}", flush=True)


if __name__ == "__main__":
    main()
