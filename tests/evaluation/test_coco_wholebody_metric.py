import json

import numpy as np
import pytest

from kpose.datasets import metainfo
from kpose.evaluation import CocoWholeBodyMetric

from _metric2d_goldens import EXPECTED, INPUTS, WHOLEBODY_GT, assert_matches

COLUMNS = ("keypoints", "keypoint_scores", "img_id", "id", "bbox", "bbox_score", "scale", "category_id")


def _feed(metric, batch=4):
    cols = {k: INPUTS[f"wb_{k}"] for k in COLUMNS}
    for i in range(0, len(cols["id"]), batch):
        metric.update({k: v[i:i + batch] for k, v in cols.items()})


def test_sigmas_are_the_builtin_metainfo():
    np.testing.assert_array_equal(INPUTS["wb_sigmas"], metainfo.load("coco_wholebody").sigmas)


@pytest.mark.parametrize("setting, kwargs", [
    ("default", dict()),
    ("no_area_no_nms", dict(use_area=False, nms_mode="none", score_mode="keypoint")),
])
def test_matches_mmpose_and_xtcocotools_parts(setting, kwargs, tmp_path):
    metric = CocoWholeBodyMetric(ann_file=WHOLEBODY_GT, sigmas=metainfo.load("coco_wholebody").sigmas,
                                 outfile_prefix=str(tmp_path / "wb"), **kwargs)
    _feed(metric)
    result = metric.result()
    expected = EXPECTED["wholebody"][setting]
    # MMPose returns the whole-body figures; part figures (default setting) come from
    # xtcocotools on MMPose's own result file
    assert_matches({k: v for k, v in result.items() if k in expected}, expected)
    assert list(result)[:10] == ["AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75",
                                 "AR (M)", "AR (L)"]
    written = json.loads((tmp_path / "wb.keypoints.json").read_text())
    assert len(written[0]["keypoints"]) == 17 * 3 and len(written[0]["face_kpts"]) == 68 * 3


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="sigmas"):
        CocoWholeBodyMetric(ann_file=WHOLEBODY_GT)
    with pytest.raises(ValueError, match="add up"):
        CocoWholeBodyMetric(ann_file=WHOLEBODY_GT, sigmas=np.ones(133), part_sizes=(17, 6, 68, 21, 20))
    config = CocoWholeBodyMetric(ann_file=WHOLEBODY_GT, sigmas=np.ones(133) * 0.05).get_config()
    assert CocoWholeBodyMetric(**config).part_sizes == (17, 6, 68, 21, 21)
