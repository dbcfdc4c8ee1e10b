import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.codecs import MSRAHeatmap
from kpose.models.backbones.res_net import ResNet
from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
from kpose.models.heads.heatmap_head import HeatmapHead
from kpose.models.utils.tta import flip_heatmaps

K = 3
FLIP = [0, 2, 1]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def tiny_model(flip_test=True, shift_heatmap=True, **kwargs):
    """64x64 crops -> 16x16 heatmaps of K keypoints: two ResNet stages, one deconv."""
    return TopdownPoseEstimator(
        backbone=ResNet(18, stem_channels=4, base_channels=4, num_stages=2, strides=(1, 2),
                        out_indices=(1,), zero_init_residual=False),
        head=HeatmapHead(8, out_channels=K, deconv_out_channels=(8,),
                         deconv_kernel_sizes=(4,)),
        codec=MSRAHeatmap(input_size=(64, 64), heatmap_size=(16, 16), sigma=2),
        flip_test=flip_test, flip_indices=FLIP if flip_test else None,
        shift_heatmap=shift_heatmap, **kwargs)


def images(n=2, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)


def training_data(n=4, seed=0):
    codec = MSRAHeatmap(input_size=(64, 64), heatmap_size=(16, 16), sigma=2)
    rng = np.random.default_rng(seed)
    heatmaps, weights = [], []
    for _ in range(n):
        encoded = codec.encode(rng.uniform(4, 60, (1, K, 2)).astype(np.float32))
        heatmaps.append(encoded["heatmaps"])
        weights.append(encoded["keypoint_weights"][0])
    return images(n, seed), {"heatmaps": np.stack(heatmaps), "keypoint_weights": np.stack(weights)}


def test_call_normalises_raw_pixels():
    model = tiny_model()
    x = images()
    out = model(x)
    assert out.shape == (2, 16, 16, K)
    # uint8 and float pixels give the same outputs...
    np.testing.assert_allclose(model(x.astype(np.float32)), out, atol=1e-6)
    # ...which are the head on the backbone of (x - mean) / std.
    norm = (x.astype(np.float32) - np.array(model.mean)) / np.array(model.std)
    direct = model.head(model.backbone(norm.astype(np.float32)))
    np.testing.assert_allclose(direct, out, atol=1e-5)


# Parameters of MMPose's SimpleBaseline TopdownPoseEstimator(ResNet(depth), HeatmapHead(
# in_channels=512 | 2048, out_channels=17)), measured in the MMPose 1.3.2 reference venv:
# "params" = sum(p.numel() for p in model.parameters()) (BN running stats excluded), which
# is our trainable count; "with_buffers" adds BN running mean/var (num_batches_tracked
# excluded), which is Keras' count_params().
SIMPLE_BASELINE_PARAMS = {
    18: dict(params=15_376_721, with_buffers=15_387_857),
    34: dict(params=25_484_881, with_buffers=25_503_441),
    50: dict(params=33_999_697, with_buffers=34_054_353),
    101: dict(params=52_991_825, with_buffers=53_098_705),
    152: dict(params=68_635_473, with_buffers=68_788_433),
}


@pytest.mark.parametrize("depth", [
    18, 50,
    pytest.param(34, marks=pytest.mark.slow),
    pytest.param(101, marks=pytest.mark.slow),
    pytest.param(152, marks=pytest.mark.slow),
])
def test_parameter_count_matches_mmpose(depth):
    model = TopdownPoseEstimator(
        ResNet(depth), HeatmapHead(512 if depth < 50 else 2048, out_channels=17),
        MSRAHeatmap(input_size=(192, 256), heatmap_size=(48, 64)), flip_test=False)
    model.build((None, 64, 64, 3))  # the count does not depend on the input size
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == SIMPLE_BASELINE_PARAMS[depth]["params"]
    assert model.count_params() == SIMPLE_BASELINE_PARAMS[depth]["with_buffers"]


def test_fit_logs_loss_terms_and_learns():
    keras.utils.set_random_seed(0)
    model = tiny_model()
    x, y = training_data()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(2).repeat(2)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = model.fit(ds, epochs=3, verbose=0).history
    assert set(history) == {"loss", "loss_kpt", "acc_pose"}
    # The total loss is the only loss term here.
    np.testing.assert_allclose(history["loss"], history["loss_kpt"], rtol=1e-6)
    assert history["loss"][-1] < history["loss"][0]
    assert all(0.0 <= a <= 1.0 for a in history["acc_pose"])
    # evaluate's figures are the head's loss terms on the same batch.
    logged = model.evaluate(ds.take(1), verbose=0, return_dict=True)
    xb, yb = next(iter(ds.take(1)))
    expected = model.head.loss(model(xb, training=False), yb)
    np.testing.assert_allclose(logged["loss_kpt"], expected["loss_kpt"], rtol=1e-5)
    np.testing.assert_allclose(logged["acc_pose"], expected["acc_pose"], rtol=1e-5)


def test_compile_rejects_a_loss():
    with pytest.raises(ValueError, match="without a loss"):
        tiny_model().compile(optimizer="adam", loss="mse")


