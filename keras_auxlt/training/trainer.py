"""One training run from a `RunConfig`: data, model, fit with checkpoints and resume, final evaluation.

What it writes into the model dir is laid out in keras_auxlt/run_files.py. Multi-worker runs: only
the chief writes there; the other workers read its checkpoints to resume and write into a temporary
directory of their own, removed when they finish.
"""

import dataclasses
import hashlib
import os
import shutil
import tempfile
import time

import keras
import tensorflow as tf

from keras_auxlt import fingerprint
from keras_auxlt.data.decoding import JPEG_DCT
from keras_auxlt.data.loading import has_validation, load_split, make_source, summary
from keras_auxlt.data.pipeline import dual_stream, eval_dataset, single_stream
from keras_auxlt.models.auxlt_model import AuxLTModel
from keras_auxlt.models.backbones import STRIDED_PADDING
from keras_auxlt.models.bbn_model import BBNModel
from keras_auxlt.provenance import code_version
from keras_auxlt.run_files import (
    CONFIG_FILE,
    INFERENCE_CHECKPOINT,
    LAST_CHECKPOINT,
    LOG_DIR,
    METRICS_FILE,
    checkpoint_dir,
    has_finished,
    progress,
    read_run_config,
    write_json,
)
from keras_auxlt.training.callbacks import (
    NonFiniteLossGuard,
    ProgressReport,
    TrainingCheckpoint,
)
from keras_auxlt.training.config import ConfigError
from keras_auxlt.training.finalise import finalise
from keras_auxlt.training.optimizers import TorchSGD
from keras_auxlt.training.rerun import check_same_data, check_same_settings, rerun_record
from keras_auxlt.training.run_summary import print_summary, summary_lines
from keras_auxlt.training.saving import load_model
from keras_auxlt.training.schedules import WarmupSchedule
from keras_auxlt.training.stop_signals import TrainingInterrupted, stop_on_signals
from keras_auxlt.training.strategy import make_strategy, worker_role

# Space a run needs at start: its checkpoints (model + optimizer, written next to the old one
# before the rename) and logs, estimated from the parameter count; at least this many bytes.
MIN_FREE_BYTES = 64 * 2**20


def prepare_runtime(config):
    """Seeds, determinism and precision: before any model or dataset exists."""
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    if config.mixed_precision != "off":  # float16 gets a LossScaleOptimizer from compile()
        keras.mixed_precision.set_global_policy(f"mixed_{config.mixed_precision}")


