"""Runs and checkpoints made before the streams had their names (2026-12-06: --mixup_streams named heads'
batches primary/auxiliary, the random stream was also "instance") load, resume and export as they were."""

import dataclasses
import json
import shutil
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_auxlt.training.saving import load_model
from keras_auxlt.training.trainer import run
from tests.models.helpers import dual_batch, run_with_old_stream_names, tiny_model, with_old_stream_names
from tests.training.helpers import tiny_run_config

# (model arguments, mixup_streams as saved before the change, as loaded now)
CASES = {
    "auxlt, the random stream mixed": (dict(aux_tasks=("random",), mixup_streams=("random",)), ["auxiliary"], ("random",)),
    "auxlt, both": (dict(aux_tasks=("random",), mixup_streams=("balanced", "random")), ["primary", "auxiliary"],
                    ("balanced", "random")),
    "ce": (dict(aux_tasks=(), single_stream="random", mixup_streams=("random",)), ["primary"], ("random",)),
    "crt": (dict(aux_tasks=(), single_stream="balanced", freeze_backbone=True, mixup_streams=("balanced",)),
            ["primary"], ("balanced",)),
}


def saved_config(path):
    return json.loads(zipfile.ZipFile(path).read("config.json"))["config"]


@pytest.mark.parametrize("case", list(CASES))
def test_a_checkpoint_saved_before_the_rename_loads_and_trains_as_it_was_trained(case, tmp_path):
    arguments, old, new = CASES[case]
    model = tiny_model(seed=3, mixup_alpha=1.0, **arguments)
    path = str(tmp_path / "old.keras")
    model.save(path)
    with_old_stream_names(path)
    assert saved_config(path)["mixup_streams"] == old and "single_stream" not in saved_config(path)

    loaded = load_model(path)
    assert loaded.mixup_streams == new and loaded.single_stream == model.single_stream
    images = dual_batch()[0][0]
    np.testing.assert_array_equal(loaded(images), model(images))
    loaded.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    data = dual_batch(seed=1) if arguments["aux_tasks"] else dual_batch(seed=1)[0]
    data = tf.nest.map_structure(tf.constant, data)
    want, _ = model.compute_task_losses(data, training=True)
    got, _ = loaded.compute_task_losses(data, training=True)
    assert list(got) == list(want)
    for name in want:  # the same batches mixed with the same draws
        np.testing.assert_allclose(got[name], want[name], rtol=1e-6)
    unmixed, _ = tiny_model(seed=3, **arguments).compute_task_losses(data, training=True)
    assert any(abs(float(unmixed[n]) - float(want[n])) > 1e-4 for n in want), "the case must mix something"


def test_a_run_started_before_the_rename_resumes_to_the_same_weights(tmp_path):
    config = tiny_run_config(tmp_path, epochs=1, model=dataclasses.replace(
        tiny_run_config(tmp_path).model, mixup_alpha=0.5, mixup_streams=("random",)))
    run(config, progress=False)
    old = tmp_path / "old"
    shutil.copytree(config.model_dir, old)
    run_with_old_stream_names(str(old))
    assert json.loads((old / "config.json").read_text())["model"]["mixup_streams"] == ["auxiliary"]

    run(dataclasses.replace(config, epochs=2), progress=False)  # flags with today's names, both directories
    run(dataclasses.replace(config, epochs=2, model_dir=str(old)), progress=False)
    now, then = (load_model(f"{d}/checkpoints/last.keras") for d in (config.model_dir, old))
    assert then.mixup_streams == ("random",)
    for a, b in zip(now.get_weights(), then.get_weights()):
        np.testing.assert_array_equal(a, b)