def test_predict_without_meta_decodes_flip_averaged_heatmaps():
    model = tiny_model()
    x = images()
    preds = model.predict(x, verbose=0)
    assert set(preds) == {"keypoints", "keypoint_scores"}
    assert preds["keypoints"].shape == (2, K, 2) and preds["keypoint_scores"].shape == (2, K)
    plain = model(x).numpy()
    flipped = model(x[:, :, ::-1]).numpy()
    averaged = (plain + flip_heatmaps(flipped, FLIP, shift_heatmap=True).numpy()) / 2
    kpts, scores = model.codec.batch_decode(averaged)
    np.testing.assert_allclose(preds["keypoints"], kpts, atol=1e-4)
    np.testing.assert_allclose(preds["keypoint_scores"], scores, atol=1e-5)


def test_predict_without_flip_test():
    model = tiny_model(flip_test=False)
    x = images()
    preds = model.predict_on_batch(x)
    kpts, scores = model.codec.batch_decode(model(x).numpy())
    np.testing.assert_allclose(preds["keypoints"], kpts, atol=1e-4)
    np.testing.assert_allclose(preds["keypoint_scores"], scores, atol=1e-6)


def test_predict_with_meta_maps_back_and_passes_meta_through():
    model = tiny_model()
    x = images(3)
    meta = {
        "center": np.array([[100, 80], [30, 40], [0, 0]], np.float32),
        "scale": np.array([[128, 128], [64, 32], [10, 20]], np.float32),
        "img_id": np.array([7, 8, 9], np.int64),
        "bbox_score": np.array([0.5, 0.6, 0.7], np.float32),
        "keypoints": np.ones((3, K, 2), np.float32),  # ground truth
        "img_path": np.array([b"a.jpg", b"b.jpg", b"c.jpg"]),
    }
    ds = tf.data.Dataset.from_tensor_slices((x, meta)).batch(2)
    preds = model.predict(ds, verbose=0)
    crop = model.predict(x, verbose=0)["keypoints"]
    want = crop / 64.0 * meta["scale"][:, None] + meta["center"][:, None] \
        - 0.5 * meta["scale"][:, None]
    np.testing.assert_allclose(preds["keypoints"], want, atol=1e-4)
    np.testing.assert_array_equal(preds["img_id"], meta["img_id"])
    np.testing.assert_array_equal(preds["bbox_score"], meta["bbox_score"])
    np.testing.assert_array_equal(preds["center"], meta["center"])
    # Ground truth named like a prediction is passed on as gt_*, strings are dropped.
    np.testing.assert_array_equal(preds["gt_keypoints"], meta["keypoints"])
    assert "img_path" not in preds


def test_predict_meta_needs_center_and_scale():
    model = tiny_model()
    with pytest.raises(ValueError, match="center"):
        model.predict_on_batch((images(), {"scale": np.ones((2, 2), np.float32)}))


def test_flip_test_average_is_mirror_equivariant():
    """Without shift, the flip-test average of a mirrored crop is the mirrored average.

    This holds for any weights only if the images are mirrored along W and the flipped
    outputs are mirrored back along W with the keypoints swapped.
    """
    model = tiny_model(shift_heatmap=False)
    x = images()
    a = model.predict_outputs(x).numpy()
    b = model.predict_outputs(x[:, :, ::-1]).numpy()
    np.testing.assert_allclose(flip_heatmaps(b, FLIP).numpy(), a, atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(flip_test=True, flip_indices=None), "flip_indices"),
    (dict(flip_test=True, flip_indices=[0, 1]), "one entry per keypoint"),
    (dict(flip_test=True, flip_indices=[0, 0, 1]), "permutation"),
    (dict(flip_test=False, std=(1.0, 0.0, 1.0)), "std"),
    (dict(flip_test=False, mean=(1.0, 2.0)), "mean"),
])
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TopdownPoseEstimator(
            ResNet(18, stem_channels=4, base_channels=4),
            HeatmapHead(32, out_channels=K),
            MSRAHeatmap(input_size=(64, 64), heatmap_size=(16, 16)), **kwargs)


def test_codec_must_decode():
    with pytest.raises(ValueError, match="batch_decode"):
        TopdownPoseEstimator(ResNet(18), HeatmapHead(512, out_channels=K), codec=object(),
                             flip_test=False)


def test_config_round_trip():
    model = tiny_model(name="estimator")
    rebuilt = assert_config_round_trip(model)
    assert rebuilt.flip_indices == tuple(FLIP)
    assert rebuilt.codec.get_config() == model.codec.get_config()
    assert rebuilt.head.out_channels == K


def test_saving_round_trip(tmp_path):
    loaded = assert_saving_round_trip(tiny_model(), images(), tmp_path)
    # Prediction (flip test, decoding) works on the loaded model too.
    preds = loaded.predict_on_batch(images())
    assert preds["keypoints"].shape == (2, K, 2)


def test_fit_under_mirrored_strategy_matches_single_device():
    """Two logical CPUs (a fresh process: devices are fixed when TF starts)."""
    script = os.path.join(os.path.dirname(__file__), "distributed_fit_script.py")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, script], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # SGD at lr 0.5 moved weights by O(1); both runs agree to float rounding.
    assert result["max_weight_change"] > 0.1
    assert result["max_weight_diff"] < 1e-4
    np.testing.assert_allclose(result["multi"]["loss"], result["single"]["loss"], rtol=1e-5)
    np.testing.assert_allclose(result["multi"]["loss_kpt"], result["single"]["loss_kpt"],
                               rtol=1e-5)
