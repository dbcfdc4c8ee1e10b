"""Evaluates a checkpoint with the metrics of a gin config.

    python tools/test.py --gin_file F --checkpoint C [--bbox_file dets.json] [--out metrics.json]
    python tools/test.py --gin_file F --model saved_models/NAME/model_int8.tflite [...]

--model evaluates an exported artifact (SavedModel folder, .tflite, .keras) with the same
pipeline and metrics; it fails if the artifact's outputs are constant.

With --bbox_file, person boxes come from a COCO-results detection file instead of the
ground truth (`val/CocoStyleDataset.bbox_file`).
"""

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gin_file", action="append", required=True)
    parser.add_argument("--gin_param", action="append", default=[])
    parser.add_argument("--checkpoint", default=None, help=".weights.h5 file")
    parser.add_argument("--model", default=None,
                        help="exported artifact to evaluate instead of --checkpoint")
    parser.add_argument("--bbox_file", default=None, help="COCO-results json of person boxes")
    parser.add_argument("--out", default=None, help="write the metrics to this json file")
    args = parser.parse_args(argv)

    from kpose.engine import config, evaluate as evaluate_lib  # noqa: E402

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    params = list(args.gin_param)
    if args.bbox_file:
        params.append(f"val/CocoStyleDataset.bbox_file = {args.bbox_file!r}")
    config.parse_config(args.gin_file, params)
    evaluate_lib.evaluate(checkpoint=args.checkpoint, out=args.out, artifact=args.model)


if __name__ == "__main__":
    main()
