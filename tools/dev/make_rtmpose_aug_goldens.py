"""Golden outputs of mmdet's YOLOXHSVRandomAug (the RTMPose colour jitter) for kpose's tests.

The image is drawn from numpy's RandomState(0) (uint8 (24, 20, 3), RGB as kpose keeps
it); mmdet works on BGR, so the script feeds it the channel-reversed image and reverses
the result back. The gains are fixed per case (mmdet's random draw is replaced), so
the test compares pixels for given gains. Run with the MMPose reference venv:
    /tmp/mmpose-ref/bin/python tools/dev/make_rtmpose_aug_goldens.py \
        tests/fixtures/goldens/yolox_hsv_random_aug.npz
"""
import sys
import types

import numpy as np

# mmdet.datasets imports tqdm (for COCO evaluation) which the reference venv lacks.
sys.modules.setdefault("tqdm", types.SimpleNamespace(tqdm=lambda x, *a, **k: x))
from mmdet.datasets.transforms import YOLOXHSVRandomAug  # noqa: E402

GAINS = np.array([[0, 0, 0], [5, 0, 0], [-4, 0, 0], [0, 29, 0], [0, -30, 0],
                  [0, 0, 30], [0, 0, -17], [3, -12, 25], [-5, 30, -30]], np.int16)


def main(out_path: str) -> None:
    rgb = np.random.RandomState(0).randint(0, 256, size=(24, 20, 3)).astype(np.uint8)
    rgb[0, :3] = [[0, 0, 0], [255, 255, 255], [128, 128, 128]]  # grey pixels: hue 0, sat 0
    outputs = []
    for gains in GAINS:
        aug = YOLOXHSVRandomAug()
        aug._get_hsv_gains = lambda g=gains: g.copy()
        result = aug.transform({"img": np.ascontiguousarray(rgb[..., ::-1])})
        outputs.append(result["img"][..., ::-1])
    np.savez_compressed(out_path, image=rgb, gains=GAINS.astype(np.int32), outputs=np.stack(outputs))


if __name__ == "__main__":
    main(sys.argv[1])
