"""Pose lifter: a 2D keypoint sequence in, the 3D pose of its target frame out."""

from typing import Any, Dict, Mapping, Optional

import gin
import keras
import tensorflow as tf

from kpose.models.estimators.topdown_pose_estimator import (_across_workers, _as_vectors,
                                                            _num_replicas)


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class PoseLifter(keras.Model):
    """Backbone -> optional neck -> head (+ optional trajectory branch), MMPose's
    `PoseLifter` mapped onto Keras.

    - `model(inputs)` ('tensor' mode): raw head outputs, (B, K, 3) root-relative joints in
      the codec's target space for inputs of one receptive field; with a `traj_head`,
      `(pose, trajectory)`.
    - `model.fit(dataset)` ('loss' mode): the dataset yields `(inputs, targets)` with the
      codec's `lifting_target_label` (B, K, 3), `lifting_target_weight` (B, K) and
      `trajectory_weights`; the loss is the sum of the heads' `loss*` terms.
    - `model.predict(dataset)` ('predict' mode): batches of `inputs` or `(inputs, meta)`;
      returns `{"keypoints": (B, K, 3), "keypoint_scores": (B, K), **meta}` decoded by the
      codec: root-relative (the root joint at 0), or, when the meta carries `target_root`
      (B, 3) / (B, 1, 3), shifted by it as MMPose's heads do. Numeric meta passes through
      (an entry named like a prediction comes back as `gt_<name>`).

    Inputs are the codec's `keypoint_labels`: (B, T, K * D) or (B, T, K, D), T frames of
    normalised 2D keypoints (D = 2, or 3 with the visibility).

    Args:
        backbone: layer mapping (B, T, K * D) to a tuple of features, e.g. `TCN`.
        head: layer mapping the features to (B, K, 3), with `loss(outputs, targets)` and
            `loss_names`, e.g. `TemporalRegressionHead`.
        codec: `VideoPoseLifting` / `ImagePoseLifting`, with
            `batch_decode(outputs, target_root)`.
        neck: optional layer between backbone and head.
        traj_backbone: optional backbone of the trajectory branch (None shares `backbone`
            when `traj_head` is given).
        traj_neck: optional neck of the trajectory branch.
        traj_head: optional trajectory head (`TrajectoryRegressionHead`).
        **kwargs: `keras.Model` arguments (name, dtype, trainable).
    """

    def __init__(self, backbone: keras.layers.Layer, head: keras.layers.Layer, codec: Any,
                 neck: Optional[keras.layers.Layer] = None,
                 traj_backbone: Optional[keras.layers.Layer] = None,
                 traj_neck: Optional[keras.layers.Layer] = None,
                 traj_head: Optional[keras.layers.Layer] = None, **kwargs):
        super().__init__(**kwargs)
        for name, obj, attr in (("head", head, "loss"), ("codec", codec, "batch_decode")):
            if not callable(getattr(obj, attr, None)):
                raise ValueError(f"{name} must have a {attr}() method, received {obj!r}")
        if traj_head is None and (traj_backbone is not None or traj_neck is not None):
            raise ValueError("traj_backbone / traj_neck need a traj_head, received "
                             f"traj_backbone={traj_backbone!r}, traj_neck={traj_neck!r}")
        self.backbone = backbone
        self.neck = neck
        self.head = head
        self.codec = codec
        self.traj_backbone = traj_backbone
        self.traj_neck = traj_neck
        self.traj_head = traj_head
        names = list(getattr(head, "loss_names", ()))
        if traj_head is not None:
            names += list(getattr(traj_head, "loss_names", ()))
        self.loss_trackers = [keras.metrics.Mean(name=name) for name in names]

    @property
    def causal(self) -> bool:
        """Whether the backbone looks only at past frames (its `causal`)."""
        if not hasattr(self.backbone, "causal"):
            raise AttributeError("a PoseLifter's backbone needs a bool `causal` attribute")
        return bool(self.backbone.causal)

    @property
    def receptive_field(self) -> int:
        """Input frames per output frame (the backbone's; 1 without a temporal backbone)."""
        return int(getattr(self.backbone, "receptive_field", 1))

    def build(self, input_shape):
        self.compute_output_spec(keras.KerasTensor(tuple(input_shape)))
        self.built = True

    def _flat_inputs(self, inputs):
        x = keras.ops.cast(inputs, "float32")
        if len(x.shape) == 4:  # (B, T, K, D) -> (B, T, K * D), channel k * D + d
            x = keras.ops.reshape(x, (-1, x.shape[1] if x.shape[1] is not None else
                                      keras.ops.shape(x)[1], x.shape[2] * x.shape[3]))
        if len(x.shape) != 3:
            raise ValueError(f"PoseLifter inputs must be (B, T, K * D) or (B, T, K, D), "
                             f"received shape {tuple(x.shape)}")
        return x

    def call(self, inputs, training=None):
        """Raw head outputs ('tensor' mode): (B, K, 3), or (pose, trajectory)."""
        x = self._flat_inputs(inputs)
        feats = self.backbone(x, training=training)
        if self.neck is not None:
            feats = self.neck(feats, training=training)
        outputs = keras.ops.cast(self.head(feats, training=training), "float32")
        if self.traj_head is None:
            return outputs
        traj = self.traj_backbone(x, training=training) if self.traj_backbone is not None \
            else feats
        if self.traj_neck is not None:
            traj = self.traj_neck(traj, training=training)
        return outputs, keras.ops.cast(self.traj_head(traj, training=training), "float32")

    def train_step(self, data):
        logs = super().train_step(data)
        return _as_vectors(logs) if _across_workers(self.distribute_strategy) else logs

    def test_step(self, data):
        logs = super().test_step(data)
        return _as_vectors(logs) if _across_workers(self.distribute_strategy) else logs

    def compile(self, optimizer="rmsprop", loss=None, **kwargs):
        """`keras.Model.compile`; the loss comes from the heads, so `loss` must be None."""
        if loss is not None:
            raise ValueError("PoseLifter computes its loss with its heads; compile it "
                             f"without a loss, received loss={loss!r}")
        super().compile(optimizer=optimizer, **kwargs)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Sum of the heads' `loss*` terms, divided by the replica count (see
        `TopdownPoseEstimator.compute_loss`)."""
        if y is None:
            raise ValueError("PoseLifter needs targets (the codec's lifting_target_label "
                             "and weights) to compute a loss, received y=None")
        if sample_weight is not None:
            raise ValueError("PoseLifter weights joints through the targets; received a "
                             "sample_weight")
        terms = {}
        if self.traj_head is None:
            terms.update(self.head.loss(y_pred, y))
        else:
            terms.update(self.head.loss(y_pred[0], y))
            terms.update(self.traj_head.loss(y_pred[1], y))
        known = {tracker.name: tracker for tracker in self.loss_trackers}
        unknown = sorted(set(terms) - set(known))
        if unknown:
            raise ValueError(f"the heads returned terms {unknown} missing from their "
                             f"loss_names {sorted(known)}")
        batch = tf.shape(x)[0]
        total = None
        for name, value in terms.items():
            known[name].update_state(value, sample_weight=batch)
            if name.startswith("loss"):
                total = value if total is None else total + value
        if total is None:
            raise ValueError(f"the heads returned no term named loss*, received {sorted(terms)}")
        for extra in self.losses:
            total = total + tf.reduce_sum(tf.cast(extra, total.dtype))
        replicas = _num_replicas()
        return total / replicas if replicas > 1 else total

    def predict_step(self, data):
        """Decoded 3D poses of one batch ('predict' mode).

        Args:
            data: `inputs` (B, T, K * D), or `(inputs, meta)` with an optional
                `target_root` (B, 3) or (B, 1, 3) and any numeric ground truth.

        Returns:
            `{"keypoints": (B, K, 3), "keypoint_scores": (B, K)}` (+ `trajectory` (B, J, 3)
            with a trajectory head) plus the numeric meta.
        """
        while isinstance(data, (tuple, list)) and len(data) == 1:
            data = data[0]
        meta = None
        if isinstance(data, (tuple, list)):
            inputs, meta = data[0], (data[1] if len(data) > 1 else None)
        else:
            inputs = data
        if meta is not None and not isinstance(meta, Mapping):
            raise ValueError(f"predict meta must be a dict, received {type(meta).__name__}")
        outputs = self(inputs, training=False)
        trajectory = None
        if self.traj_head is not None:
            outputs, trajectory = outputs
        root = meta.get("target_root") if meta is not None else None
        keypoints, scores = self.codec.batch_decode(outputs, root)
        results = {"keypoints": tf.cast(keypoints, tf.float32),
                   "keypoint_scores": tf.cast(scores, tf.float32)}
        if trajectory is not None:
            results["trajectory"] = trajectory
        for key, value in (meta or {}).items():
            value = tf.convert_to_tensor(value)
            if value.dtype == tf.string:
                continue
            results[f"gt_{key}" if key in results else key] = value
        return results

    def build_for_inference(self) -> None:
        """Builds the weights on one receptive field of zeros (what `evaluate` calls before
        loading a checkpoint; top-down estimators are built on a blank crop instead)."""
        self.check_fits_data()

    def check_fits_data(self, meta: Optional[Any] = None, frames: Optional[int] = None,
                        channels: Optional[int] = None) -> None:
        """Runs the model once on zeros and checks it against the dataset and codec.

        Args:
            meta: the dataset's `DatasetMeta` (its `num_keypoints` must equal the head's
                joints unless the codec removes the root), or None.
            frames: input frames T; defaults to the receptive field.
            channels: input channels K * D; defaults to the backbone's `in_channels`.

        Raises:
            ValueError: naming the two sides that disagree.
        """
        frames = frames or self.receptive_field
        channels = channels or getattr(self.backbone, "in_channels", None)
        if channels is None:
            raise ValueError("check_fits_data needs `channels` for a backbone without "
                             "in_channels")
        outputs = self(tf.zeros((1, frames, channels)), training=False)
        pose = outputs[0] if isinstance(outputs, tuple) else outputs
        if pose.shape[0] != 1:
            raise ValueError(f"{frames} input frames give {pose.shape[0]} output frames; "
                             f"inputs must span the receptive field ({self.receptive_field})")
        joints = int(pose.shape[1])
        codec_joints = getattr(self.codec, "num_keypoints", None)
        removes = getattr(self.codec, "remove_root", False) and \
            len(getattr(self.codec, "root_index", [0])) == 1
        if codec_joints is not None and joints != codec_joints - int(removes):
            raise ValueError(f"the head predicts {joints} joints but the codec "
                             f"({type(self.codec).__name__}, num_keypoints={codec_joints}, "
                             f"remove_root={removes}) expects {codec_joints - int(removes)}")
        if meta is not None and codec_joints is not None and meta.num_keypoints != codec_joints:
            raise ValueError(f"the codec has num_keypoints={codec_joints} but the dataset meta "
                             f"'{getattr(meta, 'name', meta)}' has {meta.num_keypoints}")

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()

        def ser(obj):
            return keras.saving.serialize_keras_object(obj) if obj is not None else None

        config.update({"backbone": ser(self.backbone), "neck": ser(self.neck),
                       "head": ser(self.head), "codec": ser(self.codec),
                       "traj_backbone": ser(self.traj_backbone),
                       "traj_neck": ser(self.traj_neck), "traj_head": ser(self.traj_head)})
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "PoseLifter":
        config = dict(config)
        for key in ("backbone", "neck", "head", "codec", "traj_backbone", "traj_neck",
                    "traj_head"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
