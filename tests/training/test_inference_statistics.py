"""--inference_statistics: the model a run evaluates (and export picks up) has its BatchNorm statistics
re-estimated on the random stream's batches, everything else as selected; the as-trained figures stay on record."""

import dataclasses
import json
import os

import keras
import numpy as np
import pytest

from keras_auxlt.evaluation import evaluate, top1_groups, validation_temperature
from keras_auxlt.run_files import checkpoint_path
from keras_auxlt.training.batch_norm_statistics import with_statistics_from
from keras_auxlt.training.saving import load_model
from keras_auxlt.training.trainer import load_data, run
from tests.training.helpers import tiny_run_config


def moving_statistics(model):
    return {w.path for layer in model.backbone.layers if isinstance(layer, keras.layers.BatchNormalization)
            for w in (layer.moving_mean, layer.moving_variance)}


def with_validation(config):
    return dataclasses.replace(config, data=dataclasses.replace(config.data, imbalance_ratio=4, val_per_class=2))


def test_random_stream_statistics_are_the_selected_checkpoint_re_estimated_and_what_is_evaluated(tmp_path):
    config = with_validation(tiny_run_config(tmp_path, epochs=2, inference_statistics="random",
                                             inference_statistics_steps=5))
    run(config, progress=False)
    checkpoints = tmp_path / "run" / "checkpoints"
    selected, inference = load_model(str(checkpoints / "best.keras")), load_model(str(checkpoints / "inference.keras"))

    statistics = moving_statistics(selected)
    changed = [a.path for a, b in zip(selected.weights, inference.weights) if not np.array_equal(a.numpy(), b.numpy())]
    assert changed and set(changed) <= statistics  # only moving statistics differ from the selected checkpoint
    # ... and they are best.keras re-estimated over 5 random-stream batches after the last training step.
    train, val, test = load_data(config, progress=False)
    total_steps = json.loads((tmp_path / "run" / "config.json").read_text())["derived"]["total_steps"]
    expected = with_statistics_from(load_model(str(checkpoints / "best.keras")), "random", train, config.pipeline,
                                     start_step=total_steps, steps=5, progress=False)
    for a, b in zip(expected.weights, inference.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)

    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["checkpoint"] == "best.keras"
    assert metrics["inference_statistics"] == {"source": "random", "steps": 5, "checkpoint": "inference.keras"}
    state = json.loads((checkpoints / "state.json").read_text())
    assert metrics["validation_as_trained"]["overall"] == pytest.approx(state["best_value"], abs=1e-6)
    counts = train.class_counts
    assert metrics["overall"] == evaluate(inference, test, counts, config.pipeline, progress=False)[0]["overall"]
    assert metrics["validation"]["overall"] == evaluate(inference, val, counts, config.pipeline, progress=False)[0]["overall"]
    # Temperature scaling: fitted on the validation split, on the model evaluated; top-1 stays that of the raw logits.
    assert metrics["temperature"] == pytest.approx(validation_temperature(inference, val, config.pipeline, progress=False))
    tempered = evaluate(inference, test, counts, config.pipeline, progress=False, temperature=metrics["temperature"])
    assert tempered.metrics["overall"] == metrics["overall"] and tempered.metrics["tempered"] == metrics["tempered"]
    assert set(metrics["tempered"]) == {"ece", "nll"} and metrics["tempered"]["nll"] > 0
    # Export and evaluate.py take the re-estimated model by default; the diagnostic never does.
    assert checkpoint_path(config.model_dir)[0] == "inference.keras"
    assert checkpoint_path(config.model_dir, "auto", as_trained=True)[0] == "best.keras"
    with pytest.raises(ValueError, match="Accepted: auto, best, last. Received: 'inference'"):
        checkpoint_path(config.model_dir, "inference", as_trained=True)


