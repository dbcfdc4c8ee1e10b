"""End to end on tiny synthetic data: train, resume, evaluate (tools/test.py), infer."""

import json
import os
import runpy
import shutil
import sys

import gin
import numpy as np
import pytest

from kpose.apis import inference_topdown, init_model
from kpose.engine import config
from kpose.engine.evaluate import evaluate
from kpose.engine.train import train

from tiny_run import QUICKSTART, tiny_params

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _parse(data_root, epochs=1, extra=()):
    gin.clear_config()
    config.parse_config([QUICKSTART], tiny_params(data_root, epochs) + list(extra))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One tiny training run of one epoch, shared by the tests below."""
    root = tmp_path_factory.mktemp("run")
    cwd = os.getcwd()
    os.chdir(REPO)
    data_root, work_dir = str(root / "data"), str(root / "work")
    _parse(data_root)
    results = train(work_dir=work_dir)
    yield {"root": root, "data_root": data_root, "work_dir": work_dir, "results": results,
           "ckpt": os.path.join(work_dir, "checkpoints", "latest.weights.h5")}
    gin.clear_config()
    os.chdir(cwd)


def test_work_dir_holds_checkpoints_logs_and_config(run):
    assert 0.0 <= run["results"]["coco/AP"] <= 1.0 and "pck/PCK" in run["results"]
    work_dir = run["work_dir"]
    for name in ("checkpoints/latest.weights.h5", "checkpoints/best_coco_AP.weights.h5",
                 "checkpoints/state.json", "log.csv", "operative_config.gin"):
        assert os.path.exists(os.path.join(work_dir, name)), name
    assert os.listdir(os.path.join(work_dir, "tensorboard"))
    operative = open(os.path.join(work_dir, "operative_config.gin")).read()
    assert "ResNet.base_channels = 8" in operative
    header = open(os.path.join(work_dir, "log.csv")).readline()
    assert "coco/AP" in header and "loss_kpt" in header and "learning_rate" in header


def test_same_command_resumes(run):
    work_dir = str(run["root"] / "resumed")
    shutil.copytree(run["work_dir"], work_dir)
    _parse(run["data_root"], epochs=2)
    train(work_dir=work_dir)
    state = json.load(open(os.path.join(work_dir, "checkpoints", "state.json")))
    assert state["epoch"] == 2
    rows = open(os.path.join(work_dir, "log.csv")).read().strip().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["0", "1"]


def test_evaluate_writes_metrics(run):
    out = str(run["root"] / "metrics.json")
    _parse(run["data_root"])
    metrics = evaluate(checkpoint=run["ckpt"], out=out)
    assert json.load(open(out)) == pytest.approx(metrics)
    assert metrics["coco/AP"] == pytest.approx(run["results"]["coco/AP"], abs=1e-6)


def test_tools_test_with_detection_file(run, monkeypatch, capsys):
    ann = json.load(open(os.path.join(run["data_root"], "annotations",
                                      "person_keypoints_val.json")))
    dets = [{"image_id": a["image_id"], "bbox": a["bbox"], "score": 0.9, "category_id": 1}
            for a in ann["annotations"]]
    dets.append({"image_id": ann["images"][0]["id"], "bbox": [1, 1, 5, 5], "score": 0.01,
                 "category_id": 1})  # below the threshold: dropped
    bbox_file = str(run["root"] / "dets.json")
    json.dump(dets, open(bbox_file, "w"))
    out = str(run["root"] / "det_metrics.json")
    argv = ["tools/test.py", "--gin_file", QUICKSTART, "--checkpoint", run["ckpt"],
            "--bbox_file", bbox_file, "--out", out,
            "--gin_param", "val/CocoStyleDataset.bbox_score_thr = 0.5"]
    argv += [a for p in tiny_params(run["data_root"]) for a in ("--gin_param", p)]
    monkeypatch.setattr(sys, "argv", argv)
    gin.clear_config()
    runpy.run_path(os.path.join(REPO, "tools", "test.py"), run_name="__main__")
    assert "coco/AP" in capsys.readouterr().out
    assert set(json.load(open(out))) >= {"coco/AP", "coco/AR"}


def test_inference_topdown(run):
    model = init_model(QUICKSTART, checkpoint=run["ckpt"], gin_params=tiny_params(run["data_root"]))
    image = np.zeros((72, 96, 3), np.uint8)
    instances = inference_topdown(model, image, bboxes=np.array([[10, 5, 40, 60], [0, 0, 96, 72]]))
    assert len(instances) == 2
    assert instances[0]["keypoints"].shape == (17, 2)
    assert instances[0]["keypoint_scores"].shape == (17,)
    np.testing.assert_array_equal(instances[1]["bbox"], [0, 0, 96, 72])
    whole = inference_topdown(model, image)  # no boxes: the whole image
    np.testing.assert_allclose(whole[0]["keypoints"], instances[1]["keypoints"], atol=1e-4)
    assert inference_topdown(model, image, bboxes=np.zeros((0, 4))) == []
    with pytest.raises(ValueError, match="uint8"):
        inference_topdown(model, image.astype(np.float32))


def test_checkpoint_of_another_model_is_rejected(run):
    with pytest.raises(ValueError, match="does not match the model"):
        init_model(QUICKSTART, checkpoint=run["ckpt"],
                   gin_params=tiny_params(run["data_root"]) + ["ResNet.base_channels = 16"])


def test_unknown_bindings_are_rejected(run):
    gin.clear_config()
    with pytest.raises(ValueError, match="NoSuchThing"):
        config.parse_config([QUICKSTART], ["NoSuchThing.x = 1"])
    # Keras layers take **kwargs, so gin accepts the name; building the model rejects it.
    with pytest.raises((TypeError, ValueError), match="no_such_arg"):
        init_model(QUICKSTART, gin_params=tiny_params(run["data_root"]) + ["ResNet.no_such_arg = 1"])


@pytest.mark.slow  # three evaluation processes: ~1 min on 2 cores
def test_evaluation_killed_and_rerun_gives_the_same_numbers(run):
    """tools/test.py SIGKILLed part-way, then rerun: the same metrics as an uninterrupted
    evaluation, to the last digit (evaluation keeps no state between runs)."""
    import signal
    import subprocess
    import time

    def command(out):
        cmd = [sys.executable, os.path.join(REPO, "tools", "test.py"), "--gin_file", QUICKSTART,
               "--checkpoint", run["ckpt"], "--out", out]
        return cmd + [a for p in tiny_params(run["data_root"]) for a in ("--gin_param", p)]

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    straight, rerun = str(run["root"] / "eval_a.json"), str(run["root"] / "eval_b.json")
    subprocess.run(command(straight), cwd=REPO, env=env, check=True, capture_output=True,
                   timeout=300)
    killed = subprocess.Popen(command(rerun), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    time.sleep(5)  # past start-up, into model building or prediction
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert not os.path.exists(rerun) or killed.returncode == 0
    subprocess.run(command(rerun), cwd=REPO, env=env, check=True, capture_output=True,
                   timeout=300)
    assert json.load(open(rerun)) == json.load(open(straight))
