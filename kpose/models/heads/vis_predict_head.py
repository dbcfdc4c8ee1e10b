"""A pose head plus a keypoint visibility branch (MMPose's VisPredictHead)."""

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import gin
import keras
import tensorflow as tf

from kpose.models.losses.bce_loss import BCELoss
from kpose.models.utils.tta import flip_visibility


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class VisPredictHead(keras.layers.Layer):
    """Wraps a top-down pose head and also predicts whether each keypoint is visible.

    As MMPose's `VisPredictHead`: the visibility branch averages the last feature map
    over space (a (B, C) feature passes as is), then a Linear layer `vis_head_2` (MMPose's
    `vis_head.2`) gives K values, passed through a sigmoid when the loss has
    `use_sigmoid=True` (then they are probabilities, otherwise logits).

    Input: a tuple of features, given unchanged to the pose head; the visibility branch
    uses the last, (B, h, w, C) or (B, C).
    Output: `(pose_outputs, vis (B, K))`. Decode with `split_outputs`: the pose head's
    outputs go to the codec, the visibility probabilities are MMPose's
    `keypoints_visible` prediction.

    Training: `loss` adds `loss_vis` (the BCE between `vis` and the targets'
    `keypoint_weights`, weighted by `keypoints_visible_weights` (default ones) when the
    loss has `use_target_weight`) and `acc_vis` (the accuracy of `vis >= 0.5`) to the pose
    head's terms.

    Args:
        pose_head: the keypoint head (e.g. `HeatmapHead`, `RegressionHead`); it must have
            `out_channels` or `num_joints`.
        loss: visibility loss `loss(vis, labels, weights)`; defaults to
            `BCELoss(use_target_weight=False, use_sigmoid=True)`, as MMPose.
        **kwargs: `keras.layers.Layer` arguments (name, dtype, trainable).
    """

    def __init__(self, pose_head: keras.layers.Layer, loss: Optional[Any] = None, **kwargs):
        super().__init__(**kwargs)
        for attr in ("loss", "flip_back", "loss_names"):
            if getattr(pose_head, attr, None) is None:
                raise ValueError(f"pose_head must be a head with {attr}, received "
                                 f"{pose_head!r}")
        num = getattr(pose_head, "num_joints", None) or getattr(pose_head, "out_channels",
                                                                  None)
        if not isinstance(num, int) or num < 1:
            raise ValueError("pose_head needs num_joints or out_channels (a positive int), "
                             f"received {pose_head!r}")
        if loss is None:
            loss = BCELoss(use_target_weight=False, use_sigmoid=True)
        if not callable(loss):
            raise ValueError(f"loss must be callable, received {loss!r}")
        self.pose_head = pose_head
        self.loss_module = loss
        self.in_channels = getattr(pose_head, "in_channels", None)
        self.out_channels = num
        self.use_sigmoid = bool(getattr(loss, "use_sigmoid", False))
        # MMPose initialises Linear layers with N(0, 0.01) and zero bias.
        self.vis_head_2 = keras.layers.Dense(
            num, kernel_initializer=keras.initializers.RandomNormal(stddev=0.01),
            bias_initializer="zeros", name="vis_head_2")

    @property
    def loss_names(self) -> Tuple[str, ...]:
        """The visibility terms, then the pose head's."""
        return ("loss_vis", "acc_vis") + tuple(self.pose_head.loss_names)

    def build(self, input_shape):
        last = input_shape[-1] if isinstance(input_shape[0], (list, tuple)) else input_shape
        if len(last) not in (2, 4):
            raise ValueError("VisPredictHead needs (B, C) or (B, h, w, C) features, "
                             f"received shape {tuple(last)}")
        if not self.pose_head.built:
            self.pose_head.build(input_shape)
        self.vis_head_2.build((None, last[-1]))
        self.built = True

    def vis_forward(self, feats):
        """Visibility (B, K) of the last feature: probabilities if `use_sigmoid`, else
        logits."""
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats
        if len(x.shape) == 4:
            x = keras.ops.mean(x, axis=(1, 2))
        x = self.vis_head_2(x)
        return keras.ops.sigmoid(x) if self.use_sigmoid else x

    def call(self, feats, training=None):
        """Computes the pose head's outputs and the visibilities.

        Args:
            feats: sequence of features, or one feature.
            training: BatchNorm mode of the pose head.

        Returns:
            `(pose_outputs, vis (B, K))`.
        """
        return self.pose_head(feats, training=training), self.vis_forward(feats)

    def split_outputs(self, outputs) -> Tuple[Any, tf.Tensor]:
        """Separates outputs (or their flip-test average) for decoding.

        Returns:
            `(pose_outputs, visibility (B, K))`: what the pose codec decodes, and the
            visibility probabilities (the sigmoid is applied here to logits).
        """
        pose_outputs, vis = outputs
        vis = tf.cast(vis, tf.float32)
        return pose_outputs, (vis if self.use_sigmoid else tf.sigmoid(vis))

    def vis_accuracy(self, vis, labels, weights=None) -> tf.Tensor:
        """MMPose's `acc_vis`: share of keypoints whose `prob >= 0.5` equals the label,
        weighted per sample when `weights` are given, averaged over the batch."""
        vis = tf.stop_gradient(tf.cast(vis, tf.float32))
        if not self.use_sigmoid:
            vis = tf.sigmoid(vis)
        correct = tf.cast(tf.cast(vis >= 0.5, tf.float32) == labels, tf.float32)
        if weights is not None:
            accuracy = (tf.reduce_sum(correct * weights, axis=1) /
                        (tf.reduce_sum(weights, axis=1) + 1e-6))
        else:
            accuracy = tf.reduce_mean(correct, axis=1)
        return tf.reduce_mean(accuracy)

    def loss(self, outputs, targets: Mapping[str, Any]) -> Dict[str, tf.Tensor]:
        """Visibility loss and accuracy, plus the pose head's terms.

        Args:
            outputs: `(pose_outputs, vis (B, K))` from `call`.
            targets: the pose head's targets; `keypoint_weights` (B, K) are the
                visibility labels, optional `keypoints_visible_weights` (B, K) their
                weights.

        Returns:
            {"loss_vis", "acc_vis"} and the pose head's terms.
        """
        pose_outputs, vis = outputs
        if "keypoint_weights" not in targets:
            raise ValueError("VisPredictHead.loss needs targets ['keypoint_weights'], "
                             f"received keys {sorted(targets)}")
        labels = tf.cast(targets["keypoint_weights"], tf.float32)
        weights = None
        if getattr(self.loss_module, "use_target_weight", False):
            weights = (tf.cast(targets["keypoints_visible_weights"], tf.float32)
                       if "keypoints_visible_weights" in targets else tf.ones_like(labels))
        terms = {"loss_vis": self.loss_module(vis, labels, weights),
                 "acc_vis": self.vis_accuracy(vis, labels, weights)}
        terms.update(self.pose_head.loss(pose_outputs, targets))
        return terms

    def flip_back(self, outputs, flip_indices: Sequence[int], shift_heatmap: bool = False,
                  **kwargs):
        """Undoes a horizontal input flip on both outputs.

        Args:
            outputs: `(pose_outputs, vis)` computed on horizontally flipped images.
            flip_indices: (K,) index of each keypoint's mirror keypoint.
            shift_heatmap: passed to the pose head's `flip_back`.
            **kwargs: further `flip_back` arguments of the pose head (e.g. input_size).

        Returns:
            `(pose_outputs, vis)` aligned with the unflipped images.
        """
        pose_outputs, vis = outputs
        return (self.pose_head.flip_back(pose_outputs, flip_indices,
                                         shift_heatmap=shift_heatmap, **kwargs),
                flip_visibility(vis, flip_indices))

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "pose_head": keras.saving.serialize_keras_object(self.pose_head),
            "loss": keras.saving.serialize_keras_object(self.loss_module),
        })
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "VisPredictHead":
        config = dict(config)
        for key in ("pose_head", "loss"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
