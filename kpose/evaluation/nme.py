"""NME: normalised mean error, for face (and horse) landmarks."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence, Union

import gin
import numpy as np

from kpose.datasets import metainfo as metainfo_lib
from kpose.evaluation._keypoint_batches import KeypointBatches
from kpose.evaluation.functional.keypoint_eval import keypoint_nme

# Keypoint pairs whose distance normalises the error, by dataset name (MMPose's table:
# the outer eye corners of each face layout; horse10's two eye-level points).
# 300vw and 300wlp use the 68-point iBUG layout of 300w; MMPose's table lacks them (its
# own 300wlp config then fails), kpose gives them 300w's pair.
NME_KEYPOINT_INDICES: dict[str, tuple[int, int]] = {
    "horse10": (0, 1),
    "300w": (36, 45),
    "300vw": (36, 45),
    "300wlp": (36, 45),
    "coco_wholebody_face": (36, 45),
    "cofw": (8, 9),
    "wflw": (60, 72),
    "lapa": (66, 79),
}
_NORM_MODES = ("use_norm_item", "keypoint_distance")


@gin.register
class NME:
    """Normalised mean error, as MMPose's ``NME`` metric.

    The mean over labelled keypoints of ``|pred - gt| / norm``, where ``norm`` is per
    instance:

    - ``norm_mode='keypoint_distance'``: the ground-truth distance between the two
      ``keypoint_indices`` (inter-ocular distance for faces). Without indices, they come
      from :data:`NME_KEYPOINT_INDICES` by the ``metainfo``'s dataset name (300w,
      300vw, 300wlp, coco_wholebody_face: 36/45, cofw: 8/9, wflw: 60/72, lapa: 66/79,
      horse10: 0/1).
    - ``norm_mode='use_norm_item'``: a per-instance size given with each batch; for
      ``norm_item='bbox_size'`` the longer side of the ground-truth ``bbox`` (AFLW),
      otherwise the batch key named ``norm_item`` (B,).

    ``update(preds)`` takes numpy arrays with leading batch axis B: ``keypoints``
    (B, K, 2), ``gt_keypoints`` (B, K, 2), ``keypoints_visible`` (B, K), plus ``bbox``
    (B, 4) xyxy for ``'bbox_size'`` or the ``norm_item`` key (B,). ``result()`` returns
    ``{'NME': float}``.

    Args:
        norm_mode: ``'keypoint_distance'`` or ``'use_norm_item'``.
        norm_item: the normaliser for ``'use_norm_item'`` (``'bbox_size'`` or a key).
        keypoint_indices: the pair of keypoint ids for ``'keypoint_distance'``.
        metainfo: dataset name / metainfo file / ``DatasetMeta``; picks the default
            indices and checks them against K.
        name: name of the metric (for logs).
    """

    def __init__(self, norm_mode: str, norm_item: Optional[str] = None,
                 keypoint_indices: Optional[Sequence[int]] = None,
                 metainfo: Union[str, "metainfo_lib.DatasetMeta", None] = None, name: str = "nme") -> None:
        if norm_mode not in _NORM_MODES:
            raise ValueError(f"norm_mode must be one of {_NORM_MODES}, got {norm_mode!r}")
        if norm_mode == "use_norm_item" and not norm_item:
            raise ValueError("norm_mode='use_norm_item' needs a norm_item (e.g. 'bbox_size'), got "
                             f"{norm_item!r}")
        meta = None if metainfo is None else metainfo_lib.load(metainfo)
        indices = None
        if norm_mode == "keypoint_distance":
            if keypoint_indices is None:
                if meta is None or meta.name not in NME_KEYPOINT_INDICES:
                    raise ValueError("norm_mode='keypoint_distance' needs keypoint_indices or the metainfo of "
                                     f"one of {sorted(NME_KEYPOINT_INDICES)}; got keypoint_indices=None and "
                                     f"metainfo={None if meta is None else meta.name!r}")
                indices = NME_KEYPOINT_INDICES[meta.name]
            else:
                indices = tuple(int(i) for i in keypoint_indices)
                if len(indices) != 2 or min(indices) < 0:
                    raise ValueError(f"keypoint_indices must be a pair of keypoint ids, got {keypoint_indices!r}")
            if meta is not None and max(indices) >= meta.num_keypoints:
                raise ValueError(f"keypoint_indices {indices} are not keypoints of {meta.name!r} "
                                 f"(K={meta.num_keypoints})")
        self.norm_mode = norm_mode
        self.norm_item = norm_item
        self.keypoint_indices = indices
        self.metainfo = metainfo if metainfo is None or isinstance(metainfo, str) else meta
        self.name = name
        self._data = KeypointBatches("NME")

    def get_config(self) -> dict:
        return dict(norm_mode=self.norm_mode, norm_item=self.norm_item,
                    keypoint_indices=None if self.keypoint_indices is None else list(self.keypoint_indices),
                    metainfo=self.metainfo, name=self.name)

    def reset(self) -> None:
        """Forget every batch seen so far."""
        self._data.reset()

    def update(self, preds: Mapping[str, np.ndarray]) -> None:
        """Add one batch (see the class docstring)."""
        if self.norm_mode == "keypoint_distance":
            self._data.add(preds)
            k = self._data.batches[-1]["pred"].shape[1]
            if max(self.keypoint_indices) >= k:
                self._data.batches.pop()
                raise ValueError(f"keypoint_indices {self.keypoint_indices} need K > {max(self.keypoint_indices)}, "
                                 f"got 'keypoints' with K={k}")
        elif self.norm_item == "bbox_size":
            self._data.add(preds, {"bbox": (4,)})
        else:
            self._data.add(preds, {self.norm_item: ()})

    def result(self) -> dict[str, float]:
        """The NME over every batch since the last ``reset()``."""
        cols = self._data.columns()
        gt = cols["gt"]
        if self.norm_mode == "keypoint_distance":
            i, j = self.keypoint_indices
            size = np.linalg.norm(gt[:, i, :] - gt[:, j, :], axis=1, keepdims=True)
        elif self.norm_item == "bbox_size":
            bbox = cols["bbox"]
            size = np.max(bbox[:, 2:] - bbox[:, :2], axis=1, keepdims=True)
        else:
            size = cols[self.norm_item].reshape(-1, 1)
        norm = np.tile(size, [1, 2])
        return {"NME": float(keypoint_nme(cols["pred"], gt, cols["mask"], norm))}
