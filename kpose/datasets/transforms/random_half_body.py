"""RandomHalfBody: at random, re-centre the box on the upper or the lower body."""

from typing import Any, Dict

import gin
import tensorflow as tf

from kpose.datasets.transforms._utils import (check_probability, require_keys, seed_of, select,
                                              split_seed, uniform)


@gin.register
class RandomHalfBody:
    """Replace the box by the box of the visible upper- or lower-body keypoints (MMPose's).

    Applies, with probability `prob`, to an instance with at least `min_total_keypoints`
    visible keypoints. The half is the upper body with probability
    `upper_prioritized_prob`, unless that half has too few visible keypoints
    (`min_upper_keypoints` / `min_lower_keypoints`), in which case the other half is
    taken (or nothing, if both are short). The new `bbox_center` is the mean of the
    half's visible keypoints and `bbox_scale` their extent x `padding`.

    Reads `keypoints` (K, 2), `keypoints_visible` (K,), `upper_body_ids`,
    `lower_body_ids`, `bbox_center`, `bbox_scale`, `seed`; writes `bbox_center`,
    `bbox_scale` and `half_body` (bool).

    `draw(seed)` and `apply(sample, draws)` split the call into its random numbers
    (per sample) and its arithmetic, which also runs on a batch of samples at once
    (the pipeline's vectorised path).

    Args:
        min_total_keypoints: minimum visible keypoints for the transform to apply.
        min_upper_keypoints: minimum visible upper-body keypoints to use the upper half.
        min_lower_keypoints: minimum visible lower-body keypoints to use the lower half.
        padding: factor on the half-body keypoints' extent.
        prob: probability of applying the transform to an eligible instance.
        upper_prioritized_prob: probability of preferring the upper half.
    """

    def __init__(self, min_total_keypoints: int = 9, min_upper_keypoints: int = 2,
                 min_lower_keypoints: int = 3, padding: float = 1.5, prob: float = 0.3,
                 upper_prioritized_prob: float = 0.7) -> None:
        for name, value in (("min_total_keypoints", min_total_keypoints),
                            ("min_upper_keypoints", min_upper_keypoints),
                            ("min_lower_keypoints", min_lower_keypoints)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, received {value!r}")
        if isinstance(padding, bool) or not isinstance(padding, (int, float)) or padding <= 0:
            raise ValueError(f"padding must be a positive number, received {padding!r}")
        self.min_total_keypoints = min_total_keypoints
        self.min_upper_keypoints = min_upper_keypoints
        self.min_lower_keypoints = min_lower_keypoints
        self.padding = float(padding)
        self.prob = check_probability("prob", prob)
        self.upper_prioritized_prob = check_probability("upper_prioritized_prob", upper_prioritized_prob)

    def __call__(self, sample: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        return self.apply(sample, self.draw(seed_of(sample, "RandomHalfBody")))

    def draw(self, seed: tf.Tensor) -> Dict[str, tf.Tensor]:
        """The sample's random numbers from its stateless `seed` (2,): apply / prefer-upper coins."""
        seeds = split_seed({"seed": seed}, 2, "RandomHalfBody")
        return {"apply": uniform(seeds[0]), "upper": uniform(seeds[1])}

    def apply(self, sample: Dict[str, tf.Tensor], draws: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """The transform with the numbers of `draw`; `sample` and `draws` may carry a
        leading batch axis B (the body-part ids stay unbatched), same numbers per sample."""
        sample = dict(sample)
        require_keys(sample, ["keypoints", "keypoints_visible", "upper_body_ids", "lower_body_ids",
                              "bbox_center", "bbox_scale"], "RandomHalfBody",
                     "Put GetBBoxCenterScale first.")
        keypoints = tf.cast(sample["keypoints"], tf.float32)[..., :2]
        visible = tf.cast(sample["keypoints_visible"], tf.float32) > 0
        k = tf.shape(visible)[-1]

        def half_mask(ids):
            ids = tf.reshape(tf.cast(ids, tf.int32), [-1])
            member = tf.reduce_any(tf.equal(tf.range(k)[:, None], ids[None, :]), axis=1)
            return tf.logical_and(member, visible)

        upper, lower = half_mask(sample["upper_body_ids"]), half_mask(sample["lower_body_ids"])
        num_total = tf.reduce_sum(tf.cast(visible, tf.int32), axis=-1)
        num_upper = tf.reduce_sum(tf.cast(upper, tf.int32), axis=-1)
        num_lower = tf.reduce_sum(tf.cast(lower, tf.int32), axis=-1)
        upper_ok = num_upper >= self.min_upper_keypoints
        lower_ok = num_lower >= self.min_lower_keypoints
        prefer_upper = draws["upper"] < self.upper_prioritized_prob
        apply = ((num_total >= self.min_total_keypoints) & (draws["apply"] <= self.prob)
                 & (upper_ok | lower_ok))
        use_upper = tf.where(upper_ok & lower_ok, prefer_upper, upper_ok)
        mask = select(use_upper, upper, lower)

        maskf = tf.cast(mask, tf.float32)[..., None]  # (..., K, 1)
        count = tf.maximum(tf.reduce_sum(maskf, axis=-2), 1.0)
        center = tf.reduce_sum(keypoints * maskf, axis=-2) / count
        big = tf.constant(3.0e38)
        low = tf.reduce_min(tf.where(mask[..., None], keypoints, big), axis=-2)
        high = tf.reduce_max(tf.where(mask[..., None], keypoints, -big), axis=-2)
        scale = (high - low) * self.padding

        sample["bbox_center"] = select(apply, center, tf.cast(sample["bbox_center"], tf.float32))
        sample["bbox_scale"] = select(apply, scale, tf.cast(sample["bbox_scale"], tf.float32))
        sample["half_body"] = apply
        return sample

    def get_config(self) -> Dict[str, Any]:
        return {"min_total_keypoints": self.min_total_keypoints,
                "min_upper_keypoints": self.min_upper_keypoints,
                "min_lower_keypoints": self.min_lower_keypoints, "padding": self.padding,
                "prob": self.prob, "upper_prioritized_prob": self.upper_prioritized_prob}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"RandomHalfBody({args})"
