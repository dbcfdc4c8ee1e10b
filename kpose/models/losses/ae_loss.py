"""Associative Embedding tag loss (pull / push), as MMPose 1.3.2's AssociativeEmbeddingLoss."""

from typing import Any, Dict, Tuple

import gin
import keras
import tensorflow as tf

_EPS = 1e-6  # MMPose's normaliser epsilon


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class AssociativeEmbeddingLoss:
    """Pulls the tags of one person together and pushes different people's tags apart.

    Per image, with the tags read at each person's valid keypoints: a person's reference
    tag is the mean of its keypoint tags; the pull term is the sum over people of the mean
    squared difference to the reference, divided by the number of people N (+1e-6); the
    push term sums `exp(-(t_i - t_j)^2)` over all ordered pairs of reference tags
    (diagonal included) and tag dimensions, divided by `N (N - 1)` (+1e-6), and is 0 for
    fewer than two people. Images are summed (not averaged) over the batch, as MMPose.

    Vectorised over a batch whose people are padded to a fixed N (padding rows carry no
    valid keypoint), so it runs inside `fit`.

    Args:
        loss_weight: factor on both terms.
        push_loss_factor: extra factor on the push term.
    """

    def __init__(self, loss_weight: float = 1.0, push_loss_factor: float = 0.5) -> None:
        for name, value in (("loss_weight", loss_weight), ("push_loss_factor", push_loss_factor)):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{name} must be a number, received {value!r}")
        self.loss_weight = float(loss_weight)
        self.push_loss_factor = float(push_loss_factor)

    def __call__(self, tags: Any, keypoint_indices: Any) -> Tuple[tf.Tensor, tf.Tensor]:
        """Computes the pull and push losses of a batch.

        Args:
            tags: `(B, H, W, L * K)` predicted tag maps, channel `l * K + k`.
            keypoint_indices: `(B, N, K, 2)` int `[flat index y * W + x, valid]` of each
                person's keypoints (the AssociativeEmbedding codec's encoding).

        Returns:
            `(pull, push)` float32 scalars.
        """
        tags = tf.cast(tf.convert_to_tensor(tags), tf.float32)
        indices = tf.convert_to_tensor(keypoint_indices)
        if tags.shape.rank != 4 or indices.shape.rank != 4 or indices.shape[-1] != 2:
            raise ValueError(f"tags must be (B, H, W, L*K) and keypoint_indices (B, N, K, 2), "
                             f"received shapes {tags.shape} and {indices.shape}")
        num_kpts = indices.shape[2]
        if tags.shape[-1] is not None and num_kpts is not None and tags.shape[-1] % num_kpts:
            raise ValueError(f"tags need L * K channels for K = {num_kpts}, received shape "
                             f"{tags.shape}")
        shape = tf.shape(tags)
        batch, height, width = shape[0], shape[1], shape[2]
        dim = tags.shape[-1] // num_kpts
        # (B, H*W, L, K) -> per person and keypoint: (B, N, K, L)
        flat = tf.reshape(tags, [batch, height * width, dim, num_kpts])
        flat = tf.transpose(flat, [0, 3, 1, 2])  # (B, K, H*W, L)
        position = tf.cast(indices[..., 0], tf.int32)
        valid = tf.cast(indices[..., 1] > 0, tf.float32)  # (B, N, K)
        position = tf.where(valid > 0, position, 0)
        # gather flat[b, k, position[b, n, k]]
        kpt_tags = tf.gather(flat, tf.transpose(position, [0, 2, 1]), batch_dims=2)  # (B,K,N,L)
        kpt_tags = tf.transpose(kpt_tags, [0, 2, 1, 3])  # (B, N, K, L)
        count = tf.reduce_sum(valid, axis=2)  # (B, N)
        person = tf.cast(count > 0, tf.float32)
        mean = tf.reduce_sum(kpt_tags * valid[..., None], axis=2) / \
            tf.maximum(count, 1.0)[..., None]  # (B, N, L)
        squared = tf.reduce_sum(tf.square(kpt_tags - mean[:, :, None]) * valid[..., None],
                                axis=(2, 3))
        pull_each = squared / tf.maximum(count * dim, 1.0)
        num_people = tf.reduce_sum(person, axis=1)  # (B,)
        pull = tf.reduce_sum(pull_each * person, axis=1) / (num_people + _EPS)
        diff = mean[:, :, None] - mean[:, None]  # (B, N, N, L)
        pair = person[:, :, None] * person[:, None]
        push = tf.reduce_sum(tf.exp(-tf.square(diff)) * pair[..., None], axis=(1, 2, 3))
        push = tf.where(num_people > 1,
                        push / ((num_people - 1) * num_people + _EPS), 0.0)
        pull_loss = tf.reduce_sum(pull) * self.loss_weight
        push_loss = tf.reduce_sum(push) * self.loss_weight * self.push_loss_factor
        return pull_loss, push_loss

    def get_config(self) -> Dict[str, Any]:
        return {"loss_weight": self.loss_weight, "push_loss_factor": self.push_loss_factor}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "AssociativeEmbeddingLoss":
        return cls(**config)

    def __repr__(self) -> str:
        return (f"AssociativeEmbeddingLoss(loss_weight={self.loss_weight}, "
                f"push_loss_factor={self.push_loss_factor})")
