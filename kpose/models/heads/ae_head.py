"""Associative Embedding head: keypoint heatmaps and tag maps from one conv stack."""

from typing import Any, Dict, Mapping, Optional, Sequence

import gin
import keras
import tensorflow as tf

from kpose.models.heads.heatmap_head import HeatmapHead
from kpose.models.losses.ae_loss import AssociativeEmbeddingLoss
from kpose.models.losses.keypoint_mse_loss import KeypointMSELoss
from kpose.models.utils.tta import flip_heatmaps


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class AssociativeEmbeddingHead(HeatmapHead):
    """MMPose's `AssociativeEmbeddingHead`: a HeatmapHead whose output channels are split
    into K heatmaps and the tag maps.

    Same layers, names and parameters as `HeatmapHead` with `out_channels = K * (1 + L)`
    (`tag_per_keypoint`) or `K + L`.

    Output: `(heatmaps (B, H, W, K), tags (B, H, W, L * K or L))`.

    Args:
        in_channels: channels of the last feature map (None: inferred).
        num_keypoints: K.
        tag_dim: L, the tag dimension.
        tag_per_keypoint: one tag map per keypoint type (else L maps shared by all).
        deconv_out_channels, deconv_kernel_sizes, conv_out_channels, conv_kernel_sizes,
            final_layer_kernel, synchronized_bn: as `HeatmapHead`.
        keypoint_loss: heatmap loss, called with the heatmap mask; default
            `KeypointMSELoss(use_target_weight=True)`.
        tag_loss: tag loss; default `AssociativeEmbeddingLoss()`.
        **kwargs: `keras.layers.Layer` arguments.
    """

    loss_names = ("loss_kpt", "loss_pull", "loss_push")

    def __init__(self,
                 in_channels: Optional[int] = None,
                 *,
                 num_keypoints: int,
                 tag_dim: int = 1,
                 tag_per_keypoint: bool = True,
                 deconv_out_channels: Optional[Sequence[int]] = (256, 256, 256),
                 deconv_kernel_sizes: Optional[Sequence[int]] = (4, 4, 4),
                 conv_out_channels: Optional[Sequence[int]] = None,
                 conv_kernel_sizes: Optional[Sequence[int]] = None,
                 final_layer_kernel: Optional[int] = 1,
                 keypoint_loss: Optional[KeypointMSELoss] = None,
                 tag_loss: Optional[AssociativeEmbeddingLoss] = None,
                 synchronized_bn: bool = False,
                 **kwargs):
        for name, value in (("num_keypoints", num_keypoints), ("tag_dim", tag_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive int, received {value!r}")
        if not final_layer_kernel:
            raise ValueError("AssociativeEmbeddingHead needs a final layer to produce heatmaps "
                             f"and tags, received final_layer_kernel={final_layer_kernel!r}")
        # As MMPose: no deconv (conv) channels means no deconv (conv) layers, whatever the
        # kernel sizes say.
        if not deconv_out_channels:
            deconv_out_channels, deconv_kernel_sizes = (), ()
        if not conv_out_channels:
            conv_out_channels, conv_kernel_sizes = (), ()
        keypoint_loss = keypoint_loss or KeypointMSELoss(use_target_weight=True)
        tag_loss = tag_loss or AssociativeEmbeddingLoss()
        for name, value in (("keypoint_loss", keypoint_loss), ("tag_loss", tag_loss)):
            if not callable(value):
                raise ValueError(f"{name} must be callable, received {value!r}")
        out_channels = num_keypoints * (1 + tag_dim) if tag_per_keypoint \
            else num_keypoints + tag_dim
        super().__init__(in_channels, out_channels=out_channels,
                         deconv_out_channels=deconv_out_channels,
                         deconv_kernel_sizes=deconv_kernel_sizes,
                         conv_out_channels=conv_out_channels,
                         conv_kernel_sizes=conv_kernel_sizes,
                         final_layer_kernel=final_layer_kernel, loss=keypoint_loss,
                         synchronized_bn=synchronized_bn, **kwargs)
        self.num_keypoints = num_keypoints
        self.tag_dim = tag_dim
        self.tag_per_keypoint = bool(tag_per_keypoint)
        self.keypoint_loss = keypoint_loss
        self.tag_loss = tag_loss

    def call(self, feats, training=None):
        """Heatmaps `(B, H, W, K)` and tags `(B, H, W, C - K)`."""
        output = super().call(feats, training=training)
        return output[..., :self.num_keypoints], output[..., self.num_keypoints:]

    def loss(self, outputs, targets: Mapping[str, Any]) -> Dict[str, tf.Tensor]:
        """Heatmap loss inside the valid-region mask, and the tag pull / push losses.

        MMPose 1.3.2's head passes per-instance keypoint weights and an (B, H, W) mask to
        a loss that asserts (B, K) weights and 4-D masks, so its AE recipe cannot train
        (its training pipeline is empty). Here the heatmap loss takes the mask only:
        heatmaps merge every person, so a keypoint type nobody shows is a zero target
        that should be learnt, not skipped.

        Args:
            outputs: `(heatmaps, tags)` from `call`.
            targets: `heatmaps` (B, H, W, K), `keypoint_indices` (B, N, K, 2) and
                optionally `heatmap_mask` (B, H, W) (1 where the image is valid).

        Returns:
            `{"loss_kpt", "loss_pull", "loss_push"}` scalars.
        """
        missing = [k for k in ("heatmaps", "keypoint_indices") if k not in targets]
        if missing:
            raise ValueError(f"AssociativeEmbeddingHead.loss needs targets {missing}, "
                             f"received keys {sorted(targets)}")
        heatmaps, tags = outputs
        if not self.tag_per_keypoint:
            tags = tf.tile(tags, [1, 1, 1, self.num_keypoints])
        mask = targets.get("heatmap_mask")
        if mask is not None:
            mask = tf.cast(mask, tf.float32)[..., None]
        loss_kpt = self.keypoint_loss(heatmaps, targets["heatmaps"], None, mask)
        pull, push = self.tag_loss(tags, targets["keypoint_indices"])
        return {"loss_kpt": loss_kpt, "loss_pull": pull, "loss_push": push}

    def flip_back(self, outputs, flip_indices: Sequence[int], shift_heatmap: bool = False):
        """Undoes a horizontal input flip on `(heatmaps, tags)` (MMPose's `_flip_tags`).

        Heatmaps and per-keypoint tags are mirrored and their channels permuted by
        `flip_indices`; shared tags (`tag_per_keypoint=False`) are only mirrored.
        """
        heatmaps, tags = outputs
        heatmaps = flip_heatmaps(heatmaps, flip_indices, flip_mode="heatmap",
                                 shift_heatmap=shift_heatmap)
        tags = tf.reverse(tags, axis=[2])
        if self.tag_per_keypoint:
            order = [l * self.num_keypoints + int(k) for l in range(self.tag_dim)
                     for k in flip_indices]
            tags = tf.gather(tags, order, axis=-1)
        if shift_heatmap:
            tags = tf.concat([tags[:, :, :1], tags[:, :, :-1]], axis=2)
        return heatmaps, tags

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        for key in ("out_channels", "loss"):
            config.pop(key)
        config.update({
            "num_keypoints": self.num_keypoints,
            "tag_dim": self.tag_dim,
            "tag_per_keypoint": self.tag_per_keypoint,
            "keypoint_loss": keras.saving.serialize_keras_object(self.keypoint_loss),
            "tag_loss": keras.saving.serialize_keras_object(self.tag_loss),
        })
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "AssociativeEmbeddingHead":
        config = dict(config)
        for key in ("keypoint_loss", "tag_loss"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
