import dataclasses
import json
import os

import keras
import numpy as np
import pytest

from keras_auxlt import calibration
from keras_auxlt.evaluation import evaluate
from keras_auxlt.provenance import code_version
from keras_auxlt.training import finalise
from keras_auxlt.training.callbacks import NonFiniteLossError, ProgressReport, duration
from keras_auxlt.training.config import OptimConfig
from keras_auxlt.training.trainer import run
from tests.models.helpers import without_strided_padding
from tests.training.helpers import tiny_run_config


def weights_of(model_dir):
    model = keras.models.load_model(os.path.join(model_dir, "checkpoints", "last.keras"))
    return model, [w.numpy() for w in model.weights]


def test_run_writes_config_checkpoints_metrics_and_plots(tmp_path, capsys):
    config = tiny_run_config(tmp_path, epochs=1)
    metrics = run(config, progress=False)
    printed = capsys.readouterr().out
    # One block before training says what the run will do, and one line per epoch how far it is.
    for expected in ["[train] method     auxlt with auxiliary random (weight 1), rotation (weight 1), lambda constant",
                     "3 classes, 21 training images (12 to 3 per class, imbalance 4;",
                     "[train] batch      8 per stream (balanced + random): 16 images per step",
                     "[train] schedule   1 epoch of 3 steps = 3 steps",
                     "[train] devices    OneDeviceStrategy, 1 replica(s); precision float32",
                     f"[train] output     {tmp_path / 'run'}: evaluates last.keras, BatchNorm statistics as_trained",
                     "[train] epoch 1 of 1 (step 3 of 3): "]:
        assert expected in printed, printed
    run_dir = tmp_path / "run"
    for name in ("config.json", "metrics.json", "per_class_accuracy.png", "confusion_matrix.png",
                 "reliability_diagram.png", "test_predictions.npz", "checkpoints/last.keras", "checkpoints/state.json", "checkpoints/fingerprint.json"):
        assert (run_dir / name).is_file(), name
    recorded = json.loads((run_dir / "checkpoints" / "fingerprint.json").read_text())["checkpoints"]
    assert list(recorded) == ["last.keras"] and np.array(recorded["last.keras"]["classes"]).shape == (4, 3)
    resolved = json.loads((run_dir / "config.json").read_text())
    assert resolved["derived"]["steps_per_epoch"] == 3 and resolved["derived"]["class_counts"] == [12, 6, 3]
    assert resolved["derived"]["images_per_step"] == 16 and resolved["derived"]["jpeg_dct"] == "INTEGER_ACCURATE"
    assert resolved["derived"]["strided_padding"] == "symmetric"
    written = json.loads((run_dir / "metrics.json").read_text())
    assert set(["overall", "many", "medium", "few", "per_class", "aux_heads_overall"]) <= set(written)
    assert written["code"] == resolved["derived"]["code"] == code_version()
    assert written["steps"] == 3 and written["images_seen"] == 48
    assert metrics["overall"] == written["overall"] and len(written["per_class"]) == 3
    assert list(written["aux_heads_overall"]) == ["random"]
    # Each test image's label, prediction and the probabilities of both: calibration and paired differences
    # recompute from them without the checkpoint.
    record = np.load(run_dir / "test_predictions.npz")
    assert sorted(record.files) == ["label", "p_prediction", "p_true", "prediction"]
    assert len(record["label"]) == written["num_test_images"]
    assert np.mean(record["prediction"] == record["label"]) == pytest.approx(written["overall"])
    assert np.all(record["p_prediction"] >= record["p_true"]) and np.all(record["p_prediction"] >= 1 / 3 - 1e-6)
    assert written["ece"] == pytest.approx(calibration.calibration_metrics(record)["ece"])
    assert written["nll"] == pytest.approx(-np.mean(np.log(record["p_true"])), rel=1e-5)
    assert any((run_dir / "logs").rglob("*tfevents*"))


def test_resumed_run_ends_with_the_same_weights_as_an_uninterrupted_one(tmp_path):
    full = tiny_run_config(tmp_path, model_dir=str(tmp_path / "full"), deterministic=True)
    run(full, progress=False)
    interrupted = dataclasses.replace(full, model_dir=str(tmp_path / "interrupted"))
    run(dataclasses.replace(interrupted, epochs=1), progress=False)  # stops after epoch 1 (a "crash")
    run(interrupted, progress=False)  # same command again: resumes at epoch 2
    model_a, a = weights_of(full.model_dir)
    model_b, b = weights_of(interrupted.model_dir)
    assert int(model_a.optimizer.iterations) == int(model_b.optimizer.iterations) == 9
    assert max(float(np.max(np.abs(x - y))) for x, y in zip(a, b)) <= 1e-5


