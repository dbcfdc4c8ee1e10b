"""Human3.6M as MMPose's preprocessed annotations (npz) give it, cut into 2D sequences."""

import os
import pickle
from collections import defaultdict
from typing import Any, Dict, List, Optional, Tuple

import gin
import numpy as np

from kpose.datasets import metainfo as metainfo_lib


def parse_h36m_imgname(imgname: str) -> Tuple[str, str, str]:
    """'S1_Directions_1.54138969_000001.jpg' -> ('S1', 'Directions_1', '54138969')."""
    base = os.path.basename(str(imgname))
    try:
        subject, rest = base.split("_", 1)
        action, rest = rest.split(".", 1)
        camera, _ = rest.split("_", 1)
    except ValueError:
        raise ValueError(f"not a Human3.6M image name (S_action.camera_frame.jpg): "
                         f"{imgname!r}") from None
    return subject, action, camera


def sequence_indices(frame_ids: np.ndarray, seq_len: int, seq_step: int, pad: bool,
                     causal: bool) -> np.ndarray:
    """(N, seq_len) frame indices of the sequences of one video, as MMPose samples them.

    With `pad`, one sequence per frame, centred on it (or ending on it when `causal`),
    frames past either end replaced by the video's first / last frame; otherwise every
    window of `(seq_len - 1) * seq_step + 1` frames that fits.
    """
    n = len(frame_ids)
    if pad:
        left = seq_len - 1 if causal else (seq_len - 1) // 2
        right = 0 if causal else left
        pos = np.arange(n)[:, None] + seq_step * np.arange(-left, right + 1)[None, :]
        out = frame_ids[np.clip(pos, 0, n - 1)]
        return out
    span = (seq_len - 1) * seq_step + 1
    if n < span:
        return np.zeros((0, seq_len), np.int64)
    starts = np.arange(n - span + 1)[:, None]
    return frame_ids[starts + seq_step * np.arange(seq_len)[None, :]]


