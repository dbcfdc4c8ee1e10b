"""Inference latency of exported pose models on this CPU, decode included.

    python benchmarks/latency.py [--models r50 rtmpose-m] [--batches 1 8] [--threads 2]

Prints one line per measurement: `<model> <format> batch=<n> latency_ms=<float>` (median
of --iters timed runs after --warmup runs) for Keras `predict_on_batch`, the SavedModel
`crops` signature and TFLite fp32 / fp16 / int8 (ai_edge_litert, --threads threads).
Every path includes flip test as configured (off here: one pass, as the ONNX Runtime
reference figures) and keypoint decoding. Weights are random: latency does not depend on
them; int8 is calibrated on random crops for the same reason.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # recipe_models
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def build_r50():
    """SimpleBaseline ResNet-50 at 256x192 (MMPose td-hm_res50_coco-256x192)."""
    from kpose.codecs.msra_heatmap import MSRAHeatmap
    from kpose.models.backbones.res_net import ResNet
    from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
    from kpose.models.heads.heatmap_head import HeatmapHead

    return TopdownPoseEstimator(ResNet(50), HeatmapHead(2048, out_channels=17),
                                MSRAHeatmap(input_size=(192, 256), heatmap_size=(48, 64)),
                                flip_test=False)


def build_rtmpose_m():
    """RTMPose-m at 256x192, from its recipe (rtmpose-m_coco-256x192.gin), flip test off."""
    from recipe_models import build_recipe

    parts = build_recipe("rtmpose-m_coco-256x192", ["TopdownPoseEstimator.flip_test = False"])
    return parts["model"]()


MODELS = {"r50": build_r50, "rtmpose-m": build_rtmpose_m}


def _time(fn, warmup: int, iters: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["r50", "rtmpose-m"],
                        choices=sorted(MODELS))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--formats", nargs="+",
                        default=["keras", "saved_model", "tflite_fp32", "tflite_fp16",
                                 "tflite_int8"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iters", type=int, default=10)
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from ai_edge_litert.interpreter import Interpreter

    from kpose.apis import export as export_lib

    rng = np.random.default_rng(0)
    for name in args.models:
        model = MODELS[name]()
        w, h = model.codec.input_size
        model(np.zeros((1, h, w, 3), np.uint8))
        tmp_dir = tempfile.TemporaryDirectory(prefix=f"latency_{name}_")
        tmp = tmp_dir.name
        crops = {b: rng.integers(0, 256, (b, h, w, 3), dtype=np.uint8) for b in args.batches}
        for fmt in args.formats:
            if fmt == "keras":
                runners = {b: (lambda x=crops[b]: model.predict_on_batch(x))
                           for b in args.batches}
            elif fmt == "saved_model":
                path = export_lib.export_saved_model(model, os.path.join(tmp, "sm"),
                                                     signatures=("crops",))
                fn = tf.saved_model.load(path).signatures["crops"]
                runners = {b: (lambda x=tf.constant(crops[b]): fn(crops=x))
                           for b in args.batches}
            else:
                quantize = {"tflite_fp32": "none", "tflite_fp16": "fp16",
                            "tflite_int8": "int8"}[fmt]
                calib = (lambda: (rng.integers(0, 256, (8, h, w, 3), dtype=np.uint8)
                                  for _ in range(4)))
                path = export_lib.export_tflite(model, os.path.join(tmp, f"{fmt}.tflite"),
                                                quantize=quantize, representative_crops=calib)
                runner = Interpreter(model_path=path,
                                     num_threads=args.threads).get_signature_runner("crops")
                runners = {b: (lambda x=crops[b]: runner(crops=x)) for b in args.batches}
            for b in args.batches:
                ms = _time(runners[b], args.warmup, args.iters)
                print(f"{name} {fmt} batch={b} latency_ms={ms:.1f}", flush=True)
        tmp_dir.cleanup()


if __name__ == "__main__":
    main()
