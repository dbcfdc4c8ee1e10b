"""ImagePoseLifting: a 2D pose -> a root-relative 3D target, optionally standardised."""

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import gin
import keras
import numpy as np
import tensorflow as tf

from kpose.codecs.base_keypoint_codec import BaseKeypointCodec
from kpose.codecs.utils import to_numpy, wants_numpy
from kpose.codecs.utils.arguments import check_bool
from kpose.codecs.utils.pose_lifting import (as_float, check_num_keypoints, check_root_index,
                                             delete_joint, flatten_keypoints, insert_joint,
                                             root_of, stats_array, target_weights)


def _root_as_joint(target_root: tf.Tensor) -> tf.Tensor:
    """(N, C) or (N, 1, C) roots -> (N, 1, C), to broadcast over (N, K, C) joints."""
    return target_root if target_root.shape.rank == 3 else target_root[:, None, :]


def decode_lifting(encoded: Any, target_root: Optional[Any], root_index: Sequence[int],
                   remove_root: bool, mean: Optional[np.ndarray] = None,
                   std: Optional[np.ndarray] = None) -> Tuple[tf.Tensor, tf.Tensor]:
    """Shared decode of the lifting codecs: de-standardise, add the root, put it back.

    Args:
        encoded: (N, K, C) (or (N, K-1, C) with `remove_root`) predicted coordinates.
        target_root: (N, C) or (N, 1, C) roots, or None / empty for root-relative output.
        root_index: the codec's root joints.
        remove_root: the codec removed the root joint from its targets.
        mean, std: (1, K, C) target statistics, or None.

    Returns:
        keypoints (N, K, C) and scores (N, K) of ones. Without a root and with
        `remove_root`, the root joint is put back at the origin, so the pose is
        root-relative with K joints.
    """
    keypoints = as_float(encoded)
    if mean is not None:
        keypoints = keypoints * tf.constant(std) + tf.constant(mean)
    single_root = remove_root and len(root_index) == 1
    # MMPose passes an empty array for "no root"; a dynamic batch size counts as non-empty.
    has_root = target_root is not None and 0 not in tuple(
        d for d in tf.TensorShape(np.shape(target_root) if not tf.is_tensor(target_root)
                                  else target_root.shape) if d is not None)
    if has_root:
        root = _root_as_joint(as_float(target_root))
        keypoints = keypoints + root
        if single_root:
            keypoints = insert_joint(keypoints, root_index[0], root[:, 0, :])
    elif single_root:
        zeros = tf.zeros_like(keypoints[:, 0, :])
        keypoints = insert_joint(keypoints, root_index[0], zeros)
    return keypoints, tf.ones(tf.shape(keypoints)[:-1], tf.float32)


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class ImagePoseLifting(BaseKeypointCodec):
    """2D keypoints -> 3D pose relative to a root joint, as MMPose's `ImagePoseLifting`
    (SimpleBaseline3D's codec).

    Encoding: the 3D target minus its root (the mean of `root_index` joints), the root
    joint optionally removed; keypoints and target optionally standardised by the given
    means and standard deviations; the keypoints' visibility optionally appended as a
    channel. Decoding reverses the standardisation and adds a root when given.

    Layout (channels-last): MMPose's `reshape_keypoints` gives (K * D, N), channels first
    for its Conv1d; here it gives the transpose (N, K * D), with the same channel order.

    Args:
        num_keypoints: K.
        root_index: root joint(s); a list averages them.
        remove_root: drop the root joint from the targets (it is always 0).
        save_index: MMPose stores the removed root's index in the sample; accepted for
            config parity (the codec itself knows it).
        reshape_keypoints: flatten keypoint labels to (N, K * D).
        concat_vis: append the visibility to each keypoint (D + 1 values).
        keypoints_mean, keypoints_std: (K, D) statistics of the 2D keypoints, or None.
        target_mean, target_std: (K, C) (or (K - 1, C) with `remove_root`) statistics of
            the root-relative targets, or None.
    """

    def __init__(self,
                 num_keypoints: int,
                 root_index: Union[int, List[int]] = 0,
                 remove_root: bool = False,
                 save_index: bool = False,
                 reshape_keypoints: bool = True,
                 concat_vis: bool = False,
                 keypoints_mean: Optional[Any] = None,
                 keypoints_std: Optional[Any] = None,
                 target_mean: Optional[Any] = None,
                 target_std: Optional[Any] = None) -> None:
        self.root_index = check_root_index(root_index)
        self.num_keypoints = check_num_keypoints(num_keypoints, self.root_index)
        self.remove_root = check_bool("remove_root", remove_root)
        self.save_index = check_bool("save_index", save_index)
        self.reshape_keypoints = check_bool("reshape_keypoints", reshape_keypoints)
        self.concat_vis = check_bool("concat_vis", concat_vis)
        if (keypoints_mean is None) != (keypoints_std is None):
            raise ValueError("keypoints_mean and keypoints_std go together, received "
                             f"keypoints_mean={keypoints_mean!r}, keypoints_std={keypoints_std!r}")
        if (target_mean is None) != (target_std is None):
            raise ValueError("target_mean and target_std go together, received "
                             f"target_mean={target_mean!r}, target_std={target_std!r}")
        self.keypoints_mean = stats_array("keypoints_mean", keypoints_mean, self.num_keypoints)
        self.keypoints_std = stats_array("keypoints_std", keypoints_std, self.num_keypoints)
        target_joints = self.num_keypoints - 1 if self._removes_root else self.num_keypoints
        self.target_mean = stats_array("target_mean", target_mean, target_joints)
        self.target_std = stats_array("target_std", target_std, target_joints)
        for a, b, what in ((self.keypoints_mean, self.keypoints_std, "keypoints"),
                           (self.target_mean, self.target_std, "target")):
            if a is not None and a.shape != b.shape:
                raise ValueError(f"{what}_mean and {what}_std shapes differ, received "
                                 f"{a.shape} and {b.shape}")

    @property
    def _removes_root(self) -> bool:
        return self.remove_root and len(self.root_index) == 1

    def encode(self,
               keypoints: Any,
               keypoints_visible: Optional[Any] = None,
               lifting_target: Optional[Any] = None,
               lifting_target_visible: Optional[Any] = None) -> Dict[str, Any]:
        """Encodes one sample.

        Args:
            keypoints: (N, K, D) 2D keypoints (N frames or instances), or (K, D).
            keypoints_visible: (N, K) visibilities; None means all visible.
            lifting_target: (T, K, C) 3D target (T = 1 for one target frame); None uses
                `keypoints[:1]`.
            lifting_target_visible: (T, K) target visibilities, or None.

        Returns:
            dict with `keypoint_labels` ((N, K * D') flattened, else (N, K, D'); D' = D + 1
            with `concat_vis`), `keypoint_labels_visible` (N, K), `lifting_target_label`
            (T, K, C) or (T, K - 1, C), `lifting_target_weight` (T, K) or (T, K - 1),
            `trajectory_weights` and `target_root` (T, C), float32.
        """
        numpy_out = wants_numpy(keypoints, keypoints_visible, lifting_target,
                                lifting_target_visible)
        keypoints = as_float(keypoints)
        if keypoints.shape.rank == 2:
            keypoints = keypoints[None]
        if keypoints.shape.rank != 3:
            raise ValueError(f"keypoints must be (N, K, D) or (K, D), received shape "
                             f"{keypoints.shape}")
        if keypoints_visible is None:
            keypoints_visible = tf.ones(tf.shape(keypoints)[:2], tf.float32)
        keypoints_visible = as_float(keypoints_visible)
        target = keypoints[:1] if lifting_target is None else as_float(lifting_target)
        if target.shape.rank != 3 or (target.shape[-2] is not None
                                      and target.shape[-2] <= max(self.root_index)):
            raise ValueError(f"lifting_target must be (T, K, C) with K > {max(self.root_index)}, "
                             f"received shape {target.shape}")
        _, weights, trajectory = target_weights(target, lifting_target_visible)
        root = root_of(target, self.root_index)
        label = target - root[:, None, :]
        if self._removes_root:
            label = delete_joint(label, self.root_index[0], axis=-2)
            weights = delete_joint(weights, self.root_index[0], axis=-1)
        labels = keypoints
        if self.keypoints_mean is not None:
            labels = (labels - tf.constant(self.keypoints_mean)) / tf.constant(self.keypoints_std)
        if self.target_mean is not None:
            label = (label - tf.constant(self.target_mean)) / tf.constant(self.target_std)
        if self.concat_vis:
            labels = tf.concat([labels, keypoints_visible[..., None]], axis=-1)
        if self.reshape_keypoints:
            labels = flatten_keypoints(labels)
        encoded = {
            "keypoint_labels": labels,
            "keypoint_labels_visible": keypoints_visible,
            "lifting_target_label": label,
            "lifting_target_weight": weights,
            "trajectory_weights": trajectory,
            "target_root": root,
        }
        return to_numpy(encoded) if numpy_out else encoded

    def decode(self, encoded: Any, target_root: Optional[Any] = None) -> Tuple[Any, Any]:
        """Decodes (N, K, C) outputs (see `batch_decode`)."""
        return self.batch_decode(encoded, target_root)

    def batch_decode(self, batch_outputs: Any,
                     target_root: Optional[Any] = None) -> Tuple[Any, Any]:
        """De-standardises outputs and adds the root.

        Args:
            batch_outputs: (B, K, C) or, with `remove_root`, (B, K - 1, C).
            target_root: (B, C) or (B, 1, C) roots; None gives root-relative poses (with
                `remove_root`, the root joint is put back at 0).

        Returns:
            keypoints (B, K, C) and scores (B, K) of ones.
        """
        numpy_out = wants_numpy(batch_outputs, target_root)
        decoded = decode_lifting(batch_outputs, target_root, self.root_index,
                                 self.remove_root, self.target_mean, self.target_std)
        return to_numpy(decoded) if numpy_out else decoded

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments (statistics as nested lists)."""

        def listed(a):
            return None if a is None else a[0].tolist()

        return {
            "num_keypoints": self.num_keypoints,
            "root_index": list(self.root_index),
            "remove_root": self.remove_root,
            "save_index": self.save_index,
            "reshape_keypoints": self.reshape_keypoints,
            "concat_vis": self.concat_vis,
            "keypoints_mean": listed(self.keypoints_mean),
            "keypoints_std": listed(self.keypoints_std),
            "target_mean": listed(self.target_mean),
            "target_std": listed(self.target_std),
        }
