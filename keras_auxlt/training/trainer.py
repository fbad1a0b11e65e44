"""One training run from a `RunConfig`: data, model, fit with checkpoints and resume, final evaluation.

What it writes into the model dir is laid out in keras_auxlt/run_files.py. Multi-worker runs: only
the chief writes there; the other workers read its checkpoints to resume and write into a temporary
directory of their own, removed when they finish.
"""

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
from keras_auxlt.evaluation import evaluate, top1_groups, write_report
from keras_auxlt.models.auxlt_model import AuxLTModel
from keras_auxlt.models.backbones import STRIDED_PADDING
from keras_auxlt.models.bbn_model import BBNModel
from keras_auxlt.provenance import code_version
from keras_auxlt.run_files import (
    BEST_CHECKPOINT,
    CONFIG_FILE,
    INFERENCE_CHECKPOINT,
    LAST_CHECKPOINT,
    LOG_DIR,
    METRICS_FILE,
    checkpoint_dir,
    read_run_config,
    write_json,
)
from keras_auxlt.training.batch_norm_statistics import STATISTICS_SOURCES, with_statistics_from
from keras_auxlt.training.callbacks import (
    NonFiniteLossGuard,
    ProgressReport,
    TrainingCheckpoint,
    atomic_save,
    read_state,
)
from keras_auxlt.training.config import ConfigError
from keras_auxlt.training.head_fusion import fuse_heads
from keras_auxlt.training.optimizers import TorchSGD
from keras_auxlt.training.rerun import check_same_data, check_same_settings, rerun_record
from keras_auxlt.training.run_summary import print_summary, summary_lines
from keras_auxlt.training.saving import load_float32, load_model
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
        strided_padding=source.strided_padding if source else STRIDED_PADDING,  # the reused weights' padding
        classifier=config.classifier, label_smoothing=config.model.label_aware_smoothing, **extra)
    model.build((None, config.pipeline.image_size, config.pipeline.image_size, 3))
    if source:
        copy_backbone(source, model, config.init_from)
    return model


def load_init_source(run_dir):
    """Another run's last checkpoint, whose backbone the first stage of crt reuses."""
    path = os.path.join(checkpoint_dir(run_dir), LAST_CHECKPOINT)
    if not os.path.isfile(path):
        raise ConfigError(f"--init_from {run_dir!r}: no checkpoint {path}")
    return load_model(path)


def copy_backbone(source, model, run_dir):
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
    return TorchSGD(learning_rate=schedule, momentum=optim.momentum)  # the reference code's momentum form


def training_stream(config, train, start_step, shard=(0, 1)):
    if len(config.streams) == 2:
        return dual_stream(train, config.pipeline, start_step, shard)
    return single_stream(train, config.pipeline, sampler=config.streams[0], start_step=start_step, shard=shard)


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


