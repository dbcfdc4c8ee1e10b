"""Writes kpose's synthetic COCO-format person keypoint dataset.

    python tools/make_synthetic_dataset.py --out_dir data/synthetic_coco \
        [--num_train_images 800 --num_val_images 160 --seed 0 --image_size 256 192]

Writes images/{train,val}/*.jpg and annotations/person_keypoints_{train,val}.json under
out_dir (see docs/datasets.md). With --force the folder is regenerated even if its stamp
matches; without it, an existing dataset made with the same arguments is kept.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kpose.datasets.synthetic import ensure_synthetic_coco  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="Write kpose's synthetic COCO-format keypoint dataset.")
    parser.add_argument("--out_dir", default="data/synthetic_coco")
    parser.add_argument("--num_train_images", type=int, default=800)
    parser.add_argument("--num_val_images", type=int, default=160)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image_size", type=int, nargs=2, default=(256, 192), metavar=("W", "H"))
    parser.add_argument("--max_people", type=int, default=3)
    parser.add_argument("--force", action="store_true", help="regenerate even if the folder is up to date")
    args = parser.parse_args()

    start = time.time()
    out = ensure_synthetic_coco(args.out_dir, num_train_images=args.num_train_images,
                                num_val_images=args.num_val_images, seed=args.seed,
                                image_size=tuple(args.image_size), max_people=args.max_people, force=args.force)
    print(f"synthetic COCO dataset ready in {out} ({time.time() - start:.1f} s)")


if __name__ == "__main__":
    main()
