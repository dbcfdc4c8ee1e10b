"""Converts an MMPose 1.x checkpoint (.pth) into kpose weights for the same architecture.

    python tools/convert_mmpose_checkpoint.py --gin_file F [--gin_param P ...] \
        --checkpoint X.pth --output OUT.weights.h5 [--format weights|keras]

The model is the one bound to `evaluate.model` in the gin files (as tools/test.py and
tools/export.py build it). Every weight is mapped by name and shape; entries left over on
either side, shape mismatches, BatchNorm epsilons other than --bn_epsilon and a dataset meta
(keypoints, flip indices) that differs from the config's metainfo are errors. The .pth is
read without torch and no pickled code runs. `--format keras` writes a `.keras` file
holding the config as well. See docs/converters.md.
"""

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def build_model():
    """The estimator bound to `evaluate.model` in the parsed gin config, built."""
    import gin
    import tensorflow as tf

    try:
        factory = gin.query_parameter("evaluate.model").scoped_configurable_fn
    except ValueError as err:
        raise ValueError("the gin files bind no evaluate.model to convert into") from err
    model = factory()
    w, h = model.codec.input_size
    model(tf.zeros((1, h, w, 3), tf.uint8))
    return model


def config_metainfo():
    """The dataset meta the gin config binds, or None."""
    import gin

    try:
        metainfo = gin.query_parameter("metainfo_flip_indices.metainfo")
    except ValueError:
        return None
    if isinstance(metainfo, gin.config.ConfigurableReference):  # a %MACRO
        metainfo = metainfo.scoped_configurable_fn()
    return metainfo


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gin_file", action="append", required=True)
    parser.add_argument("--gin_param", action="append", default=[])
    parser.add_argument("--checkpoint", required=True, help="MMPose .pth file")
    parser.add_argument("--output", required=True,
                        help="OUT.weights.h5 (--format weights) or OUT.keras (--format keras)")
    parser.add_argument("--format", default="weights", choices=("weights", "keras"))
    parser.add_argument("--state_dict_key", default="state_dict",
                        help="checkpoint entry holding the weights")
    parser.add_argument("--bn_epsilon", type=float, default=1e-5,
                        help="BatchNorm epsilon of the MMPose model (its norm_cfg eps); "
                             "a negative value skips the check")
    parser.add_argument("--skip_meta_check", action="store_true",
                        help="do not compare the checkpoint's dataset meta with the config")
    parser.add_argument("--allow_inert_globals", action="store_true",
                        help="read training checkpoints whose optimizer / message_hub "
                             "parts pickle other objects (kept inert, never run)")
    args = parser.parse_args(argv)

    suffix = ".weights.h5" if args.format == "weights" else ".keras"
    if not args.output.endswith(suffix):
        parser.error(f"--format {args.format} writes a {suffix} file, received --output "
                     f"{args.output!r}")

    from kpose.converters.mmpose_to_keras import load_mmpose_checkpoint  # noqa: E402
    from kpose.engine import config  # noqa: E402

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config.parse_config(args.gin_file, args.gin_param)
    model = build_model()
    assigned = load_mmpose_checkpoint(
        model, args.checkpoint,
        metainfo=None if args.skip_meta_check else config_metainfo(),
        state_dict_key=args.state_dict_key,
        bn_epsilon=None if args.bn_epsilon < 0 else args.bn_epsilon,
        allow_inert_globals=args.allow_inert_globals)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    if args.format == "weights":
        model.save_weights(args.output)
    else:
        model.save(args.output)
    print(f"converted {len(assigned)} weights from {args.checkpoint} into {args.output}")


if __name__ == "__main__":
    main()