def inference_model(config, trained, checkpoints, selected, train, val, total_steps, progress=True):
    """The model to evaluate, and the metrics.json entries that say what it is.

    as_trained: the `selected` checkpoint (the `trained` model itself when that is last.keras).
    joint / balanced / instance: that checkpoint with its BatchNorm statistics re-estimated over that
    stream's batches drawn after the last training step, saved as inference.keras. auto: whichever of
    the four scores highest on the validation split (ties: as_trained, then that order). With a
    validation split, the entries hold the returned model's validation top-1 (`validation`) and, when
    statistics were re-estimated or chosen, that of the statistics as trained (`validation_as_trained`)."""
    requested, steps = config.inference_statistics, config.inference_statistics_steps

    def checkpoint():
        return load_model(os.path.join(checkpoints, selected))  # a copy outside the strategy

    def on_validation(model):
        return top1_groups(evaluate(model, val, train.class_counts, config.pipeline, progress=progress)[0])

    def reestimated(source):
        return with_statistics_from(checkpoint(), source, train, config.pipeline, start_step=total_steps, steps=steps,
                                    progress=progress)

    record = {}
    if requested == "as_trained":
        final = trained if selected == LAST_CHECKPOINT else checkpoint()
    elif requested != "auto":
        if val is not None:
            record["validation_as_trained"] = on_validation(checkpoint())
        final = reestimated(requested)
    else:
        final = checkpoint()
        record["validation_as_trained"] = record["validation"] = on_validation(final)
        validation = {"as_trained": record["validation"]["overall"]}
        chosen = "as_trained"
        for source in STATISTICS_SOURCES[1:]:
            candidate = reestimated(source)
            scores = on_validation(candidate)
            validation[source] = scores["overall"]
            if validation[source] > validation[chosen]:
                final, chosen, record["validation"] = candidate, source, scores
        print("[train] --inference_statistics=auto: validation top-1 " +
              ", ".join(f"{value:.4f} {source}" for source, value in validation.items()) + f" -> {chosen}", flush=True)
    source = chosen if requested == "auto" else requested
    record["inference_statistics"] = {"source": source, "steps": 0 if source == "as_trained" else steps,
                                      "checkpoint": selected if source == "as_trained" else INFERENCE_CHECKPOINT}
    if requested == "auto":
        record["inference_statistics"].update(requested="auto", validation=validation)
    if config.inference_head == "fused":  # on the model with the statistics chosen above
        if final is trained:
            final = checkpoint()
        record["inference_head"] = fuse_heads(final, val, train.class_counts, config.pipeline)
        record["inference_statistics"]["checkpoint"] = INFERENCE_CHECKPOINT
    if val is not None and (requested != "auto" or config.inference_head == "fused"):
        record["validation"] = on_validation(final)
    if record["inference_statistics"]["checkpoint"] == INFERENCE_CHECKPOINT:
        path = os.path.join(checkpoints, INFERENCE_CHECKPOINT)
        atomic_save(final, path)
        print(f"[train] {selected} with BatchNorm statistics {source}"
              f"{f' (re-estimated over {steps} batches)' if source != 'as_trained' else ''}"
              f"{', heads fused' if config.inference_head == 'fused' else ''} -> {path}", flush=True)
    return final, record


def record_fingerprints(checkpoints):
    """What every checkpoint of the finished run predicts, as its files load now (keras_auxlt.fingerprint)."""
    names = [n for n in (LAST_CHECKPOINT, BEST_CHECKPOINT, INFERENCE_CHECKPOINT)
             if os.path.isfile(os.path.join(checkpoints, n))]
    fingerprint.write(checkpoints, {name: load_float32(os.path.join(checkpoints, name)) for name in names})


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


