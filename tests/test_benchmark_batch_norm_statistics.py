"""The BatchNorm-statistics diagnostic: which batches it draws, and that it changes the moving statistics only."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from benchmarks.batch_norm_statistics import reestimate_batch_norm, stream_images
from benchmarks.batch_norm_statistics_table import load, table
from keras_auxlt.data.pipeline import PipelineConfig, dual_stream
from tests.data.test_pipeline import lt_split
from tests.models.helpers import tiny_model


def moving_statistics(model):
    return {w.path for layer in model.backbone.layers if isinstance(layer, keras.layers.BatchNormalization)
            for w in (layer.moving_mean, layer.moving_variance)}


def test_joint_batches_are_the_training_steps_balanced_then_instance_images():
    split = lt_split()
    config = PipelineConfig(batch_size=16, image_size=8, seed=2)
    (x_b, _), (x_r, _) = next(iter(dual_stream(split, config, start_step=7)))
    joint = next(iter(stream_images("joint", split, config, start_step=7)))
    np.testing.assert_array_equal(joint.numpy(), np.concatenate([x_b, x_r]))
    np.testing.assert_array_equal(next(iter(stream_images("balanced", split, config, 7))).numpy(), x_b)
    np.testing.assert_array_equal(next(iter(stream_images("instance", split, config, 7))).numpy(), x_r)
    with_rotation = next(iter(stream_images("joint", split, config, start_step=7, rotation=True))).numpy()
    assert with_rotation.shape == (48, 8, 8, 3)
    np.testing.assert_array_equal(with_rotation[:32], joint.numpy())
    for image, rotated in zip(x_r.numpy(), with_rotation[32:]):  # each a k * 90 degree turn of its random image
        assert any(np.array_equal(np.rot90(image, k, axes=(0, 1)), rotated) for k in range(4))


def test_reestimate_moves_only_the_moving_statistics_to_the_batches_statistics():
    model = tiny_model(freeze_backbone=True)  # frozen like crt's stage 2: the pass must still update the statistics
    before = {w.path: w.numpy().copy() for w in model.weights}
    images = np.random.default_rng(0).uniform(0, 255, (32, 16, 16, 3)).astype(np.float32)
    reestimate_batch_norm(model, tf.data.Dataset.from_tensors(images).repeat(), steps=120, progress=False)

    assert model.backbone.trainable is False  # put back as it was
    statistics = moving_statistics(model)
    assert len(statistics) > 2
    for weight in model.weights:
        if weight.path not in statistics:
            np.testing.assert_array_equal(weight.numpy(), before[weight.path], err_msg=weight.path)
    # The stem BatchNorm reads the stem convolution: its statistics become that convolution's batch moments.
    stem_bn = model.backbone.get_layer("stem_bn")
    activations = model.backbone.get_layer("stem_conv")(model.normalize(images)).numpy().reshape(-1, 16)
    assert not np.allclose(before[stem_bn.moving_mean.path], activations.mean(0), atol=1e-2)
    np.testing.assert_allclose(stem_bn.moving_mean.numpy(), activations.mean(0), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(stem_bn.moving_variance.numpy(), activations.var(0), rtol=1e-3, atol=1e-4)


def write_result(directory, method, seed, rows, split="test"):
    path = directory / f"{method}_{seed}_{split}.json"
    path.write_text(json.dumps({"model_dir": f"/runs/{method}/seed{seed}", "checkpoint": "last.keras", "steps": 100,
                                "split": split, "rows": {source: {"overall": value} for source, value in rows.items()}}))
    return str(path)


def test_table_pairs_gains_by_seed_at_equal_statistics(tmp_path):
    paths = [write_result(tmp_path, "balanced", 0, {"as_trained": 0.60, "instance": 0.66}),
             write_result(tmp_path, "balanced", 1, {"as_trained": 0.62, "instance": 0.64}),
             write_result(tmp_path, "balanced", 2, {"as_trained": 0.90, "instance": 0.90}),  # no auxlt seed 2
             write_result(tmp_path, "auxlt", 0, {"as_trained": 0.63, "instance": 0.67}),
             write_result(tmp_path, "auxlt", 1, {"as_trained": 0.66, "instance": 0.67})]
    text = table(load(paths), "balanced")
    assert "| balanced | 0,1,2 | 70.7 | 73.3 |" in text and "| auxlt | 0,1 | 64.5 | 67.0 |" in text
    # as_trained gains +3 and +4 -> +3.5, standard error 0.5; instance +1 and +3 -> +2.0 ± 1.0
    assert "| auxlt | +3.5 ± 0.5 (2 seeds) | +2.0 ± 1.0 (2 seeds) |" in text
    assert "joint" not in text  # no file has that row


def test_table_names_a_file_that_is_not_a_diagnostic_output(tmp_path):
    bad = tmp_path / "metrics.json"
    bad.write_text(json.dumps({"overall": 0.5}))
    with pytest.raises(SystemExit, match="metrics.json: not a batch_norm_statistics --output file"):
        load([str(bad)])
    mixed = [write_result(tmp_path, "auxlt", 0, {"as_trained": 0.6}),
             write_result(tmp_path, "auxlt", 0, {"as_trained": 0.6}, split="val")]
    with pytest.raises(SystemExit, match="the files score different splits"):
        load(mixed)
