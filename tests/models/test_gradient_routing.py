"""Which weights each loss reaches, asserted on real gradients of the losses train_step sums."""

import numpy as np
import pytest
import tensorflow as tf

from tests.models.helpers import dual_batch, tiny_model

ALL_TASKS = ("random", "random_shared", "reweighted", "rotation", "random_adjusted")


def reached(model, data):
    """{loss name: {variable group: whether a non-zero gradient reaches it}}."""
    groups = {"backbone": model.backbone.trainable_variables, "primary_head": model.primary_head.trainable_variables}
    groups.update({f"{name}_head": head.trainable_variables for name, head in model.aux_heads.items()})
    with tf.GradientTape(persistent=True) as tape:
        losses, _ = model.compute_task_losses(data, training=True)
    result = {}
    for loss_name, loss in losses.items():
        result[loss_name] = {}
        for group, variables in groups.items():
            grads = tape.gradient(loss, variables)
            result[loss_name][group] = any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in grads)
    return result


@pytest.mark.parametrize("stream_batch_norm", ["joint", "separate"])
def test_every_task_reaches_the_backbone_and_only_its_own_head(stream_batch_norm):
    model = tiny_model(aux_tasks=ALL_TASKS, stream_batch_norm=stream_batch_norm)
    r = reached(model, dual_batch())
    assert r["primary"] == {"backbone": True, "primary_head": True, "random_head": False,
                            "reweighted_head": False, "rotation_head": False, "random_adjusted_head": False}
    for task in ("random", "reweighted", "rotation", "random_adjusted"):
        assert r[task]["backbone"] and r[task][f"{task}_head"], task
        assert not r[task]["primary_head"], f"{task} loss must never update the primary head"
        others = [g for g in r[task] if g.endswith("_head") and g not in (f"{task}_head", "primary_head")]
        assert not any(r[task][g] for g in others), task


def test_random_shared_trains_features_through_a_frozen_primary_head():
    model = tiny_model(aux_tasks=("random_shared",))
    r = reached(model, dual_batch())
    assert r["random_shared"] == {"backbone": True, "primary_head": False}
    assert r["primary"] == {"backbone": True, "primary_head": True}


@pytest.mark.parametrize("stream_batch_norm", ["joint", "separate"])
def test_detached_features_keep_auxiliary_gradients_out_of_the_backbone(stream_batch_norm):
    model = tiny_model(aux_tasks=ALL_TASKS, aux_detach_features=True, stream_batch_norm=stream_batch_norm)
    r = reached(model, dual_batch())
    for task in ("random", "reweighted", "rotation"):
        assert not r[task]["backbone"] and r[task][f"{task}_head"] and not r[task]["primary_head"], task
    assert not any(r["random_shared"].values())
    assert r["primary"]["backbone"] and r["primary"]["primary_head"]


def test_one_train_step_moves_exactly_the_expected_weights():
    """Through the real train_step: with the auxiliary weight at 0 (and no weight decay) nothing
    reaches the auxiliary head, so it must stay put while the primary head and backbone move."""
    model = tiny_model(aux_tasks=("random",), aux_weights=(0.0,))
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    model.train_step(tuple(tf.nest.map_structure(tf.constant, dual_batch())))
    moved = {path: not np.array_equal(before[path], v.numpy()) for v in model.trainable_variables for path in [v.path]}
    assert not any(m for p, m in moved.items() if "random_head" in p)
    assert all(m for p, m in moved.items() if "primary_head" in p)
    assert any(m for p, m in moved.items() if "stem_conv" in p)


@pytest.mark.parametrize("weight", [0.0, 1.0])
def test_primary_head_update_does_not_depend_on_random_labels(weight):
    """Changing only the random-stream labels changes nothing the primary head receives."""
    model = tiny_model(aux_tasks=("random", "random_shared"), aux_weights=(weight, weight))
    (xb, yb), (xr, yr) = dual_batch()
    grads = []
    for labels in (yr, (yr + 1) % 5):
        with tf.GradientTape() as tape:
            losses, _ = model.compute_task_losses(((xb, yb), (xr, labels)), training=True)
            total = model.total_loss(losses)
        grads.append([g.numpy() for g in tape.gradient(total, model.primary_head.trainable_variables)])
    for a, b in zip(*grads):
        np.testing.assert_array_equal(a, b)
