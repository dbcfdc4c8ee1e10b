"""The `train` root: one straight trainer around `keras.Model.fit` under tf.distribute."""

import logging
import os
import time
from typing import Callable, Dict, Optional, Sequence, Tuple, Union

import gin
import keras
import tensorflow as tf

from kpose.datasets.pipeline import build_topdown_pipeline
from kpose.engine.checkpoint_callback import CheckpointCallback
from kpose.engine.csv_log import CSVLog
from kpose.engine.config import write_operative_config
from kpose.engine.evaluate import bind_metrics, format_results
from kpose.engine.epoch_summary import EpochSummary
from kpose.engine.evaluation_callback import EvaluationCallback
from kpose.engine.exp_momentum_ema import ExpMomentumEMA  # noqa: F401 -- gin registration
from kpose.engine.learning_rate_logger import LearningRateLogger
from kpose.engine.model_checks import check_model_fits_data
from kpose.engine.non_finite_loss_guard import NonFiniteLossGuard
from kpose.engine.pose_image_logger import PoseImageLogger
from kpose.engine.strategy import get_strategy, resolve_mixed_precision
from kpose.engine.layer_decay_adam_w import LayerDecayAdamW, configure_layer_decay  # noqa: F401
from kpose.engine.warmup_cosine_decay import WarmupCosineDecay  # noqa: F401 -- gin registration
from kpose.engine.warmup_flat_cosine_decay import WarmupFlatCosineDecay  # noqa: F401 -- gin
from kpose.engine.warmup_multi_step_decay import WarmupMultiStepDecay
from kpose.engine.weight_decay import configure_weight_decay  # noqa: F401 -- gin registration

logger = logging.getLogger(__name__)


def scale_learning_rate(schedule, factor: float):
    """`schedule` with its `base_lr` multiplied by `factor` (MMPose's auto_scale_lr).

    Like mmengine's `Runner.scale_lr`, only the base rate changes: floors given as ratios of
    it follow, absolute ones (`WarmupCosineDecay.eta_min`) stay.
    """
    if isinstance(schedule, (int, float)):
        return schedule * factor
    config = schedule.get_config() if hasattr(schedule, "get_config") else {}
    if "base_lr" not in config:
        raise ValueError(f"cannot scale the learning rate of a schedule without `base_lr`, "
                         f"received {schedule!r}")
    config["base_lr"] = config["base_lr"] * factor
    return type(schedule).from_config(config)


def _fit_stages(epochs: int, switch_epoch: Optional[int]):
    """[(stage index, last epoch)]: one stage, or two split at `switch_epoch`."""
    if switch_epoch is None or switch_epoch >= epochs:
        return [(0, epochs)]
    return [(0, switch_epoch), (1, epochs)] if switch_epoch > 0 else [(1, epochs)]


