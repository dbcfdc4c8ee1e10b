"""Throughput of kpose's top-down training pipeline, and of JPEG decoding alone.

    python benchmarks/pipeline.py [--data_root DIR] [--ann_file annotations/person_keypoints_train.json]
        [--img_prefix images/train] [--batch_size 64] [--num_batches 50] [--cores N]
        [--backend cv2|tf] [--max_decode_ratio 1|2|4|8] [--nondeterministic]
        [--num_parallel_calls N] [--decode_only] [--full_decode] [--no_decode_bound] [--per_sample]

Runs the default training pipeline (MMPose's SimpleBaseline R50 recipe: flip, half body,
bbox jitter, affine to 256x192, MSRA heatmaps 64x48) over a COCO-format folder and
prints `samples_per_s=<float>` as its last line. Without `--data_root` it writes a
temporary folder of synthetic 640x480 JPEGs (random shapes and texture) with COCO json.

Without `--cores` it reports the whole picture, each figure from a child process of its
own (so AUTOTUNE starts fresh): decode-only and pipeline at 1 and at 2 cores, the
scaling from 1 to 2 cores, the pipeline against the decode bound, and against MMPose
1.3.2's ~354 samples/s on this machine class (`vs_mmpose=`); the last line is the
2-core pipeline's `samples_per_s=`. With `--cores N` it measures N cores only.

`--per_sample` forces the pipeline's general per-sample path (every transform on one
sample at a time) instead of its vectorised one, for comparison.

With `--cores N`, unless `--no_decode_bound`, it first measures, in a child process so AUTOTUNE starts
fresh, the bound set by decoding every sample's whole JPEG and nothing else
(`decode_only_samples_per_s=`), and after the pipeline prints
`decode_bound_ratio=<bound / pipeline>` (1.0 would mean the pipeline costs no more than
decoding). `--full_decode` decodes whole images in the pipeline too (instead of only the
window the crop needs), for comparison. `--backend`, `--max_decode_ratio` are
TopdownAffine's options; `--nondeterministic` and `--num_parallel_calls` the pipeline's.
`--cores` limits the process (CPU affinity) and TF's and tf.data's thread pools to N
cores. Results and the machine they were measured on: benchmarks/RESULTS.md.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

K = 17
MMPOSE_SAMPLES_PER_S = 354.0  # MMPose 1.3.2's pipeline, 2 DataLoader workers, this machine class


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data_root", default=None, help="COCO-format folder (synthetic if omitted)")
    p.add_argument("--ann_file", default="annotations/person_keypoints_train.json")
    p.add_argument("--img_prefix", default="images/train")
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--num_batches", type=int, default=50, help="timed batches (AUTOTUNE needs > 30)")
    p.add_argument("--warmup", type=int, default=8, help="untimed batches first")
    p.add_argument("--cores", type=int, default=None)
    p.add_argument("--decode_only", action="store_true", help="measure whole-JPEG decoding only")
    p.add_argument("--full_decode", action="store_true", help="pipeline decodes whole images")
    p.add_argument("--backend", choices=["cv2", "tf"], default="cv2", help="TopdownAffine's warp backend")
    p.add_argument("--max_decode_ratio", type=int, choices=[1, 2, 4, 8], default=1,
                   help="TopdownAffine's reduced-DCT JPEG decoding (opt-in, changes pixels)")
    p.add_argument("--nondeterministic", action="store_true", help="deterministic=False (any sample order)")
    p.add_argument("--num_parallel_calls", type=int, default=None, help="per-sample map parallelism (AUTOTUNE)")
    p.add_argument("--no_decode_bound", action="store_true", help="skip the decode-only child run")
    p.add_argument("--num_images", type=int, default=200, help="synthetic images to write")
    p.add_argument("--per_sample", action="store_true",
                   help="force the per-sample path (no vectorised geometry / targets)")
    args = p.parse_args(argv)
    if args.batch_size <= 0 or args.num_batches <= 0 or args.warmup < 0:
        p.error("batch_size and num_batches must be positive, warmup non-negative")
    return args


def limit_cores(cores):
    """Pin the process to `cores` CPUs and size TF's pools; call before TF runs anything."""
    import tensorflow as tf

    if cores:
        available = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, available[:cores])
        tf.config.threading.set_intra_op_parallelism_threads(cores)
        tf.config.threading.set_inter_op_parallelism_threads(cores)


def with_threads(ds, cores):
    import tensorflow as tf

    if not cores:
        return ds
    options = tf.data.Options()
    options.threading.private_threadpool_size = cores
    return ds.with_options(options)


