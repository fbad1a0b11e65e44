"""One training run from a `RunConfig`: data, model, fit with checkpoints and resume, final evaluation.

Layout of the model dir:
    config.json            resolved configuration with derived values (steps, lr, class counts)
    checkpoints/           last.keras (every epoch), best.keras (best on validation), state.json
    logs/                  TensorBoard
    metrics.json, *.png    test evaluation of the selected model (best on validation, else last)
"""

import json
import os
import time

import keras
import tensorflow as tf

from keras_auxlt.data.loading import load_split, make_source, summary
from keras_auxlt.data.pipeline import dual_stream, eval_dataset, single_stream
from keras_auxlt.evaluation import evaluate, write_report
from keras_auxlt.models.auxlt_model import AuxLTModel
from keras_auxlt.saving import load_model
from keras_auxlt.training.callbacks import (BEST_CHECKPOINT, LAST_CHECKPOINT, EpochCheckpoint, NonFiniteLossGuard,
                                            read_state)
from keras_auxlt.training.config import ConfigError
from keras_auxlt.training.schedules import WarmupSchedule
from keras_auxlt.training.strategy import make_strategy


def prepare_runtime(config):
    """Seeds, determinism and precision: before any model or dataset exists."""
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    if config.mixed_precision != "off":  # float16 gets a LossScaleOptimizer from compile()
        keras.mixed_precision.set_global_policy(f"mixed_{config.mixed_precision}")