@gin.configurable(denylist=["work_dir"])
def train(
    work_dir: str,
    model: Callable = gin.REQUIRED,
    train_dataset: Callable = gin.REQUIRED,
    val_dataset: Optional[Callable] = None,
    metrics: Sequence[Callable] = (),
    train_pipeline: Callable = build_topdown_pipeline,
    val_pipeline: Callable = build_topdown_pipeline,
    optimizer: Callable = keras.optimizers.Adam,
    lr_schedule: Callable = WarmupMultiStepDecay,
    epochs: int = 210,
    batch_size: int = 64,
    val_batch_size: int = 32,
    val_interval: int = 10,
    save_best: Optional[str] = "coco/AP",
    save_best_mode: str = "max",
    strategy: str = "auto",
    mixed_precision: Optional[str] = None,
    seed: int = 0,
    prepare_data: Optional[Callable] = None,
    verbose: str = "auto",
    optimizer_setup: Optional[Union[Callable, Sequence[Callable]]] = None,
    ema: Optional[Callable] = None,
    auto_scale_lr_base_batch_size: Optional[int] = None,
    switch_epoch: Optional[int] = None,
    switch_pipeline: Optional[Callable] = None,
    image_interval: Optional[int] = None,
    num_images: int = 8,
    profile_steps: Optional[Tuple[int, int]] = None,
) -> Dict[str, float]:
    """Trains a pose estimator, evaluating and checkpointing in `work_dir`.

    Running the same command again resumes from `work_dir/checkpoints` (weights, optimizer
    state, schedule position, epoch, best metric).

    Args:
        work_dir: checkpoints, TensorBoard logs, CSV log and the operative gin config.
        model: estimator factory (gin `@TopdownPoseEstimator`); built under the strategy.
        train_dataset: training dataset factory (gin `@train/CocoStyleDataset`).
        val_dataset: evaluation dataset factory, or None to skip evaluation.
        metrics: metric factories (gin `[@CocoMetric]`).
        train_pipeline: builds the training tf.data pipeline from records (gin
            `@train/build_topdown_pipeline`, so its transforms can be bound apart).
        val_pipeline: builds the evaluation pipeline (gin `@val/build_topdown_pipeline`).
        optimizer: optimizer factory taking `learning_rate`.
        lr_schedule: schedule factory taking `steps_per_epoch`.
        epochs: total epochs.
        batch_size: per-replica training batch (global = batch_size x replicas).
        val_batch_size: per-replica evaluation batch.
        val_interval: evaluate every this many epochs (and after the last).
        save_best: metric key whose best value selects `best_*.weights.h5`.
        save_best_mode: "max" (AP, PCK) or "min" (errors such as MPJPE, NME).
        strategy: `get_strategy` kind: auto, default, mirrored, multi_worker.
        mixed_precision: None (float32), "mixed_bfloat16", "mixed_float16" or "auto"
            (bf16 on CPUs with bf16 units, see `resolve_mixed_precision`). Weights stay
            float32, so checkpoints load into float32 models for evaluation and export.
        seed: seeds Python, NumPy, TF and the pipeline's shuffling and augmentation.
        prepare_data: called first, e.g. to write the synthetic dataset if missing.
        verbose: Keras fit verbosity.
        optimizer_setup: callable(s) called as `setup(optimizer=..., model=...)` once the
            model is built and before the optimizer is: `@configure_weight_decay` exempts
            norms and biases from weight decay (MMPose's paramwise_cfg),
            `@configure_layer_decay` gives `LayerDecayAdamW` the ViT backbone's layer ids.
        ema: weight-average factory (`@ExpMomentumEMA`), or None. Its averaged weights are
            evaluated, saved as the checkpoints' weights and restored on resume.
        auto_scale_lr_base_batch_size: MMPose's `auto_scale_lr.base_batch_size`: the
            schedule's `base_lr` is multiplied by global batch / this. None: no scaling.
        switch_epoch: 0-based epoch from which `switch_pipeline` feeds training (RTMPose's
            stage 2, mmdet's PipelineSwitchHook); a resumed run past it uses it at once.
        switch_pipeline: the second training pipeline (gin `@train_stage2/build_topdown_pipeline`).
        image_interval: draw predictions on fixed validation crops into TensorBoard
            (`work_dir/tensorboard/images`, `PoseImageLogger`) every this many epochs and
            after the last; None: every `val_interval`; 0: never. Needs evaluation.
        num_images: validation crops drawn, the first of the evaluation pipeline.
        profile_steps: `(first, last)` 1-based steps of each `fit` call to trace with the
            TensorFlow profiler (TensorBoard's Profile tab, `work_dir/tensorboard/train`);
            None: no trace.
    Returns:
        The last evaluation's results.
    """
    start = time.time()
    if (switch_epoch is None) != (switch_pipeline is None):
        raise ValueError(f"switch_epoch and switch_pipeline go together, received "
                         f"switch_epoch={switch_epoch!r}, switch_pipeline={switch_pipeline!r}")
    if switch_epoch is not None and switch_epoch < 0:
        raise ValueError(f"switch_epoch must be >= 0, received {switch_epoch}")
    if image_interval is not None and (isinstance(image_interval, bool)
                                       or not isinstance(image_interval, int)
                                       or image_interval < 0):
        raise ValueError(f"image_interval must be an int >= 0 or None, "
                         f"received {image_interval!r}")
    if profile_steps is not None and (
            len(profile_steps) != 2 or not all(isinstance(s, int) for s in profile_steps)
            or not 1 <= profile_steps[0] <= profile_steps[1]):
        raise ValueError(f"profile_steps must be (first, last) steps with 1 <= first <= last, "
                         f"received {profile_steps!r}")
    if auto_scale_lr_base_batch_size is not None and auto_scale_lr_base_batch_size < 1:
        raise ValueError(f"auto_scale_lr_base_batch_size must be >= 1 or None, received "
                         f"{auto_scale_lr_base_batch_size}")
    os.makedirs(work_dir, exist_ok=True)
    keras.utils.set_random_seed(seed)
    if prepare_data is not None:
        prepare_data()
    dist = get_strategy(strategy)
    replicas = dist.num_replicas_in_sync
    train_data = train_dataset()
    val_data = val_dataset() if val_dataset is not None else None
    global_batch = batch_size * replicas
    steps_per_epoch = len(train_data) // global_batch
    if steps_per_epoch < 1:
        raise ValueError(f"the training set has {len(train_data)} instances, fewer than one "
                         f"global batch of {global_batch}")
    logger.info("%d training instances, global batch %d, %d steps per epoch",
                len(train_data), global_batch, steps_per_epoch)

    policy = resolve_mixed_precision(mixed_precision)
    previous_policy = keras.config.dtype_policy()
    if policy:
        logger.info("training with the %s dtype policy", policy)
        keras.config.set_dtype_policy(policy)
    try:
        with dist.scope():
            est = model()
    finally:
        keras.config.set_dtype_policy(previous_policy)  # layers keep the policy they got
    schedule = lr_schedule(steps_per_epoch=steps_per_epoch)
    if auto_scale_lr_base_batch_size:
        factor = global_batch / auto_scale_lr_base_batch_size
        logger.info("auto_scale_lr: global batch %d / base batch %d scales the learning rate "
                    "by %g", global_batch, auto_scale_lr_base_batch_size, factor)
        schedule = scale_learning_rate(schedule, factor)
    averager = ema() if ema is not None else None
    with dist.scope():
        if callable(getattr(est, "check_fits_data", None)):
            est.check_fits_data(train_data.meta)  # estimators of other paradigms check themselves
        else:
            check_model_fits_data(est, train_data.meta)
        est.compile(optimizer=optimizer(learning_rate=schedule))
        setups = optimizer_setup if isinstance(optimizer_setup, (list, tuple)) else (
            [optimizer_setup] if optimizer_setup is not None else [])
        for setup in setups:
            setup(optimizer=est.optimizer, model=est)
        est.optimizer.build(est.trainable_variables)
        if averager is not None:
            averager.build(est)
    codec = est.codec
    stages = _fit_stages(epochs, switch_epoch)
    pipelines = (train_pipeline, switch_pipeline)
    train_sets = {i: pipelines[i](records=train_data.records, meta=train_data.meta, codec=codec,
                                  input_size=getattr(codec, "input_size", None), train=True,
                                  batch_size=global_batch, seed=seed, repeat=True)
                  for i, _ in stages}
    callbacks = [LearningRateLogger()]
    if averager is not None:
        callbacks.append(averager)
    metric_objs = []
    val_ds = None
    if val_data is not None and metrics:
        val_ds = val_pipeline(records=val_data.records, meta=val_data.meta, codec=codec,
                          input_size=getattr(codec, "input_size", None), train=False,
                          batch_size=val_batch_size * replicas)
        metric_objs = [m() for m in metrics]
        bind_metrics(metric_objs, val_data)
        evaluator = EvaluationCallback(val_ds, metric_objs, val_interval,
                                       image_paths=val_data.records["img_path"],
                                       ema=averager, final_epoch=epochs)
        evaluator.set_model(est)
        callbacks.append(evaluator)
        interval = val_interval if image_interval is None else image_interval
        if interval:  # after the evaluation, drawing the same (EMA) weights
            callbacks.append(PoseImageLogger(
                val_ds, os.path.join(work_dir, "tensorboard", "images"), metainfo=val_data.meta,
                interval=interval, num_images=num_images, ema=averager, final_epoch=epochs))
    ckpt = CheckpointCallback(os.path.join(work_dir, "checkpoints"),
                              monitor=save_best if metric_objs else None,
                              mode=save_best_mode, ema=averager)
    callbacks += [
        NonFiniteLossGuard(),  # raises at the first NaN/Inf batch, before ckpt can save
        ckpt,
        keras.callbacks.TensorBoard(os.path.join(work_dir, "tensorboard"),
                                    profile_batch=tuple(profile_steps) if profile_steps else 0),
        EpochSummary(total_epochs=epochs),
        CSVLog(os.path.join(work_dir, "log.csv")),
    ]
    write_operative_config(work_dir)
    initial_epoch = ckpt.restore(est)
    if initial_epoch >= epochs:
        logger.info("work dir %s already holds a run of %d epochs", work_dir, initial_epoch)
    for stage, last_epoch in stages:
        if initial_epoch >= last_epoch:
            continue
        if stage == 1:
            logger.info("training with the second pipeline from epoch %d", initial_epoch + 1)
        # An endless pipeline cut into fixed epochs: skipped corrupt samples cannot end an
        # epoch early, and shuffling carries on across epochs.
        est.fit(train_sets[stage], epochs=last_epoch, initial_epoch=initial_epoch,
                steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=verbose)
        initial_epoch = last_epoch
    results = evaluator.last_results if metric_objs else {}
    if metric_objs and not results:
        results = evaluator.evaluate()
    logger.info("training finished in %.1f s", time.time() - start)
    if results:
        print(format_results(results))
    return results
