"""COCO person keypoints (17 keypoints): meta information.

The values are those of MMPose's ``configs/_base_/datasets/coco.py`` (Lin et al., "Microsoft
COCO: Common Objects in Context", ECCV 2014, http://cocodataset.org/), in MMPose's
``dataset_info`` structure so that the same parser reads built-in and custom files.
Colours are RGB: left side green, right side orange, centre/head blue.
"""

_BLUE, _GREEN, _ORANGE = [51, 153, 255], [0, 255, 0], [255, 128, 0]

DATASET_INFO = {
    "dataset_name": "coco",
    "keypoint_info": {
        0: {"name": "nose", "id": 0, "color": _BLUE, "type": "upper", "swap": ""},
        1: {"name": "left_eye", "id": 1, "color": _BLUE, "type": "upper", "swap": "right_eye"},
        2: {"name": "right_eye", "id": 2, "color": _BLUE, "type": "upper", "swap": "left_eye"},
        3: {"name": "left_ear", "id": 3, "color": _BLUE, "type": "upper", "swap": "right_ear"},
        4: {"name": "right_ear", "id": 4, "color": _BLUE, "type": "upper", "swap": "left_ear"},
        5: {"name": "left_shoulder", "id": 5, "color": _GREEN, "type": "upper", "swap": "right_shoulder"},
        6: {"name": "right_shoulder", "id": 6, "color": _ORANGE, "type": "upper", "swap": "left_shoulder"},
        7: {"name": "left_elbow", "id": 7, "color": _GREEN, "type": "upper", "swap": "right_elbow"},
        8: {"name": "right_elbow", "id": 8, "color": _ORANGE, "type": "upper", "swap": "left_elbow"},
        9: {"name": "left_wrist", "id": 9, "color": _GREEN, "type": "upper", "swap": "right_wrist"},
        10: {"name": "right_wrist", "id": 10, "color": _ORANGE, "type": "upper", "swap": "left_wrist"},
        11: {"name": "left_hip", "id": 11, "color": _GREEN, "type": "lower", "swap": "right_hip"},
        12: {"name": "right_hip", "id": 12, "color": _ORANGE, "type": "lower", "swap": "left_hip"},
        13: {"name": "left_knee", "id": 13, "color": _GREEN, "type": "lower", "swap": "right_knee"},
        14: {"name": "right_knee", "id": 14, "color": _ORANGE, "type": "lower", "swap": "left_knee"},
        15: {"name": "left_ankle", "id": 15, "color": _GREEN, "type": "lower", "swap": "right_ankle"},
        16: {"name": "right_ankle", "id": 16, "color": _ORANGE, "type": "lower", "swap": "left_ankle"},
    },
    "skeleton_info": {
        0: {"link": ("left_ankle", "left_knee"), "id": 0, "color": _GREEN},
        1: {"link": ("left_knee", "left_hip"), "id": 1, "color": _GREEN},
        2: {"link": ("right_ankle", "right_knee"), "id": 2, "color": _ORANGE},
        3: {"link": ("right_knee", "right_hip"), "id": 3, "color": _ORANGE},
        4: {"link": ("left_hip", "right_hip"), "id": 4, "color": _BLUE},
        5: {"link": ("left_shoulder", "left_hip"), "id": 5, "color": _BLUE},
        6: {"link": ("right_shoulder", "right_hip"), "id": 6, "color": _BLUE},
        7: {"link": ("left_shoulder", "right_shoulder"), "id": 7, "color": _BLUE},
        8: {"link": ("left_shoulder", "left_elbow"), "id": 8, "color": _GREEN},
        9: {"link": ("right_shoulder", "right_elbow"), "id": 9, "color": _ORANGE},
        10: {"link": ("left_elbow", "left_wrist"), "id": 10, "color": _GREEN},
        11: {"link": ("right_elbow", "right_wrist"), "id": 11, "color": _ORANGE},
        12: {"link": ("left_eye", "right_eye"), "id": 12, "color": _BLUE},
        13: {"link": ("nose", "left_eye"), "id": 13, "color": _BLUE},
        14: {"link": ("nose", "right_eye"), "id": 14, "color": _BLUE},
        15: {"link": ("left_eye", "left_ear"), "id": 15, "color": _BLUE},
        16: {"link": ("right_eye", "right_ear"), "id": 16, "color": _BLUE},
        17: {"link": ("left_ear", "left_shoulder"), "id": 17, "color": _BLUE},
        18: {"link": ("right_ear", "right_shoulder"), "id": 18, "color": _BLUE},
    },
    "joint_weights": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5],
    "sigmas": [0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062,
               0.107, 0.107, 0.087, 0.087, 0.089, 0.089],
}