def _run(config, strategy, role, write_dir, progress):
    last = os.path.join(checkpoint_dir(config.model_dir), LAST_CHECKPOINT)  # the chief's: every worker resumes from it
    config_file = os.path.join(config.model_dir, CONFIG_FILE)
    started = read_run_config(config.model_dir) if os.path.isfile(last) and os.path.isfile(config_file) else None
    if started:  # a rerun: it must ask for the run its checkpoint holds
        check_same_settings(started, config.to_dict(), config_file)
    train, val, test = load_data(config, progress=progress)
    if config.inference_statistics == "auto" and val is None:
        raise ConfigError("--inference_statistics=auto chooses the BatchNorm statistics on a validation split, and "
                          f"{config.data.data_dir or config.data.dataset} has none: add --val_per_class=K "
                          "(or name the source: as_trained, joint, balanced or instance)")
    if config.inference_head == "fused" and val is None:
        raise ConfigError("--inference_head=fused chooses how to mix the heads on a validation split, and "
                          f"{config.data.data_dir or config.data.dataset} has none: add --val_per_class=K")
    steps = config.steps_per_epoch(len(train))
    total_steps = steps * config.epochs
    resolved = resolved_config(config, train, val, steps, total_steps, strategy.num_replicas_in_sync)
    if started:
        check_same_data(started, resolved["derived"], config_file)
    checkpoints = checkpoint_dir(write_dir)
    with strategy.scope():
        if os.path.isfile(last):
            model = load_model(last)
        else:
            model = build_model(config, train, steps, total_steps)
            model.compile(optimizer=make_optimizer(config, steps, total_steps), jit_compile=False)  # XLA: slower on CPU
    check_model_dir(write_dir, checkpoint_bytes(model))
    stale = os.path.join(checkpoints, INFERENCE_CHECKPOINT)
    if os.path.isfile(stale):  # from an earlier ending of this run: remade (or not) after this one
        os.remove(stale)
    fingerprint.remove(checkpoints)  # rewritten when this run ends
    # The checkpoint's own step counter says where to resume (state.json could lag it by a crash).
    done_steps = int(model.optimizer.iterations.numpy())
    resolved["derived"]["strided_padding"] = model.strided_padding  # the model's: a checkpoint keeps its own
    write_json(os.path.join(write_dir, CONFIG_FILE), rerun_record(started, resolved, done_steps) if started else resolved)
    if role.is_chief:
        print_summary(summary_lines(config, train, val, test, model, steps, total_steps, strategy, done_steps))
    if done_steps >= total_steps:
        print(f"[train] {last} has finished training (step {done_steps} of {total_steps}): evaluating only")
    elif done_steps:
        print(f"[train] resuming from {last}: step {done_steps} of {total_steps} "
              f"(epoch {done_steps // steps + 1} of {config.epochs}, step {done_steps % steps + 1} of {steps})")

    started = time.time()
    checkpoint = TrainingCheckpoint(checkpoints, every_steps=config.checkpoint_every_steps)
    callbacks = [NonFiniteLossGuard(checkpoints), checkpoint,
                 ProgressReport(total_steps, steps) if role.is_chief else keras.callbacks.Callback(),
                 keras.callbacks.TensorBoard(os.path.join(write_dir, LOG_DIR), update_freq="epoch")]
    validation = eval_dataset(val, config.pipeline) if val is not None else None
    with stop_on_signals(checkpoint):  # Ctrl-C / SIGTERM: checkpoint the step reached, then stop
        while done_steps < total_steps:
            # A run stopped mid-epoch first finishes that epoch (its remaining steps only), then goes on by epochs.
            epoch, into_epoch = divmod(done_steps, steps)
            last_epoch = epoch + 1 if into_epoch else config.epochs
            model.fit(training_data(config, train, done_steps, strategy, role), initial_epoch=epoch,
                      epochs=last_epoch, steps_per_epoch=steps - into_epoch if into_epoch else steps,
                      callbacks=callbacks, verbose=config.verbose, shuffle=False, validation_data=validation)
            before, done_steps = done_steps, int(model.optimizer.iterations.numpy())
            if done_steps == before:
                raise RuntimeError(f"training stopped making progress at step {done_steps} of {total_steps}")
    if checkpoint.stop_requested:  # the signal came after the last step (validation, checkpointing)
        raise TrainingInterrupted(f"training finished (step {done_steps:,}) but was stopped before evaluating: rerun "
                                  "the same command to evaluate", checkpoint.stop_requested)
    train_seconds = time.time() - started
    print(f"[train] {role.name}: step {done_steps}, weights fingerprint {weights_fingerprint(model)}", flush=True)
    if not role.is_chief:
        return {}

    if config.mixed_precision != "off":  # evaluation in float32: the checkpoints reload with float32 layers
        keras.config.set_dtype_policy("float32")
        model = load_model(os.path.join(checkpoints, LAST_CHECKPOINT))
    selected = BEST_CHECKPOINT if val is not None else LAST_CHECKPOINT
    final, selection = inference_model(config, model, checkpoints, selected, train, val, total_steps, progress)
    record_fingerprints(checkpoints)
    metrics, confusion = evaluate(final, test, train.class_counts, config.pipeline, progress=progress)
    metrics.update(selection)
    metrics.update({
        "method": config.method, "aux_tasks": list(config.aux_tasks), "checkpoint": selected,
        "epochs": done_steps // steps, "steps": done_steps,
        "best_epoch": (read_state(checkpoints) or {}).get("best_epoch"),
        "train_seconds_this_run": round(train_seconds, 1), "workers": role.num_workers,
        "mixed_precision": config.mixed_precision, "evaluation_precision": "float32",
        "images_seen": done_steps * config.pipeline.batch_size * len(config.streams)})
    write_report(config.model_dir, metrics, confusion)
    validation = f", validation top-1 {metrics['validation']['overall']:.4f}" if val is not None else ""
    if "validation_as_trained" in metrics:
        validation += f" ({metrics['validation_as_trained']['overall']:.4f} with the statistics as trained)"
    print(f"[train] test top-1 {metrics['overall']:.4f} (many {_fmt(metrics['many'])}, medium "
          f"{_fmt(metrics['medium'])}, few {_fmt(metrics['few'])}){validation} -> "
          f"{os.path.join(config.model_dir, METRICS_FILE)}")
    return metrics


def _fmt(value):
    return "n/a" if value is None else f"{value:.4f}"
