"""Training throughput at batch 16 on this CPU for the three reference recipes.

    python benchmarks/train_step.py [--recipes ...] [--batch_size 16] [--threads 2]
        [--mixed_precision auto]

Prints one line per model: `<experiment gin file stem> train_img_s=<float>` (images per
second of compiled `train_on_batch` steps on random crops with codec targets, median step
time after warm-up), with the dtype policy appended as `precision=...`.

MMPose 1.3.2, PyTorch on the same machine class (DESIGN.md): ResNet-50 heatmap 3.6 img/s,
HRNet-W32 2.7, RTMPose-m 10.2.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_RECIPES = ("td-hm_res50_coco-256x192", "td-hm_hrnet-w32_coco-256x192",
                   "rtmpose-m_coco-256x192")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipes", nargs="*", default=list(DEFAULT_RECIPES))
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--mixed_precision", default=None,
                        help="None (float32), mixed_bfloat16, mixed_float16 or auto")
    args = parser.parse_args(argv)

    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import kpose.models  # noqa: F401  (registers the model classes with gin)
    from kpose.engine.strategy import resolve_mixed_precision
    from models import train_throughput
    from recipe_models import build_recipe

    policy = resolve_mixed_precision(args.mixed_precision)
    for name in args.recipes:
        parts = build_recipe(name)
        keras.utils.set_random_seed(0)
        previous = keras.config.dtype_policy()
        if policy:
            keras.config.set_dtype_policy(policy)
        try:
            model = parts["model"]()
        finally:
            keras.config.set_dtype_policy(previous)
        img_s = train_throughput(parts, model, args.batch_size, 2, args.iters)
        print(f"{name} train_img_s={img_s:.2f} precision={policy or 'float32'}", flush=True)


if __name__ == "__main__":
    main()
