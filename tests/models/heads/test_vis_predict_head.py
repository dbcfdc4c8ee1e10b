import keras
import numpy as np
import pytest
import tensorflow as tf
from _head_goldens import build_loss, count, flip_average, load, load_weights
from keras_test_case import assert_config_round_trip, assert_saving_round_trip

from kpose.codecs.msra_heatmap import MSRAHeatmap
from kpose.codecs.regression_label import RegressionLabel
from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
from kpose.models.heads.heatmap_head import HeatmapHead
from kpose.models.heads.regression_head import RegressionHead
from kpose.models.heads.vis_predict_head import VisPredictHead
from kpose.models.losses.bce_loss import BCELoss
from kpose.models.utils.tta import flip_heatmaps, flip_visibility

K = 4


def mmpose_case(case):
    arrays, config = load(case)
    cfg = dict(config["head"])
    pose_cfg = dict(cfg["pose_cfg"])
    if pose_cfg.pop("type") == "HeatmapHead":
        pose = HeatmapHead(pose_cfg.pop("in_channels"), **pose_cfg)
        codec = MSRAHeatmap(arrays["input_size"], heatmap_size=(6, 8), sigma=2.0)
    else:
        pose = RegressionHead(pose_cfg["in_channels"], num_joints=pose_cfg["num_joints"],
                              input_size=arrays["input_size"])
        codec = RegressionLabel(arrays["input_size"])
    head = VisPredictHead(pose, loss=build_loss(cfg["loss"]))
    head((arrays["feat"],))
    assigned = load_weights(head, arrays, config["seed"])
    assert assigned == {w.path for w in head.weights}
    return head, codec, arrays


@pytest.mark.parametrize("case", ["vis_hm", "vis_reg"])
def test_matches_mmpose(case):
    # vis_hm: td-hm-vis (HeatmapHead, sigmoid in the head, weighted BCE with loss_weight
    # 1e-3); vis_reg: a RegressionHead with logit visibilities.
    head, codec, arrays = mmpose_case(case)
    pose_out, vis = head((arrays["feat"],))
    np.testing.assert_allclose(pose_out, arrays["out0"], atol=1e-5)
    np.testing.assert_allclose(vis, arrays["out1"], atol=1e-6)
    targets = {k[len("target_"):]: v for k, v in arrays.items() if k.startswith("target_")}
    terms = head.loss((pose_out, vis), targets)
    assert set(terms) == set(head.loss_names) == {"loss_vis", "acc_vis", "loss_kpt",
                                                   "acc_pose"}
    for name in ("loss_vis", "loss_kpt"):
        np.testing.assert_allclose(terms[name], arrays[f"loss/{name}"], rtol=1e-5)
    for name in ("acc_vis", "acc_pose"):
        np.testing.assert_allclose(terms[name], arrays[f"loss/{name}"], atol=1e-6)
    assert 0.0 < float(terms["acc_vis"]) < 1.0
    # predict: flip test on both outputs, the pose codec, sigmoid visibilities.
    mean = flip_average(head, (pose_out, vis), head((arrays["feat_flip"],)), arrays)
    pose_mean, visible = head.split_outputs(mean)
    keypoints, scores = codec.batch_decode(pose_mean)
    np.testing.assert_allclose(keypoints, arrays["pred_keypoints"], atol=1e-4)
    np.testing.assert_allclose(scores, arrays["pred_scores"], atol=1e-5)
    np.testing.assert_allclose(visible, arrays["pred_visible"], atol=1e-6)


def test_parameter_count_matches_mmpose():
    # td-hm-vis_res50: HeatmapHead(2048, 17) + Linear(2048, 17).
    head = VisPredictHead(HeatmapHead(2048, out_channels=17),
                          loss=BCELoss(use_target_weight=True, use_sigmoid=True,
                                       loss_weight=1e-3))
    head.build((None, 8, 6, 2048))
    params, trainable, state = count("VisPredictHead_HeatmapHead_2048_17")
    assert sum(int(np.prod(w.shape)) for w in head.trainable_weights) == params == 10_526_498
    assert head.count_params() == state == 10_528_034


def feats(seed=0):
    return (np.random.default_rng(seed).standard_normal((2, 4, 3, 8)).astype(np.float32),)


def test_visibility_branch_is_pooled_linear():
    head = VisPredictHead(HeatmapHead(8, out_channels=K, deconv_out_channels=(8,),
                                      deconv_kernel_sizes=(4,)))
    x = feats()
    _, vis = head(x)
    pooled = x[0].mean(axis=(1, 2))
    logits = pooled @ head.vis_head_2.kernel.numpy() + head.vis_head_2.bias.numpy()
    # The default loss is BCELoss(use_sigmoid=True): the head outputs probabilities.
    np.testing.assert_allclose(vis, 1 / (1 + np.exp(-logits)), atol=1e-6)
    assert head.out_channels == K and head.in_channels == 8


def test_logit_head_accuracy_and_split():
    head = VisPredictHead(RegressionHead(8, num_joints=2),
                          loss=BCELoss(use_target_weight=False, use_sigmoid=False))
    vis = np.array([[2.0, -1.0], [-3.0, 0.0]], np.float32)
    labels = np.array([[1.0, 1.0], [0.0, 1.0]], np.float32)
    # sigmoid >= 0.5 means visible: right, wrong, right, right (0 -> 0.5).
    np.testing.assert_allclose(head.vis_accuracy(vis, labels), 0.75)
    np.testing.assert_allclose(head.vis_accuracy(vis, labels, np.array([[1, 3], [1, 1]],
                                                                       np.float32)),
                               np.mean([1 / (4 + 1e-6), 2 / (2 + 1e-6)]), rtol=1e-6)
    _, probs = head.split_outputs((np.zeros((2, 2, 2), np.float32), vis))
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-vis)), atol=1e-6)