def test_finished_run_is_not_trained_again(tmp_path):
    config = tiny_run_config(tmp_path, epochs=1)
    run(config, progress=False)
    state = json.loads((tmp_path / "run" / "checkpoints" / "state.json").read_text())
    run(config, progress=False)
    assert json.loads((tmp_path / "run" / "checkpoints" / "state.json").read_text())["step"] == state["step"] == 3


def test_nan_loss_stops_with_the_loss_and_step_named_and_keeps_the_checkpoint(tmp_path):
    """Epoch 1 trains normally and is checkpointed; from epoch 2 on the learning rate explodes."""
    exploding = OptimConfig(learning_rate=0.05, warmup_epochs=0, lr_milestones=(1,), lr_factors=(1e30,))
    config = tiny_run_config(tmp_path, epochs=2, optim=exploding)
    message = r"loss went (nan|inf) at step [4-6] \(batch [1-3] of this epoch\)"
    with pytest.raises(NonFiniteLossError, match=message) as e:
        run(config, progress=False)
    assert "left as it was" in str(e.value)
    state = json.loads((tmp_path / "run" / "checkpoints" / "state.json").read_text())
    assert state["epoch"] == 1 and state["step"] == 3
    model, weights = weights_of(config.model_dir)
    assert int(model.optimizer.iterations) == 3
    assert all(np.all(np.isfinite(w)) for w in weights)


@pytest.mark.parametrize("method, primary_loss", [("ce", "ce"), ("drw", "drw"), ("logit_adjust", "logit_adjust")])
def test_single_stream_baselines_train_the_primary_head_only(tmp_path, method, primary_loss):
    metrics = run(tiny_run_config(tmp_path, method=method, epochs=2, drw_start_epoch=1), progress=False)
    assert metrics["aux_heads_overall"] == {}
    resolved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert resolved["derived"]["aux_tasks"] == [] and resolved["derived"]["images_per_step"] == 8
    assert resolved["derived"]["primary_loss"] == primary_loss
    model, _ = weights_of(str(tmp_path / "run"))
    assert model.primary_loss == primary_loss and not model.aux_heads
    assert model.drw_start_step == 3 * 1  # drw_start_epoch x steps_per_epoch
    # drw's runs say how their weighted loss was normalised (the page names runs of before this was recorded).
    assert resolved["derived"].get("drw_normalisation") == ("sum_of_weights" if method == "drw" else None)


def test_ldam_drw_trains_a_cosine_primary_head_with_its_margins_and_drw_epoch(tmp_path):
    metrics = run(tiny_run_config(tmp_path, method="ldam_drw", epochs=2, drw_start_epoch=1), progress=False)
    assert metrics["aux_heads_overall"] == {}
    model, _ = weights_of(str(tmp_path / "run"))
    assert model.primary_loss == "ldam_drw" and model.classifier == "cosine" and model.drw_start_step == 3
    assert float(np.abs(model(np.zeros((2, 16, 16, 3), np.float32))).max()) <= 30 + 1e-4  # s * cos


def test_bbn_trains_both_branches_from_its_two_samplers_and_reports_alpha_one_half(tmp_path):
    config = tiny_run_config(tmp_path, method="bbn", epochs=2)
    config = dataclasses.replace(config, pipeline=dataclasses.replace(config.pipeline, balanced_sampler="reversed"))
    metrics = run(config, progress=False)
    model, _ = weights_of(str(tmp_path / "run"))
    assert type(model).__name__ == "BBNModel" and model.steps_per_epoch == 3 and model.total_steps == 6
    resolved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert resolved["derived"]["images_per_step"] == 16 and resolved["pipeline"]["balanced_sampler"] == "reversed"
    assert 0 <= metrics["overall"] <= 1 and metrics["aux_heads_overall"] == {}


def test_crt_with_label_aware_smoothing_trains_its_head_with_it(tmp_path):
    run(tiny_run_config(tmp_path, method="ce", epochs=1, model_dir=str(tmp_path / "ce")), progress=False)
    config = tiny_run_config(tmp_path, method="crt", epochs=1, init_from=str(tmp_path / "ce"),
                             model_dir=str(tmp_path / "crt"))
    run(dataclasses.replace(config, model=dataclasses.replace(config.model, label_aware_smoothing=(0.3, 0.0))),
        progress=False)
    stage2, _ = weights_of(str(tmp_path / "crt"))
    assert stage2.label_smoothing == (0.3, 0.0)


