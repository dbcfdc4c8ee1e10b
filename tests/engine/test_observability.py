"""Observability of a tiny quick-start run: TensorBoard scalars, images, profile, log line."""

import csv
import glob
import logging
import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from kpose.engine import config
from kpose.engine.pose_image_logger import HEATMAPS_TAG, KEYPOINTS_TAG
from kpose.engine.train import train

from tiny_run import QUICKSTART, tiny_params

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COCO_KEYS = ["AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)",
             "AR (L)"]


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _events(folder):
    """{tag: {step: value}} of every event file under `folder`."""
    out = {}
    for path in glob.glob(os.path.join(folder, "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                out.setdefault(value.tag, {})[event.step] = value
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Two tiny epochs, evaluated each; images every 2nd epoch; steps 2-3 profiled."""
    root = tmp_path_factory.mktemp("obs")
    cwd = os.getcwd()
    os.chdir(REPO)
    work_dir = str(root / "work")
    gin.clear_config()
    config.parse_config([QUICKSTART], tiny_params(str(root / "data"), epochs=2) + [
        "train.image_interval = 2", "train.num_images = 3", "train.profile_steps = (2, 3)"])
    handler = _Lines()
    summary_logger = logging.getLogger("kpose.engine.epoch_summary")
    summary_logger.addHandler(handler)
    level = summary_logger.level
    summary_logger.setLevel(logging.INFO)
    try:
        results = train(work_dir=work_dir)
    finally:
        summary_logger.removeHandler(handler)
        summary_logger.setLevel(level)
        gin.clear_config()
        os.chdir(cwd)
    with open(os.path.join(work_dir, "log.csv")) as f:
        rows = list(csv.DictReader(f))
    yield {"work_dir": work_dir, "results": results, "lines": handler.lines, "rows": rows}


def test_every_logged_figure_reaches_tensorboard(run):
    scalars = _events(os.path.join(run["work_dir"], "tensorboard", "train"))
    names = ["loss", "loss_kpt", "acc_pose", "learning_rate", "pck/PCK"] + \
        [f"coco/{k}" for k in COCO_KEYS]
    for name in names:
        tag = f"epoch_{name}"
        assert set(scalars.get(tag, {})) == {0, 1}, tag
        for epoch in (0, 1):
            value = float(tf.make_ndarray(scalars[tag][epoch].tensor))
            assert value == pytest.approx(float(run["rows"][epoch][name]), rel=1e-6, abs=1e-7)
    final = float(tf.make_ndarray(scalars["epoch_coco/AP"][1].tensor))
    assert final == pytest.approx(run["results"]["coco/AP"], abs=1e-7)


def test_images_of_fixed_crops_every_second_epoch(run):
    images = _events(os.path.join(run["work_dir"], "tensorboard", "images"))
    assert set(images) == {KEYPOINTS_TAG, HEATMAPS_TAG}
    for tag, by_step in images.items():
        assert list(by_step) == [1]  # epoch 2 of 2 only (interval 2)
        tensor = tf.make_ndarray(by_step[1].tensor)
        # 3 crops of 64x64, ground truth | prediction with a 2-pixel gap
        assert [int(tensor[0]), int(tensor[1])] == [130, 64] and len(tensor) == 2 + 3
        panel = tf.io.decode_png(tensor[2]).numpy()
        assert panel.shape == (64, 130, 3)
        np.testing.assert_array_equal(panel[:, 64:66], 255)
    gt = tf.io.decode_png(tf.make_ndarray(images[KEYPOINTS_TAG][1].tensor)[2]).numpy()
    # the left half carries the ground-truth skeleton: it differs from the clean crop,
    # whose copy on the right only gets keypoints scoring >= 0.3
    assert np.any(gt[:, :64] != gt[:, 66:])


def test_profiler_trace_written(run):
    traces = glob.glob(os.path.join(run["work_dir"], "tensorboard", "train", "plugins",
                                    "profile", "*", "*.xplane.pb"))
    assert len(traces) == 1 and os.path.getsize(traces[0]) > 0


def test_one_summary_line_per_epoch(run):
    lines = run["lines"]
    assert len(lines) == 2
    for epoch, (line, row) in enumerate(zip(lines, run["rows"])):
        assert line.startswith(f"epoch {epoch + 1}/2 - ")
        expected = [f"loss: {float(row['loss']):.4g}", f"loss_kpt: {float(row['loss_kpt']):.4g}",
                    f"acc_pose: {float(row['acc_pose']):.4g}",
                    f"lr: {float(row['learning_rate']):.3e}",
                    f"coco/AP: {float(row['coco/AP']):.4g}",
                    f"pck/PCK: {float(row['pck/PCK']):.4g}"]
        positions = [line.index(part) for part in expected]
        assert positions == sorted(positions)


@pytest.mark.parametrize("kwargs, match", [
    ({"image_interval": -1}, "image_interval"),
    ({"profile_steps": (3, 2)}, "profile_steps"),
    ({"profile_steps": (0, 1)}, "profile_steps"),
])
def test_bad_arguments_raise(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train(str(tmp_path), model=None, train_dataset=None, **kwargs)
