"""Draws dataset samples before and after the pipeline, to check annotations by eye.

    python tools/browse_dataset.py --gin_file gin_configs/quickstart.gin --output_dir browse \
        [--num 20] [--phase train|val] [--seed 0] [--gin_param "DATA_ROOT = '/data/mine'"]

For each of the first --num instances of the recipe's dataset (train.train_dataset, or
train.val_dataset with --phase val) writes, as PNG:
  <i>_original.png     the whole image with the instance's box and labelled keypoints
  <i>_transformed.png  the pipeline's crop (for train: flip, half body, shift/scale/rotate)
                       with the transformed keypoints, and beside it the heatmap targets
Keypoints are drawn in the metainfo's colours (left and right sides differ), so a wrong
flip pair shows as swapped colours on the flipped crops.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gin_file", action="append", required=True)
    parser.add_argument("--gin_param", action="append", default=[])
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--num", type=int, default=20, help="instances to draw")
    parser.add_argument("--phase", choices=("train", "val"), default="train")
    parser.add_argument("--seed", type=int, default=0, help="seeds the augmentation")
    args = parser.parse_args(argv)
    if args.num <= 0:
        parser.error(f"--num must be positive, received {args.num}")
    return args


def main(argv=None):
    """Runs the tool; returns the written file paths."""
    args = parse_args(argv)
    import cv2
    import gin
    import numpy as np

    from kpose.datasets.pipeline import build_topdown_pipeline, default_topdown_transforms
    from kpose.engine import config
    from kpose.visualization.draw import draw_bboxes, draw_heatmap_overlay, draw_keypoints

    config.parse_config(args.gin_file, args.gin_param)
    parts = gin.get_bindings("train", resolve_references=True)
    if parts.get("prepare_data") is not None:
        parts["prepare_data"]()
    factory = parts.get("train_dataset" if args.phase == "train" else "val_dataset")
    if factory is None:
        raise ValueError(f"the gin files bind no train.{args.phase}_dataset")
    dataset = factory()
    codec = gin.get_bindings("TopdownPoseEstimator", resolve_references=True)["codec"]
    meta = dataset.meta
    train = args.phase == "train"
    bound = gin.get_bindings(f"{args.phase}/build_topdown_pipeline", resolve_references=True)
    transforms = list(bound.get("transforms") or default_topdown_transforms(codec, codec.input_size, train))

    num = min(args.num, len(dataset))
    records = {k: np.asarray(v)[:num] for k, v in dataset.records.items()}
    # train=True so every sample keeps its own outputs: `_Capture` puts the transformed
    # keypoints next to the codec's targets.
    ds = build_topdown_pipeline(records=records, meta=meta, codec=codec, input_size=codec.input_size,
                                train=True, batch_size=1, transforms=transforms + [_Capture()],
                                shuffle=False, seed=args.seed, skip_corrupt=False)
    os.makedirs(args.output_dir, exist_ok=True)
    written = []
    for i, (image, targets) in enumerate(ds.take(num)):
        bgr = cv2.imread(str(records["img_path"][i]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"cannot read image {records['img_path'][i]}")
        original = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        visible = records["keypoints_visible"][i]
        original = draw_bboxes(original, records["bbox"][i][None])
        original = draw_keypoints(original, records["keypoints"][i][None], visible[None], meta, kpt_thr=0.5)
        crop = np.asarray(image[0])
        crop_drawn = draw_keypoints(crop, np.asarray(targets["_browse_keypoints"][0])[None],
                                    np.asarray(targets["_browse_visible"][0])[None], meta, kpt_thr=0.5)
        panels = [crop_drawn]
        if "heatmaps" in targets:
            panels.append(draw_heatmap_overlay(crop, np.asarray(targets["heatmaps"][0])))
        for name, picture in (("original", original), ("transformed", np.concatenate(panels, axis=1))):
            path = os.path.join(args.output_dir, f"{i:04d}_{name}.png")
            cv2.imwrite(path, cv2.cvtColor(picture, cv2.COLOR_RGB2BGR))
            written.append(path)
    print(f"{len(written)} image(s) written to {args.output_dir}")
    return written


class _Capture:
    """Last transform: copies the crop-space keypoints into the targets, so they come out
    of the pipeline beside the image."""

    def __call__(self, sample):
        import tensorflow as tf

        sample = dict(sample)
        targets = dict(sample.get("targets", {}))
        keypoints = sample.get("transformed_keypoints", sample["keypoints"])
        targets["_browse_keypoints"] = tf.cast(keypoints, tf.float32)
        targets["_browse_visible"] = tf.cast(sample["keypoints_visible"], tf.float32)
        sample["targets"] = targets
        return sample


if __name__ == "__main__":
    main()