def test_flip_back_flips_pose_and_visibility():
    head = VisPredictHead(HeatmapHead(8, out_channels=K, deconv_out_channels=(8,),
                                      deconv_kernel_sizes=(4,)))
    rng = np.random.default_rng(1)
    maps = rng.uniform(0, 1, (2, 8, 6, K)).astype(np.float32)
    vis = rng.uniform(0, 1, (2, K)).astype(np.float32)
    got_maps, got_vis = head.flip_back((maps, vis), [0, 2, 1, 3], shift_heatmap=True)
    np.testing.assert_array_equal(got_maps, flip_heatmaps(maps, [0, 2, 1, 3],
                                                          shift_heatmap=True))
    np.testing.assert_array_equal(got_vis, vis[:, [0, 2, 1, 3]])
    np.testing.assert_array_equal(flip_visibility(vis, [1, 0, 3, 2]), vis[:, [1, 0, 3, 2]])
    with pytest.raises(ValueError, match="flip_visibility"):
        flip_visibility(maps, [0, 2, 1, 3])
    with pytest.raises(ValueError, match="flip_indices"):
        flip_visibility(vis, [1, 0])


def test_loss_default_weights_are_ones():
    head = VisPredictHead(RegressionHead(8, num_joints=2),
                          loss=BCELoss(use_target_weight=True, use_sigmoid=True))
    vis = np.array([[0.9, 0.2]], np.float32)
    targets = {"keypoint_labels": np.zeros((1, 2, 2), np.float32),
               "keypoint_weights": np.array([[1.0, 0.0]], np.float32)}
    terms = head.loss((np.zeros((1, 2, 2), np.float32), vis), targets)
    np.testing.assert_allclose(terms["loss_vis"], -(np.log(0.9) + np.log(0.8)) / 2,
                               rtol=1e-5)
    weighted = head.loss((np.zeros((1, 2, 2), np.float32), vis), dict(
        targets, keypoints_visible_weights=np.array([[2.0, 0.0]], np.float32)))
    np.testing.assert_allclose(weighted["loss_vis"], -np.log(0.9), rtol=1e-5)


def test_gradients_flow_to_both_branches():
    head = VisPredictHead(RegressionHead(8, num_joints=2))
    x = (np.random.default_rng(2).standard_normal((3, 8)).astype(np.float32),)
    targets = {"keypoint_labels": np.full((3, 2, 2), 0.5, np.float32),
               "keypoint_weights": np.ones((3, 2), np.float32)}
    with tf.GradientTape() as tape:
        terms = head.loss(head(x, training=True), targets)
        total = terms["loss_vis"] + terms["loss_kpt"]
    assert all(g is not None for g in tape.gradient(total, head.trainable_weights))


@pytest.mark.parametrize("pose_head, loss, match", [
    ("HeatmapHead", None, "pose_head"),
    (RegressionHead(8, num_joints=2), "bce", "callable"),
])
def test_bad_arguments_raise(pose_head, loss, match):
    with pytest.raises(ValueError, match=match):
        VisPredictHead(pose_head, loss=loss)


def test_loss_needs_keypoint_weights():
    head = VisPredictHead(RegressionHead(8, num_joints=2))
    with pytest.raises(ValueError, match="keypoint_weights"):
        head.loss((np.zeros((1, 2, 2), np.float32), np.zeros((1, 2), np.float32)),
                  {"keypoint_labels": np.zeros((1, 2, 2), np.float32)})


def test_config_round_trip():
    head = VisPredictHead(RegressionHead(8, num_joints=2, input_size=(48, 64)),
                          loss=BCELoss(use_target_weight=True, use_sigmoid=False,
                                       loss_weight=1e-3))
    rebuilt = assert_config_round_trip(head)
    assert isinstance(rebuilt.pose_head, RegressionHead)
    assert rebuilt.pose_head.input_size == (48, 64) and not rebuilt.use_sigmoid


def test_saving_round_trip(tmp_path):
    head = VisPredictHead(HeatmapHead(8, out_channels=K, deconv_out_channels=(8,),
                                      deconv_kernel_sizes=(4,)))
    assert_saving_round_trip(head, feats(3), tmp_path, atol=1e-6)


def test_in_estimator_fit_logs_all_terms():
    codec = RegressionLabel(input_size=(32, 32))
    backbone = keras.layers.Conv2D(8, 3, strides=8, padding="same")  # (B, 4, 4, 8)
    head = VisPredictHead(RegressionHead(128, num_joints=K, input_size=(32, 32)))
    model = TopdownPoseEstimator(backbone, head, codec, flip_indices=[0, 2, 1, 3])
    images = np.random.default_rng(4).integers(0, 256, (4, 32, 32, 3)).astype(np.uint8)
    targets = {"keypoint_labels": np.full((4, K, 2), 0.5, np.float32),
               "keypoint_weights": np.array([[1, 1, 0, 1]] * 4, np.float32)}
    model.compile(optimizer="adam")
    history = model.fit(images, targets, batch_size=4, epochs=1, verbose=0).history
    assert set(history) == {"loss", "loss_vis", "acc_vis", "loss_kpt", "acc_pose"}
    # The total is the sum of the loss* terms.
    np.testing.assert_allclose(history["loss"][0],
                               history["loss_vis"][0] + history["loss_kpt"][0], rtol=1e-5)
