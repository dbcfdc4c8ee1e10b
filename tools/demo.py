"""Pose estimation demo on images, a folder, a video or a webcam.

    python tools/demo.py SOURCE --model saved_models/NAME/saved_model --out_dir demo_out \
        [--detections dets.json | --bboxes x1,y1,x2,y2 ...] [--tracking iou|oks] [--smooth]
    python tools/demo.py SOURCE --gin_file F --checkpoint C --out_dir demo_out

SOURCE is an image, a folder of images, a video file or a webcam index (0). Without boxes
the whole frame is one person box. Writes `predictions.json` and the drawn frames
(`vis/` for images, `<name>.mp4` for video) into --out_dir.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="image, folder, video file or webcam index")
    parser.add_argument("--model", default=None, help="exported artifact")
    parser.add_argument("--gin_file", action="append", default=None)
    parser.add_argument("--gin_param", action="append", default=[])
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--detections", default=None, help="person detections json")
    parser.add_argument("--bboxes", nargs="*", default=None,
                        help="boxes x1,y1,x2,y2 used for every frame")
    parser.add_argument("--bbox_thr", type=float, default=0.3)
    parser.add_argument("--kpt_thr", type=float, default=0.3)
    parser.add_argument("--tracking", default=None, choices=("iou", "oks"))
    parser.add_argument("--smooth", action="store_true", help="One-Euro smoothing (video)")
    parser.add_argument("--out_dir", required=True)
    parser.add_argument("--max_frames", type=int, default=None)
    args = parser.parse_args(argv)
    if (args.model is None) == (args.gin_file is None):
        parser.error("give exactly one of --model (artifact) and --gin_file (+ --checkpoint)")

    import numpy as np

    from kpose.apis import Inferencer, init_model

    model = args.model
    if model is None:
        model = init_model(args.gin_file, checkpoint=args.checkpoint, gin_params=args.gin_param)
    bboxes = None
    if args.bboxes:
        bboxes = np.array([[float(v) for v in b.split(",")] for b in args.bboxes], np.float32)
    inferencer = Inferencer(model, detections=args.detections, bbox_thr=args.bbox_thr,
                            tracking=args.tracking, smoothing=True if args.smooth else None,
                            kpt_thr=args.kpt_thr)
    source = int(args.source) if args.source.isdigit() else args.source
    frames = 0
    for result in inferencer(source, bboxes=bboxes, out_dir=args.out_dir, draw=False,
                             max_frames=args.max_frames):
        frames += 1
        print(f"frame {result['frame_index']}: {len(result['instances'])} instance(s)")
    print(f"{frames} frame(s); predictions and drawings in {args.out_dir}")


if __name__ == "__main__":
    main()