def test_crt_lws_fine_tunes_the_first_stages_classifier_with_a_learnt_scale_per_class(tmp_path):
    """--crt_classifier=lws (MiSLAS's stage 2): the head starts as the first stage's linear classifier with scales
    of 1, the backbone frozen; training moves the classifier and the scales. A first stage without a linear
    classifier (ldam_drw's cosine one) is refused, naming the flag."""
    from types import SimpleNamespace

    from keras_auxlt.models.auxlt_model import AuxLTModel
    from keras_auxlt.training.trainer import build_model

    run(tiny_run_config(tmp_path, method="ce", epochs=1, model_dir=str(tmp_path / "ce")), progress=False)
    stage1, _ = weights_of(str(tmp_path / "ce"))
    config = tiny_run_config(tmp_path, method="crt", epochs=1, init_from=str(tmp_path / "ce"),
                             model_dir=str(tmp_path / "lws"))
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, crt_classifier="lws"))
    built = build_model(config, SimpleNamespace(num_classes=3, class_counts=np.array([12, 6, 3])), 3, 3)
    assert built.classifier == "scaled" and built.classifier_lr_factor == 0.5
    for name in ("kernel", "bias"):
        np.testing.assert_array_equal(getattr(built.primary_head, name).numpy(),
                                      getattr(stage1.primary_head, name).numpy())
    np.testing.assert_array_equal(built.primary_head.scale.numpy(), np.ones(3, np.float32))
    metrics = run(config, progress=False)
    stage2, _ = weights_of(str(tmp_path / "lws"))
    assert 0 <= metrics["overall"] <= 1 and stage2.freeze_backbone
    assert not np.array_equal(stage2.primary_head.kernel.numpy(), stage1.primary_head.kernel.numpy())
    assert not np.array_equal(stage2.primary_head.scale.numpy(), np.ones(3, np.float32))
    for a, b in zip(stage1.backbone.weights, stage2.backbone.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    cosine = AuxLTModel(backbone="resnet20", num_classes=3, image_size=16, aux_tasks=(), class_counts=[12, 6, 3],
                        primary_loss="ldam_drw", classifier="cosine")  # an ldam_drw run's network, finished
    cosine.build((None, 16, 16, 3))
    (tmp_path / "ldam" / "checkpoints").mkdir(parents=True)
    cosine.save(str(tmp_path / "ldam" / "checkpoints" / "last.keras"))
    (tmp_path / "ldam" / "metrics.json").write_text("{}")
    with pytest.raises(ValueError, match=r"--crt_classifier=lws: --init_from .*ldam' has a cosine classifier, not a "
                                         "linear one to fine-tune; use --crt_classifier=fresh"):
        build_model(dataclasses.replace(config, init_from=str(tmp_path / "ldam")),
                    SimpleNamespace(num_classes=3, class_counts=np.array([12, 6, 3])), 3, 3)


def test_validation_split_selects_the_best_checkpoint_for_the_test_report(tmp_path):
    run(tiny_run_config(tmp_path, splits=("train", "val", "test"), epochs=2), progress=False)
    state = json.loads((tmp_path / "run" / "checkpoints" / "state.json").read_text())
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (tmp_path / "run" / "checkpoints" / "best.keras").is_file()
    assert state["monitor"] == "val_primary_acc" and state["best_epoch"] in (1, 2)
    assert state["best_value"] == max(state["best_value"], state["logs"]["val_primary_acc"])
    assert metrics["checkpoint"] == "best.keras" and metrics["best_epoch"] == state["best_epoch"]


def test_validation_split_made_from_training_images_selects_and_is_reported(tmp_path):
    """CIFAR-LT style data (no val split): --val_per_class carves one out of the training images; the run
    keeps the checkpoint best on it and reports that checkpoint's validation accuracy next to the test's."""
    config = tiny_run_config(tmp_path, epochs=2)
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, imbalance_ratio=4, val_per_class=2))
    run(config, progress=False)
    derived = json.loads((tmp_path / "run" / "config.json").read_text())["derived"]
    assert derived["class_counts"] == [10, 4, 1] and derived["val_summary"]["num_images"] == 6
    state = json.loads((tmp_path / "run" / "checkpoints" / "state.json").read_text())
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["checkpoint"] == "best.keras" and state["monitor"] == "val_primary_acc"
    assert metrics["validation"]["overall"] == pytest.approx(state["best_value"], abs=1e-6)
    assert metrics["num_test_images"] == 21  # the test split untouched


