"""Bottom-up pose estimator: a whole image in, every person's keypoints out."""

from typing import Any, Dict, Mapping, Optional, Sequence

import gin
import keras
import numpy as np
import tensorflow as tf

from kpose.models.estimators.topdown_pose_estimator import (IMAGENET_MEAN, IMAGENET_STD,
                                                            TopdownPoseEstimator)

# Per-person predictions; every other entry is per image.
_PERSON_KEYS = ("keypoints", "keypoint_scores", "bbox_score")
# Per-image geometry, spent once keypoints are in image pixels: a metric would read
# `scale` as each person's box size.
_DROPPED_KEYS = ("instance_valid", "center", "scale", "input_size")


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class BottomupPoseEstimator(TopdownPoseEstimator):
    """Backbone -> optional neck -> head producing heatmaps and tags for all people at once.

    Shares `TopdownPoseEstimator`'s normalisation, `fit` ('loss' mode: `(images,
    targets)` with the codec's targets, e.g. AssociativeEmbedding's `heatmaps`,
    `keypoint_indices`, `keypoint_weights` and the pipeline's `heatmap_mask`) and
    serialisation; prediction differs:

    - `predict_step` (`predict_on_batch`): per-image people padded to `max_instances`:
      `{"keypoints": (B, N, K, 2), "keypoint_scores": (B, N, K), "bbox_score": (B, N)
      (instance score, MMPose's `bbox_scores`), "instance_valid": (B, N) bool}` plus the
      numeric meta. Keypoints are in input pixels, or in original-image pixels when meta
      carries `center` and `scale` (and `input_size`, the resized image's (w, h) before
      batch padding; default the batch's image size), as MMPose's
      `add_pred_to_datasample`.
    - `predict(..., flatten=True)`: the valid people of every image as rows (`keypoints`
      (M, K, 2), `keypoint_scores` (M, K), `bbox_score` (M,), the image's meta repeated,
      `id` -1 and `category_id` 1), the layout `CocoMetric.update` takes.

    Flip test (MMPose's): heatmaps of the image and its mirror are averaged, tags are
    concatenated (doubling the tag dimension the grouping compares). With
    `restore_heatmap_size` the outputs are resized to the input image (bilinear, half-pixel
    centres as PyTorch's `align_corners=False`) before decoding, with a copy of the codec
    whose heatmap size is its input size.

    Decoding groups people in numpy through `tf.numpy_function` (see AssociativeEmbedding),
    so exported graphs keep it as a Python op; `call` (raw outputs) stays pure TF.

    Args:
        backbone, head, codec, neck, mean, std, flip_indices: as `TopdownPoseEstimator`;
            `head(feats) -> (heatmaps, tags)`, codec with `batch_decode_padded`.
        flip_test: average with the mirrored image in `predict` (needs `flip_indices`).
        shift_heatmap: shift the mirrored outputs one pixel (MMPose's AE recipe: False).
        restore_heatmap_size: resize outputs to the input size before decoding.
        max_instances: N of the padded predictions; None: the codec's
            `decode_max_instances`, else 30.
        **kwargs: `keras.Model` arguments.
    """

    def __init__(self,
                 backbone: keras.layers.Layer,
                 head: keras.layers.Layer,
                 codec: Any,
                 neck: Optional[keras.layers.Layer] = None,
                 mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD,
                 flip_test: bool = True,
                 flip_indices: Optional[Sequence[int]] = None,
                 shift_heatmap: bool = False,
                 restore_heatmap_size: bool = True,
                 max_instances: Optional[int] = None,
                 **kwargs):
        if not callable(getattr(codec, "batch_decode_padded", None)):
            raise ValueError(f"codec must have a batch_decode_padded() method (e.g. "
                             f"AssociativeEmbedding), received {codec!r}")
        # flip_indices are checked here: the parent compares them with the head's
        # out_channels, which count the tag maps too.
        super().__init__(backbone, head, codec, neck=neck, mean=mean, std=std,
                         flip_test=False, flip_indices=None, shift_heatmap=shift_heatmap,
                         **kwargs)
        if flip_indices is not None:
            flip_indices = tuple(int(i) for i in flip_indices)
            num = getattr(head, "num_keypoints", None)
            if sorted(flip_indices) != list(range(len(flip_indices))) or \
                    (num is not None and len(flip_indices) != num):
                raise ValueError(f"flip_indices must be a permutation of the {num} keypoints, "
                                 f"received {flip_indices}")
        if flip_test and flip_indices is None:
            raise ValueError("flip_test=True needs flip_indices (the dataset meta's "
                             "flip_indices); received flip_indices=None")
        self.flip_indices = flip_indices
        self.flip_test = bool(flip_test)
        if max_instances is None:
            max_instances = getattr(codec, "decode_max_instances", None) or 30
        if not isinstance(max_instances, int) or max_instances < 1:
            raise ValueError(f"max_instances must be a positive int, received {max_instances!r}")
        self.restore_heatmap_size = bool(restore_heatmap_size)
        self.max_instances = max_instances
        self._decoder = codec
        if self.restore_heatmap_size:
            config = dict(codec.get_config())
            config["heatmap_size"] = config["input_size"]
            self._decoder = type(codec).from_config(config)

    def predict_outputs(self, images):
        """Heatmaps and tags to decode: flip-tested and resized as configured.

        Args:
            images: (B, H, W, 3) RGB pixels.

        Returns:
            heatmaps (B, h, w, K) and tags (B, h, w, C), (h, w) the image's size when
            `restore_heatmap_size`.
        """
        if self.flip_test:
            batch = tf.shape(images)[0]
            heatmaps, tags = self(tf.concat([images, tf.reverse(images, axis=[2])], axis=0),
                                  training=False)
            flipped = self.head.flip_back((heatmaps[batch:], tags[batch:]), self.flip_indices,
                                          shift_heatmap=self.shift_heatmap)
            pairs = [(heatmaps[:batch], tags[:batch]), flipped]
        else:
            pairs = [self(images, training=False)]
        if self.restore_heatmap_size:
            size = tf.shape(images)[1:3]
            pairs = [tuple(tf.image.resize(t, size, method="bilinear") for t in pair)
                     for pair in pairs]
        heatmaps = tf.add_n([h for h, _ in pairs]) / float(len(pairs))
        tags = tf.concat([t for _, t in pairs], axis=-1)
        return heatmaps, tags

    def predict_step(self, data):
        """Decoded people of one batch, padded to `max_instances` (see the class doc)."""
        meta = None
        while isinstance(data, (tuple, list)) and len(data) == 1:
            data = data[0]
        if isinstance(data, (tuple, list)):
            images, meta = data[0], (data[1] if len(data) > 1 else None)
        else:
            images = data
        heatmaps, tags = self.predict_outputs(images)
        keypoints, scores, instance_scores, valid = self._decoder.batch_decode_padded(
            heatmaps, tags, self.max_instances)
        if not self.restore_heatmap_size:
            # decoded at the codec's scale; a resized input keeps the heatmap stride
            stride = tf.cast(tf.shape(images)[2:0:-1], tf.float32) / tf.cast(
                tf.shape(heatmaps)[2:0:-1], tf.float32)
            keypoints = keypoints / tf.constant(self.codec.scale_factor) * stride
        results = {"keypoints": keypoints, "keypoint_scores": scores,
                   "bbox_score": instance_scores, "instance_valid": valid}
        if meta is None:
            return results
        if not isinstance(meta, Mapping) or "center" not in meta or "scale" not in meta:
            keys = sorted(meta) if isinstance(meta, Mapping) else type(meta).__name__
            raise ValueError(f"predict meta must be a dict with 'center' and 'scale', "
                             f"received {keys}")
        center = tf.cast(meta["center"], tf.float32)[:, None, None, :]
        scale = tf.cast(meta["scale"], tf.float32)[:, None, None, :]
        if "input_size" in meta:
            input_size = tf.cast(meta["input_size"], tf.float32)[:, None, None, :]
        else:
            input_size = tf.cast(tf.shape(images)[2:0:-1], tf.float32)
        results["keypoints"] = keypoints / input_size * scale + center - 0.5 * scale
        for key, value in meta.items():
            value = tf.convert_to_tensor(value)
            if value.dtype == tf.string:
                continue
            results[f"gt_{key}" if key in results else key] = value
        return results

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None,
                flatten: bool = True):
        """`keras.Model.predict`, by default flattened to one row per detected person.

        Args:
            x, batch_size, verbose, steps, callbacks: as `keras.Model.predict`.
            flatten: True: rows of valid people (see the class doc); False: the padded
                per-image arrays of `predict_step`.
        """
        outputs = super().predict(x, batch_size=batch_size, verbose=verbose, steps=steps,
                                  callbacks=callbacks)
        return flatten_instances(outputs) if flatten else outputs

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"restore_heatmap_size": self.restore_heatmap_size,
                       "max_instances": self.max_instances})
        return config


def flatten_instances(outputs: Mapping[str, Any]) -> Dict[str, np.ndarray]:
    """Padded per-image predictions -> one row per valid person.

    Args:
        outputs: `predict_step`'s dict: (B, N, ...) per-person arrays, `instance_valid`
            (B, N), and per-image (B, ...) meta (every key but `keypoints`,
            `keypoint_scores`, `bbox_score`).

    Returns:
        Per-person arrays (M, ...); per-image entries repeated for each of the image's
        people, except `center`, `scale` and `input_size` (dropped); `id` -1 (no
        annotation to tie a prediction to) and `category_id` 1 unless given.
    """
    valid = np.asarray(outputs["instance_valid"], bool)
    batch, num = valid.shape
    image_of_row = np.repeat(np.arange(batch), num)[valid.reshape(-1)]
    rows = {}
    for key, value in outputs.items():
        if key in _DROPPED_KEYS:
            continue
        value = np.asarray(value)
        if key in _PERSON_KEYS:
            rows[key] = value[valid]
        else:
            rows[key] = value[image_of_row]
    rows["id"] = np.full(len(image_of_row), -1, np.int64)
    rows.setdefault("category_id", np.ones(len(image_of_row), np.int64))
    return rows
