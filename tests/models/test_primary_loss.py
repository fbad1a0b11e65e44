"""`PrimaryLoss`: the baselines' losses against their reference formulas, written out in NumPy as the public
code computes them: LDAM-DRW and DRW (kaidic/LDAM-DRW losses.py, cifar_train.py) and MiSLAS's label-aware
smoothing (dvlab-research/MiSLAS methods.py); and the model's primary head trained with them."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_auxlt.models import class_priors
from keras_auxlt.models.layers import CosineDense, UnitColumnsUniform
from keras_auxlt.models.primary_loss import PrimaryLoss
from keras_auxlt.training.saving import load_model
from tests.models.helpers import COUNTS, NUM_CLASSES, rewrite_keras_config, tiny_model


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def torch_weighted_ce(logits, labels, weights=None):
    """torch.nn.functional.cross_entropy(logits, labels, weight=weights): the weighted mean over the batch's weights."""
    nll = -log_softmax(logits)[np.arange(len(labels)), labels]
    w = np.ones(len(labels)) if weights is None else weights[labels]
    return float((w * nll).sum() / w.sum())


def drw_weights(counts):
    """cifar_train.py's DRW weights after the switch: (1 - beta) / (1 - beta^n), summing to the class count."""
    w = (1 - 0.9999) / (1 - np.power(0.9999, np.asarray(counts, np.float64)))
    return w / w.sum() * len(counts)


def test_ldam_margins_are_the_reference_ones():
    counts = [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    m = 1.0 / np.sqrt(np.sqrt(counts))
    np.testing.assert_allclose(class_priors.ldam_margins(counts), m * (0.5 / m.max()))
    assert class_priors.ldam_margins(counts)[-1] == pytest.approx(0.5) and class_priors.LDAM_SCALE == 30


def test_cosine_classifier_is_scaled_cosine_similarity():
    layer = CosineDense(4, 30.0)
    x = np.random.default_rng(0).normal(size=(6, 8)).astype(np.float32)
    logits = layer(x).numpy()
    w = layer.kernel.numpy()
    cos = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (w / np.linalg.norm(w, axis=0, keepdims=True))
    np.testing.assert_allclose(logits, 30 * cos, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer(7.0 * x).numpy(), logits, rtol=1e-5, atol=1e-5)  # the feature's norm is gone
    assert np.abs(logits).max() <= 30 + 1e-4 and not any("bias" in v.path for v in layer.weights)


def reference_normed_linear_init(uniform):
    """NumPy copy of kaidic/LDAM-DRW's NormedLinear weight, `uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)`, from
    the same uniform draws: torch.renorm scales each slice along dim 1 (a class column of the [in, out] weight)
    whose 2-norm exceeds maxnorm by maxnorm / (norm + 1e-7)."""
    norm = np.linalg.norm(uniform.astype(np.float64), axis=0, keepdims=True)
    factor = np.where(norm > 1e-5, 1e-5 / (norm + 1e-7), 1.0)
    return uniform * factor * 1e5


def test_the_cosine_classifier_starts_as_ldam_drw_starts_it_with_unit_norm_class_columns():
    """The columns start at norm 1 (not about sqrt(64 / 3) = 4.6, as a plain uniform draw leaves them)."""
    draws = keras.initializers.RandomUniform(-1.0, 1.0, seed=3)((64, 10)).numpy()
    ours = UnitColumnsUniform(seed=3)((64, 10)).numpy()
    np.testing.assert_allclose(ours, reference_normed_linear_init(draws), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=0), 1.0, atol=1e-4)
    assert 4.0 < np.linalg.norm(draws, axis=0).mean() < 5.2
    layer = CosineDense(10, 30.0)
    layer.build((None, 64))
    np.testing.assert_allclose(np.linalg.norm(layer.kernel.numpy(), axis=0), 1.0, atol=1e-4)


@pytest.mark.parametrize("after_drw", [False, True])
def test_ldam_drw_loss_is_the_reference_loss_before_and_after_the_switch(after_drw):
    model = tiny_model(aux_tasks=(), primary_loss="ldam_drw", classifier="cosine", drw_start_step=3)
    model.optimizer.iterations.assign(3 if after_drw else 2)
    rng = np.random.default_rng(1)
    labels = rng.integers(0, NUM_CLASSES, 16)
    logits = rng.uniform(-30, 30, (16, NUM_CLASSES)).astype(np.float32)  # s * cos
    cos = logits / 30.0
    margins = class_priors.ldam_margins(COUNTS)
    output = np.where(np.eye(NUM_CLASSES)[labels] > 0, cos - margins[labels][:, None], cos)
    expected = torch_weighted_ce(30 * output, labels, drw_weights(COUNTS) if after_drw else None)
    got = float(model.primary_task_loss(tf.constant(labels), tf.constant(logits)))
    assert got == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("after_drw", [False, True])
def test_drw_loss_is_the_reference_loss_before_and_after_the_switch(after_drw):
    """cifar_train.py with --loss_type CE --train_rule DRW: CrossEntropyLoss(weight=per_cls_weights)."""
    loss = PrimaryLoss("drw", NUM_CLASSES, COUNTS, drw_start_step=3)
    rng = np.random.default_rng(2)
    labels = rng.integers(0, NUM_CLASSES, 16)
    logits = rng.normal(0, 3, (16, NUM_CLASSES)).astype(np.float32)
    expected = torch_weighted_ce(logits, labels, drw_weights(COUNTS) if after_drw else None)
    got = float(loss(tf.constant(labels), tf.constant(logits), tf.constant(3 if after_drw else 2, tf.int64)))
    assert got == pytest.approx(expected, rel=1e-5)