def test_a_rerun_remakes_the_same_inference_checkpoint_or_removes_it(tmp_path):
    config = tiny_run_config(tmp_path, epochs=1, inference_statistics="random", inference_statistics_steps=3)
    first = run(config, progress=False)
    path = os.path.join(config.model_dir, "checkpoints", "inference.keras")
    made = [w.numpy() for w in load_model(path).weights]
    assert first["checkpoint"] == "last.keras" and "validation_as_trained" not in first  # no val split

    again = run(config, progress=False)  # finished: not trained again, the statistics re-estimated the same way
    assert again["overall"] == first["overall"]
    for a, b in zip(made, load_model(path).weights):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-5, atol=1e-6)

    as_trained = run(dataclasses.replace(config, inference_statistics="as_trained"), progress=False)
    assert not os.path.exists(path)  # a stale inference.keras would be what export picks by default
    recorded = os.path.join(config.model_dir, "checkpoints", "fingerprint.json")
    with open(recorded) as f:
        assert list(json.load(f)["checkpoints"]) == ["last.keras"]  # and so would its fingerprint
    assert as_trained["inference_statistics"] == {"source": "as_trained", "steps": 0, "checkpoint": "last.keras"}
    assert checkpoint_path(config.model_dir)[0] == "last.keras"


@pytest.mark.parametrize("winner", ["balanced", "as_trained"])
def test_auto_keeps_the_statistics_that_score_highest_on_validation(tmp_path, monkeypatch, winner):
    """Validation scores are forced: the `winner` source's is 1.0 and every other re-estimated one 0.0."""
    from keras_auxlt.training import finalise

    current, scores = [None], {}

    def reestimate(model, source, *args, **kwargs):
        current[0] = source
        return with_statistics_from(model, source, *args, **kwargs)

    def scored(metrics):
        groups = top1_groups(metrics)
        source = current[0] or "as_trained"
        if source not in scores:  # the validation score of each candidate, in the order auto takes them
            groups = {**groups, "overall": groups["overall"] if source == "as_trained" else float(source == winner)}
            scores[source] = groups["overall"]
        return groups

    monkeypatch.setattr(finalise, "with_statistics_from", reestimate)
    monkeypatch.setattr(finalise, "top1_groups", scored)
    config = with_validation(tiny_run_config(tmp_path, epochs=1, inference_statistics="auto",
                                             inference_statistics_steps=3))
    metrics = run(config, progress=False)
    statistics = metrics["inference_statistics"]
    assert list(scores) == ["as_trained", "joint", "balanced", "random"]
    assert statistics["requested"] == "auto" and statistics["source"] == winner
    assert statistics["validation"] == scores
    assert metrics["validation_as_trained"]["overall"] == scores["as_trained"]
    inference = tmp_path / "run" / "checkpoints" / "inference.keras"
    assert inference.is_file() == (winner != "as_trained")
    assert statistics["checkpoint"] == ("best.keras" if winner == "as_trained" else "inference.keras")
    train, _, test = load_data(config, progress=False)
    best = load_model(str(tmp_path / "run" / "checkpoints" / "best.keras"))
    expected = best if winner == "as_trained" else with_statistics_from(
        best, winner, train, config.pipeline, start_step=metrics["steps"], steps=3, progress=False)  # after training
    assert metrics["overall"] == evaluate(expected, test, train.class_counts, config.pipeline, progress=False)[0]["overall"]


def test_auto_without_a_validation_split_names_the_flag_and_the_fix(tmp_path):
    with pytest.raises(ValueError, match=r"--inference_statistics=auto chooses .* on a validation split, and .*images "
                                         r"has none: add --val_per_class=K"):
        run(tiny_run_config(tmp_path, epochs=1, inference_statistics="auto"), progress=False)
    assert not (tmp_path / "run" / "checkpoints").exists()  # refused before training


def test_evaluating_many_models_in_a_row_prints_no_retracing_warning(tmp_path, caplog):
    """auto scores up to four models on validation, then the test split: each evaluation traces its own
    function once, which TensorFlow must not report as excessive retracing."""
    from tests.models.helpers import tiny_model

    config = tiny_run_config(tmp_path)
    train, _, test = load_data(config, progress=False)
    with caplog.at_level("WARNING"):
        for seed in range(7):
            evaluate(tiny_model(num_classes=3, class_counts=[12, 6, 3], seed=seed), test, train.class_counts,
                     config.pipeline, progress=False)
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
