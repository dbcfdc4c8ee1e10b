"""Trains a pose model from gin files.

    python tools/train.py --gin_file gin_configs/quickstart.gin [--gin_param 'a.b = 1'] \
        [--work_dir work_dirs/NAME]

Running the same command again resumes from the work dir.
"""

import argparse
import logging
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gin_file", action="append", required=True,
                        help="gin file; repeat to layer several")
    parser.add_argument("--gin_param", action="append", default=[],
                        help="a gin binding, e.g. \"train.epochs = 10\"; repeatable")
    parser.add_argument("--work_dir", default=None,
                        help="default: work_dirs/<stem of the last gin file>")
    args = parser.parse_args(argv)

    from kpose.engine import config, train as train_lib  # noqa: E402 (after argparse: fast --help)

    work_dir = args.work_dir or os.path.join(
        "work_dirs", os.path.splitext(os.path.basename(args.gin_file[-1]))[0])
    os.makedirs(work_dir, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        handlers=[logging.StreamHandler(),
                                  logging.FileHandler(os.path.join(work_dir, "train.log"))])
    config.parse_config(args.gin_file, args.gin_param)
    train_lib.train(work_dir=work_dir)


if __name__ == "__main__":
    main()
