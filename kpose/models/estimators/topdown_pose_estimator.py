"""Top-down pose estimator: one person crop in, keypoints of that person out."""

import inspect
from typing import Any, Dict, Mapping, Optional, Sequence

import gin
import keras
import tensorflow as tf

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


def _num_replicas() -> int:
    return tf.distribute.get_strategy().num_replicas_in_sync


def _across_workers(strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and \
        getattr(strategy.extended, "_num_workers", 1) > 1


def _as_vectors(logs):
    # Keras 3.15 averages each log across workers with strategy.reduce(..., axis=0), which
    # fails on scalars (tensorflow/tensorflow#72388); a (1,) vector averages to a scalar.
    return {key: tf.reshape(value, (1,)) for key, value in logs.items()}


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class TopdownPoseEstimator(keras.Model):
    """Backbone -> optional neck -> head, with MMPose's three modes mapped onto Keras.

    - `model(images)` ('tensor' mode): raw head outputs, e.g. (B, h, w, K) heatmaps.
    - `model.fit(dataset)` ('loss' mode): the dataset yields `(images, targets)` with
      `targets = {"heatmaps": (B, h, w, K), "keypoint_weights": (B, K)}`; the loss is the
      sum of the head's `loss*` terms, and every term of `head.loss` (e.g. `loss_kpt`,
      `acc_pose`) shows in fit's logs. Compile with an optimizer only.
    - `model.predict(dataset)` ('predict' mode): batches of `images` or `(images, meta)`;
      returns `{"keypoints": (B, K, 2), "keypoint_scores": (B, K), **meta}`, keypoints in
      crop pixels, or in original-image pixels when meta carries `center` and `scale`.

    Images are raw RGB pixels (B, H, W, 3), uint8 or float; the model casts them to
    float32 and normalises with `mean`/`std` first, so exported models take raw pixels.

    Args:
        backbone: layer mapping normalised images to a tuple of feature maps.
        head: layer mapping the feature maps to outputs, with `loss(outputs, targets)`,
            `flip_back(outputs, flip_indices, shift_heatmap=...)` and `loss_names`.
        codec: decodes head outputs with `batch_decode(outputs) -> (keypoints (B,K,2),
            scores (B,K))`; its `input_size` (w, h) maps keypoints back with the meta.
        neck: optional layer between backbone and head (tuple -> tuple).
        mean: per-channel RGB mean subtracted from the pixels.
        std: per-channel RGB standard deviation the pixels are divided by.
        flip_test: in `predict`, average with the flipped image's outputs (needs
            `flip_indices`).
        flip_indices: (K,) index of each keypoint's mirror keypoint, from the dataset meta.
        shift_heatmap: shift the flipped pass's heatmaps one pixel right (MMPose's MSRA
            configs do; UDP configs do not).
        **kwargs: `keras.Model` arguments (name, dtype, trainable).
    """

    def __init__(
        self,
        backbone: keras.layers.Layer,
        head: keras.layers.Layer,
        codec: Any,
        neck: Optional[keras.layers.Layer] = None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        flip_test: bool = True,
        flip_indices: Optional[Sequence[int]] = None,
        shift_heatmap: bool = True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        mean = tuple(float(m) for m in mean)
        std = tuple(float(s) for s in std)
        if len(mean) != 3 or len(std) != 3:
            raise ValueError(f"mean and std need 3 values (RGB), received {mean} and {std}")
        if min(std) <= 0:
            raise ValueError(f"std must be positive, received {std}")
        for name, obj, attr in (("head", head, "loss"), ("head", head, "flip_back"),
                                ("codec", codec, "batch_decode")):
            if not callable(getattr(obj, attr, None)):
                raise ValueError(f"{name} must have a {attr}() method, received {obj!r}")
        if flip_indices is not None:
            flip_indices = tuple(int(i) for i in flip_indices)
            num = getattr(head, "out_channels", None)
            if num is not None and len(flip_indices) != num:
                raise ValueError(f"flip_indices must have one entry per keypoint ({num}), "
                                 f"received {len(flip_indices)}")
            if sorted(flip_indices) != list(range(len(flip_indices))):
                raise ValueError(f"flip_indices must be a permutation of 0..K-1, received "
                                 f"{flip_indices}")
        if flip_test and flip_indices is None:
            raise ValueError("flip_test=True needs flip_indices (the dataset meta's "
                             "flip_indices); received flip_indices=None")
        self.backbone = backbone
        self.neck = neck
        self.head = head
        self.codec = codec
        self.mean = mean
        self.std = std
        self.flip_test = bool(flip_test)
        self.flip_indices = flip_indices
        self.shift_heatmap = bool(shift_heatmap)
        # One running mean per loss term / accuracy, shown in fit's and evaluate's logs.
        self.loss_trackers = [keras.metrics.Mean(name=name)
                              for name in getattr(head, "loss_names", ())]

    def build(self, input_shape):
        self.compute_output_spec(keras.KerasTensor(tuple(input_shape)))
        self.built = True

    def call(self, images, training=None):
        """Raw head outputs ('tensor' mode).

        Args:
            images: (B, H, W, 3) RGB pixels, uint8 or float, not normalised.
            training: BatchNorm / dropout mode.

        Returns:
            The head's outputs, e.g. (B, h, w, K) heatmaps.
        """
        x = keras.ops.cast(images, "float32")
        x = (x - keras.ops.convert_to_tensor(self.mean, "float32")) / \
            keras.ops.convert_to_tensor(self.std, "float32")
        feats = self.backbone(x, training=training)
        if self.neck is not None:
            feats = self.neck(feats, training=training)
        outputs = self.head(feats, training=training)
        # Under a mixed precision policy the head computes in bf16/fp16; losses, decoding
        # and exported signatures get float32.
        return tf.nest.map_structure(lambda t: keras.ops.cast(t, "float32"), outputs)

    def train_step(self, data):
        logs = super().train_step(data)
        return _as_vectors(logs) if _across_workers(self.distribute_strategy) else logs

    def test_step(self, data):
        logs = super().test_step(data)
        return _as_vectors(logs) if _across_workers(self.distribute_strategy) else logs

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras 3.15's fit first averages a whole (images, targets) batch with
        # strategy.reduce to build the model symbolically; under MultiWorkerMirroredStrategy
        # with several workers that reduce fails on the nested batch. kpose's trainer builds
        # the model and its optimizer before fit, so there is nothing left to build then.
        if self.optimizer is not None and self.optimizer.built and \
                all(layer.built for layer in self._flatten_layers()):
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def compile(self, optimizer="rmsprop", loss=None, **kwargs):
        """`keras.Model.compile`; the loss comes from the head, so `loss` must be None."""
        if loss is not None:
            raise ValueError("TopdownPoseEstimator computes its loss with its head; compile "
                             f"it without a loss, received loss={loss!r}")
        super().compile(optimizer=optimizer, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Sum of the head's loss terms, scaled for tf.distribute.

        Keras sums gradients over replicas and multiplies the returned loss by the number
        of replicas before logging it, so each replica returns its local mean divided by
        the replica count: gradients and the logged `loss` then equal single-device ones.
        """
        if y is None:
            raise ValueError("TopdownPoseEstimator needs targets (a dict with the codec's "
                             "keys) to compute a loss, received y=None")
        if sample_weight is not None:
            raise ValueError("TopdownPoseEstimator weights keypoints through "
                             "targets['keypoint_weights']; received a sample_weight")
        terms = self.head.loss(y_pred, y)
        known = {tracker.name: tracker for tracker in self.loss_trackers}
        unknown = sorted(set(terms) - set(known))
        if unknown:
            raise ValueError(f"head.loss returned terms {unknown} missing from "
                             f"head.loss_names {sorted(known)}")
        batch = tf.shape(x)[0]
        total = None
        for name, value in terms.items():
            known[name].update_state(value, sample_weight=batch)
            if name.startswith("loss"):
                total = value if total is None else total + value
        if total is None:
            raise ValueError(f"head.loss returned no term named loss*, received {sorted(terms)}")
        for extra in self.losses:  # regularisers and add_loss() terms of sublayers
            total = total + tf.reduce_sum(tf.cast(extra, total.dtype))
        replicas = _num_replicas()
        if replicas > 1:
            total = total / replicas
        return total

    def predict_step(self, data):
        """Decoded predictions of one batch ('predict' mode).

        Args:
            data: `images` (B, H, W, 3), or `(images, meta)` with meta a dict holding at
                least `center` (B, 2) and `scale` (B, 2) in original-image pixels.

        Returns:
            `{"keypoints": (B, K, 2), "keypoint_scores": (B, K)}` plus every numeric meta
            entry unchanged; a meta entry named like a prediction (`keypoints`,
            `keypoint_scores`: ground truth) is passed on as `gt_<name>`. A head with
            `split_outputs` (VisPredictHead) adds `keypoint_visibility` (B, K) probabilities.
        """
        meta = None
        # Keras wraps some inputs in a 1-tuple (`predict_on_batch`, numpy `predict`).
        while isinstance(data, (tuple, list)) and len(data) == 1:
            data = data[0]
        if isinstance(data, (tuple, list)):
            images = data[0]
            meta = data[1] if len(data) > 1 else None
        else:
            images = data
        outputs = self.predict_outputs(images)
        visibility = None
        if callable(getattr(self.head, "split_outputs", None)):
            # A head with extra predictions (VisPredictHead): the codec decodes the pose part.
            outputs, visibility = self.head.split_outputs(outputs)
        keypoints, scores = self.codec.batch_decode(outputs)
        keypoints = tf.cast(keypoints, tf.float32)
        results = {"keypoints": keypoints, "keypoint_scores": tf.cast(scores, tf.float32)}
        if visibility is not None:
            # Not `keypoints_visible`: metrics read that name as the ground-truth mask.
            results["keypoint_visibility"] = tf.cast(visibility, tf.float32)
        if meta is None:
            return results
        if not isinstance(meta, Mapping) or "center" not in meta or "scale" not in meta:
            keys = sorted(meta) if isinstance(meta, Mapping) else type(meta).__name__
            raise ValueError(f"predict meta must be a dict with 'center' and 'scale', "
                             f"received {keys}")
        center = tf.cast(meta["center"], tf.float32)[:, None, :]
        scale = tf.cast(meta["scale"], tf.float32)[:, None, :]
        input_size = tf.constant(self.codec.input_size, tf.float32)
        # Crop pixels -> original image, as MMPose's add_pred_to_datasample.
        results["keypoints"] = keypoints / input_size * scale + center - 0.5 * scale
        for key, value in meta.items():
            value = tf.convert_to_tensor(value)
            if value.dtype == tf.string:
                continue
            results[f"gt_{key}" if key in results else key] = value
        return results

    def predict_outputs(self, images):
        """Head outputs for prediction: flip-test averaged when `flip_test` is set.

        Args:
            images: (B, H, W, 3) RGB pixels.

        Returns:
            Outputs like `call`'s, e.g. (B, h, w, K) heatmaps.
        """
        if not self.flip_test:
            return self(images, training=False)
        batch = tf.shape(images)[0]
        # One pass over [images, mirrored images]: BatchNorm in inference is per sample.
        both = self(tf.concat([images, tf.reverse(images, axis=[2])], axis=0),
                    training=False)
        # Outputs may be a structure (SimCC's (x, y) pair): split and average leaf-wise.
        plain = tf.nest.map_structure(lambda t: t[:batch], both)
        mirrored = tf.nest.map_structure(lambda t: t[batch:], both)
        kwargs = {}
        if "input_size" in inspect.signature(self.head.flip_back).parameters:
            # Coordinate heads flip normalised x about the input width: the codec's, bound once.
            kwargs["input_size"] = tuple(self.codec.input_size)
        flipped = self.head.flip_back(mirrored, self.flip_indices,
                                      shift_heatmap=self.shift_heatmap, **kwargs)
        return tf.nest.map_structure(lambda a, b: (a + b) * 0.5, plain, flipped)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()  # name, trainable, dtype policy
        config.update({
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "neck": (keras.saving.serialize_keras_object(self.neck)
                     if self.neck is not None else None),
            "head": keras.saving.serialize_keras_object(self.head),
            "codec": keras.saving.serialize_keras_object(self.codec),
            "mean": list(self.mean),
            "std": list(self.std),
            "flip_test": self.flip_test,
            "flip_indices": list(self.flip_indices) if self.flip_indices is not None else None,
            "shift_heatmap": self.shift_heatmap,
        })
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "TopdownPoseEstimator":
        config = dict(config)
        for key in ("backbone", "neck", "head", "codec"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
