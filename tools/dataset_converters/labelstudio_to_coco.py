"""Converts a Label Studio JSON export (keypointlabels + rectanglelabels) to COCO keypoints.

    python tools/dataset_converters/labelstudio_to_coco.py export.json out/person_keypoints.json \
        [--metainfo coco] [--label person] [--image_key image]

Keypoint labels must be the metainfo's keypoint names; percentages become pixels with each
result's original size. See kpose.datasets.converters.labelstudio_to_coco for the rules
(grouping keypoints into people, boxes, area).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def main(argv=None):
    """Runs the converter; returns the COCO dict it wrote."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("json_file", help="Label Studio JSON export (a list of tasks)")
    parser.add_argument("out_file", help="COCO keypoints json to write")
    parser.add_argument("--metainfo", default="coco", help="built-in metainfo name or metainfo file")
    parser.add_argument("--label", default="person", help="rectangle label of the people")
    parser.add_argument("--image_key", default="image", help="task data field holding the image")
    args = parser.parse_args(argv)

    from kpose.datasets.converters.label_studio import labelstudio_to_coco

    coco = labelstudio_to_coco(args.json_file, metainfo=args.metainfo, label=args.label,
                               image_key=args.image_key, out_file=args.out_file)
    print(f"{len(coco['images'])} images, {len(coco['annotations'])} people -> {args.out_file}")
    return coco


if __name__ == "__main__":
    main()
