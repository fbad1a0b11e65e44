"""A tiny run configuration over a generated image folder (3 classes, 16x16 images)."""

import dataclasses

from keras_auxlt.data.loading import DataConfig
from keras_auxlt.data.pipeline import PipelineConfig
from keras_auxlt.training.config import ModelConfig, OptimConfig, RunConfig
from tests.conftest import write_image_folder


def tiny_run_config(tmp_path, splits=("train", "test"), **overrides):
    data_dir = tmp_path / "images"
    if not data_dir.exists():
        write_image_folder(data_dir, per_class=[12, 6, 3], size=16, splits=splits)
    config = RunConfig(
        data=DataConfig(data_dir=str(data_dir), validate_images=False),
        pipeline=PipelineConfig(batch_size=8, image_size=16, seed=0),
        model=ModelConfig(backbone="resnet20", aux_tasks=("random", "rotation")),
        optim=OptimConfig(learning_rate=0.05, warmup_epochs=1, lr_milestones=(2,), lr_factors=(0.1,)),
        epochs=3, model_dir=str(tmp_path / "run"), strategy="one_device", verbose=0)
    return dataclasses.replace(config, **overrides)
