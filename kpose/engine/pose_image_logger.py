"""TensorBoard images of predictions on a fixed set of validation crops, every N epochs."""

import logging
from typing import Any, Dict, Optional

import gin
import keras
import numpy as np
import tensorflow as tf

from kpose.visualization.draw import draw_heatmap_overlay, draw_keypoints

logger = logging.getLogger(__name__)

KEYPOINTS_TAG = "keypoints/ground_truth_vs_prediction"
HEATMAPS_TAG = "heatmaps/target_vs_prediction"
_GAP = 2  # white columns between the two halves of a panel


def _crop_keypoints(keypoints: np.ndarray, center: np.ndarray, scale: np.ndarray,
                   input_size) -> np.ndarray:
    """Maps (B, K, 2) image pixels into the crops of the evaluation warp.

    The inverse of the estimator's crop -> image mapping (`predict` with meta): the warp
    sends the box `center +- scale / 2` onto the `input_size` (w, h) crop, without rotation.
    """
    center = np.asarray(center, np.float32)[:, None, :]
    scale = np.asarray(scale, np.float32)[:, None, :]
    size = np.asarray(input_size, np.float32)
    return (np.asarray(keypoints, np.float32)[..., :2] - center + 0.5 * scale) / scale * size


def _side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    gap = np.full((left.shape[0], _GAP, 3), 255, np.uint8)
    return np.concatenate([left, gap, right], axis=1)


def _keypoint_maps(heatmaps: np.ndarray, num_keypoints: int) -> np.ndarray:
    """The channels of (h, w, C) maps that are keypoint heatmaps (UDP 'combined' keeps
    its disks at channels 3k and offsets beside them)."""
    if heatmaps.shape[-1] == 3 * num_keypoints:
        return heatmaps[..., 0::3]
    return heatmaps


