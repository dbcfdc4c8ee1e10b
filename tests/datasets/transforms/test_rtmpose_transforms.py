import gin
import numpy as np
import pytest

from kpose.datasets.transforms import (CoarseDropout, RandomBBoxTransform, RandomBlur, RandomMedianBlur,
                                       TopdownAffine, YOLOXHSVRandomAug, rtmpose_train_transforms)


def test_stages_match_mmpose_configs(tiny_codec):
    one = rtmpose_train_transforms(tiny_codec, (48, 64))
    names = [type(t).__name__ for t in one]
    assert names == ["GetBBoxCenterScale", "RandomFlip", "RandomHalfBody", "RandomBBoxTransform",
                     "TopdownAffine", "YOLOXHSVRandomAug", "RandomBlur", "RandomMedianBlur",
                     "CoarseDropout", "GenerateTarget"]
    jitter = one[3].get_config()
    assert jitter["scale_factor"] == (0.6, 1.4) and jitter["rotate_factor"] == 80.0
    assert jitter["shift_factor"] == 0.16
    assert one[6].p == one[7].p == 0.1 and one[8].p == 1.0
    assert one[8].get_config() == dict(max_holes=1, max_height=0.4, max_width=0.4, min_holes=1,
                                       min_height=0.2, min_width=0.2, fill_value=0, p=1.0)
    two = rtmpose_train_transforms(tiny_codec, (48, 64), stage=2)
    jitter = two[3].get_config()
    assert jitter["shift_factor"] == 0.0 and jitter["scale_factor"] == (0.75, 1.25)
    assert jitter["rotate_factor"] == 60.0 and two[8].p == 0.5
    with pytest.raises(ValueError, match="stage"):
        rtmpose_train_transforms(tiny_codec, (48, 64), stage=3)


def test_runs_on_a_sample_eagerly_and_in_tf_data(coco_sample, tiny_codec, in_tf_data):
    import cv2
    img = np.random.default_rng(0).integers(0, 256, (60, 80, 3), np.uint8)
    ok, data = cv2.imencode(".jpg", img)
    transforms = rtmpose_train_transforms(tiny_codec, (48, 64))

    def run(sample):
        for i, t in enumerate(transforms):
            sample = dict(sample, seed=np.array([3, i], np.int64))
            sample = t(sample)
        return sample

    sample = coco_sample(img_bytes=data.tobytes())
    eager = run(dict(sample))
    graph = in_tf_data(run, dict(sample))
    assert eager["img"].shape == (64, 48, 3) and eager["targets"]["heatmaps"].shape == (16, 12, 17)
    np.testing.assert_array_equal(eager["img"].numpy(), graph["img"])
    assert np.any(eager["img"].numpy() == 0)  # the CoarseDropout hole (p = 1)


@gin.configurable("rtmpose_test_holder")
def _holder(transforms=None, stage_two=None):
    return transforms, stage_two


def test_gin_bindings(tiny_codec):
    gin.clear_config()
    try:
        gin.parse_config("""
            rtmpose_test_holder.transforms = [@RandomBlur(), @RandomMedianBlur(), @CoarseDropout(),
                                              @YOLOXHSVRandomAug()]
            RandomBlur.p = 0.3
            RandomMedianBlur.blur_limit = 5
            CoarseDropout.max_holes = 2
            YOLOXHSVRandomAug.hue_delta = 7
            rtmpose_test_holder.stage_two = @stage2/rtmpose_train_transforms()
            stage2/rtmpose_train_transforms.input_size = (48, 64)
            stage2/rtmpose_train_transforms.stage = 2
        """)
        with gin.config_scope(None):
            gin.bind_parameter("stage2/rtmpose_train_transforms.codec", tiny_codec)
        transforms, stage_two = _holder()
    finally:
        gin.clear_config()
    blur, median, dropout, hsv = transforms
    assert isinstance(blur, RandomBlur) and blur.p == 0.3
    assert isinstance(median, RandomMedianBlur) and median.blur_limit == (3, 5)
    assert isinstance(dropout, CoarseDropout) and dropout.max_holes == 2
    assert isinstance(hsv, YOLOXHSVRandomAug) and hsv.hue_delta == 7
    assert isinstance(stage_two[3], RandomBBoxTransform) and stage_two[8].p == 0.5
    assert isinstance(stage_two[4], TopdownAffine) and stage_two[4].input_size == (48, 64)