def write_synthetic_coco(root, num_images, seed=0):
    """640x480 JPEGs of textured random shapes with 1-3 'people' each, and a COCO json."""
    import cv2

    rng = np.random.default_rng(seed)
    img_dir = os.path.join(root, "images", "train")
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    images, annotations = [], []
    for i in range(num_images):
        img = cv2.resize(rng.integers(0, 256, (30, 40, 3), dtype=np.uint8), (640, 480),
                         interpolation=cv2.INTER_CUBIC)
        img = cv2.add(img, rng.integers(0, 40, (480, 640, 3), dtype=np.uint8))  # sensor-like noise
        for _ in range(6):
            color = tuple(int(c) for c in rng.integers(0, 256, 3))
            center = tuple(int(c) for c in rng.integers(0, [640, 480]))
            cv2.circle(img, center, int(rng.integers(10, 80)), color, -1)
        name = f"{i:06d}.jpg"
        cv2.imwrite(os.path.join(img_dir, name), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        images.append({"id": i, "file_name": name, "width": 640, "height": 480})
        for _ in range(int(rng.integers(1, 4))):
            w, h = rng.uniform(40, 300), rng.uniform(80, 400)
            x, y = rng.uniform(0, 640 - w), rng.uniform(0, 480 - h)
            kpts = np.stack([rng.uniform(x, x + w, K), rng.uniform(y, y + h, K),
                             rng.choice([0, 2], K, p=[0.2, 0.8])], 1)
            kpts[kpts[:, 2] == 0, :2] = 0
            annotations.append({"id": len(annotations) + 1, "image_id": i, "category_id": 1, "iscrowd": 0,
                                "bbox": [x, y, w, h], "area": w * h, "keypoints": kpts.ravel().tolist(),
                                "num_keypoints": int((kpts[:, 2] > 0).sum())})
    coco = {"images": images, "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "keypoints": [str(k) for k in range(K)],
                            "skeleton": []}]}
    with open(os.path.join(root, "annotations", "person_keypoints_train.json"), "w") as f:
        json.dump(coco, f)
    return root


def load_records(args):
    from kpose.datasets.coco_style_dataset import CocoStyleDataset

    dataset = CocoStyleDataset(ann_file=args.ann_file, data_root=args.data_root,
                               data_prefix=args.img_prefix, metainfo="coco")
    return dataset.records, dataset.meta


def time_batches(ds, warmup, num_batches, batch_size):
    """Samples per wall-clock second; also prints the process's CPU ms per sample.

    CPU time (user + sys, all threads) per sample is what the pipeline costs whatever
    else runs on the machine, so it is the steadier figure on a shared machine.
    """
    it = iter(ds)
    for _ in range(warmup):
        next(it)
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    for _ in range(num_batches):
        next(it)
    wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu_start
    print(f"cpu_ms_per_sample={1e3 * cpu / (num_batches * batch_size):.3f}", flush=True)
    return num_batches * batch_size / wall


def _cpu_seconds():
    t = os.times()
    return t.user + t.system


def decode_only(args, records):
    import tensorflow as tf

    paths = tf.data.Dataset.from_tensor_slices(records["img_path"]).repeat()
    ds = paths.map(lambda p: tf.shape(tf.io.decode_jpeg(tf.io.read_file(p), channels=3)),
                   num_parallel_calls=tf.data.AUTOTUNE)
    ds = with_threads(ds.batch(args.batch_size).prefetch(tf.data.AUTOTUNE), args.cores)
    return time_batches(ds, args.warmup, args.num_batches, args.batch_size)


def pipeline(args, records, meta):
    import tensorflow as tf

    from kpose.codecs.msra_heatmap import MSRAHeatmap
    from kpose.datasets.pipeline import build_topdown_pipeline, default_topdown_transforms
    from kpose.datasets.transforms import TopdownAffine

    input_size = (192, 256)
    codec = MSRAHeatmap(input_size=input_size, heatmap_size=(48, 64), sigma=2)
    affine = TopdownAffine(input_size, partial_decode=not args.full_decode, backend=args.backend,
                           max_decode_ratio=args.max_decode_ratio)
    transforms = [affine if isinstance(t, TopdownAffine) else t
                  for t in default_topdown_transforms(codec, input_size, train=True)]
    if args.per_sample:
        # a plain function in the list makes the pipeline take its general per-sample path
        first = transforms[0]
        transforms[0] = lambda sample: first(sample)
    ds = build_topdown_pipeline(records, meta, codec, input_size, train=True, batch_size=args.batch_size,
                                transforms=transforms, repeat=True,
                                num_parallel_calls=args.num_parallel_calls or tf.data.AUTOTUNE,
                                deterministic=False if args.nondeterministic else None)
    ds = with_threads(ds, args.cores)
    return time_batches(ds, args.warmup, args.num_batches, args.batch_size)