@gin.register
class PoseImageLogger(keras.callbacks.Callback):
    """Draws predictions on fixed validation crops into TensorBoard every `interval` epochs.

    The first `num_images` crops of the evaluation pipeline are read once and drawn after
    every `interval`-th epoch and after the last, with the weights that are evaluated (the
    EMA's when `ema` is given), through `predict_outputs` (flip test as in evaluation).
    Images written (step = 0-based epoch, as Keras' TensorBoard scalars):

    - `keypoints/ground_truth_vs_prediction` (N, H, 2W + 2, 3): labelled ground truth on
      the left, decoded keypoints scoring at least `kpt_thr` on the right, in the dataset's
      keypoint and link colours.
    - `heatmaps/target_vs_prediction` (N, H, 2W + 2, 3), heatmap heads only (a single
      (B, h, w, C) output): the codec's target and the predicted heatmaps, each the maximum
      over K scaled to its peak, blended onto the crop. Coordinate heads (SimCC, RLE, ...)
      get the keypoint panel only.

    Under multi-worker training only the worker that saves summaries draws.

    Args:
        dataset: evaluation pipeline of `(images (B, H, W, 3), meta)` batches whose meta
            holds `center`, `scale` (B, 2), `gt_keypoints` (B, K, 2) in image pixels and
            `keypoints_visible` (B, K) (`build_topdown_pipeline(train=False)`).
        log_dir: summary directory (the trainer's is `work_dir/tensorboard/images`).
        metainfo: `DatasetMeta` giving colours and skeleton links; None draws points in one
            colour and no links.
        interval: draw after every this many epochs (>= 1).
        num_images: crops to draw, the first of `dataset` (>= 1).
        kpt_thr: predicted keypoints scoring below this are not drawn.
        ema: an `ExpMomentumEMA` whose averaged weights are drawn, or None.
        final_epoch: the run's last epoch, always drawn; None takes `fit`'s `epochs`.
        radius: keypoint circle radius in crop pixels.
        thickness: link width in crop pixels.
    """

    def __init__(self, dataset: tf.data.Dataset, log_dir: str, metainfo: Any = None,
                 interval: int = 1, num_images: int = 8, kpt_thr: float = 0.3, ema=None,
                 final_epoch: Optional[int] = None, radius: int = 2, thickness: int = 1):
        super().__init__()
        for name, value in (("interval", interval), ("num_images", num_images),
                            ("radius", radius), ("thickness", thickness)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, received {value!r}")
        if final_epoch is not None and final_epoch < 1:
            raise ValueError(f"final_epoch must be >= 1 or None, received {final_epoch!r}")
        if not 0.0 <= float(kpt_thr) <= 1.0:
            raise ValueError(f"kpt_thr must be in [0, 1], received {kpt_thr!r}")
        self.dataset = dataset
        self.log_dir = log_dir
        self.metainfo = metainfo
        self.interval = interval
        self.num_images = num_images
        self.kpt_thr = float(kpt_thr)
        self.ema = ema
        self.final_epoch = final_epoch
        self.radius = radius
        self.thickness = thickness
        self._batch = None
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        done = epoch + 1
        final = self.final_epoch if self.final_epoch is not None else self.params.get("epochs")
        if done % self.interval and done != final:
            return
        strategy = getattr(self.model, "distribute_strategy", None) or tf.distribute.get_strategy()
        if not strategy.extended.should_save_summary:
            return
        self.log_images(step=epoch)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.flush()

    def fixed_batch(self) -> Dict[str, np.ndarray]:
        """The drawn crops, read from `dataset` on first use: `images` (N, H, W, 3) and the
        numeric meta entries as numpy arrays."""
        if self._batch is None:
            parts = []
            count = 0
            for images, meta in self.dataset:
                parts.append({"images": images.numpy(),
                              **{k: v.numpy() for k, v in meta.items() if v.dtype != tf.string}})
                count += int(images.shape[0])
                if count >= self.num_images:
                    break
            if not parts:
                raise ValueError("the image logger's dataset is empty")
            missing = {"center", "scale", "gt_keypoints", "keypoints_visible"} - set(parts[0])
            if missing:
                raise ValueError(f"the image logger needs meta with center, scale, gt_keypoints "
                                 f"and keypoints_visible; missing {sorted(missing)}")
            self._batch = {k: np.concatenate([p[k] for p in parts])[:self.num_images]
                           for k in parts[0]}
        return self._batch

    def render(self) -> Dict[str, np.ndarray]:
        """The panels for the current weights: `{tag: (N, H, 2W + 2, 3) uint8}`."""
        batch = self.fixed_batch()
        if self.ema is None:
            return self._render(batch)
        with self.ema.swapped():
            return self._render(batch)

    def log_images(self, step: int) -> Dict[str, np.ndarray]:
        """Renders the panels and writes them to `log_dir` at `step`; returns them."""
        panels = self.render()
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        with self._writer.as_default(), tf.summary.record_if(True):
            for tag, images in panels.items():
                tf.summary.image(tag, images, step=step, max_outputs=len(images))
        self._writer.flush()
        return panels

    def _render(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        model = self.model
        images = batch["images"]
        height, width = images.shape[1:3]
        predict = getattr(model, "predict_outputs", None)
        outputs = predict(tf.constant(images)) if predict else model(images, training=False)
        split = getattr(model.head, "split_outputs", None)
        if callable(split):  # VisPredictHead: the codec decodes the pose part
            outputs, _ = split(outputs)
        keypoints, scores = model.codec.batch_decode(outputs)
        keypoints, scores = np.asarray(keypoints), np.asarray(scores)
        gt = _crop_keypoints(batch["gt_keypoints"], batch["center"], batch["scale"],
                            (width, height))
        visible = np.asarray(batch["keypoints_visible"], np.float32)
        draw = dict(metainfo=self.metainfo, radius=self.radius, thickness=self.thickness)
        panels = {KEYPOINTS_TAG: np.stack([
            _side_by_side(draw_keypoints(img, g, v, kpt_thr=0.5, **draw),
                          draw_keypoints(img, p, s, kpt_thr=self.kpt_thr, **draw))
            for img, g, v, p, s in zip(images, gt, visible, keypoints, scores)])}
        is_heatmap = not isinstance(outputs, (tuple, list, dict)) and len(outputs.shape) == 4
        if is_heatmap and callable(getattr(model.codec, "encode", None)):
            predicted = np.asarray(outputs, np.float32)
            num_keypoints = gt.shape[1]
            rows = []
            for img, g, v, heatmaps in zip(images, gt, visible, predicted):
                target = model.codec.encode(g[None], v[None])["heatmaps"]
                rows.append(_side_by_side(
                    draw_heatmap_overlay(img, _keypoint_maps(np.asarray(target), num_keypoints)),
                    draw_heatmap_overlay(img, _keypoint_maps(heatmaps, num_keypoints))))
            panels[HEATMAPS_TAG] = np.stack(rows)
        return panels
