"""Converts a "CVAT for images 1.1" keypoint export to a COCO keypoints json.

    python tools/dataset_converters/cvat_to_coco.py annotations.xml out/person_keypoints.json \
        [--metainfo coco] [--label person]

Skeleton keypoints are matched by name to the metainfo's keypoint names; multi-point
`<points>` shapes must list all K keypoints in the metainfo's order. See
kpose.datasets.converters.cvat_to_coco for the rules (visibility, boxes, area).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def main(argv=None):
    """Runs the converter; returns the COCO dict it wrote."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("xml_file", help="CVAT for images 1.1 annotations.xml")
    parser.add_argument("out_file", help="COCO keypoints json to write")
    parser.add_argument("--metainfo", default="coco", help="built-in metainfo name or metainfo file")
    parser.add_argument("--label", default="person", help="CVAT label of the people")
    args = parser.parse_args(argv)

    from kpose.datasets.converters.cvat import cvat_to_coco

    coco = cvat_to_coco(args.xml_file, metainfo=args.metainfo, label=args.label, out_file=args.out_file)
    print(f"{len(coco['images'])} images, {len(coco['annotations'])} people -> {args.out_file}")
    return coco


if __name__ == "__main__":
    main()
