"""RandomFlipAroundRoot: mirror 2D inputs and 3D targets of pose lifting at random."""

from typing import Any, Dict, Mapping, Optional

import gin
import tensorflow as tf

from kpose.datasets.transforms._utils import check_probability, require_keys, split_seed, uniform

_CENTER_MODES = ("static", "root")


def flip_keypoints_custom_center(keypoints: tf.Tensor,
                                 keypoints_visible: tf.Tensor,
                                 flip_indices: Any,
                                 center_mode: str = "static",
                                 center_x: float = 0.5,
                                 center_index: Any = 0):
    """Swaps left/right joints and mirrors x about a vertical line (MMPose's function).

    Args:
        keypoints: (..., K, D) keypoints.
        keypoints_visible: (..., K) visibilities.
        flip_indices: (K,) mirror joint of each joint.
        center_mode: 'static' mirrors about x = `center_x`; 'root' about the mean x of
            the `center_index` joint(s), per frame.
        center_x: the static mirror line.
        center_index: root joint index or list of indices for 'root'.

    Returns:
        The flipped (keypoints, keypoints_visible).
    """
    if center_mode not in _CENTER_MODES:
        raise ValueError(f"center_mode must be one of {_CENTER_MODES}, received {center_mode!r}")
    keypoints = tf.convert_to_tensor(keypoints)
    flip_indices = tf.cast(flip_indices, tf.int32)
    flipped = tf.gather(keypoints, flip_indices, axis=-2)
    visible = tf.gather(tf.convert_to_tensor(keypoints_visible), flip_indices, axis=-1)
    if center_mode == "static":
        x_c = tf.cast(center_x, keypoints.dtype)
    else:
        index = [center_index] if isinstance(center_index, int) else list(center_index)
        # Per frame (..., 1); MMPose's broadcast only works for one frame, which this equals.
        x_c = tf.reduce_mean(tf.gather(keypoints[..., 0], index, axis=-1), axis=-1,
                             keepdims=True)
    x = 2.0 * x_c - flipped[..., 0]
    return tf.concat([x[..., None], flipped[..., 1:]], axis=-1), visible


@gin.register
class RandomFlipAroundRoot:
    """Horizontal flip of a lifting sample with probability `flip_prob`, as MMPose's.

    Swaps symmetric joints by the sample's `flip_indices` and mirrors x of the 2D
    `keypoints` and the 3D `lifting_target` (or, with `flip_label`, of the encoded
    `keypoint_labels` (T, K, D) and `lifting_target_label`), each about its own center
    (see `flip_keypoints_custom_center`; MMPose's configs leave both configs empty: a
    static line x = 0.5). `flip_camera` negates the principal point's x (`c[0]`) and the
    tangential distortion `p[0]` of the sample's `camera_param`.

    Args:
        keypoints_flip_cfg: `center_mode`, `center_x`, `center_index` for the 2D inputs.
        target_flip_cfg: the same for the 3D targets.
        flip_prob: flip probability.
        flip_camera: flip the camera's horizontal parameters too.
        flip_label: flip the encoded labels instead of the raw keypoints.
    """

    def __init__(self, keypoints_flip_cfg: Optional[Mapping[str, Any]] = None,
                 target_flip_cfg: Optional[Mapping[str, Any]] = None,
                 flip_prob: float = 0.5, flip_camera: bool = False,
                 flip_label: bool = False) -> None:
        allowed = {"center_mode", "center_x", "center_index"}
        for name, cfg in (("keypoints_flip_cfg", keypoints_flip_cfg),
                          ("target_flip_cfg", target_flip_cfg)):
            cfg = dict(cfg or {})
            if set(cfg) - allowed:
                raise ValueError(f"{name} takes keys {sorted(allowed)}, received {cfg!r}")
            if cfg.get("center_mode", "static") not in _CENTER_MODES:
                raise ValueError(f"{name}['center_mode'] must be one of {_CENTER_MODES}, "
                                 f"received {cfg['center_mode']!r}")
        self.keypoints_flip_cfg = dict(keypoints_flip_cfg or {})
        self.target_flip_cfg = dict(target_flip_cfg or {})
        self.flip_prob = check_probability("flip_prob", flip_prob)
        self.flip_camera = bool(flip_camera)
        self.flip_label = bool(flip_label)

    @staticmethod
    def _flip(points, visible, flip_indices, cfg):
        return flip_keypoints_custom_center(
            points, visible, flip_indices, center_mode=cfg.get("center_mode", "static"),
            center_x=cfg.get("center_x", 0.5), center_index=cfg.get("center_index", 0))

    def __call__(self, sample: Dict[str, Any]) -> Dict[str, Any]:
        sample = dict(sample)
        if self.flip_label:
            points_key, visible_key, target_key = ("keypoint_labels", "keypoint_labels_visible",
                                                   "lifting_target_label")
        else:
            points_key, visible_key, target_key = ("keypoints", "keypoints_visible",
                                                   "lifting_target")
        require_keys(sample, [points_key, target_key, "flip_indices"], "RandomFlipAroundRoot")
        u = uniform(split_seed(sample, 1, "RandomFlipAroundRoot")[0])
        flip = u < self.flip_prob
        points = tf.cast(sample[points_key], tf.float32)
        visible = tf.cast(sample.get(visible_key, tf.ones(tf.shape(points)[:-1])), tf.float32)
        target = tf.cast(sample[target_key], tf.float32)
        target_visible = tf.cast(sample.get("lifting_target_visible",
                                            tf.ones(tf.shape(target)[:-1])), tf.float32)
        flip_indices = sample["flip_indices"]
        f_points, f_visible = self._flip(points, visible, flip_indices, self.keypoints_flip_cfg)
        f_target, f_target_visible = self._flip(target, target_visible, flip_indices,
                                                self.target_flip_cfg)
        pick = lambda a, b: tf.where(flip, a, b)  # noqa: E731
        sample[points_key] = pick(f_points, points)
        sample[visible_key] = pick(f_visible, visible)
        sample[target_key] = pick(f_target, target)
        sample["lifting_target_visible"] = pick(f_target_visible, target_visible)
        if self.flip_camera:
            require_keys(sample, ["camera_param"], "RandomFlipAroundRoot(flip_camera=True)")
            camera = dict(sample["camera_param"])
            for key in ("c", "p"):
                if key in camera:
                    value = tf.cast(camera[key], tf.float32)
                    sign = tf.concat([[-1.0], tf.ones([tf.shape(value)[0] - 1])], 0)
                    sign = tf.reshape(sign, tf.concat([[-1], tf.ones([tf.rank(value) - 1],
                                                                     tf.int32)], 0))
                    camera[key] = pick(value * sign, value)
            sample["camera_param"] = camera
        sample["flip"] = flip
        return sample

    def get_config(self) -> Dict[str, Any]:
        return {"keypoints_flip_cfg": dict(self.keypoints_flip_cfg),
                "target_flip_cfg": dict(self.target_flip_cfg),
                "flip_prob": self.flip_prob, "flip_camera": self.flip_camera,
                "flip_label": self.flip_label}
