"""Re-estimating BatchNorm statistics: which batches each stream draws, and that only the moving statistics change."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_auxlt.data.pipeline import PipelineConfig, dual_stream
from keras_auxlt.training.batch_norm_statistics import reestimate_batch_norm, stream_images
from tests.data.test_pipeline import lt_split
from tests.models.helpers import tiny_model


def moving_statistics(model):
    return {w.path for layer in model.backbone.layers if isinstance(layer, keras.layers.BatchNormalization)
            for w in (layer.moving_mean, layer.moving_variance)}


def test_joint_batches_are_the_training_steps_balanced_then_random_images():
    split = lt_split()
    config = PipelineConfig(batch_size=16, image_size=8, seed=2)
    (x_b, _), (x_r, _) = next(iter(dual_stream(split, config, start_step=7)))
    joint = next(iter(stream_images("joint", split, config, start_step=7)))
    np.testing.assert_array_equal(joint.numpy(), np.concatenate([x_b, x_r]))
    np.testing.assert_array_equal(next(iter(stream_images("balanced", split, config, 7))).numpy(), x_b)
    np.testing.assert_array_equal(next(iter(stream_images("random", split, config, 7))).numpy(), x_r)
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


def test_an_unknown_stream_or_step_count_is_refused():
    config = PipelineConfig(batch_size=16, image_size=8, seed=2)
    with pytest.raises(ValueError, match=r"Accepted: joint, balanced, random. Received: 'as_trained'"):
        stream_images("as_trained", lt_split(), config, start_step=0)
    with pytest.raises(ValueError, match="steps must be >= 1. Received: 0"):
        reestimate_batch_norm(tiny_model(), tf.data.Dataset.range(1), steps=0, progress=False)
