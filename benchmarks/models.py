"""Per-recipe model figures: parameters, GFLOPs, CPU latency and training throughput.

    python benchmarks/models.py [--recipes td-hm_res50_coco-256x192 ...] [--threads 2]
        [--skip_train] [--mixed_precision auto]

Prints one line per recipe:
`<recipe> params=<int> gflops=<float> latency_ms=<float> train_img_s=<float>`.

- params: trainable weights, which is what MMPose's parameter count is.
- gflops: multiply-adds of one forward pass at batch 1 and the recipe's input size, in
  billions (the convention of MMPose's tables, whose "GFLOPs" come from mmcv's counter of
  multiply-accumulates), from TensorFlow's graph profiler.
- latency_ms: median Keras `predict_on_batch` time at batch 1, flip test off, decode
  included, on --threads CPU threads.
- train_img_s: images per second of compiled `train_on_batch` at batch 16 (random crops and
  codec targets), with the recipe's optimizer; float32 unless --mixed_precision.

MMPose 1.3.2 on this machine class (DESIGN.md): PyTorch batch-1 latency R50 108 ms,
HRNet-W32 124 ms, RTMPose-m 38 ms; train step at batch 16: 3.6, 2.7 and 10.2 img/s.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def median_ms(fn, warmup: int, iters: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


def forward_gmacs(model) -> float:
    """Multiply-adds (billions) of one batch-1 forward pass, from TF's graph profiler."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    w, h = model.codec.input_size
    spec = tf.TensorSpec((1, h, w, 3), tf.float32)
    concrete = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    frozen = convert_variables_to_constants_v2(concrete)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    profile = tf.compat.v1.profiler.profile(graph=frozen.graph, options=options)
    return profile.total_float_ops / 2e9  # the profiler counts a multiply-add as 2 FLOPs


def train_throughput(parts, model, batch_size: int, warmup: int, iters: int) -> float:
    from recipe_models import random_batch

    images, targets = random_batch(model, batch_size)
    schedule = parts["lr_schedule"](steps_per_epoch=100)
    model.compile(optimizer=parts["optimizer"](learning_rate=schedule))
    step_ms = median_ms(lambda: model.train_on_batch(images, targets), warmup, iters)
    return batch_size / (step_ms / 1000.0)


def measure(name, args):
    import keras
    import tensorflow as tf

    from kpose.engine.strategy import resolve_mixed_precision
    from recipe_models import build_recipe, count_params

    parts = build_recipe(name, ["TopdownPoseEstimator.flip_test = False"])
    keras.utils.set_random_seed(0)
    model = parts["model"]()
    w, h = model.codec.input_size
    model(tf.zeros((1, h, w, 3), tf.uint8))
    params = count_params(model)
    gmacs = forward_gmacs(model)
    image = tf.zeros((1, h, w, 3), tf.uint8)
    latency = median_ms(lambda: model.predict_on_batch(image), args.warmup, args.iters)
    fields = [f"params={params}", f"gflops={gmacs:.3f}", f"latency_ms={latency:.1f}"]
    if not args.skip_train:
        policy = resolve_mixed_precision(args.mixed_precision)
        previous = keras.config.dtype_policy()
        if policy:
            keras.config.set_dtype_policy(policy)
        try:
            train_model = parts["model"]()
        finally:
            keras.config.set_dtype_policy(previous)
        img_s = train_throughput(parts, train_model, args.batch_size, 2, args.train_iters)
        fields.append(f"train_img_s={img_s:.2f}")
        fields.append(f"precision={policy or 'float32'}")
    print(name, " ".join(fields), flush=True)


def main(argv=None):
    from recipe_models import all_recipes

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="*", default=None,
                        help="recipe stems or paths (default: every experiment)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--train_iters", type=int, default=5)
    parser.add_argument("--skip_train", action="store_true")
    parser.add_argument("--mixed_precision", default=None,
                        help="None (float32), mixed_bfloat16, mixed_float16 or auto")
    args = parser.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import kpose.models  # noqa: F401  (registers the model classes with gin)

    for name in args.recipes or all_recipes():
        measure(name, args)


if __name__ == "__main__":
    main()
