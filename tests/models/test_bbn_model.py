"""BBN as megvii-research/BBN trains it: the split backbone, the cumulative-learning alpha, the mixed
features and loss of a step, which branch each batch trains, alpha = 0.5 at test, and saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_auxlt.models.bbn_model import BBNModel
from tests.models.helpers import COUNTS, NUM_CLASSES, dual_batch

STEPS_PER_EPOCH, EPOCHS = 3, 10


def tiny_bbn(**kwargs):
    model = BBNModel(backbone="resnet20", num_classes=NUM_CLASSES, image_size=16, class_counts=COUNTS,
                     total_steps=STEPS_PER_EPOCH * EPOCHS, steps_per_epoch=STEPS_PER_EPOCH, **kwargs)
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    model.build((None, 16, 16, 3))
    return model


def test_the_backbone_is_a_trunk_and_two_copies_of_the_last_block():
    model = tiny_bbn()
    trunk, branches = model.trunk, model.branches
    assert set(branches) == {"conventional", "rebalancing"}
    assert trunk.output_shape[1:] == (4, 4, 64)  # 16x16 images, two stride-2 stages
    assert not any("stage3_block3" in layer.name for layer in trunk.layers)  # resnet20's last block left the trunk
    for branch in branches.values():
        assert branch.output_shape == (None, 64)
    assert model.backbone.output_shape == (None, 128) and model.primary_head.kernel.shape == (128, NUM_CLASSES)
    ids = [id(v) for v in model.trainable_variables]
    assert len(ids) == len(set(ids))  # the trunk and branches are counted once (the L2 term sums each weight once)


@pytest.mark.parametrize("step, alpha", [(0, 1.0), (2, 1.0), (3, 1 - 0.1 ** 2), (29, 1 - 0.9 ** 2)])
def test_alpha_is_the_parabolic_decay_by_epoch(step, alpha):
    model = tiny_bbn()
    model.optimizer.iterations.assign(step)
    assert float(model.alpha()) == pytest.approx(alpha)


def features(model, images):
    maps = model.trunk(model.normalize(images), training=False)
    return {b: model.branches[b](maps, training=False).numpy() for b in ("conventional", "rebalancing")}


def test_a_step_mixes_the_branches_features_and_losses_with_alpha():
    model = tiny_bbn()
    model.optimizer.iterations.assign(6)  # epoch 2: alpha 0.96
    (x_rb, y_rb), (x_cb, y_cb) = dual_batch()
    losses, outputs = model.compute_task_losses(((x_rb, y_rb), (x_cb, y_cb)), training=False)
    alpha = 1 - (2 / EPOCHS) ** 2
    mixed = 2 * np.concatenate([alpha * features(model, x_cb)["conventional"],
                                (1 - alpha) * features(model, x_rb)["rebalancing"]], axis=-1)
    logits = model.primary_head(mixed).numpy()
    np.testing.assert_allclose(outputs["primary"][1].numpy()[:len(y_cb)], logits, rtol=1e-5, atol=1e-5)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    expected = alpha * float(ce(y_cb, logits)) + (1 - alpha) * float(ce(y_rb, logits))
    assert float(losses["primary"]) == pytest.approx(expected, rel=1e-5)


def test_a_steps_accuracy_weighs_both_labels_with_alpha_as_the_reference_reports_it():
    """megvii-research/BBN's bbn_mix: now_acc = l acc(y_a) + (1 - l) acc(y_b) of the mixed logits' argmax."""
    model = tiny_bbn()
    model.optimizer.iterations.assign(STEPS_PER_EPOCH * 7)  # alpha 0.51
    (x_rb, y_rb), (x_cb, y_cb) = dual_batch()
    y_rb = y_cb.copy()
    y_rb[::2] = (y_rb[::2] + 1) % NUM_CLASSES  # half the labels differ between the two batches
    _, outputs = model.compute_task_losses(((x_rb, y_rb), (x_cb, y_cb)), training=False)
    predicted = outputs["primary"][1].numpy()[:len(y_cb)].argmax(-1)
    alpha = 1 - (7 / EPOCHS) ** 2
    expected = alpha * np.mean(predicted == y_cb) + (1 - alpha) * np.mean(predicted == y_rb)
    accuracy = keras.metrics.SparseCategoricalAccuracy()
    accuracy.update_state(*outputs["primary"])
    assert float(accuracy.result()) == pytest.approx(expected, abs=1e-6)


def test_at_test_the_classifier_reads_both_branches_of_one_image_alpha_one_half():
    model = tiny_bbn()
    x = dual_batch()[0][0]
    f = features(model, x)
    expected = model.primary_head(np.concatenate([f["conventional"], f["rebalancing"]], axis=-1)).numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.primary_model()(x).numpy(), expected, rtol=1e-5, atol=1e-5)


def branch_gradients(model, data):
    with tf.GradientTape() as tape:
        loss = model.compute_task_losses(data, training=True)[0]["primary"]
    variables = {b: model.branches[b].trainable_variables for b in ("conventional", "rebalancing")}
    grads = tape.gradient(loss, variables)
    return {b: max(float(tf.reduce_max(tf.abs(g))) for g in gs if g is not None) for b, gs in grads.items()}


def test_alpha_one_trains_the_conventional_branch_only():
    """At epoch 0 (alpha 1) the re-balancing branch gets no gradient; later both branches learn."""
    model = tiny_bbn()
    data = dual_batch()
    first = branch_gradients(model, data)
    assert first["conventional"] > 0 and first["rebalancing"] == 0
    model.optimizer.iterations.assign(STEPS_PER_EPOCH * 5)  # alpha 0.75
    later = branch_gradients(model, data)
    assert later["conventional"] > 0 and later["rebalancing"] > 0


def test_bbn_saves_and_loads_with_its_schedule(tmp_path):
    model = tiny_bbn()
    path = str(tmp_path / "bbn.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, BBNModel) and loaded.steps_per_epoch == STEPS_PER_EPOCH
    x = dual_batch()[0][0]
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(aux_tasks=("random",)), "no auxiliary task"),
    (dict(mixup_alpha=0.5), "does not mix"),
])
def test_bbn_refuses_what_it_does_not_train(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_bbn(**kwargs)


def test_bbn_splits_only_cifar_resnets():
    with pytest.raises(ValueError, match="BBN splits the CIFAR ResNets only.*resnet50"):
        BBNModel(backbone="resnet50", num_classes=3, image_size=32, total_steps=4, steps_per_epoch=2)


def test_a_fresh_process_loads_a_bbn_checkpoint_through_the_one_loader(tmp_path):
    """evaluate.py and the exporter load checkpoints through keras_auxlt.training.saving, which must know BBNModel
    without the trainer having imported it."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT, repo_env

    path = str(tmp_path / "bbn.keras")
    tiny_bbn().save(path)
    done = subprocess.run([sys.executable, "-c", "import sys; from keras_auxlt.training.saving import load_model; "
                           "print(type(load_model(sys.argv[1])).__name__)", path], cwd=REPO_ROOT, env=repo_env(),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "BBNModel"
