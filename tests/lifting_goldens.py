"""Access to tests/fixtures/goldens/pose_lifting.npz (MMPose 1.3.2 outputs written by
tools/dev/make_lifting_goldens.py); shared by the pose-lifting tests."""

import json
import pathlib

import numpy as np

PATH = pathlib.Path(__file__).resolve().parent / "fixtures" / "goldens" / "pose_lifting.npz"


def load():
    """(arrays, configs): the NpzFile and the JSON case configs."""
    data = np.load(PATH)
    return data, json.loads(str(data["configs"]))


def section(data, name):
    """`{key: array}` of the arrays stored under `<name>/`."""
    prefix = name + "/"
    return {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix)}
