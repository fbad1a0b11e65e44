"""Mixup in the training step (keras_auxlt.models.mixup): the draws, the mixed batch, the mixed losses,
and that it touches only the streams asked for, in training only, without changing gradient routing."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_auxlt.models import mixup
from keras_auxlt.training.config import ModelConfig, RunConfig
from tests.models.helpers import NUM_CLASSES, dual_batch, tiny_model
from tests.models.test_gradient_routing import ALL_TASKS, reached


def test_draws_are_folded_permutations_stateless_in_seed_step_and_stream():
    mix = mixup.sample(16, 0.4, seed=3, step=7, heads="primary")
    assert 0.5 <= float(mix.lam) <= 1.0
    assert sorted(mix.partner.numpy().tolist()) == list(range(16))
    again = mixup.sample(16, 0.4, seed=3, step=7, heads="primary")
    assert float(again.lam) == float(mix.lam) and np.array_equal(again.partner, mix.partner)
    others = [mixup.sample(16, 0.4, seed=3, step=8, heads="primary"),
              mixup.sample(16, 0.4, seed=3, step=7, heads="auxiliary"),
              mixup.sample(16, 0.4, seed=4, step=7, heads="primary")]
    for other in others:
        assert float(other.lam) != float(mix.lam) and not np.array_equal(other.partner, mix.partner)


@pytest.mark.parametrize("alpha", [1.0, 0.2])
def test_lam_follows_the_folded_beta_distribution(alpha):
    lams = np.array([float(mixup.sample(2, alpha, seed=0, step=s, heads="auxiliary").lam) for s in range(2000)])
    reference = np.random.default_rng(0).beta(alpha, alpha, 200_000)
    reference = np.maximum(reference, 1 - reference)
    assert abs(lams.mean() - reference.mean()) < 0.01  # standard error ~0.003
    assert abs(np.median(lams) - np.median(reference)) < 0.02
    if alpha == 1.0:  # Beta(1, 1) is uniform: the folded lam is uniform on [0.5, 1]
        assert abs(np.mean(lams < 0.75) - 0.5) < 0.04


def test_mixed_images_and_the_mixed_loss_equal_ce_against_the_mixed_one_hot_target():
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 255, (6, 4, 4, 3)), tf.float32)
    labels = tf.constant(rng.integers(0, 5, 6), tf.int64)
    logits = tf.constant(rng.normal(size=(6, 5)), tf.float32)
    mix = mixup.sample(6, 1.0, seed=1, step=2, heads="primary")
    lam, partner = float(mix.lam), mix.partner.numpy()
    np.testing.assert_allclose(mixup.mix_images(images, mix), lam * images.numpy() + (1 - lam) * images.numpy()[partner],
                               rtol=1e-6)
    one_hot = tf.one_hot(labels, 5).numpy()
    target = lam * one_hot + (1 - lam) * one_hot[partner]
    soft_ce = keras.losses.CategoricalCrossentropy(from_logits=True)(target, logits)
    sparse_ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(mixup.mixed_loss(lambda y: sparse_ce(y, logits), labels, mix), soft_ce, rtol=1e-5)
    assert float(mixup.mixed_loss(lambda y: sparse_ce(y, logits), labels, None)) == float(sparse_ce(labels, logits))


def test_single_stream_primary_loss_is_that_of_the_mixed_batch():
    model = tiny_model(aux_tasks=(), primary_loss="logit_adjust", mixup_alpha=0.5)
    (x, y), _ = dual_batch()
    losses, outputs = model.compute_task_losses((x, y), training=True)
    mix = mixup.sample(len(y), 0.5, model.seed, 0, "primary")  # the optimizer has taken no step yet
    logits = model(mixup.mix_images(tf.constant(x), mix), training=True)
    expected = mixup.mixed_loss(lambda labels: model.primary_task_loss(labels, logits), tf.constant(y), mix)
    np.testing.assert_allclose(losses["primary"], expected, rtol=1e-5)
    np.testing.assert_array_equal(outputs["primary"][0], y)  # the trackers read the dominant labels


def test_only_the_streams_asked_for_are_mixed_and_only_in_training():
    data = dual_batch()
    plain = tiny_model(aux_tasks=("random", "reweighted"), seed=5)
    aux_only = tiny_model(aux_tasks=("random", "reweighted"), seed=5, mixup_alpha=1.0, mixup_streams=("random",))
    aux_only.set_weights(plain.get_weights())
    # Joint BatchNorm: the balanced half's features depend on the random half's batch moments, so compare
    # with the separate-statistics step, where the balanced stream is normalised alone.
    plain_sep = tiny_model(aux_tasks=("random", "reweighted"), seed=5, stream_batch_norm="separate")
    mixed_sep = tiny_model(aux_tasks=("random", "reweighted"), seed=5, stream_batch_norm="separate",
                           mixup_alpha=1.0, mixup_streams=("random",))
    mixed_sep.set_weights(plain_sep.get_weights())
    a, _ = plain_sep.compute_task_losses(data, training=True)
    b, _ = mixed_sep.compute_task_losses(data, training=True)
    np.testing.assert_allclose(a["primary"], b["primary"], rtol=1e-6)
    for task in ("random", "reweighted"):
        assert abs(float(a[task]) - float(b[task])) > 1e-4, task
    a, _ = plain.compute_task_losses(data, training=False)
    b, _ = aux_only.compute_task_losses(data, training=False)
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-6)


def test_gradient_routing_is_unchanged_under_mixup_of_both_streams():
    model = tiny_model(aux_tasks=ALL_TASKS, mixup_alpha=1.0)
    r = reached(model, dual_batch())
    assert r["primary"] == {"backbone": True, "primary_head": True, "random_head": False,
                            "reweighted_head": False, "rotation_head": False, "random_adjusted_head": False}
    for task in ("random", "reweighted", "rotation", "random_adjusted"):
        assert r[task]["backbone"] and r[task][f"{task}_head"] and not r[task]["primary_head"], task
    assert r["random_shared"]["backbone"] and not r["random_shared"]["primary_head"]


def test_the_run_mixes_only_the_streams_its_method_has():
    config = dataclasses.replace(RunConfig(), model=ModelConfig(mixup_alpha=0.3))
    assert config.mixed_streams == ("balanced", "random")
    assert dataclasses.replace(config, method="ce").mixed_streams == ("random",)
    assert dataclasses.replace(config, method="crt", init_from="runs/ce").mixed_streams == ("balanced",)
    only_balanced = dataclasses.replace(config, method="ce", model=ModelConfig(mixup_alpha=0.3, mixup_streams=("balanced",)))
    assert only_balanced.check().mixed_streams == ()
    assert RunConfig().mixed_streams == ()


def test_bad_model_arguments_are_refused():
    with pytest.raises(ValueError, match="mixup_alpha must be finite and >= 0"):
        tiny_model(mixup_alpha=-1.0)
    with pytest.raises(ValueError, match="Unknown or repeated mixup stream. Accepted: balanced, random"):
        tiny_model(mixup_alpha=1.0, mixup_streams=("auxiliary",))
    with pytest.raises(ValueError, match="Unknown single_stream. Accepted: balanced, random. Received: single_stream='instance'"):
        tiny_model(single_stream="instance")
    restored = keras.models.model_from_json(tiny_model(mixup_alpha=0.3, mixup_streams=("random",)).to_json())
    assert restored.mixup_alpha == 0.3 and restored.mixup_streams == ("random",) and restored.num_classes == NUM_CLASSES
