"""PoseLifter: tensor / loss / predict modes, training on synthetic mocap, .keras round trip."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kpose.codecs.video_pose_lifting import VideoPoseLifting
from kpose.datasets.human36m_dataset import Human36mDataset
from kpose.datasets.lifting_pipeline import build_lifting_pipeline
from kpose.datasets.synthetic_mocap import make_synthetic_mocap
from kpose.evaluation.mpjpe import MPJPE
from kpose.models.backbones.tcn import TCN
from kpose.models.estimators.pose_lifter import PoseLifter
from kpose.models.heads.temporal_regression_head import TemporalRegressionHead
from kpose.models.heads.trajectory_regression_head import TrajectoryRegressionHead
from kpose.models.losses.mpjpe_loss import MPJPELoss
from keras_test_case import assert_config_round_trip, assert_saving_round_trip


def make_lifter(remove_root=False, traj=False, channels=32):
    joints = 16 if remove_root else 17
    return PoseLifter(
        backbone=TCN(in_channels=34, stem_channels=channels, num_blocks=2,
                     kernel_sizes=(3, 3, 3), dropout=0.0, use_stride_conv=True),
        head=TemporalRegressionHead(channels, joints, loss=MPJPELoss()),
        codec=VideoPoseLifting(num_keypoints=17, remove_root=remove_root),
        traj_head=TrajectoryRegressionHead(channels, 1) if traj else None)


@pytest.fixture(scope="module")
def mocap(tmp_path_factory):
    root = tmp_path_factory.mktemp("mocap")
    paths = make_synthetic_mocap(str(root), subjects=("S1", "S5"), test_subjects=("S9",),
                                 takes_per_subject=1, frames_per_take=80, seed=3)
    kwargs = dict(seq_len=27, causal=False, pad_video_seq=True,
                  camera_param_file=paths["cameras"])
    return Human36mDataset(paths["train"], **kwargs), Human36mDataset(paths["test"], **kwargs)


def test_training_lowers_mpjpe_and_predict_restores_the_root(mocap):
    train, val = mocap
    keras.utils.set_random_seed(0)
    model = make_lifter(remove_root=True)
    codec = model.codec
    model.check_fits_data(train.meta)
    train_ds = build_lifting_pipeline(train.records, train.meta, codec, train=True,
                                      batch_size=32, repeat=True,
                                      transforms=[])
    val_ds = build_lifting_pipeline(val.records, val.meta, codec, train=False, batch_size=64)
    metric = MPJPE(unit_scale=1000.0)

    def evaluate():
        metric.reset()
        metric.update(model.predict(val_ds, verbose=0))
        return metric.result()["MPJPE"]

    before = evaluate()
    model.compile(optimizer=keras.optimizers.Adam(5e-3))
    history = model.fit(train_ds, steps_per_epoch=80, epochs=1, verbose=0)
    after = evaluate()
    assert set(history.history) >= {"loss", "loss_pose3d", "mpjpe"}
    # Untrained outputs are near zero (about the mean bone offset); training must at least
    # halve the error of that.
    assert after < 0.5 * before, (before, after)
    preds = model.predict(val_ds.take(1), verbose=0)
    assert preds["keypoints"].shape == (64, 17, 3)
    # The root joint is the target root; the rest are root + predicted offsets.
    np.testing.assert_allclose(preds["keypoints"][:, 0], preds["target_root"], atol=1e-6)
    inputs, meta = next(iter(val_ds))
    raw = model(inputs, training=False).numpy()
    np.testing.assert_allclose(preds["keypoints"][:, 1:], raw + meta["target_root"].numpy()[:, None],
                               atol=1e-5)


def test_predict_without_meta_is_root_relative_and_traj_branch():
    model = make_lifter(traj=True, channels=8)
    x = np.random.default_rng(0).normal(size=(3, 27, 34)).astype(np.float32)
    out = model.predict_on_batch(x)
    assert out["keypoints"].shape == (3, 17, 3) and out["trajectory"].shape == (3, 1, 3)
    pose, traj = model(x)
    np.testing.assert_allclose(out["keypoints"], pose.numpy(), atol=1e-6)
    targets = {"lifting_target_label": np.zeros((3, 17, 3), np.float32),
               "lifting_target_weight": np.ones((3, 17), np.float32),
               "trajectory_weights": np.ones((3, 17), np.float32)}
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
        # The trajectory head predicts 1 joint, the targets hold 17 (no trajectory targets).
        model.compute_loss(x, targets, model(x))
    # (B, T, K, D) inputs equal their flattened (B, T, K * D) form.
    np.testing.assert_allclose(model(x.reshape(3, 27, 17, 2))[0].numpy(), pose.numpy(),
                               atol=1e-6)


def test_checks_and_bad_arguments():
    model = make_lifter()
    with pytest.raises(ValueError, match="output frames"):
        model.check_fits_data(frames=54)
    bad = PoseLifter(backbone=TCN(34, 8, 1, (3, 3)), head=TemporalRegressionHead(8, 16),
                     codec=VideoPoseLifting(17))
    with pytest.raises(ValueError, match="16 joints"):
        bad.check_fits_data()
    with pytest.raises(ValueError, match="codec"):
        PoseLifter(backbone=TCN(34, 8, 1, (3, 3)), head=TemporalRegressionHead(8, 17), codec=1)
    with pytest.raises(ValueError, match="without a loss"):
        model.compile(optimizer="adam", loss="mse")


def test_config_and_saving_round_trip(tmp_path):
    model = make_lifter(remove_root=True, channels=8)
    x = np.random.default_rng(1).normal(size=(2, 27, 34)).astype(np.float32)
    model(x)
    assert_config_round_trip(model)
    assert_saving_round_trip(model, x, tmp_path)