def check_model_dir(model_dir):
    """Create the model dir and prove it writable before any work."""
    try:
        os.makedirs(model_dir, exist_ok=True)
        probe = os.path.join(model_dir, ".write_test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise ConfigError(f"--model_dir {model_dir!r} is not writable: {e}") from e


def load_data(config, progress=True):
    source = make_source(config.data)
    train = load_split(source, "train", config.data, progress=progress)
    val = load_split(source, "val", config.data, progress=progress) if "val" in source.split_names else None
    test = load_split(source, "test", config.data, progress=progress)
    return train, val, test


def build_model(config, train, steps_per_epoch, total_steps):
    model = AuxLTModel(
        backbone=config.model.backbone, num_classes=train.num_classes, image_size=config.pipeline.image_size,
        aux_tasks=config.aux_tasks, aux_weights=config.model.aux_weights or None,
        lambda_schedule=config.model.lambda_schedule, total_steps=total_steps,
        aux_detach_features=config.model.aux_detach_features, class_counts=train.class_counts.tolist(),
        weight_decay=config.optim.weight_decay, seed=config.seed, sync_batch_norm=config.model.sync_batch_norm,
        primary_loss=config.primary_loss, drw_start_step=config.drw_start_epoch * steps_per_epoch,
        freeze_backbone=bool(config.init_from))
    model.build((None, config.pipeline.image_size, config.pipeline.image_size, 3))
    if config.init_from:
        load_backbone_from(model, config.init_from)
    return model


def load_backbone_from(model, run_dir):
    """Copy the backbone weights of another run's last checkpoint (the first stage of crt)."""
    path = os.path.join(run_dir, "checkpoints", LAST_CHECKPOINT)
    if not os.path.isfile(path):
        raise ConfigError(f"--init_from {run_dir!r}: no checkpoint {path}")
    source = load_model(path)
    if source.backbone_name != model.backbone_name or source.num_classes != model.num_classes:
        raise ConfigError(f"--init_from {run_dir!r}: its model ({source.backbone_name}, {source.num_classes} classes) "
                         f"does not match this run ({model.backbone_name}, {model.num_classes} classes)")
    model.backbone.set_weights(source.backbone.get_weights())


def make_optimizer(config, steps_per_epoch, total_steps):
    optim = config.optim
    schedule = WarmupSchedule(
        base_lr=optim.scaled_learning_rate(config.pipeline.batch_size),
        warmup_steps=round(optim.warmup_epochs * steps_per_epoch), total_steps=total_steps, kind=optim.schedule,
        boundaries=[m * steps_per_epoch for m in optim.lr_milestones], factors=optim.lr_factors)
    return keras.optimizers.SGD(learning_rate=schedule, momentum=optim.momentum)


def training_stream(config, train, start_step):
    if len(config.streams) == 2:
        return dual_stream(train, config.pipeline, start_step)
    return single_stream(train, config.pipeline, sampler=config.streams[0], start_step=start_step)


def resolved_config(config, train, steps_per_epoch, total_steps, num_replicas):
    return {
        **config.to_dict(),
        "derived": {
            "num_train_images": len(train), "class_counts": train.class_counts.tolist(),
            "class_names": list(train.class_names), "steps_per_epoch": steps_per_epoch, "total_steps": total_steps,
            "learning_rate": config.optim.scaled_learning_rate(config.pipeline.batch_size),
            "images_per_step": config.pipeline.batch_size * len(config.streams), "num_replicas": num_replicas,
            "aux_tasks": list(config.aux_tasks), "primary_loss": config.primary_loss, "train_summary": summary(train),
        },
    }


def run(config, progress=True):
    """Train (or resume) and evaluate; returns the test metrics dict written to metrics.json."""
    prepare_runtime(config)
    strategy = make_strategy(config.strategy)
    config.check(strategy.num_replicas_in_sync)
    check_model_dir(config.model_dir)
    train, val, test = load_data(config, progress=progress)
    steps = config.steps_per_epoch(len(train))
    total_steps = steps * config.epochs
    with open(os.path.join(config.model_dir, "config.json"), "w") as f:
        json.dump(resolved_config(config, train, steps, total_steps, strategy.num_replicas_in_sync), f, indent=2)

    checkpoint_dir = os.path.join(config.model_dir, "checkpoints")
    last = os.path.join(checkpoint_dir, LAST_CHECKPOINT)
    with strategy.scope():
        if os.path.isfile(last):
            model = load_model(last)
        else:
            model = build_model(config, train, steps, total_steps)
            model.compile(optimizer=make_optimizer(config, steps, total_steps), jit_compile=False)  # XLA: slower on CPU
    # The checkpoint's own step counter says where to resume (state.json could lag it by a crash).
    done_steps = int(model.optimizer.iterations.numpy())
    initial_epoch = done_steps // steps
    if done_steps:
        print(f"[train] resuming from {last}: {initial_epoch} of {config.epochs} epochs done (step {done_steps})")

    started = time.time()
    if initial_epoch < config.epochs:
        callbacks = [NonFiniteLossGuard(checkpoint_dir), EpochCheckpoint(checkpoint_dir),
                     keras.callbacks.TensorBoard(os.path.join(config.model_dir, "logs"), update_freq="epoch")]
        model.fit(training_stream(config, train, initial_epoch * steps), epochs=config.epochs,
                  initial_epoch=initial_epoch, steps_per_epoch=steps, callbacks=callbacks, verbose=config.verbose, shuffle=False,
                  validation_data=eval_dataset(val, config.pipeline) if val is not None else None)
    train_seconds = time.time() - started

    selected = BEST_CHECKPOINT if val is not None else LAST_CHECKPOINT
    final = load_model(os.path.join(checkpoint_dir, selected)) if val is not None else model
    metrics, confusion = evaluate(final, test, train.class_counts, config.pipeline, progress=progress)
    done_steps = int(model.optimizer.iterations.numpy())  # the same counter that decides resumption
    metrics.update({
        "method": config.method, "aux_tasks": list(config.aux_tasks), "checkpoint": selected,
        "epochs": done_steps // steps, "steps": done_steps,
        "best_epoch": (read_state(checkpoint_dir) or {}).get("best_epoch"),
        "train_seconds_this_run": round(train_seconds, 1),
        "images_seen": done_steps * config.pipeline.batch_size * len(config.streams)})
    write_report(config.model_dir, metrics, confusion)
    print(f"[train] test top-1 {metrics['overall']:.4f} (many {_fmt(metrics['many'])}, medium "
          f"{_fmt(metrics['medium'])}, few {_fmt(metrics['few'])}) -> {os.path.join(config.model_dir, 'metrics.json')}")
    return metrics


def _fmt(value):
    return "n/a" if value is None else f"{value:.4f}"
