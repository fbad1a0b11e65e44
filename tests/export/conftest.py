"""A tiny trained run (3 classes, 32x32 inputs, AuxLT with random + rotation heads) to export."""

import dataclasses

import pytest

from keras_auxlt.data.pipeline import PipelineConfig
from tests.training.helpers import tiny_run_config


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    from keras_auxlt.training import trainer

    root = tmp_path_factory.mktemp("export_run")
    config = tiny_run_config(root, epochs=1)
    config = dataclasses.replace(config, pipeline=PipelineConfig(batch_size=8, image_size=32, seed=0))
    trainer.run(config, progress=False)
    return config.model_dir
