"""Tiny models and batches for the model tests (16x16 images, ResNet-20)."""

import json
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
    return model


def dual_batch(batch=8, seed=0):
    rng = np.random.default_rng(seed)
    images = lambda: rng.uniform(0, 255, (batch, 16, 16, 3)).astype(np.float32)  # noqa: E731
    labels = lambda: rng.integers(0, NUM_CLASSES, batch).astype(np.int64)  # noqa: E731
    return (images(), labels()), (images(), labels())


def without_strided_padding(path):
    """The .keras file at `path` as code of before 2026-12-02 wrote it: no strided_padding in its config."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    del config["config"]["strided_padding"]
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
