"""--inference_head=fused: the two heads folded into one linear head equal their prior-corrected mixture,
alpha and tau are chosen on validation (the primary head alone on ties), and a run evaluates and saves
the fused model."""

import dataclasses
import json

import numpy as np
import pytest

from keras_auxlt.models.class_priors import log_prior
from keras_auxlt.training.config import ConfigError
from keras_auxlt.training.head_fusion import choose, fused_weights
from keras_auxlt.training.saving import load_model
from keras_auxlt.training.trainer import run
from tests.training.helpers import tiny_run_config


def test_the_folded_head_is_the_mixture_of_the_primary_and_the_prior_corrected_auxiliary_head():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(7, 5))
    primary, aux = [(rng.normal(size=(5, 3)), rng.normal(size=3)) for _ in range(2)]
    prior = log_prior([60, 30, 10])
    kernel, bias = fused_weights(primary, aux, prior, alpha=0.25, tau=1.5)
    expected = 0.25 * (features @ primary[0] + primary[1]) + 0.75 * (features @ aux[0] + aux[1] - 1.5 * prior)
    np.testing.assert_allclose(features @ kernel + bias, expected, rtol=1e-12)


def test_alpha_and_tau_are_chosen_on_the_given_logits_and_ties_keep_the_primary_head():
    prior = log_prior([80, 15, 5])
    labels = np.array([0, 1, 2, 2, 1, 0])
    truth = np.eye(3)[labels] * 2.0
    # The auxiliary head is right once its prior is removed; the primary head is wrong on the tail.
    aux = truth + prior
    primary = np.tile([3.0, 0.0, 0.0], (6, 1))
    alpha, tau, scores = choose(labels, primary, aux, prior)
    assert scores["1/0"] == pytest.approx(2 / 6) and scores["0/1"] == 1.0 and scores["0/0"] < 1.0
    assert scores[f"{alpha:g}/{tau:g}"] == 1.0
    # Among the perfect mixtures, the one nearest the primary head alone (largest alpha, then smallest tau).
    perfect = [tuple(map(float, key.split("/"))) for key, score in scores.items() if score == 1.0]
    nearest_alpha, nearest_minus_tau = max((a, -t) for a, t in perfect)
    assert (alpha, tau) == (nearest_alpha, -nearest_minus_tau)
    # Equal scores everywhere: the primary head alone.
    assert choose(labels, truth, truth, prior)[:2] == (1.0, 0.0)


def test_fused_needs_the_random_auxiliary_head_and_a_validation_split(tmp_path):
    config = tiny_run_config(tmp_path, inference_head="fused")
    with pytest.raises(ConfigError, match=r"fused needs method auxlt with the random \(or random_adjusted\) auxiliary task"):
        dataclasses.replace(config, method="balanced").check()
    with pytest.raises(ConfigError, match="--inference_head=fused chooses how to mix the heads on a validation split"):
        run(config, progress=False)


def test_a_fused_run_evaluates_and_saves_the_folded_head(tmp_path):
    config = tiny_run_config(tmp_path, splits=("train", "val", "test"), epochs=1, inference_head="fused")
    metrics = run(config, progress=False)
    record = metrics["inference_head"]
    assert set(record) == {"alpha", "tau", "validation"} and record["validation"]["1/0"] >= 0
    assert max(record["validation"].values()) == record["validation"][f"{record['alpha']:g}/{record['tau']:g}"]
    assert metrics["inference_statistics"]["checkpoint"] == "inference.keras"
    best = load_model(str(tmp_path / "run" / "checkpoints" / "best.keras"))
    fused = load_model(str(tmp_path / "run" / "checkpoints" / "inference.keras"))
    counts = json.loads((tmp_path / "run" / "config.json").read_text())["derived"]["class_counts"]
    heads = [[w.numpy() for w in (head.kernel, head.bias)] for head in (best.primary_head, best.aux_heads["random"])]
    kernel, bias = fused_weights(*heads, log_prior(counts), record["alpha"], record["tau"])
    np.testing.assert_allclose(fused.primary_head.kernel.numpy(), kernel, rtol=1e-6)
    np.testing.assert_allclose(fused.primary_head.bias.numpy(), bias, rtol=1e-6, atol=1e-7)
    for a, b in zip(fused.backbone.weights, best.backbone.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # only the head changed
