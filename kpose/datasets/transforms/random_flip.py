"""RandomFlip: flip the sample's geometry; the pixels are flipped inside the one warp."""

from typing import Any, Dict, List, Sequence, Union

import gin
import tensorflow as tf

from kpose.datasets.transforms._utils import (check_probability, require_keys, seed_of, select,
                                              split_seed, uniform)
from kpose.structures.bbox import FLIP_DIRECTIONS, flip_bbox
from kpose.structures.keypoint import flip_keypoints


@gin.register
class RandomFlip:
    """Flip a sample horizontally, vertically or diagonally at random (MMPose's arguments).

    The box (`bbox`), `bbox_center`, `keypoints` and `keypoints_visible` are flipped in
    the source image's coordinates (x -> w - 1 - x, using `img_shape` (h, w)) and
    symmetric keypoints are swapped by the sample's `flip_indices`. Pixels are not
    touched: the flip is recorded as `flip_x` / `flip_y` (bools; two flips cancel) and
    `TopdownAffine` folds it into its warp, which gives the same crop as flipping the
    image first since a flip only permutes pixels.

    Also writes `flip` (bool) and `flip_direction` (int32: 0 none, 1 horizontal,
    2 vertical, 3 diagonal) for the last flip drawn.

    `draw(seed)` and `apply(sample, draws)` split the call into its random numbers
    (per sample) and its arithmetic, which also runs on a batch of samples at once
    (the pipeline's vectorised path).

    Args:
        prob: flip probability; with a list of directions, either one probability
            shared equally among them or one probability per direction (sum <= 1).
        direction: 'horizontal', 'vertical', 'diagonal' or a list of them.
    """

    def __init__(self, prob: Union[float, Sequence[float]] = 0.5,
                 direction: Union[str, Sequence[str]] = "horizontal") -> None:
        directions: List[str] = [direction] if isinstance(direction, str) else list(direction)
        if not directions or any(d not in FLIP_DIRECTIONS for d in directions):
            raise ValueError(f"direction must be one of {FLIP_DIRECTIONS} or a list of them, "
                             f"received {direction!r}")
        if isinstance(prob, (list, tuple)):
            probs = [check_probability("prob", p) for p in prob]
            if len(probs) != len(directions):
                raise ValueError(f"prob has {len(probs)} entries but direction has {len(directions)}: "
                                 f"received prob={prob!r}, direction={direction!r}")
            if sum(probs) > 1.0 + 1e-6:
                raise ValueError(f"the probabilities in prob must sum to <= 1, received {prob!r}")
        else:
            p = check_probability("prob", prob)
            probs = [p / len(directions)] * len(directions)
        self.prob = prob if not isinstance(prob, tuple) else list(prob)
        self.direction = direction if isinstance(direction, str) else list(direction)
        self._directions = directions
        self._probs = probs

    def __call__(self, sample: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        require_keys(sample, ["img_shape", "flip_indices"], "RandomFlip")
        return self.apply(sample, self.draw(seed_of(sample, "RandomFlip")))

    def draw(self, seed: tf.Tensor) -> Dict[str, tf.Tensor]:
        """The sample's random numbers from its stateless `seed` (2,): `{"u": ()}`."""
        return {"u": uniform(split_seed({"seed": seed}, 1, "RandomFlip")[0])}

    def apply(self, sample: Dict[str, tf.Tensor], draws: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """Flip with the numbers of `draw`; `sample` and `draws` may carry a leading batch
        axis B (then the meta such as `flip_indices` stays unbatched), with the same
        numbers per sample as a single call."""
        sample = dict(sample)
        require_keys(sample, ["img_shape", "flip_indices"], "RandomFlip")
        # choice = index of the drawn direction, len(directions) for "no flip"
        bounds = tf.constant(list(_cumsum(self._probs)), tf.float32)
        u = tf.convert_to_tensor(draws["u"])
        choice = tf.reduce_sum(tf.cast(u[..., None] >= bounds, tf.int32), axis=-1)

        img_shape = tf.cast(sample["img_shape"], tf.float32)
        # (2,) for one sample, (2, B) for a batch: the structures' flips index size[0]
        size = tf.stack([img_shape[..., 1], img_shape[..., 0]])
        current = {k: tf.cast(sample[k], tf.float32)
                   for k in ("bbox", "bbox_center", "keypoints", "keypoints_visible") if k in sample}
        out = dict(current)
        for index, direction in enumerate(self._directions):
            flipped = {}
            if "bbox" in current:
                flipped["bbox"] = flip_bbox(current["bbox"], size, "xyxy", direction)
            if "bbox_center" in current:
                flipped["bbox_center"] = flip_bbox(current["bbox_center"], size, "center", direction)
            if "keypoints" in current:
                flipped["keypoints"], vis = flip_keypoints(
                    current["keypoints"], current.get("keypoints_visible"), size[..., None],
                    sample["flip_indices"], direction)
                if vis is not None:
                    flipped["keypoints_visible"] = vis
            hit = tf.equal(choice, index)
            out = {k: select(hit, flipped[k], v) if k in flipped else v for k, v in out.items()}
        sample.update(out)

        codes = tf.constant([FLIP_DIRECTIONS.index(d) + 1 for d in self._directions] + [0], tf.int32)
        code = tf.gather(codes, choice)
        fx = tf.logical_or(tf.equal(code, 1), tf.equal(code, 3))
        fy = tf.logical_or(tf.equal(code, 2), tf.equal(code, 3))
        sample["flip_x"] = tf.math.logical_xor(sample.get("flip_x", tf.constant(False)), fx)
        sample["flip_y"] = tf.math.logical_xor(sample.get("flip_y", tf.constant(False)), fy)
        sample["flip"] = code > 0
        sample["flip_direction"] = code
        return sample

    def get_config(self) -> Dict[str, Any]:
        return {"prob": self.prob, "direction": self.direction}

    def __repr__(self) -> str:
        return f"RandomFlip(prob={self.prob!r}, direction={self.direction!r})"


def _cumsum(values: Sequence[float]):
    total = 0.0
    for v in values:
        total += v
        yield total
