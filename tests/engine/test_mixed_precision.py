"""Mixed precision: float16 trains with loss scaling, bfloat16 without; weights, losses and
decoded outputs stay float32 (issue 7)."""

import keras
import numpy as np
import pytest

from kpose.codecs.msra_heatmap import MSRAHeatmap
from kpose.models.backbones.res_net import ResNet
from kpose.models.estimators.topdown_pose_estimator import TopdownPoseEstimator
from kpose.models.heads.heatmap_head import HeatmapHead


def tiny_model():
    return TopdownPoseEstimator(
        ResNet(18, stem_channels=4, base_channels=4, num_stages=2, strides=(1, 2),
               out_indices=(1,)),
        HeatmapHead(out_channels=3, deconv_out_channels=(8,), deconv_kernel_sizes=(4,)),
        MSRAHeatmap(input_size=(32, 32), heatmap_size=(8, 8)), flip_test=False)


@pytest.mark.parametrize("policy,scaled", [("mixed_float16", True), ("mixed_bfloat16", False)])
def test_mixed_precision_step(policy, scaled):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = tiny_model()
    finally:
        keras.config.set_dtype_policy(previous)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    targets = {"heatmaps": rng.uniform(0, 1, (2, 8, 8, 3)).astype(np.float32),
               "keypoint_weights": np.ones((2, 3), np.float32)}
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    logs = model.train_on_batch(images, targets, return_dict=True)
    assert np.isfinite(logs["loss"])
    # Keras wraps the optimizer for float16 only: bfloat16 has float32's exponent range.
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == scaled
    assert {str(v.dtype) for v in model.trainable_weights} == {"float32"}
    assert str(model.backbone.compute_dtype) == policy.split("_")[1]
    outputs = model(images)
    assert keras.backend.standardize_dtype(outputs.dtype) == "float32"
    preds = model.predict_on_batch(images)
    assert preds["keypoints"].dtype == np.float32