@gin.register
class Human36mDataset:
    """Human3.6M for pose lifting, reading MMPose's preprocessed files (MMPose's
    `Human36mDataset`, top-down mode, one target frame).

    The annotation npz (`h36m_train.npz`, from MMPose's `preprocess_h36m.py`) holds per
    frame `imgname` ('S1_Directions_1.54138969_000001.jpg'), `S` (F, 17, 4) camera
    coordinates in metres + visibility, `part` (F, 17, 3) pixels + visibility, and
    `center`, `scale`. Frames are grouped into videos by (subject, action, camera) and cut
    into sequences of `seq_len` frames, `seq_step` apart; the target is the middle frame
    (`seq_len // 2`), or the last when `causal`.

    `records` (what the lifting pipeline reads) avoids copying frames into every sequence:
    `frame_indices` int64 (N, seq_len), `target_frame` int64 (N,), `img_path` str (N,)
    (the target frame's image), `id` int64 (N,), and `frames`, a dict of per-frame
    tables: `keypoints` (F, K, 2), `keypoints_visible` (F, K), `keypoints_3d` (F, K, 3),
    `keypoints_3d_visible` (F, K), `factor` (F,), and with a camera file `camera_w`,
    `camera_h` (F,), `camera_f`, `camera_c` (F, 2, 1).

    Args:
        ann_file: the npz; relative paths are under `data_root`.
        seq_len: frames per sequence.
        seq_step: frame interval inside a sequence.
        multiple_target: MMPose's multi-frame targets (MotionBERT); only 0 is supported.
        pad_video_seq: one sequence per frame, padded at the video ends.
        causal: the target is the last frame (else the middle one).
        subset_frac: keep a random contiguous fraction of the sequences.
        keypoint_2d_src: 'gt' (the npz's `part`) or 'detection' (`keypoint_2d_det_file`).
        keypoint_2d_det_file: (F, 17, 3) npy of detected keypoints + scores.
        factor_file: (F,) npy of projection factors; zeros otherwise.
        camera_param_file: MMPose's `cameras.pkl`, {(subject, camera): {R, T, f, c, k,
            p, w, h}}; needed by `VideoPoseLifting` (image size).
        metainfo: a built-in name, a metainfo file or a `DatasetMeta` (17 keypoints).
        data_root: root of the relative paths.
        data_prefix: image folder of `img_path`.
        test_mode: evaluation split (kept for MMPose parity; sampling is the same).
        seed: seeds `subset_frac`'s choice.
    """

    def __init__(self, ann_file: str, seq_len: int = 1, seq_step: int = 1,
                 multiple_target: int = 0, pad_video_seq: bool = False, causal: bool = True,
                 subset_frac: float = 1.0, keypoint_2d_src: str = "gt",
                 keypoint_2d_det_file: Optional[str] = None,
                 factor_file: Optional[str] = None, camera_param_file: Optional[str] = None,
                 metainfo: Any = "h36m", data_root: str = "", data_prefix: str = "",
                 test_mode: bool = False, seed: int = 0) -> None:
        for name, value in (("seq_len", seq_len), ("seq_step", seq_step)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, received {value!r}")
        if multiple_target:
            raise ValueError(f"multiple_target > 0 (multi-frame targets) is not supported, "
                             f"received {multiple_target!r}")
        if not 0 < subset_frac <= 1:
            raise ValueError(f"subset_frac must be in (0, 1], received {subset_frac!r}")
        if keypoint_2d_src not in ("gt", "detection"):
            raise ValueError(f"keypoint_2d_src must be 'gt' or 'detection', received "
                             f"{keypoint_2d_src!r}")
        if keypoint_2d_src == "detection" and not keypoint_2d_det_file:
            raise ValueError("keypoint_2d_src='detection' needs keypoint_2d_det_file")
        self.data_root = os.path.abspath(os.path.expanduser(data_root)) if data_root \
            else os.getcwd()
        self.ann_file = self._path(ann_file)
        self.seq_len, self.seq_step = seq_len, seq_step
        self.pad_video_seq, self.causal = bool(pad_video_seq), bool(causal)
        self.subset_frac = float(subset_frac)
        self.test_mode = bool(test_mode)
        self.meta = metainfo_lib.load(metainfo)
        self.img_dir = self._path(data_prefix) if data_prefix else self.data_root
        if not os.path.isfile(self.ann_file):
            raise FileNotFoundError(f"annotation file not found: {self.ann_file}")
        with np.load(self.ann_file) as ann:
            missing = [k for k in ("imgname", "S", "part") if k not in ann.files]
            if missing:
                raise ValueError(f"{self.ann_file} lacks {missing}; has {ann.files}")
            imgnames = ann["imgname"].astype(str)
            kpts_3d = ann["S"].astype(np.float32)
            kpts_2d = ann["part"].astype(np.float32)
        num = self.meta.num_keypoints
        if kpts_3d.shape[1:] != (num, 4) or kpts_2d.shape[1:] != (num, 3) \
                or len(kpts_3d) != len(imgnames) or len(kpts_2d) != len(imgnames):
            raise ValueError(f"{self.ann_file}: expected S (F, {num}, 4) and part (F, {num}, 3) "
                             f"for {len(imgnames)} image names, received {kpts_3d.shape} and "
                             f"{kpts_2d.shape}")
        if keypoint_2d_src == "detection":
            kpts_2d = np.load(self._path(keypoint_2d_det_file)).astype(np.float32)
            if kpts_2d.shape != (len(imgnames), num, 3):
                raise ValueError(f"keypoint_2d_det_file must hold ({len(imgnames)}, {num}, 3), "
                                 f"received {kpts_2d.shape}")
        factors = np.zeros(len(imgnames), np.float32)
        if factor_file:
            factors = np.load(self._path(factor_file)).astype(np.float32)
            if factors.shape != (len(imgnames),):
                raise ValueError(f"factor_file must hold ({len(imgnames)},) factors, received "
                                 f"{factors.shape}")
        frames = {"keypoints": kpts_2d[..., :2], "keypoints_visible": kpts_2d[..., 2],
                  "keypoints_3d": kpts_3d[..., :3], "keypoints_3d_visible": kpts_3d[..., 3],
                  "factor": factors}
        videos = defaultdict(list)
        parsed = [parse_h36m_imgname(n) for n in imgnames]
        for i, key in enumerate(parsed):
            videos[key].append(i)
        if camera_param_file:
            frames.update(self._camera_tables(self._path(camera_param_file), parsed))
        seqs = [sequence_indices(np.asarray(ids, np.int64), seq_len, seq_step,
                                 self.pad_video_seq, self.causal)
                for _, ids in sorted(videos.items())]
        seqs = np.concatenate(seqs) if seqs else np.zeros((0, seq_len), np.int64)
        if self.subset_frac < 1:
            size = int(len(seqs) * self.subset_frac)
            start = np.random.default_rng(seed).integers(0, len(seqs) - size + 1)
            seqs = seqs[start:start + size]
        target_pos = seq_len - 1 if self.causal else seq_len // 2
        target = seqs[:, target_pos] if len(seqs) else np.zeros((0,), np.int64)
        self.records = {
            "frame_indices": seqs.astype(np.int64),
            "target_frame": target.astype(np.int64),
            "img_path": np.array([os.path.join(self.img_dir, imgnames[i]) for i in target],
                                 dtype=str),
            "id": np.arange(len(seqs), dtype=np.int64),
            "frames": frames,
        }

    def _path(self, path: str) -> str:
        path = os.path.expanduser(os.fspath(path))
        return os.path.abspath(path if os.path.isabs(path) else os.path.join(self.data_root, path))

    @staticmethod
    def _camera_tables(path: str, parsed: List[Tuple[str, str, str]]) -> Dict[str, np.ndarray]:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"camera parameter file not found: {path}")
        with open(path, "rb") as f:
            cameras = pickle.load(f)
        tables = {"camera_w": [], "camera_h": [], "camera_f": [], "camera_c": []}
        for subject, _, camera in parsed:
            param = cameras.get((subject, camera))
            if param is None:
                raise ValueError(f"{path} has no camera ({subject!r}, {camera!r})")
            tables["camera_w"].append(float(param["w"]))
            tables["camera_h"].append(float(param["h"]))
            tables["camera_f"].append(np.asarray(param["f"], np.float32).reshape(2, 1))
            tables["camera_c"].append(np.asarray(param["c"], np.float32).reshape(2, 1))
        return {k: np.asarray(v, np.float32) for k, v in tables.items()}

    def __len__(self) -> int:
        return int(self.records["frame_indices"].shape[0])

    def __repr__(self) -> str:
        return (f"Human36mDataset(ann_file={self.ann_file!r}, seq_len={self.seq_len}, "
                f"seq_step={self.seq_step}, causal={self.causal}, "
                f"pad_video_seq={self.pad_video_seq}, num_sequences={len(self)})")
