"""AssociativeEmbedding: multi-person heatmaps + tag maps (Newell et al., 2017), as MMPose 1.3.2."""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import gin
import keras
import numpy as np
import tensorflow as tf

from kpose.codecs.base_keypoint_codec import BaseKeypointCodec
from kpose.codecs.utils import (gaussian_blur, generate_gaussian_heatmaps,
                                generate_udp_gaussian_heatmaps, to_numpy, wants_numpy)
from kpose.codecs.utils.arguments import check_bool, check_odd_kernel, check_positive, check_size
from kpose.codecs.utils.linear_sum_assignment import linear_sum_assignment


@gin.register
@keras.saving.register_keras_serializable(package="kpose")
class AssociativeEmbedding(BaseKeypointCodec):
    """Encodes people as keypoint heatmaps plus tag positions; decodes by grouping tags.

    Same name, arguments and numbers as MMPose's `AssociativeEmbedding`, channels-last.

    Encoding (TF ops, runs inside `tf.data`): Gaussian heatmaps of every instance merged
    by maximum (MSRA, or UDP with `use_udp`), and for each instance keypoint the flat
    heatmap index `y * W + x` of its nearest pixel with a validity flag, which the tag
    loss uses to read the predicted tags.

    Decoding (numpy): grouping is a sequential greedy procedure (keypoint types in
    `decode_keypoint_order`, each matched to the existing groups by a minimum-cost
    assignment), so it runs in numpy on the host; inside a graph it is wrapped in
    `tf.numpy_function` (`batch_decode_padded`). Steps, as MMPose: 5x5 max-pool NMS, top-k
    candidates per keypoint type, grouping by tag distance with the Hungarian method
    (cost `round(distance) * 100 - score`), a quarter-pixel (or DARK-UDP) refinement, the
    centre shift, then each group's missing keypoints are filled with the pixel of lowest
    cost to the group's mean tag.

    Tag maps have `L * K` channels, channel `l * K + k` holding tag dimension `l` of
    keypoint `k` (MMPose's channel order).

    Args:
        input_size: `(w, h)` of the model input, in pixels.
        heatmap_size: `(W, H)` of the heatmaps (the input size when the model's
            outputs are resized to the input before decoding).
        sigma: Gaussian sigma in heatmap pixels; None: `sqrt(W * H) / 64`.
        use_udp: unbiased data processing (UDP heatmaps and DARK-UDP refinement).
        decode_keypoint_order: order in which keypoint types join the groups (torso
            first); empty: 0..K-1.
        decode_nms_kernel: odd max-pool size of the heatmap NMS.
        decode_gaussian_kernel: odd blur kernel of the DARK-UDP refinement.
        decode_keypoint_thr: candidates must score above this.
        decode_tag_thr: largest tag distance at which a candidate joins a group.
        decode_topk: candidates per keypoint type.
        decode_center_shift: added to the refined coordinates of detected keypoints
            (heatmap pixels).
        decode_max_instances: keep at most this many groups (None: all).
    """

    # Every target keeps its instance axis: `GenerateTarget` squeezes the (one-person)
    # instance axis of items not listed here, which bottom-up samples must not lose.
    field_mapping_table = {"heatmaps": "heatmaps", "keypoint_indices": "keypoint_indices",
                           "keypoint_weights": "keypoint_weights"}

    def __init__(self,
                 input_size: Sequence[int],
                 heatmap_size: Sequence[int],
                 sigma: Optional[float] = None,
                 use_udp: bool = False,
                 decode_keypoint_order: Sequence[int] = (),
                 decode_nms_kernel: int = 5,
                 decode_gaussian_kernel: int = 3,
                 decode_keypoint_thr: float = 0.1,
                 decode_tag_thr: float = 1.0,
                 decode_topk: int = 30,
                 decode_center_shift: float = 0.0,
                 decode_max_instances: Optional[int] = None) -> None:
        self.input_size = check_size("input_size", input_size)
        self.heatmap_size = check_size("heatmap_size", heatmap_size)
        self.use_udp = check_bool("use_udp", use_udp)
        if sigma is None:
            sigma = (self.heatmap_size[0] * self.heatmap_size[1]) ** 0.5 / 64
        self.sigma = check_positive("sigma", sigma)
        order = [int(k) for k in (decode_keypoint_order or ())]
        if len(set(order)) != len(order) or any(k < 0 for k in order):
            raise ValueError(f"decode_keypoint_order must list distinct keypoint indices, "
                             f"received {decode_keypoint_order!r}")
        self.decode_keypoint_order = tuple(order)
        self.decode_nms_kernel = check_odd_kernel("decode_nms_kernel", decode_nms_kernel)
        self.decode_gaussian_kernel = check_odd_kernel("decode_gaussian_kernel",
                                                       decode_gaussian_kernel)
        self.decode_keypoint_thr = float(decode_keypoint_thr)
        self.decode_tag_thr = check_positive("decode_tag_thr", decode_tag_thr)
        if not isinstance(decode_topk, int) or isinstance(decode_topk, bool) or decode_topk < 1:
            raise ValueError(f"decode_topk must be a positive int, received {decode_topk!r}")
        self.decode_topk = decode_topk
        self.decode_center_shift = float(decode_center_shift)
        if decode_max_instances is not None and (
                not isinstance(decode_max_instances, int) or decode_max_instances < 1):
            raise ValueError(f"decode_max_instances must be a positive int or None, received "
                             f"{decode_max_instances!r}")
        self.decode_max_instances = decode_max_instances
        size_in = np.asarray(self.input_size, np.float64)
        size_hm = np.asarray(self.heatmap_size, np.float64)
        if self.use_udp:
            self.scale_factor = ((size_in - 1) / (size_hm - 1)).astype(np.float32)
        else:
            self.scale_factor = (size_in / size_hm).astype(np.float32)

    # ------------------------------------------------------------------ encode
    def encode(self, keypoints: Any, keypoints_visible: Optional[Any] = None) -> Dict[str, Any]:
        """Builds the targets of one image's instances.

        Args:
            keypoints: `(N, K, D)` keypoints in input-image pixels (x, y first).
            keypoints_visible: `(N, K)` visibilities; None means all visible.

        Returns:
            `{"heatmaps": (H, W, K) float32, "keypoint_indices": (N, K, 2) int64 [flat
            index y * W + x, valid], "keypoint_weights": (N, K) float32}`. A keypoint is
            valid when its visibility is > 0.5 and its nearest pixel lies in the heatmap.
        """
        numpy_out = wants_numpy(keypoints, keypoints_visible)
        keypoints = tf.cast(tf.convert_to_tensor(keypoints), tf.float32)[..., :2]
        if keypoints_visible is None:
            keypoints_visible = tf.ones(tf.shape(keypoints)[:2], tf.float32)
        keypoints_visible = tf.cast(tf.convert_to_tensor(keypoints_visible), tf.float32)
        scaled = keypoints / tf.constant(self.scale_factor)
        generate = generate_udp_gaussian_heatmaps if self.use_udp else generate_gaussian_heatmaps
        heatmaps, weights = generate(self.heatmap_size, scaled, keypoints_visible, self.sigma)
        width, height = self.heatmap_size
        heatmaps = tf.ensure_shape(heatmaps, [height, width, keypoints.shape[1]])
        # int(kp + 0.5): truncation towards zero, as numpy's astype.
        pixel = tf.cast(scaled + 0.5, tf.int64)
        x, y = pixel[..., 0], pixel[..., 1]
        valid = ((keypoints_visible > 0.5) & (x >= 0) & (x < width) & (y >= 0) & (y < height))
        indices = tf.stack([y * width + x, tf.cast(valid, tf.int64)], axis=-1)
        encoded = {"heatmaps": heatmaps, "keypoint_indices": indices,
                   "keypoint_weights": weights}
        return to_numpy(encoded) if numpy_out else encoded

    # ------------------------------------------------------------------ decode
    def decode(self, heatmaps: Any, tags: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decodes the people of one image.

        Args:
            heatmaps: `(H, W, K)` keypoint heatmaps.
            tags: `(H, W, L * K)` tag maps.

        Returns:
            keypoints `(N, K, 2)` in input-image pixels, keypoint scores `(N, K)` and
            instance scores `(N,)` (mean keypoint score before missing keypoints are
            filled, MMPose's `bbox_scores`), numpy float32.
        """
        keypoints, scores, instance_scores = self.batch_decode(
            np.asarray(heatmaps)[None], np.asarray(tags)[None])
        return keypoints[0], scores[0], instance_scores[0]

    def batch_decode(self, batch_heatmaps: Any, batch_tags: Any
                     ) -> Tuple[List[np.ndarray], List[np.ndarray], List[np.ndarray]]:
        """Decodes a batch; each image may hold a different number of people.

        Args:
            batch_heatmaps: `(B, H, W, K)`.
            batch_tags: `(B, H, W, L * K)`.

        Returns:
            Lists of B arrays: keypoints `(N_i, K, 2)`, scores `(N_i, K)`, instance
            scores `(N_i,)`.
        """
        heatmaps = np.asarray(batch_heatmaps, np.float32)
        tags = np.asarray(batch_tags, np.float32)
        if heatmaps.ndim != 4 or tags.ndim != 4 or tags.shape[:3] != heatmaps.shape[:3] \
                or tags.shape[3] % heatmaps.shape[3]:
            raise ValueError(f"batch_decode needs heatmaps (B, H, W, K) and tags (B, H, W, L*K) "
                             f"of the same B, H, W, received {heatmaps.shape} and {tags.shape}")
        num_kpts = heatmaps.shape[3]
        order = list(self.decode_keypoint_order) or list(range(num_kpts))
        if sorted(order) != list(range(num_kpts)):
            raise ValueError(f"decode_keypoint_order must be a permutation of 0..{num_kpts - 1}, "
                             f"received {self.decode_keypoint_order}")
        peaks = _heatmap_nms(heatmaps, self.decode_nms_kernel)
        blurred = None
        if self.use_udp:
            blurred = gaussian_blur(heatmaps, self.decode_gaussian_kernel).numpy()
        out_kpts, out_scores, out_instance = [], [], []
        for b in range(heatmaps.shape[0]):
            vals, cand_tags, locs = _topk(peaks[b], tags[b], self.decode_topk)
            groups = _group_keypoints(vals, cand_tags, locs, order, self.decode_keypoint_thr,
                                      self.decode_tag_thr, self.decode_max_instances)
            keypoints, scores = groups[..., :2], groups[..., 2]
            instance_scores = scores.mean(axis=-1)
            if keypoints.size > 0:
                fill_maps = heatmaps[b]
                if self.use_udp:
                    # MMPose blurs and logs the heatmaps in place, so its filling of
                    # missing keypoints then reads log-heatmaps; kept for equal results.
                    fill_maps = np.log(np.clip(blurred[b], 1e-3, 50.0))
                    keypoints = _refine_dark_udp(keypoints, fill_maps)
                else:
                    keypoints = _refine_quarter(keypoints, heatmaps[b])
                keypoints = keypoints + self.decode_center_shift * \
                    (scores > 0).astype(keypoints.dtype)[..., None]
                keypoints, scores = _fill_missing(keypoints, scores, fill_maps, tags[b])
            out_kpts.append((keypoints * self.scale_factor).astype(np.float32))
            out_scores.append(scores.astype(np.float32))
            out_instance.append(instance_scores.astype(np.float32))
        return out_kpts, out_scores, out_instance

    def batch_decode_padded(self, batch_heatmaps: Any, batch_tags: Any,
                            max_instances: int) -> Tuple[Any, Any, Any, Any]:
        """`batch_decode` padded to a fixed number of people, usable inside graphs.

        Instances beyond `max_instances` are dropped (groups keep their creation order, as
        MMPose's `decode_max_instances`). Runs the numpy decoding through
        `tf.numpy_function` when given tensors.

        Args:
            batch_heatmaps: `(B, H, W, K)`.
            batch_tags: `(B, H, W, L * K)`.
            max_instances: N, the padded number of people per image.

        Returns:
            keypoints `(B, N, K, 2)`, keypoint scores `(B, N, K)`, instance scores
            `(B, N)` (0 for padding) and a validity mask `(B, N)` bool.
        """
        if not isinstance(max_instances, int) or max_instances < 1:
            raise ValueError(f"max_instances must be a positive int, received {max_instances!r}")

        def run(heatmaps, tags):
            kpts, scores, inst = self.batch_decode(heatmaps, tags)
            num_b, num_k = heatmaps.shape[0], heatmaps.shape[3]
            out_k = np.zeros((num_b, max_instances, num_k, 2), np.float32)
            out_s = np.zeros((num_b, max_instances, num_k), np.float32)
            out_i = np.zeros((num_b, max_instances), np.float32)
            valid = np.zeros((num_b, max_instances), bool)
            for b in range(num_b):
                n = min(len(kpts[b]), max_instances)
                out_k[b, :n], out_s[b, :n], out_i[b, :n] = kpts[b][:n], scores[b][:n], inst[b][:n]
                valid[b, :n] = True
            return out_k, out_s, out_i, valid

        if not (tf.is_tensor(batch_heatmaps) or tf.is_tensor(batch_tags)):
            return run(np.asarray(batch_heatmaps, np.float32), np.asarray(batch_tags, np.float32))
        heatmaps = tf.cast(batch_heatmaps, tf.float32)
        tags = tf.cast(batch_tags, tf.float32)
        kpts, scores, inst, valid = tf.numpy_function(
            run, [heatmaps, tags], [tf.float32, tf.float32, tf.float32, tf.bool], stateful=False)
        batch = tf.shape(heatmaps)[0]
        num_k = heatmaps.shape[3]
        kpts = tf.reshape(kpts, [batch, max_instances, num_k, 2])
        scores = tf.reshape(scores, [batch, max_instances, num_k])
        inst = tf.reshape(inst, [batch, max_instances])
        valid = tf.reshape(valid, [batch, max_instances])
        return kpts, scores, inst, valid

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments."""
        return {
            "input_size": self.input_size,
            "heatmap_size": self.heatmap_size,
            "sigma": self.sigma,
            "use_udp": self.use_udp,
            "decode_keypoint_order": list(self.decode_keypoint_order),
            "decode_nms_kernel": self.decode_nms_kernel,
            "decode_gaussian_kernel": self.decode_gaussian_kernel,
            "decode_keypoint_thr": self.decode_keypoint_thr,
            "decode_tag_thr": self.decode_tag_thr,
            "decode_topk": self.decode_topk,
            "decode_center_shift": self.decode_center_shift,
            "decode_max_instances": self.decode_max_instances,
        }


def _heatmap_nms(heatmaps: np.ndarray, kernel: int) -> np.ndarray:
    """Zeroes every pixel that is not the maximum of its `kernel` window (B, H, W, K)."""
    maximum = tf.nn.max_pool2d(heatmaps, kernel, strides=1, padding="SAME").numpy()
    return heatmaps * (heatmaps == maximum)


def _topk(peaks: np.ndarray, tags: np.ndarray, k: int):
    """Top-k candidates per keypoint type of one image.

    Returns values (K, k), tags (K, k, L) and integer locations (K, k, 2) as (x, y).
    """
    height, width, num_kpts = peaks.shape
    dim = tags.shape[2] // num_kpts
    flat = peaks.reshape(height * width, num_kpts).T  # (K, H*W)
    vals, idx = tf.math.top_k(flat, k=min(k, height * width))
    vals, idx = vals.numpy(), idx.numpy()
    flat_tags = tags.reshape(height * width, dim, num_kpts)  # channel l * K + k
    cand_tags = np.stack([flat_tags[idx[j], :, j] for j in range(num_kpts)])  # (K, k, L)
    locs = np.stack([idx % width, idx // width], axis=-1)
    return vals, cand_tags, locs


def _group_keypoints(vals: np.ndarray, tags: np.ndarray, locs: np.ndarray, order: List[int],
                     val_thr: float, tag_thr: float, max_groups: Optional[int]) -> np.ndarray:
    """Greedy grouping of candidates into people by tag; returns (G, K, 3) [x, y, score].

    As MMPose: groups are keyed by the first tag value of the candidate that opened them
    (a later candidate with an identical tag value joins that group); a group's tag is
    the mean of its members' tags; unmatched candidates open new groups.
    """
    num_kpts, _, dim = tags.shape
    blank = np.zeros((num_kpts, 3 + dim), np.float32)
    joints_by_key: Dict[float, np.ndarray] = {}
    tags_by_key: Dict[float, list] = {}
    for step, k in enumerate(order):
        # float64, as MMPose's concatenation of integer locations with float32 values
        joints = np.concatenate([locs[k].astype(np.float64), vals[k][:, None], tags[k]], axis=1)
        keep = joints[:, 2] > val_thr
        cand_tags, joints = tags[k][keep], joints[keep]
        if joints.shape[0] == 0:
            continue
        if step == 0 or not joints_by_key:
            for tag, joint in zip(cand_tags, joints):
                key = tag[0]
                joints_by_key.setdefault(key, blank.copy())[k] = joint
                tags_by_key[key] = [tag]
            continue
        keys = list(joints_by_key)
        group_tags = np.array([np.mean(tags_by_key[key], axis=0) for key in keys])
        distance = np.linalg.norm(joints[:, None, 3:] - group_tags[None], ord=2, axis=2)
        cost = np.round(distance) * 100 - joints[:, 2:3]
        num_new, num_groups = cost.shape
        if num_new > num_groups:  # dummy groups, so every candidate gets a column
            cost = np.concatenate(
                [cost, np.full((num_new, num_new - num_groups), 1e10, np.float32)], axis=1)
        for row, col in linear_sum_assignment(cost):
            if col < num_groups and distance[row, col] < tag_thr:
                key = keys[col]
                joints_by_key[key][k] = joints[row]
                tags_by_key[key].append(cand_tags[row])
            else:
                key = cand_tags[row][0]
                joints_by_key.setdefault(key, blank.copy())[k] = joints[row]
                tags_by_key[key] = [cand_tags[row]]
    keys = list(joints_by_key)[:max_groups]
    if not keys:
        return np.zeros((0, num_kpts, 3), np.float32)
    return np.array([joints_by_key[key] for key in keys], np.float32)[..., :3]


def _refine_quarter(keypoints: np.ndarray, heatmaps: np.ndarray) -> np.ndarray:
    """A quarter-pixel step towards the higher neighbour per axis (MMPose's bounds).

    keypoints (N, K, 2), heatmaps (H, W, K).
    """
    height, width, num_kpts = heatmaps.shape
    x = keypoints[..., 0].astype(np.int64)
    y = keypoints[..., 1].astype(np.int64)
    k = np.broadcast_to(np.arange(num_kpts), x.shape)

    def read(dx, dy):
        return heatmaps[np.clip(y + dy, 0, height - 1), np.clip(x + dx, 0, width - 1), k]

    x_ok = (x > 1) & (x < width - 1) & (y > 0) & (y < height)
    y_ok = (y > 1) & (y < height - 1) & (x > 0) & (x < width)
    dx = np.where(x_ok, read(1, 0) - read(-1, 0), 0.0)
    dy = np.where(y_ok, read(0, 1) - read(0, -1), 0.0)
    return keypoints + np.sign(np.stack([dx, dy], axis=-1)).astype(np.float32) * 0.25


def _refine_dark_udp(keypoints: np.ndarray, logs: np.ndarray) -> np.ndarray:
    """DARK-UDP's Newton step on the log of the blurred heatmaps (H, W, K), per instance."""
    height, width, num_kpts = logs.shape
    padded = np.pad(logs, ((1, 1), (1, 1), (0, 0)), mode="edge")
    x = keypoints[..., 0].astype(np.int64) + 1
    y = keypoints[..., 1].astype(np.int64) + 1
    k = np.broadcast_to(np.arange(num_kpts), x.shape)
    # MMPose reads a flattened padded array; out-of-row neighbours wrap as a flat index does.
    flat = padded.transpose(2, 0, 1).reshape(-1)
    row = width + 2
    base = k * (height + 2) * row + y * row + x

    def read(offset):
        return flat[np.clip(base + offset, 0, flat.size - 1)]

    i_, ix1, ix1_ = read(0), read(1), read(-1)
    iy1, iy1_ = read(row), read(-row)
    ix1y1, ix1_y1_ = read(row + 1), read(-row - 1)
    dx = 0.5 * (ix1 - ix1_)
    dy = 0.5 * (iy1 - iy1_)
    dxx = ix1 - 2 * i_ + ix1_
    dyy = iy1 - 2 * i_ + iy1_
    dxy = 0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_)
    hessian = np.stack([np.stack([dxx, dxy], -1), np.stack([dxy, dyy], -1)], -2)
    hessian = np.linalg.inv(hessian.astype(np.float64) + np.finfo(np.float32).eps * np.eye(2))
    step = np.einsum("nkij,nkj->nki", hessian, np.stack([dx, dy], -1))
    return (keypoints - step).astype(np.float32)


def _fill_missing(keypoints: np.ndarray, scores: np.ndarray, heatmaps: np.ndarray,
                  tags: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Puts each group's undetected keypoints at the pixel of lowest tag cost.

    The group tag is the mean tag at its detected keypoints; the cost of a pixel is
    `round(|tag - group tag|) * 100 - heatmap`, as MMPose.
    """
    keypoints, scores = keypoints.copy(), scores.copy()
    height, width, num_kpts = heatmaps.shape
    dim = tags.shape[2] // num_kpts
    per_kpt = tags.reshape(height, width, dim, num_kpts)
    for n in range(keypoints.shape[0]):
        found = []
        for k in range(num_kpts):
            if scores[n, k] > 0:
                x, y = keypoints[n, k].astype(np.int64)
                found.append(per_kpt[np.clip(y, 0, height - 1), np.clip(x, 0, width - 1), :, k])
        tag = np.mean(found, axis=0)
        for k in range(num_kpts):
            if scores[n, k] > 0:
                continue
            distance = np.linalg.norm(per_kpt[..., k] - tag, ord=2, axis=-1)
            cost = np.round(distance) * 100 - heatmaps[..., k]
            y, x = np.unravel_index(np.argmin(cost), (height, width))
            keypoints[n, k] = [x, y]
            scores[n, k] = heatmaps[y, x, k]
    return keypoints, scores