def check_model_dir(model_dir, needed_bytes=MIN_FREE_BYTES):
    """Create the model dir, prove it writable and roomy enough, before any work."""
    try:
        os.makedirs(model_dir, exist_ok=True)
        probe = os.path.join(model_dir, ".write_test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
        free = shutil.disk_usage(model_dir).free
    except OSError as e:
        raise ConfigError(f"--model_dir {model_dir!r} is not writable: {e}") from e
    if free < needed_bytes:
        raise ConfigError(f"--model_dir {model_dir!r}: only {free / 2**20:.0f} MiB free on its disk; this run's "
                          f"checkpoints and logs need about {needed_bytes / 2**20:.0f} MiB")


def checkpoint_bytes(model):
    """Disk a run needs: two copies (old + new while saving) of last.keras and best.keras, with optimizer state."""
    return max(MIN_FREE_BYTES, 4 * 3 * 4 * model.count_params())


def weights_fingerprint(model):
    """A short hash of every weight: equal on every worker of a multi-worker run when they agree."""
    digest = hashlib.sha256()
    for weight in model.weights:
        digest.update(weight.numpy().tobytes())
    return digest.hexdigest()[:16]


def load_data(config, progress=True):
    source = make_source(config.data)
    train = load_split(source, "train", config.data, progress=progress)
    val = load_split(source, "val", config.data, progress=progress) if has_validation(source, config.data) else None
    test = load_split(source, "test", config.data, progress=progress)
    return train, val, test


def build_model(config, train, steps_per_epoch, total_steps):
    source = load_init_source(config.init_from) if config.init_from else None
    model_class, extra = AuxLTModel, {}
    if config.model_kind == "bbn":
        model_class, extra = BBNModel, {"steps_per_epoch": steps_per_epoch}
    model = model_class(
        backbone=config.model.backbone, num_classes=train.num_classes, image_size=config.pipeline.image_size,
        aux_tasks=config.aux_tasks, aux_weights=config.model.aux_weights or None,
        lambda_schedule=config.model.lambda_schedule, total_steps=total_steps,
        aux_detach_features=config.model.aux_detach_features, class_counts=train.class_counts.tolist(),
        weight_decay=config.optim.weight_decay, seed=config.seed, sync_batch_norm=config.model.sync_batch_norm,
        primary_loss=config.primary_loss, drw_start_step=config.drw_start_epoch * steps_per_epoch,
        freeze_backbone=bool(config.init_from), stream_batch_norm=config.model.stream_batch_norm,
        mixup_alpha=config.model.mixup_alpha, mixup_streams=config.model.mixup_streams,
        single_stream=config.streams[0] if len(config.streams) == 1 else "random",
        strided_padding=source.strided_padding if source else STRIDED_PADDING,  # the reused weights' padding
        classifier=config.classifier, classifier_lr_factor=config.classifier_lr_factor,
        label_smoothing=config.model.label_aware_smoothing, **extra)
    model.build((None, config.pipeline.image_size, config.pipeline.image_size, 3))
    if source:
        copy_backbone(source, model, config.init_from)
        if config.model.crt_classifier == "lws":
            copy_classifier(source, model, config.init_from)
    return model


def load_init_source(run_dir):
    """Another run's last checkpoint, whose backbone the first stage of crt reuses."""
    path = os.path.join(checkpoint_dir(run_dir), LAST_CHECKPOINT)
    if not os.path.isfile(path):
        raise ConfigError(f"--init_from {run_dir!r}: no checkpoint {path}")
    if not has_finished(run_dir):  # its last checkpoint is a backbone half trained
        reached = progress(run_dir)
        raise ConfigError(f"--init_from {run_dir!r}: that run has not finished ({reached or 'no ' + METRICS_FILE}): "
                          "rerun its command to finish it, or give --stage_one_flagfile (its recipe) to train it first")
    return load_model(path)


def copy_backbone(source, model, run_dir):
    if source.backbone_name != model.backbone_name or source.num_classes != model.num_classes:
        raise ConfigError(f"--init_from {run_dir!r}: its model ({source.backbone_name}, {source.num_classes} classes) "
                         f"does not match this run ({model.backbone_name}, {model.num_classes} classes)")
    model.backbone.set_weights(source.backbone.get_weights())


def copy_classifier(source, model, run_dir):
    """The first stage's linear classifier into the second stage's (scaled) one: MiSLAS's stage 2 fine-tunes it."""
    kind = "BBN's" if isinstance(source, BBNModel) else source.classifier
    if kind != "linear":
        raise ConfigError(f"--crt_classifier=lws: --init_from {run_dir!r} has a {kind} classifier, not a linear one to "
                          "fine-tune; use --crt_classifier=fresh")
    model.primary_head.kernel.assign(source.primary_head.kernel)
    model.primary_head.bias.assign(source.primary_head.bias)


def make_optimizer(config, steps_per_epoch, total_steps):
    optim = config.optim
    schedule = WarmupSchedule(
        base_lr=optim.scaled_learning_rate(config.pipeline.batch_size),
        warmup_steps=round(optim.warmup_epochs * steps_per_epoch), total_steps=total_steps, kind=optim.schedule,
        boundaries=[m * steps_per_epoch for m in optim.lr_milestones], factors=optim.lr_factors)
    return TorchSGD(learning_rate=schedule, momentum=optim.momentum)  # the reference code's momentum form


def training_stream(config, train, start_step, shard=(0, 1)):
    if len(config.streams) == 2:
        return dual_stream(train, config.pipeline, start_step, shard)
    return single_stream(train, config.pipeline, stream=config.streams[0], start_step=start_step, shard=shard)


def training_data(config, train, start_step, strategy, role):
    """What `fit` consumes. One worker: the global batches (the strategy splits them over its replicas).
    Several workers: each builds only its rows of every global batch (its shard of the same stateless
    sample, so the cluster sees exactly the single-process batches), split over its local replicas."""
    if role.num_workers == 1:
        return training_stream(config, train, start_step)

    def worker_stream(context):
        stream = training_stream(config, train, start_step,
                                 shard=(context.input_pipeline_id, context.num_input_pipelines))
        return stream.rebatch(context.get_per_replica_batch_size(config.pipeline.batch_size))

    return strategy.distribute_datasets_from_function(worker_stream)


def resolved_config(config, train, val, steps_per_epoch, total_steps, num_replicas):
    return {
        **config.to_dict(),
        "derived": {
            "num_train_images": len(train), "class_counts": train.class_counts.tolist(),
            "class_names": list(train.class_names), "steps_per_epoch": steps_per_epoch, "total_steps": total_steps,
            "learning_rate": config.optim.scaled_learning_rate(config.pipeline.batch_size),
            "images_per_step": config.pipeline.batch_size * len(config.streams), "num_replicas": num_replicas,
            "aux_tasks": list(config.aux_tasks), "primary_loss": config.primary_loss, "train_summary": summary(train),
            "val_summary": summary(val) if val is not None else None, "jpeg_dct": JPEG_DCT,
            "code": code_version(),
        },
    }


def run(config, progress=True):
    """Train (or resume) and evaluate; returns the test metrics dict written to metrics.json
    (an empty dict on the non-chief workers of a multi-worker run, which do not evaluate)."""
    strategy = make_strategy(config.strategy)  # first: a multi-worker strategy must precede any TF op
    policy = keras.config.dtype_policy()
    prepare_runtime(config)
    role = worker_role(strategy)
    config.check(strategy.num_replicas_in_sync)
    if role.num_workers > 1 and config.pipeline.batch_size % role.num_workers:
        raise ConfigError(f"--batch_size {config.pipeline.batch_size} must be a multiple of the worker count "
                          f"({role.num_workers})")
    write_dir = config.model_dir if role.is_chief else tempfile.mkdtemp(prefix=f"auxlt-{role.name}-")
    try:
        check_model_dir(write_dir)
        return _run(config, strategy, role, write_dir, progress)
    finally:
        keras.config.set_dtype_policy(policy)  # the caller's, whatever precision this run trained in
        if not role.is_chief:
            shutil.rmtree(write_dir, ignore_errors=True)


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a run resolved before it builds anything: its data, its step counts, the resolved config it writes,
    and the config.json of the run it resumes (None for a new run)."""

    train: object
    val: object
    test: object
    steps: int
    total_steps: int
    resolved: dict
    started: dict = None


def _run(config, strategy, role, write_dir, progress):
    """resume -> build -> fit -> finalise."""
    plan = resolve(config, strategy, progress)
    model, done_steps = resume_or_build(config, plan, strategy, role, write_dir)
    done_steps, train_seconds = fit(config, plan, model, done_steps, strategy, role, write_dir)
    print(f"[train] {role.name}: step {done_steps}, weights fingerprint {weights_fingerprint(model)}", flush=True)
    if not role.is_chief:
        return {}
    return finalise(config, model, checkpoint_dir(write_dir), plan.train, plan.val, plan.test, plan.steps,
                    plan.total_steps, done_steps, train_seconds, role.num_workers, progress)


def resolve(config, strategy, progress):
    """The Plan: a rerun's settings checked against the run it resumes, the data read and checked too."""
    last = os.path.join(checkpoint_dir(config.model_dir), LAST_CHECKPOINT)  # the chief's: every worker resumes from it
    config_file = os.path.join(config.model_dir, CONFIG_FILE)
    started = read_run_config(config.model_dir) if os.path.isfile(last) and os.path.isfile(config_file) else None
    if started:  # a rerun: it must ask for the run its checkpoint holds
        check_same_settings(started, config.to_dict(), config_file)
    train, val, test = load_data(config, progress=progress)
    if config.inference_statistics == "auto" and val is None:
        raise ConfigError("--inference_statistics=auto chooses the BatchNorm statistics on a validation split, and "
                          f"{config.data.data_dir or config.data.dataset} has none: add --val_per_class=K "
                          "(or name the source: as_trained, joint, balanced or random)")
    if config.inference_head == "fused" and val is None:
        raise ConfigError("--inference_head=fused chooses how to mix the heads on a validation split, and "
                          f"{config.data.data_dir or config.data.dataset} has none: add --val_per_class=K")
    steps = config.steps_per_epoch(len(train))
    total_steps = steps * config.epochs
    resolved = resolved_config(config, train, val, steps, total_steps, strategy.num_replicas_in_sync)
    if started:
        check_same_data(started, resolved["derived"], config_file)
    return Plan(train, val, test, steps, total_steps, resolved, started)


def resume_or_build(config, plan, strategy, role, write_dir):
    """(model, steps done): the run's last checkpoint, or a new compiled model; config.json written."""
    last = os.path.join(checkpoint_dir(config.model_dir), LAST_CHECKPOINT)
    checkpoints = checkpoint_dir(write_dir)
    with strategy.scope():
        if os.path.isfile(last):
            model = load_model(last)
        else:
            model = build_model(config, plan.train, plan.steps, plan.total_steps)
            model.compile(optimizer=make_optimizer(config, plan.steps, plan.total_steps),
                          jit_compile=False)  # XLA: slower on CPU
    check_model_dir(write_dir, checkpoint_bytes(model))
    stale = os.path.join(checkpoints, INFERENCE_CHECKPOINT)
    if os.path.isfile(stale):  # from an earlier ending of this run: remade (or not) after this one
        os.remove(stale)
    fingerprint.remove(checkpoints)  # rewritten when this run ends
    # The checkpoint's own step counter says where to resume (state.json could lag it by a crash).
    done_steps = int(model.optimizer.iterations.numpy())
    resolved = plan.resolved
    resolved["derived"]["strided_padding"] = model.strided_padding  # the model's: a checkpoint keeps its own
    if model.primary_loss == "drw":  # likewise
        resolved["derived"]["drw_normalisation"] = model.drw_normalisation
    write_json(os.path.join(write_dir, CONFIG_FILE),
               rerun_record(plan.started, resolved, done_steps) if plan.started else resolved)
    if role.is_chief:
        print_summary(summary_lines(config, plan.train, plan.val, plan.test, model, plan.steps, plan.total_steps,
                                    strategy, done_steps))
    if done_steps >= plan.total_steps:
        print(f"[train] {last} has finished training (step {done_steps} of {plan.total_steps}): evaluating only")
    elif done_steps:
        print(f"[train] resuming from {last}: step {done_steps} of {plan.total_steps} "
              f"(epoch {done_steps // plan.steps + 1} of {config.epochs}, step {done_steps % plan.steps + 1} of "
              f"{plan.steps})")
    return model, done_steps


def fit(config, plan, model, done_steps, strategy, role, write_dir):
    """Train from `done_steps` to the end, checkpointing; (steps done, seconds spent)."""
    steps, total_steps = plan.steps, plan.total_steps
    started = time.time()
    checkpoints = checkpoint_dir(write_dir)
    checkpoint = TrainingCheckpoint(checkpoints, every_steps=config.checkpoint_every_steps)
    callbacks = [NonFiniteLossGuard(checkpoints), checkpoint,
                 ProgressReport(total_steps, steps) if role.is_chief else keras.callbacks.Callback(),
                 keras.callbacks.TensorBoard(os.path.join(write_dir, LOG_DIR), update_freq="epoch")]
    validation = eval_dataset(plan.val, config.pipeline) if plan.val is not None else None
    with stop_on_signals(checkpoint):  # Ctrl-C / SIGTERM: checkpoint the step reached, then stop
        while done_steps < total_steps:
            # A run stopped mid-epoch first finishes that epoch (its remaining steps only), then goes on by epochs.
            epoch, into_epoch = divmod(done_steps, steps)
            last_epoch = epoch + 1 if into_epoch else config.epochs
            model.fit(training_data(config, plan.train, done_steps, strategy, role), initial_epoch=epoch,
                      epochs=last_epoch, steps_per_epoch=steps - into_epoch if into_epoch else steps,
                      callbacks=callbacks, verbose=config.verbose, shuffle=False, validation_data=validation)
            before, done_steps = done_steps, int(model.optimizer.iterations.numpy())
            if done_steps == before:
                raise RuntimeError(f"training stopped making progress at step {done_steps} of {total_steps}")
    if checkpoint.stop_requested:  # the signal came after the last step (validation, checkpointing)
        raise TrainingInterrupted(f"training finished (step {done_steps:,}) but was stopped before evaluating: rerun "
                                  "the same command to evaluate", checkpoint.stop_requested)
    return done_steps, time.time() - started