def _child(args, cores, decode_only):
    """Run one measurement in a fresh process; returns (samples/s, CPU ms per sample)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--data_root", args.data_root, "--ann_file", args.ann_file,
           "--img_prefix", args.img_prefix, "--batch_size", str(args.batch_size), "--num_batches",
           str(args.num_batches), "--warmup", str(args.warmup), "--cores", str(cores), "--no_decode_bound",
           "--backend", args.backend, "--max_decode_ratio", str(args.max_decode_ratio)]
    cmd += ["--decode_only"] if decode_only else []
    cmd += [flag for flag, on in (("--full_decode", args.full_decode), ("--nondeterministic", args.nondeterministic),
                                  ("--per_sample", args.per_sample)) if on]
    if args.num_parallel_calls:
        cmd += ["--num_parallel_calls", str(args.num_parallel_calls)]
    lines = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()
    values = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    return float(values["samples_per_s"]), float(values["cpu_ms_per_sample"])


def report(args):
    """Decode-only and pipeline at 1 and 2 cores, each in a child process."""
    rates = {}
    for cores in (1, 2):
        for what in ("decode_only", "pipeline"):
            rate, cpu = _child(args, cores, what == "decode_only")
            rates[what, cores] = rate
            print(f"{what}_{cores}core_samples_per_s={rate:.1f} cpu_ms_per_sample={cpu:.3f}", flush=True)
    for cores in (1, 2):
        print(f"decode_bound_ratio_{cores}core={rates['decode_only', cores] / rates['pipeline', cores]:.2f}",
              flush=True)
    print(f"scaling_1_to_2_cores={rates['pipeline', 2] / rates['pipeline', 1]:.2f} "
          f"(decode only {rates['decode_only', 2] / rates['decode_only', 1]:.2f})", flush=True)
    print(f"vs_mmpose={rates['pipeline', 2] / MMPOSE_SAMPLES_PER_S:.2f} "
          f"(MMPose 1.3.2: {MMPOSE_SAMPLES_PER_S:.0f} samples/s on 2 cores)", flush=True)
    print(f"samples_per_s={rates['pipeline', 2]:.1f}", flush=True)


def main(argv=None):
    args = parse_args(argv)
    limit_cores(args.cores)
    tmp = None
    if args.data_root is None:
        tmp = tempfile.TemporaryDirectory(prefix="kpose_bench_")
        args.data_root = write_synthetic_coco(tmp.name, args.num_images)
        args.ann_file, args.img_prefix = "annotations/person_keypoints_train.json", "images/train"
    try:
        if args.cores is None and not args.decode_only:
            report(args)
            return
        bound = None
        if not args.decode_only and not args.no_decode_bound:
            child = [sys.executable, os.path.abspath(__file__), "--decode_only", "--data_root", args.data_root,
                     "--ann_file", args.ann_file, "--img_prefix", args.img_prefix,
                     "--batch_size", str(args.batch_size), "--num_batches", str(args.num_batches),
                     "--warmup", str(args.warmup)] + (["--cores", str(args.cores)] if args.cores else [])
            out = subprocess.run(child, check=True, capture_output=True, text=True).stdout.strip().splitlines()
            bound = float(out[-1].split("=")[1])
            print(f"decode_only_{out[-2]}", flush=True)
            print(f"decode_only_samples_per_s={bound:.1f}", flush=True)
        records, meta = load_records(args)
        n = len(records["img_path"])
        what = "decode_only" if args.decode_only else (
            f"pipeline_{'full' if args.full_decode else 'window'}_decode backend={args.backend} "
            f"max_decode_ratio={args.max_decode_ratio} deterministic={not args.nondeterministic} "
            f"num_parallel_calls={args.num_parallel_calls or 'AUTOTUNE'}")
        print(f"# {what}: {n} instances, batch {args.batch_size}, {args.num_batches} timed batches after "
              f"{args.warmup} warmup, cores={args.cores or len(os.sched_getaffinity(0))}", flush=True)
        rate = decode_only(args, records) if args.decode_only else pipeline(args, records, meta)
        if bound is not None:
            print(f"decode_bound_ratio={bound / rate:.2f}", flush=True)
        if not args.decode_only:
            print(f"vs_mmpose={rate / MMPOSE_SAMPLES_PER_S:.2f}", flush=True)
        print(f"samples_per_s={rate:.1f}", flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    main()