def test_a_drw_checkpoint_of_before_the_reference_normalisation_keeps_its_own(tmp_path):
    """Code of before 2026-12-06 divided drw's weighted loss by the batch size and did not record it: such a
    checkpoint resumes with the loss it was trained with; one saved now records the reference's."""
    path = str(tmp_path / "drw.keras")
    tiny_model(aux_tasks=(), primary_loss="drw").save(path)
    assert load_model(path).drw_normalisation == "sum_of_weights"
    rewrite_keras_config(path, lambda config: config.pop("drw_normalisation"))
    assert load_model(path).drw_normalisation == "batch_size"


def test_ldam_drw_trains_a_cosine_head_without_bias_and_round_trips(tmp_path):
    model = tiny_model(aux_tasks=(), primary_loss="ldam_drw", classifier="cosine")
    assert isinstance(model.primary_head, CosineDense) and len(model.primary_head.weights) == 1
    path = str(tmp_path / "ldam.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(2).uniform(0, 255, (3, 16, 16, 3)).astype(np.float32)
    np.testing.assert_allclose(loaded(x).numpy(), model(x).numpy(), atol=1e-5)
    assert loaded.get_config()["classifier"] == "cosine"


def test_label_aware_smoothing_factors_and_loss_are_mislas():
    eps = class_priors.label_aware_smoothing(COUNTS, 0.3, 0.0)
    n = np.asarray(COUNTS, np.float64)
    np.testing.assert_allclose(eps, 0.3 * np.sin((n - n.min()) * np.pi / (2 * (n.max() - n.min()))))
    assert eps[0] == pytest.approx(0.3) and eps[-1] == 0.0
    loss = PrimaryLoss("ce", NUM_CLASSES, COUNTS, label_smoothing=(0.3, 0.0))
    rng = np.random.default_rng(3)
    labels = rng.integers(0, NUM_CLASSES, 12)
    logits = rng.normal(size=(12, NUM_CLASSES)).astype(np.float32)
    logp = log_softmax(logits.astype(np.float64))
    e = eps[labels]
    expected = np.mean((1 - e) * -logp[np.arange(12), labels] + e * -logp.mean(-1))
    assert float(loss(tf.constant(labels), tf.constant(logits), 0)) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(primary_loss="ldam_drw"), "goes with the cosine classifier"),
    (dict(classifier="cosine"), "goes with the cosine classifier"),
    (dict(classifier="arc"), "Unknown classifier"),
    (dict(label_smoothing=(0.3, 0.0), primary_loss="drw"), "applies to the ce primary loss"),
    (dict(label_smoothing=(1.2, 0.0)), r"each in \[0, 1\)"),
])
def test_bad_combinations_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_model(aux_tasks=(), **kwargs)


def test_the_other_variants_against_their_formulas():
    labels = tf.constant([0, 4, 4, 2])
    logits = tf.constant(np.random.default_rng(0).normal(size=(4, 5)), tf.float32)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)(labels, logits).numpy()
    weights = class_priors.effective_number_weights(COUNTS)[labels.numpy()]
    prior = np.log(np.array(COUNTS) / np.sum(COUNTS))

    def loss(kind, step=0, **kwargs):
        return float(PrimaryLoss(kind, NUM_CLASSES, COUNTS, **kwargs)(labels, logits, tf.constant(step, tf.int64)))

    assert loss("ce") == pytest.approx(ce.mean(), rel=1e-5)
    assert loss("class_balanced") == pytest.approx((weights * ce).mean(), rel=1e-5)
    assert loss("drw", drw_start_step=1) == pytest.approx(ce.mean(), rel=1e-5)  # step 0: not yet
    # From the switch: the weighted mean over the batch's weights (kaidic/LDAM-DRW); code of before 2026-12-06
    # took it over the batch size, which its checkpoints keep (drw_normalisation="batch_size").
    assert loss("drw", step=5, drw_start_step=5) == pytest.approx((weights * ce).sum() / weights.sum(), rel=1e-5)
    assert loss("drw", drw_normalisation="batch_size") == pytest.approx((weights * ce).mean(), rel=1e-5)
    adjusted = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits + prior)
    assert loss("logit_adjust") == pytest.approx(float(adjusted), rel=1e-5)
    assert loss("logit_adjust", logit_adjust_tau=0.0) == pytest.approx(ce.mean(), rel=1e-5)


def test_the_model_trains_its_primary_head_with_the_loss_of_its_arguments():
    """AuxLTModel hands its own arguments and its optimizer's step to PrimaryLoss."""
    model = tiny_model(aux_tasks=("random",), primary_loss="drw", drw_start_step=4, drw_normalisation="batch_size")
    labels = tf.constant([0, 4, 4, 2])
    logits = tf.constant(np.random.default_rng(4).normal(size=(4, 5)), tf.float32)
    reference = PrimaryLoss("drw", NUM_CLASSES, COUNTS, drw_start_step=4, drw_normalisation="batch_size")
    for step in (3, 4):
        model.optimizer.iterations.assign(step)
        assert float(model.primary_task_loss(labels, logits)) == pytest.approx(
            float(reference(labels, logits, tf.constant(step, tf.int64))), rel=1e-6)
    assert float(reference(labels, logits, tf.constant(3, tf.int64))) != pytest.approx(
        float(reference(labels, logits, tf.constant(4, tf.int64))), rel=1e-3)  # the step matters
