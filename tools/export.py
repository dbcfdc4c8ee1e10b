"""Exports a trained top-down estimator for deployment.

    python tools/export.py --gin_file F --checkpoint C --format saved_model|tflite|keras \
        [--quantize none|fp16|int8] [--calibration_data DIR] [--decode graph|none] \
        [--int8_float decode|head_output|none] --output saved_models/NAME

Writes into the --output folder `saved_model/`, `model_{fp32,fp16,int8}.tflite` or
`model.keras` (`_nodecode` appended with --decode none), each with its metadata json beside
it (`<artifact>.json`). Artifacts take raw uint8 RGB pixels; see docs/deploy.md. The model
is the one bound to `evaluate.model` (or `export.model`) in the gin files.
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
    parser.add_argument("--format", default="saved_model",
                        choices=("saved_model", "tflite", "keras"))
    parser.add_argument("--quantize", default="none", choices=("none", "fp16", "int8"))
    parser.add_argument("--calibration_data", default=None,
                        help="folder of images for int8 calibration")
    parser.add_argument("--calibration_ann_file", default=None,
                        help="COCO json with the person boxes of the calibration images "
                             "(default: one whole-image box per image)")
    parser.add_argument("--decode", default="graph", choices=("graph", "none"))
    parser.add_argument("--int8_float", default="decode",
                        choices=("decode", "head_output", "none"),
                        help="int8: what stays float after the network (default: flip-back "
                             "and decode; 'none' quantises the keypoint maths too, -5 AP)")
    parser.add_argument("--output", required=True, help="export folder, saved_models/NAME")
    args = parser.parse_args(argv)

    from kpose.apis import export as export_lib  # noqa: E402 (registers `export`)
    from kpose.engine import config  # noqa: E402

    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config.parse_config(args.gin_file, args.gin_param)
    path = export_lib.export(
        output_dir=args.output, artifact_format=args.format, quantize=args.quantize,
        decode=args.decode, calibration_data=args.calibration_data,
        calibration_ann_file=args.calibration_ann_file, checkpoint=args.checkpoint,
        int8_float=args.int8_float)
    print(f"exported {path} (metadata {export_lib.metadata_path(path)})")


if __name__ == "__main__":
    main()
