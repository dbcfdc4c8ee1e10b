"""VideoPoseLifting: a 2D keypoint sequence -> a root-relative 3D target (VideoPose3D)."""

from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import gin
import keras
import tensorflow as tf

from kpose.codecs.base_keypoint_codec import BaseKeypointCodec
from kpose.codecs.image_pose_lifting import decode_lifting
from kpose.codecs.utils import to_numpy, wants_numpy
from kpose.codecs.utils.arguments import check_bool
from kpose.codecs.utils.pose_lifting import (as_float, check_num_keypoints, check_root_index,
                                             delete_joint, flatten_keypoints, root_of,
                                             target_weights)


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class VideoPoseLifting(BaseKeypointCodec):
    """2D keypoint sequences -> 3D targets, as MMPose's `VideoPoseLifting`.

    Encoding normalises the 2D keypoints by the camera's image size,
    `(xy - (w / 2, h / 2)) / (w / 2)` (so x spans [-1, 1]), and, with `zero_center`,
    makes the 3D target relative to its root (the mean of the `root_index` joints),
    optionally dropping the root joint. Decoding adds a root when given.

    Layout (channels-last): MMPose's `reshape_keypoints` gives (K * D, T) for its
    Conv1d; here it gives the transpose (T, K * D), with the same channel order, for
    Keras' Conv1D.

    Args:
        num_keypoints: K.
        zero_center: make the target root-relative.
        root_index: root joint(s); a list averages them.
        remove_root: drop the root joint from the targets (with `zero_center`).
        save_index: accepted for config parity with MMPose (the codec knows the index).
        reshape_keypoints: flatten keypoint labels to (T, K * D).
        concat_vis: append each keypoint's visibility as a channel (D + 1 values).
        normalize_camera: also normalise the camera's focal length `f` (2, 1) and
            principal point `c` (2, 1) like the keypoints (returned as `camera_param`).
    """

    def __init__(self,
                 num_keypoints: int,
                 zero_center: bool = True,
                 root_index: Union[int, List[int]] = 0,
                 remove_root: bool = False,
                 save_index: bool = False,
                 reshape_keypoints: bool = True,
                 concat_vis: bool = False,
                 normalize_camera: bool = False) -> None:
        self.root_index = check_root_index(root_index)
        self.num_keypoints = check_num_keypoints(num_keypoints, self.root_index)
        self.zero_center = check_bool("zero_center", zero_center)
        self.remove_root = check_bool("remove_root", remove_root)
        self.save_index = check_bool("save_index", save_index)
        self.reshape_keypoints = check_bool("reshape_keypoints", reshape_keypoints)
        self.concat_vis = check_bool("concat_vis", concat_vis)
        self.normalize_camera = check_bool("normalize_camera", normalize_camera)

    def encode(self,
               keypoints: Any,
               keypoints_visible: Optional[Any] = None,
               lifting_target: Optional[Any] = None,
               lifting_target_visible: Optional[Any] = None,
               camera_param: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """Encodes one sequence.

        Args:
            keypoints: (T, K, D) 2D keypoints in image pixels, or (K, D).
            keypoints_visible: (T, K) visibilities; None means all visible.
            lifting_target: (T', K, C) 3D target (T' = 1: the target frame); None uses
                `keypoints[:1]`.
            lifting_target_visible: (T', K) target visibilities, or None.
            camera_param: dict with the image size `w`, `h` (required) and, for
                `normalize_camera`, `f` and `c` (2, 1).

        Returns:
            dict with `keypoint_labels` ((T, K * D') flattened, else (T, K, D')),
            `keypoints_visible` (T, K), `lifting_target_label` (T', K, C) (or K - 1
            joints), `lifting_target_weight` (T', K), `trajectory_weights`, and with
            `zero_center` `target_root` (T', C); with `normalize_camera` `camera_param`.
        """
        numpy_out = wants_numpy(keypoints, keypoints_visible, lifting_target,
                                lifting_target_visible, camera_param)
        if not camera_param or "w" not in camera_param or "h" not in camera_param:
            raise ValueError("VideoPoseLifting.encode needs camera_param with the image size "
                             f"'w' and 'h', received {camera_param!r}")
        keypoints = as_float(keypoints)
        if keypoints.shape.rank == 2:
            keypoints = keypoints[None]
        if keypoints.shape.rank != 3:
            raise ValueError(f"keypoints must be (T, K, D) or (K, D), received shape "
                             f"{keypoints.shape}")
        if keypoints_visible is None:
            keypoints_visible = tf.ones(tf.shape(keypoints)[:2], tf.float32)
        keypoints_visible = as_float(keypoints_visible)
        target = keypoints[:1] if lifting_target is None else as_float(lifting_target)
        if target.shape.rank != 3:
            raise ValueError(f"lifting_target must be (T, K, C), received shape {target.shape}")
        _, weights, trajectory = target_weights(target, lifting_target_visible)
        encoded = {}
        label = target
        if self.zero_center:
            if target.shape[-2] is not None and target.shape[-2] <= max(self.root_index):
                raise ValueError(f"lifting_target has {target.shape[-2]} joints, root_index "
                                 f"{self.root_index} needs more")
            root = root_of(target, self.root_index)
            label = target - root[..., None, :]
            encoded["target_root"] = root
            if self.remove_root and len(self.root_index) == 1:
                label = delete_joint(label, self.root_index[0], axis=-2)
                weights = delete_joint(weights, self.root_index[0], axis=-1)
        width = as_float(camera_param["w"])
        height = as_float(camera_param["h"])
        center = tf.stack([0.5 * width, 0.5 * height])
        scale = 0.5 * width
        labels = (keypoints - center) / scale
        if self.normalize_camera:
            if "f" not in camera_param or "c" not in camera_param:
                raise ValueError("normalize_camera needs camera_param 'f' and 'c', received "
                                 f"keys {sorted(camera_param)}")
            camera = {k: v for k, v in camera_param.items()}
            camera["f"] = as_float(camera_param["f"]) / scale
            camera["c"] = (as_float(camera_param["c"]) - center[:, None]) / scale
            encoded["camera_param"] = camera
        if self.concat_vis:
            labels = tf.concat([labels, keypoints_visible[..., None]], axis=-1)
        if self.reshape_keypoints:
            labels = flatten_keypoints(labels)
        encoded.update({
            "keypoint_labels": labels,
            "keypoints_visible": keypoints_visible,
            "lifting_target_label": label,
            "lifting_target_weight": weights,
            "trajectory_weights": trajectory,
        })
        return to_numpy(encoded) if numpy_out else encoded

    def decode(self, encoded: Any, target_root: Optional[Any] = None) -> Tuple[Any, Any]:
        """Decodes (N, K, C) outputs (see `batch_decode`)."""
        return self.batch_decode(encoded, target_root)

    def batch_decode(self, batch_outputs: Any,
                     target_root: Optional[Any] = None) -> Tuple[Any, Any]:
        """Adds the root to predicted root-relative poses.

        Args:
            batch_outputs: (B, K, C) or, with `remove_root`, (B, K - 1, C).
            target_root: (B, C) or (B, 1, C) roots; None gives root-relative poses (with
                `remove_root`, the root joint is put back at 0).

        Returns:
            keypoints (B, K, C) and scores (B, K) of ones.
        """
        numpy_out = wants_numpy(batch_outputs, target_root)
        decoded = decode_lifting(batch_outputs, target_root, self.root_index,
                                 self.remove_root)
        return to_numpy(decoded) if numpy_out else decoded

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments."""
        return {
            "num_keypoints": self.num_keypoints,
            "zero_center": self.zero_center,
            "root_index": list(self.root_index),
            "remove_root": self.remove_root,
            "save_index": self.save_index,
            "reshape_keypoints": self.reshape_keypoints,
            "concat_vis": self.concat_vis,
            "normalize_camera": self.normalize_camera,
        }
