"""Scoring the primary head on a (balanced) test split: overall, shot groups, per class, calibration, plots."""

import functools
import os
from typing import NamedTuple

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from keras_auxlt import calibration
from keras_auxlt.data.pipeline import eval_dataset
from keras_auxlt.data.shots import FEW_SHOT_MAX, MANY_SHOT_MIN, TOP1_GROUPS, shot_group_masks
from keras_auxlt.provenance import code_version
from keras_auxlt.run_files import (
    CONFUSION_MATRIX,
    CONFUSION_PLOT,
    METRICS_FILE,
    PER_CLASS_PLOT,
    PREDICTIONS_FILE,
    RELIABILITY_PLOT,
    write_json,
)

CLASSIFIER_AUX_HEADS = ("random", "reweighted", "random_adjusted")  # auxiliary heads that predict the classes


def top1_groups(metrics):
    """The overall and per-shot-group top-1 of an evaluation (None for an empty group)."""
    return {group: metrics[group] for group in TOP1_GROUPS}


def _head_step(model, heads, logits, x):
    features = model.features(x, training=False)
    outputs = {name: head(features) for name, head in heads.items()}
    if logits:
        return {name: tf.cast(out, tf.float64) for name, out in outputs.items()}
    return {name: tf.argmax(out, axis=-1) for name, out in outputs.items()}


def head_outputs(model, heads, split, pipeline_config, batch_size=256, progress=True, logits=False):
    """Labels and, for each of the named `heads` (layers on the backbone's features), its argmax
    predictions, or with `logits` its float64 logits, over a split."""
    # One traced function per call (the last, smaller batch must not retrace). A partial, not a closure:
    # TensorFlow counts traces per code object, and the evaluation of several models in a row (auto
    # statistics) would read as needless retracing and print a warning.
    step = tf.function(functools.partial(_head_step, model, heads, logits), reduce_retracing=True)
    labels, results = [], {name: [] for name in heads}
    dataset = eval_dataset(split, pipeline_config, batch_size)
    total = -(-len(split) // batch_size)
    for x, y in tqdm(dataset, total=total, desc=f"evaluating on {split.name}", disable=not progress, mininterval=2.0):
        labels.append(y.numpy())
        for name, out in step(x).items():
            results[name].append(out.numpy())
    return np.concatenate(labels), {name: np.concatenate(r) for name, r in results.items()}


def class_heads(model):
    """The primary head and the auxiliary heads that predict the classes, by name."""
    heads = {"primary": model.primary_head}
    heads.update({name: model.aux_heads[name] for name in CLASSIFIER_AUX_HEADS if name in model.aux_heads})
    return heads


def predict_heads(model, split, pipeline_config, batch_size=256, progress=True):
    """Labels and argmax predictions of the primary head and the class-predicting auxiliary heads."""
    return head_outputs(model, class_heads(model), split, pipeline_config, batch_size, progress)


def accuracy_report(labels, predictions, train_counts, class_names):
    """Top-1 overall, many / medium / few (by training count), per class, and the confusion matrix."""
    num_classes = len(class_names)
    confusion = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    support = confusion.sum(axis=1)
    per_class = np.divide(np.diag(confusion), support, out=np.full(num_classes, np.nan), where=support > 0)
    report = {"overall": float((labels == predictions).mean()), "num_test_images": int(len(labels))}
    for group, mask in shot_group_masks(train_counts).items():
        report[group] = float(np.nanmean(per_class[mask])) if mask.any() and np.any(support[mask]) else None
    report["per_class"] = [None if np.isnan(a) else float(a) for a in per_class]
    return report, confusion


class Evaluation(NamedTuple):
    """metrics.json's entries, the confusion matrix [true, predicted], and the per-image record
    (keras_auxlt.calibration.per_image) of the primary head."""

    metrics: dict
    confusion: np.ndarray
    record: dict


def evaluate(model, split, train_counts, pipeline_config, progress=True, temperature=None):
    """The primary head's Evaluation on `split`. With a `temperature` (fitted on validation: validation_temperature),
    metrics also hold it and the ECE and NLL of softmax(logits / temperature) under "tempered"; top-1 and the
    per-image record are those of the logits as they are."""
    labels, logits = head_outputs(model, class_heads(model), split, pipeline_config, progress=progress, logits=True)
    record = calibration.per_image(labels, calibration.softmax(logits["primary"]))
    metrics, confusion = accuracy_report(labels, record["prediction"], train_counts, split.class_names)
    metrics.update(calibration.calibration_metrics(record))
    if temperature is not None:
        tempered = calibration.per_image(labels, calibration.softmax(logits["primary"] / temperature))
        metrics["temperature"] = temperature
        metrics["tempered"] = calibration.calibration_metrics(tempered)
    metrics["aux_heads_overall"] = {name: float((labels == np.argmax(out, axis=-1)).mean())
                                    for name, out in logits.items() if name != "primary"}
    metrics["class_names"] = list(split.class_names)
    metrics["train_counts"] = [int(c) for c in train_counts]
    metrics["shot_thresholds"] = {"many": f"> {MANY_SHOT_MIN - 1}", "few": f"< {FEW_SHOT_MAX + 1}"}
    return Evaluation(metrics, confusion, record)


def validation_temperature(model, val, pipeline_config, progress=True):
    """The temperature of the primary head's logits fitted on the validation split (calibration.fit_temperature)."""
    labels, logits = head_outputs(model, {"primary": model.primary_head}, val, pipeline_config, progress=progress,
                                  logits=True)
    return calibration.fit_temperature(logits["primary"], labels)


def write_report(directory, evaluation, extra=None):
    """metrics.json, the per-image record (PREDICTIONS_FILE) and the plots (per-class accuracy, confusion matrix,
    reliability diagram) of an `Evaluation` in `directory`."""
    metrics, confusion, record = evaluation
    os.makedirs(directory, exist_ok=True)
    write_json(os.path.join(directory, METRICS_FILE), {**metrics, **(extra or {}), "code": code_version()})
    np.save(os.path.join(directory, CONFUSION_MATRIX), confusion)
    np.savez_compressed(os.path.join(directory, PREDICTIONS_FILE), **record)
    plot_per_class(metrics, os.path.join(directory, PER_CLASS_PLOT))
    plot_confusion(confusion, metrics["class_names"], os.path.join(directory, CONFUSION_PLOT))
    calibration.plot_reliability(record, os.path.join(directory, RELIABILITY_PLOT))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_per_class(metrics, path):
    plt = _pyplot()
    counts = np.asarray(metrics["train_counts"])
    accuracy = np.array([np.nan if a is None else a for a in metrics["per_class"]])
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.scatter(counts, accuracy, s=18)
    ax.set_xscale("log")
    ax.set_xlabel("training images of the class (log scale)")
    ax.set_ylabel("test top-1 accuracy")
    ax.set_ylim(-0.02, 1.02)
    for x in (MANY_SHOT_MIN - 0.5, FEW_SHOT_MAX + 0.5):
        ax.axvline(x, color="grey", lw=0.8, ls="--")
    ax.set_title(f"per-class accuracy (overall {metrics['overall']:.3f})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_confusion(confusion, class_names, path):
    plt = _pyplot()
    rows = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5))
    image = ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    if len(class_names) <= 20:
        ax.set_xticks(range(len(class_names)), class_names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(class_names)), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