def test_crt_retrains_a_fresh_classifier_on_a_frozen_backbone(tmp_path):
    run(tiny_run_config(tmp_path, method="ce", epochs=1, model_dir=str(tmp_path / "ce")), progress=False)
    stage1, _ = weights_of(str(tmp_path / "ce"))
    run(tiny_run_config(tmp_path, method="crt", epochs=2, init_from=str(tmp_path / "ce"),
                        model_dir=str(tmp_path / "crt")), progress=False)
    stage2, _ = weights_of(str(tmp_path / "crt"))
    assert stage2.freeze_backbone and not stage2.backbone.trainable
    for a, b in zip(stage1.backbone.weights, stage2.backbone.weights):  # BatchNorm statistics included
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(stage1.primary_head.kernel.numpy(), stage2.primary_head.kernel.numpy())
    with pytest.raises(ValueError, match="--init_from .*: no checkpoint"):
        run(tiny_run_config(tmp_path, method="crt", init_from=str(tmp_path / "nothing"),
                            model_dir=str(tmp_path / "crt2")), progress=False)
    (tmp_path / "ce" / "metrics.json").unlink()  # as if stopped before its end: a backbone half trained
    with pytest.raises(ValueError, match=r"--init_from .*: that run has not finished \(step 3 of 3\): rerun its "
                                         "command to finish it, or give --stage_one_flagfile"):
        run(tiny_run_config(tmp_path, method="crt", init_from=str(tmp_path / "ce"),
                            model_dir=str(tmp_path / "crt3")), progress=False)


def test_crt_keeps_the_padding_its_backbone_was_trained_with(tmp_path):
    """A first stage saved before the padding was recorded ("same"): the second stage builds its backbone so."""
    run(tiny_run_config(tmp_path, method="ce", epochs=1, model_dir=str(tmp_path / "ce")), progress=False)
    without_strided_padding(str(tmp_path / "ce" / "checkpoints" / "last.keras"))
    run(tiny_run_config(tmp_path, method="crt", epochs=1, init_from=str(tmp_path / "ce"),
                        model_dir=str(tmp_path / "crt")), progress=False)
    stage2, _ = weights_of(str(tmp_path / "crt"))
    assert stage2.strided_padding == "same"
    assert json.loads((tmp_path / "crt" / "config.json").read_text())["derived"]["strided_padding"] == "same"


def test_a_mixed_precision_run_evaluates_in_float32_and_restores_the_policy(tmp_path, monkeypatch):
    """Training in mixed bfloat16; validation choices, statistics and the test score in float32 (issue 22)."""
    seen = []

    def spy(model, *args, **kwargs):
        seen.append({layer.compute_dtype for layer in model.backbone.layers if layer.weights})
        return evaluate(model, *args, **kwargs)

    monkeypatch.setattr(finalise, "evaluate", spy)
    config = tiny_run_config(tmp_path, epochs=1, mixed_precision="bfloat16", inference_statistics="auto")
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, imbalance_ratio=4, val_per_class=2))
    assert run(config, progress=False)["evaluation_precision"] == "float32"
    assert len(seen) == 5 and all(dtypes == {"float32"} for dtypes in seen)  # 4 statistics on validation, test
    assert keras.config.dtype_policy().name == "float32"


def test_unwritable_model_dir_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="--model_dir .* is not writable"):
        run(tiny_run_config(tmp_path, model_dir=str(blocker / "run")), progress=False)


def test_a_full_disk_fails_before_training(tmp_path, monkeypatch):
    import collections
    import shutil

    from keras_auxlt.training import trainer

    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10 * 2**20, 9 * 2**20, 2**20))

    def no_data(*args, **kwargs):
        raise AssertionError("the data was loaded: the check came too late")

    monkeypatch.setattr(trainer, "load_data", no_data)
    with pytest.raises(ValueError, match=r"--model_dir .*: only 1 MiB free on its disk; .* need about 64 MiB"):
        run(tiny_run_config(tmp_path), progress=False)


def test_progress_report_estimates_the_time_left_from_this_invocations_pace():
    class Model:
        class optimizer:
            iterations = keras.Variable(40, dtype="int64")

    lines, now = [], [100.0]
    report = ProgressReport(total_steps=100, steps_per_epoch=10, clock=lambda: now[0],
                            log=lambda line, flush: lines.append(line))
    report.set_model(Model())
    report.on_train_begin()  # resumed at step 40
    Model.optimizer.iterations.assign(50)
    now[0] = 160.0  # 10 steps in 60 s: 50 steps left take 300 s
    report.on_epoch_end(4)
    assert lines == []  # written once Keras has printed its own epoch line
    report.on_epoch_begin(5)
    assert lines[0].startswith("[train] epoch 5 of 10 (step 50 of 100): 1 min 0 s elapsed, about 5 min 0 s to go")
    Model.optimizer.iterations.assign(100)
    now[0] = 460.0
    report.on_epoch_end(9)
    report.on_train_end()
    assert lines[1] == "[train] epoch 10 of 10 (step 100 of 100): 6 min 0 s elapsed"
    assert [duration(s) for s in (59.4, 61, 599, 45 * 60, 45 * 60 + 31, 3 * 3600 + 7 * 60)] == [
        "59 s", "1 min 1 s", "9 min 59 s", "45 min", "45 min", "3 h 07 min"]
