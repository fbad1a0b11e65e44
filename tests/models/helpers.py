"""Tiny models and batches for the model tests (16x16 images, ResNet-20)."""

import json
import os
import zipfile

import keras
import numpy as np

from keras_auxlt.models.auxlt_model import AuxLTModel

NUM_CLASSES = 5
COUNTS = [40, 20, 10, 5, 2]


def tiny_model(**kwargs):
    args = dict(backbone="resnet20", num_classes=NUM_CLASSES, image_size=16, class_counts=COUNTS)
    args.update(kwargs)
    model = AuxLTModel(**args)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    model.build((None, 16, 16, 3))
    model.optimizer.build(model.trainable_variables)  # a checkpoint of it holds the optimizer's slots, as a trained one
    return model


def dual_batch(batch=8, seed=0):
    rng = np.random.default_rng(seed)
    images = lambda: rng.uniform(0, 255, (batch, 16, 16, 3)).astype(np.float32)  # noqa: E731
    labels = lambda: rng.integers(0, NUM_CLASSES, batch).astype(np.int64)  # noqa: E731
    return (images(), labels()), (images(), labels())


def without_strided_padding(path):
    """The .keras file at `path` as code of before 2026-12-02 wrote it: no strided_padding in its config."""
    rewrite_keras_config(path, lambda config: config.pop("strided_padding"))


def rewrite_keras_config(path, change):
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    change(config["config"])
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def old_mixup_streams(streams, mixup_streams):
    """--mixup_streams as code of before 2026-12-06 named them, for a method that draws `streams`: by the heads
    that learn from each stream's batch (the first stream's: primary; the other: auxiliary)."""
    return ["primary" if s == streams[0] else "auxiliary" for s in mixup_streams]


def with_old_stream_names(path):
    """The .keras file at `path` as code of before 2026-12-06 wrote it (commit f2aaddc, checked key by key): no
    single_stream in its config, and mixup_streams named by heads. Layer names are not in the file (its weights
    are stored by attribute and position), so the heads renamed then leave no other trace."""
    def change(config):
        streams = ("balanced", "random") if config["aux_tasks"] else (config.pop("single_stream"),)
        config.pop("single_stream", None)
        config["mixup_streams"] = old_mixup_streams(streams, config["mixup_streams"])

    rewrite_keras_config(path, change)


def run_with_old_stream_names(run_dir):
    """A run directory as code of before 2026-12-06 left it: config.json and every checkpoint with the old
    names (--inference_statistics=instance for random)."""
    from keras_auxlt.choices import METHODS

    config_file = os.path.join(run_dir, "config.json")
    with open(config_file) as f:
        config = json.load(f)
    config["model"]["mixup_streams"] = old_mixup_streams(METHODS[config["method"]]["streams"],
                                                         config["model"]["mixup_streams"])
    config["inference_statistics"] = {"random": "instance"}.get(config["inference_statistics"],
                                                               config["inference_statistics"])
    with open(config_file, "w") as f:
        json.dump(config, f)
    for name in os.listdir(os.path.join(run_dir, "checkpoints")):
        if name.endswith(".keras"):
            with_old_stream_names(os.path.join(run_dir, "checkpoints", name))
