"""A rerun into a run directory resumes the run it holds: flags that would change what is trained are refused."""

import dataclasses
import json

import pytest

from keras_auxlt.data.decoding import JPEG_DCT
from keras_auxlt.provenance import code_version
from keras_auxlt.training.config import ConfigError, OptimConfig, RunConfig
from keras_auxlt.training.rerun import check_same_data, check_same_settings, rerun_record
from keras_auxlt.training.trainer import run
from tests.training.helpers import tiny_run_config

PATH = "runs/x/config.json"


def check_same_run(started, rerun, path):
    check_same_settings(started, {k: v for k, v in rerun.items() if k != "derived"}, path)
    check_same_data(started, rerun["derived"], path)


def resolved(config=RunConfig(), **derived):
    facts = {"class_names": ["a", "b"], "class_counts": [40, 4], "num_train_images": 44, "val_summary": None,
             "aux_tasks": list(config.model.aux_tasks) if config.method == "auxlt" else [],
             "code": {"version": "0.1.0", "git_commit": "abc", "git_dirty": False}, "jpeg_dct": "INTEGER_FAST"}
    return json.loads(json.dumps({**config.to_dict(), "derived": {**facts, **derived}}))


def with_optim(config=RunConfig(), **changes):
    return dataclasses.replace(config, optim=dataclasses.replace(config.optim, **changes))


def test_the_same_settings_pass():
    check_same_run(resolved(), resolved(), PATH)


def test_every_changed_flag_is_named_with_both_values_and_the_file():
    rerun = dataclasses.replace(with_optim(learning_rate=0.05, schedule="cosine"), method="ce", seed=3)
    with pytest.raises(ConfigError) as e:
        check_same_run(resolved(), resolved(rerun), PATH)
    message = str(e.value)
    assert message.startswith(f"{PATH}: this run was started with other settings")
    for line in ["--learning_rate=0.1 there, --learning_rate=0.05 here", "--lr_schedule=multistep there, "
                 "--lr_schedule=cosine here", "--method=auxlt there, --method=ce here", "--seed=0 there, --seed=3 here"]:
        assert line in message
    assert message.count("--seed=") == 2  # pipeline.seed and seed are one flag, named once
    assert "a new --model_dir for a new run" in message


def test_list_flags_are_shown_as_typed():
    with pytest.raises(ConfigError, match="--lr_milestones=160,180 there, --lr_milestones=100,150 here"):
        check_same_run(resolved(), resolved(with_optim(lr_milestones=(100, 150))), PATH)


def test_paths_devices_logging_and_after_training_settings_may_change():
    base = RunConfig()
    rerun = dataclasses.replace(base, model_dir="moved/run", strategy="one_device", verbose=0, checkpoint_every_steps=50,
                                inference_statistics="auto", inference_head="fused", deterministic=True,
                                data=dataclasses.replace(base.data, data_dir="/elsewhere/cifar10.tar.gz",
                                                         validate_images=False))
    check_same_run(resolved(base), resolved(rerun), PATH)


def test_epochs_may_change_unless_a_schedule_was_built_for_the_step_count():
    longer = dataclasses.replace(RunConfig(), epochs=300)
    check_same_run(resolved(), resolved(longer), PATH)  # multistep, constant lambda: built per step, not per total
    cosine = with_optim(schedule="cosine")
    with pytest.raises(ConfigError, match="--epochs=200 there, --epochs=300 here"):
        check_same_run(resolved(cosine), resolved(dataclasses.replace(cosine, epochs=300)), PATH)
    cumulative = dataclasses.replace(RunConfig(), model=dataclasses.replace(RunConfig().model,
                                                                            lambda_schedule="cumulative"))
    with pytest.raises(ConfigError, match="--epochs=200 there, --epochs=300 here"):
        check_same_run(resolved(cumulative), resolved(dataclasses.replace(cumulative, epochs=300)), PATH)


def test_other_data_under_the_same_flags_is_refused():
    with pytest.raises(ConfigError, match=r"the data differs \(class_counts, num_train_images\): 2 classes, 44 "
                                          r"training images \(40 to 4 per class\), 0 validation images there, 2 "
                                          r"classes, 45 training images \(41 to 4 per class\)"):
        check_same_run(resolved(), resolved(class_counts=[41, 4], num_train_images=45), PATH)


def test_settings_only_one_side_knows_are_not_compared():
    """A config.json written by code with fewer (or more) flags: those flags are not this rerun's to judge."""
    started = resolved()
    started["optim"]["retired_flag"] = 1
    del started["model"]["mixup_alpha"]
    check_same_run(started, resolved(), PATH)


def test_the_record_keeps_the_first_invocations_code_and_lists_every_rerun():
    started = resolved()
    once = rerun_record(started, resolved(code=code_version(), jpeg_dct=JPEG_DCT), done_steps=7680)
    twice = rerun_record(once, resolved(code=code_version(), jpeg_dct=JPEG_DCT), done_steps=9600)
    assert twice["derived"]["code"] == started["derived"]["code"] and twice["derived"]["jpeg_dct"] == "INTEGER_FAST"
    assert twice["derived"]["reruns"] == [{"step": 7680, "code": code_version(), "jpeg_dct": JPEG_DCT},
                                          {"step": 9600, "code": code_version(), "jpeg_dct": JPEG_DCT}]
    del started["derived"]["jpeg_dct"]  # a run from before decoding was recorded: not claimed afterwards
    assert "jpeg_dct" not in rerun_record(started, resolved(), 1)["derived"]


def test_train_refuses_a_changed_rerun_and_leaves_the_run_as_it_was(tmp_path):
    config = tiny_run_config(tmp_path, epochs=1)
    run(config, progress=False)
    config_file = tmp_path / "run" / "config.json"
    before = config_file.read_text()
    with pytest.raises(ConfigError, match="--learning_rate=0.05 there, --learning_rate=0.2 here"):
        run(dataclasses.replace(config, optim=dataclasses.replace(config.optim, learning_rate=0.2)), progress=False)
    assert config_file.read_text() == before
    run(dataclasses.replace(config, epochs=2, inference_statistics="random"), progress=False)
    record = json.loads(config_file.read_text())
    assert record["epochs"] == 2 and record["inference_statistics"] == "random"
    assert [r["step"] for r in record["derived"]["reruns"]] == [3]
    assert record["derived"]["code"] == code_version()


def test_a_new_run_directory_is_not_checked(tmp_path):
    config = tiny_run_config(tmp_path, epochs=1, optim=OptimConfig(learning_rate=0.05, warmup_epochs=0))
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps(resolved()))  # a config.json without a checkpoint
    run(config, progress=False)
    assert "reruns" not in json.loads((tmp_path / "run" / "config.json").read_text())["derived"]
