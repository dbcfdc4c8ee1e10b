"""KeypointConverter: maps one dataset's keypoint layout onto another's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gin
import numpy as np


@gin.register
class KeypointConverter:
    """Maps keypoints of a source layout (K_s) onto a target layout (K), as MMPose's.

    ``mapping`` lists ``(source_index, target_index)`` pairs; a source may also be a pair
    ``((s1, s2), target_index)``, whose target is the midpoint of the two source keypoints
    and visible only when both are (the product of their flags). Target keypoints no pair
    names are zero and invisible. For example CrowdPose -> COCO (RTMPose's body8 recipe):
    ``KeypointConverter(17, [(0, 5), (1, 6), ..., (11, 16)])``; COCO -> CrowdPose's neck:
    ``((5, 6), 13)``.

    MMPose's transform also returns per-keypoint "visible weights" (1 where the target is
    mapped) beside the flags; here they are ``mapped_mask``. Top-down heatmap training
    does not need them: unmapped targets are invisible, so they get no weight anyway.

    Args:
        num_keypoints: K, the target layout's keypoint count.
        mapping: sequence of ``(source, target)`` with ``source`` an int or a pair of ints.

    Raises:
        ValueError: a malformed pair, a negative index, a target index >= K, or a target
            named twice.
    """

    def __init__(self, num_keypoints: int, mapping: Sequence[Any]) -> None:
        if isinstance(num_keypoints, bool) or not isinstance(num_keypoints, (int, np.integer)) or num_keypoints <= 0:
            raise ValueError(f"num_keypoints must be a positive int, received {num_keypoints!r}")
        if isinstance(mapping, (str, bytes, Mapping)) or not isinstance(mapping, Sequence):
            raise ValueError(f"mapping must be a sequence of (source, target) pairs, received {mapping!r}")
        self.num_keypoints = int(num_keypoints)
        src1, src2, targets = [], [], []
        for entry in mapping:
            try:
                source, target = entry
            except (TypeError, ValueError):
                raise ValueError(f"each mapping entry must be (source, target), received {entry!r}") from None
            pair = tuple(source) if isinstance(source, (list, tuple)) else (source, source)
            if len(pair) != 2 or not all(_is_index(i) for i in pair + (target,)):
                raise ValueError(f"mapping entry must be (int, int) or ((int, int), int) with indices >= 0, "
                                 f"received {entry!r}")
            if target >= self.num_keypoints:
                raise ValueError(f"mapping entry {entry!r} targets index {target}, but num_keypoints is "
                                 f"{self.num_keypoints}")
            if target in targets:
                raise ValueError(f"mapping names target index {target} twice, received {list(mapping)!r}")
            src1.append(int(pair[0]))
            src2.append(int(pair[1]))
            targets.append(int(target))
        self.mapping = [((a, b) if a != b else a, t) for a, b, t in zip(src1, src2, targets)]
        self._src1 = np.array(src1, np.int64)
        self._src2 = np.array(src2, np.int64)
        self._targets = np.array(targets, np.int64)

    @property
    def min_source_keypoints(self) -> int:
        """The smallest source K the mapping can index."""
        return int(max(self._src1.max(initial=-1), self._src2.max(initial=-1)) + 1)

    @property
    def mapped_mask(self) -> np.ndarray:
        """float32 (K,): 1 for target keypoints the mapping fills (MMPose's visible weights)."""
        mask = np.zeros(self.num_keypoints, np.float32)
        mask[self._targets] = 1.0
        return mask

    def convert(self, keypoints: np.ndarray, keypoints_visible: "np.ndarray | None" = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Maps keypoints (N, K_s, D) and flags (N, K_s) to (N, K, D) float32 and (N, K) float32.

        Missing flags count as visible (MMPose's default); (N, K_s, 2) flags (visibility,
        weight) use their first channel.
        """
        keypoints = np.asarray(keypoints)
        if keypoints.ndim != 3:
            raise ValueError(f"keypoints must be (N, K, D), received shape {keypoints.shape}")
        n, k_src, d = keypoints.shape
        if k_src < self.min_source_keypoints:
            raise ValueError(f"the mapping indexes source keypoint {self.min_source_keypoints - 1}, but the "
                             f"keypoints have K={k_src}")
        visible = np.ones((n, k_src)) if keypoints_visible is None else np.asarray(keypoints_visible)
        if visible.ndim == 3:
            visible = visible[..., 0]
        if visible.shape != (n, k_src):
            raise ValueError(f"keypoints_visible must be ({n}, {k_src}), received shape {visible.shape}")
        # float64 midpoints, as MMPose computes them, then the records' float32
        out = np.zeros((n, self.num_keypoints, d), np.float64)
        out_visible = np.zeros((n, self.num_keypoints), np.float64)
        src = keypoints.astype(np.float64)
        out[:, self._targets] = 0.5 * (src[:, self._src1] + src[:, self._src2])
        vis = visible.astype(np.float64)
        out_visible[:, self._targets] = vis[:, self._src1] * vis[:, self._src2]
        # single sources are copied, not averaged with themselves
        single = self._src1 == self._src2
        out[:, self._targets[single]] = src[:, self._src1[single]]
        out_visible[:, self._targets[single]] = vis[:, self._src1[single]]
        return out.astype(np.float32), out_visible.astype(np.float32)

    def __call__(self, records: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Records with ``keypoints`` and ``keypoints_visible`` converted; other columns kept."""
        out = dict(records)
        out["keypoints"], out["keypoints_visible"] = self.convert(records["keypoints"],
                                                                  records.get("keypoints_visible"))
        return out

    def get_config(self) -> dict[str, Any]:
        return {"num_keypoints": self.num_keypoints,
                "mapping": [[list(s) if isinstance(s, tuple) else s, t] for s, t in self.mapping]}

    def __repr__(self) -> str:
        return f"KeypointConverter(num_keypoints={self.num_keypoints}, mapping={self.mapping})"


def _is_index(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0
