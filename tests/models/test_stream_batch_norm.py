"""`stream_batch_norm`: one BatchNorm batch over [x_b; x_r] (method.md) or one per stream.

method.md asks that the `aux_detach_features` ablation reproduce plain class-balanced training.
With per-stream BatchNorm it does, weight for weight; over the joint batch it cannot, because
the random stream's images enter the balanced images' normalisation and the moving statistics.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import dual_batch, tiny_model

STEPS = 3


def batches():
    return [tuple(tf.nest.map_structure(tf.constant, dual_batch(seed=step))) for step in range(STEPS)]


def state(model):
    """The weights a balanced-only model also has (backbone incl. moving statistics, primary head)."""
    variables = model.backbone.variables + model.primary_head.variables
    return {v.path.split("/", 1)[-1]: v.numpy() for v in variables}


def train(model, data, graph):
    step = tf.function(model.train_step) if graph else model.train_step
    for batch in data:
        step(batch)
    return state(model)


def balanced_and_detached(stream_batch_norm, graph):
    """A balanced-only model trained on the balanced halves, and an auxlt model (same initial
    weights) with detached auxiliary features trained on both streams."""
    keras.utils.set_random_seed(0)
    balanced = tiny_model(aux_tasks=(), weight_decay=5e-4)
    detached = tiny_model(aux_tasks=("random",), aux_detach_features=True, weight_decay=5e-4,
                          stream_batch_norm=stream_batch_norm)
    for source, target in zip(balanced.backbone.variables + balanced.primary_head.variables,
                              detached.backbone.variables + detached.primary_head.variables):
        target.assign(source)
    data = batches()
    return train(balanced, [b for b, _ in data], graph), train(detached, data, graph)


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
def test_separate_batch_norm_makes_the_detached_ablation_plain_balanced_training(graph):
    balanced, detached = balanced_and_detached("separate", graph)
    assert balanced.keys() == detached.keys()
    for path in balanced:
        np.testing.assert_allclose(detached[path], balanced[path], rtol=1e-5, atol=1e-6, err_msg=path)


def test_joint_batch_norm_lets_the_random_stream_into_the_balanced_training():
    balanced, detached = balanced_and_detached("joint", graph=False)
    moving = [p for p in balanced if "moving" in p]
    trained = [p for p in balanced if "moving" not in p]
    assert all(not np.allclose(detached[p], balanced[p], rtol=1e-5, atol=1e-6) for p in moving)
    assert any(not np.allclose(detached[p], balanced[p], rtol=1e-5, atol=1e-6) for p in trained)


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
def test_separate_batch_norm_keeps_the_balanced_streams_moving_statistics(graph):
    """Not detached: after one step the moving statistics are those of the balanced batch alone
    (the random stream's pass restores them), while the auxiliary gradient still trains the backbone."""
    keras.utils.set_random_seed(0)
    model = tiny_model(aux_tasks=("random", "rotation"), stream_batch_norm="separate")
    (x_b, _), _ = data = batches()[0]
    moving = model.backbone.non_trainable_variables
    # What one training-mode pass over the balanced images alone does to the statistics.
    saved = [v.numpy() for v in moving]
    model.features(x_b, training=True)
    expected = [v.numpy() for v in moving]
    for v, value in zip(moving, saved):
        v.assign(value)
    (tf.function(model.train_step) if graph else model.train_step)(data)
    for v, value in zip(moving, expected):
        np.testing.assert_allclose(v.numpy(), value, rtol=1e-6, atol=1e-7, err_msg=v.path)
