"""What is chosen and recorded after training: the model to evaluate and export (the checkpoint best on
validation, BatchNorm statistics as trained or re-estimated, the primary or fused head), the fingerprints of
every checkpoint, and the test report. The trainer's run loop ends here (resume -> build -> fit -> finalise).
"""

import os

import keras

from keras_auxlt import fingerprint
from keras_auxlt.evaluation import evaluate, top1_groups, validation_temperature, write_report
from keras_auxlt.run_files import BEST_CHECKPOINT, INFERENCE_CHECKPOINT, LAST_CHECKPOINT, METRICS_FILE
from keras_auxlt.training.batch_norm_statistics import STATISTICS_SOURCES, with_statistics_from
from keras_auxlt.training.callbacks import atomic_save, read_state
from keras_auxlt.training.head_fusion import fuse_heads
from keras_auxlt.training.saving import load_float32, load_model


def inference_model(config, trained, checkpoints, selected, train, val, total_steps, progress=True):
    """The model to evaluate, and the metrics.json entries that say what it is.

    as_trained: the `selected` checkpoint (the `trained` model itself when that is last.keras).
    joint / balanced / random: that checkpoint with its BatchNorm statistics re-estimated over that
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


def finalise(config, model, checkpoints, train, val, test, steps, total_steps, done_steps, train_seconds, workers=1,
             progress=True):
    """After training: the model to evaluate (checkpoint, statistics, head), every checkpoint's fingerprint, and
    the test report (metrics.json, its plots); returns the metrics."""
    if config.mixed_precision != "off":  # evaluation in float32: the checkpoints reload with float32 layers
        keras.config.set_dtype_policy("float32")
        model = load_model(os.path.join(checkpoints, LAST_CHECKPOINT))
    selected = BEST_CHECKPOINT if val is not None else LAST_CHECKPOINT
    final, selection = inference_model(config, model, checkpoints, selected, train, val, total_steps, progress)
    record_fingerprints(checkpoints)
    # Temperature scaling, fitted on the validation split after every choice above; the test split scored once.
    temperature = validation_temperature(final, val, config.pipeline, progress) if val is not None else None
    evaluation = evaluate(final, test, train.class_counts, config.pipeline, progress=progress, temperature=temperature)
    metrics = evaluation.metrics
    metrics.update(selection)
    metrics.update({
        "method": config.method, "aux_tasks": list(config.aux_tasks), "checkpoint": selected,
        "epochs": done_steps // steps, "steps": done_steps,
        "best_epoch": (read_state(checkpoints) or {}).get("best_epoch"),
        "train_seconds_this_run": round(train_seconds, 1), "workers": workers,
        "mixed_precision": config.mixed_precision, "evaluation_precision": "float32",
        "images_seen": done_steps * config.pipeline.batch_size * len(config.streams)})
    write_report(config.model_dir, evaluation)
    validation = f", validation top-1 {metrics['validation']['overall']:.4f}" if val is not None else ""
    if "validation_as_trained" in metrics:
        validation += f" ({metrics['validation_as_trained']['overall']:.4f} with the statistics as trained)"
    tempered = (f"; at the validation's temperature {metrics['temperature']:.2f}: ECE "
                f"{100 * metrics['tempered']['ece']:.1f} %, NLL {metrics['tempered']['nll']:.3f}") if temperature else ""
    print(f"[train] test top-1 {metrics['overall']:.4f} (many {_fmt(metrics['many'])}, medium "
          f"{_fmt(metrics['medium'])}, few {_fmt(metrics['few'])}; ECE {100 * metrics['ece']:.1f} %, NLL "
          f"{metrics['nll']:.3f}{tempered}){validation} -> "
          f"{os.path.join(config.model_dir, METRICS_FILE)}")
    return metrics


def _fmt(value):
    return "n/a" if value is None else f"{value:.4f}"
