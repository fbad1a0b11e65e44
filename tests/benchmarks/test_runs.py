"""benchmarks.runs without training: the train.py commands, the refusal of another recipe's directory,
the budgets of a two-stage run, and wall time summed over an interrupted run's invocations."""

import json
import sys

import pytest

from benchmarks import runs as runs_module
from benchmarks.runs import Runs, load_run, refuse_other_command


def make_runs(tmp_path, **overrides):
    base = tmp_path / "recipe.cfg"
    base.write_text("--epochs=1\n")
    values = dict(flagfile_base=str(base), data_dir="/data/cifar10", imbalance_ratio=100,
                  output_dir=str(tmp_path / "runs"))
    return Runs(**{**values, **overrides})


def finish(directory, images_seen, wall_seconds, command=None):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "metrics.json").write_text(json.dumps({"overall": 50.0, "images_seen": images_seen}))
    timing = {"wall_seconds": wall_seconds, **({"command": command} if command else {})}
    (directory / "benchmark_timing.json").write_text(json.dumps(timing))


def test_a_second_stage_trains_with_its_own_flagfile_from_the_first_stage_of_the_same_seed(tmp_path):
    runs = make_runs(tmp_path, extra_flags=("--epochs=2",))
    (tmp_path / "recipe_crt.cfg").write_text("--epochs=1\n")
    command = runs.train_command("crt", 3)
    assert command[:3] == [sys.executable, "train.py", f"--flagfile={tmp_path / 'recipe_crt.cfg'}"]
    assert f"--init_from={tmp_path / 'runs' / 'ce' / 'seed3'}" == command[-1]
    assert command.index("--epochs=2") < command.index(f"--init_from={tmp_path / 'runs' / 'ce' / 'seed3'}")
    assert f"--model_dir={tmp_path / 'runs' / 'crt' / 'seed3'}" in command and "--imbalance_ratio=100" in command


@pytest.mark.parametrize("variant, recipe", [("crt", "crt"), ("crt_mixup", "crt"), ("bbn", "bbn")])
def test_a_missing_flagfile_of_a_method_with_its_own_recipe_is_named(tmp_path, variant, recipe):
    with pytest.raises(SystemExit, match=rf"{variant} needs its flagfile .*recipe_{recipe}\.cfg beside --flagfile_base"):
        make_runs(tmp_path).train_command(variant, 0)


def test_only_where_a_run_lives_may_differ_between_commands_of_one_recipe(tmp_path):
    recorded = ["train.py", "--flagfile=a.cfg", "--data_dir=/x", "--seed=0", "--model_dir=/runs/ce/seed0", "--method=ce"]
    finish(tmp_path / "run", 10, 1.0, recorded)
    same = ["train.py", "--flagfile=a.cfg", "--data_dir=/y/.", "--seed=0", "--model_dir=/other/ce/seed0", "--method=ce"]
    refuse_other_command(str(tmp_path / "run"), "ce", 0, same, "--output_dir")  # no exception
    other = [*same[:-1], "--method=balanced"]
    with pytest.raises(SystemExit, match=r"holds ce seed 0 from another command \(--method=ce there; --method=balanced "
                                         r"here\): give this recipe its own --metrics_dir"):
        refuse_other_command(str(tmp_path / "run"), "ce", 0, other, "--metrics_dir")
    refuse_other_command(str(tmp_path / "run"), "ce", 0, None, "--output_dir")  # nothing to compare: no check


def test_run_one_refuses_a_finished_run_of_another_command_before_training(tmp_path, monkeypatch):
    runs = make_runs(tmp_path)
    finish(tmp_path / "runs" / "ce" / "seed0", 10, 1.0, ["train.py", "--method=ce", "--learning_rate=0.5"])
    monkeypatch.setattr(runs_module, "wait_forwarding_signals", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(SystemExit, match=r"--learning_rate=0.5 there.*give this recipe its own --output_dir"):
        runs.run_one("ce", 0)


def test_a_two_stage_run_counts_the_budget_of_its_first_stage(tmp_path):
    finish(tmp_path / "ce" / "seed1", images_seen=1000, wall_seconds=60.0)
    finish(tmp_path / "crt" / "seed1", images_seen=100, wall_seconds=6.0)
    crt = load_run(str(tmp_path), "crt", 1)
    assert (crt["images_seen"], crt["wall_seconds"], crt["seed"]) == (1100, 66.0, 1)
    assert load_run(str(tmp_path), "crt", 2) is None  # not finished
    assert crt["jpeg_dct"] is None  # no config.json: a run of before the decoding was recorded
    (tmp_path / "crt" / "seed1" / "config.json").write_text(json.dumps({"derived": {"jpeg_dct": "INTEGER_ACCURATE"}}))
    assert load_run(str(tmp_path), "crt", 1)["jpeg_dct"] == "INTEGER_ACCURATE"
    (tmp_path / "ce" / "seed1" / "metrics.json").unlink()
    with pytest.raises(SystemExit, match=r"crt seed 1 is finished but its stage 1 \(ce\) has no metrics.json"):
        load_run(str(tmp_path), "crt", 1)


def test_metrics_dir_keeps_a_finished_run_and_refuses_to_overwrite_another_recipe(tmp_path):
    runs = make_runs(tmp_path, metrics_dir=str(tmp_path / "kept"))
    finish(tmp_path / "runs" / "ce" / "seed0", 10, 1.0, ["train.py", "--method=ce"])
    (tmp_path / "runs" / "ce" / "seed0" / "config.json").write_text("{}")
    runs.keep_metrics("ce", 0)
    kept = sorted(p.name for p in (tmp_path / "kept" / "ce" / "seed0").iterdir())
    assert kept == ["benchmark_timing.json", "config.json", "metrics.json"]
    finish(tmp_path / "runs" / "ce" / "seed0", 10, 1.0, ["train.py", "--method=ce", "--epochs=9"])
    with pytest.raises(SystemExit, match=r"kept.*holds ce seed 0 from another command \(--epochs=9 here\)"):
        runs.keep_metrics("ce", 0)


STATUS_FROM_FILE = "import sys; sys.exit(int(open(sys.argv[1]).read()))"


def test_wall_time_adds_up_over_an_interrupted_run_and_the_finished_run_records_its_command(tmp_path, monkeypatch):
    runs = make_runs(tmp_path)
    status = tmp_path / "status"
    command = [sys.executable, "-c", STATUS_FROM_FILE, str(status)]
    monkeypatch.setattr(Runs, "train_command", lambda self, method, seed: command)
    run = tmp_path / "runs" / "ce" / "seed0"
    run.mkdir(parents=True)
    (run / "benchmark_timing.partial.json").write_text(json.dumps({"wall_seconds": 100.0}))  # an earlier invocation
    status.write_text("143")
    with pytest.raises(SystemExit, match=r"ce seed 0: train.py exited with status 143; rerun to resume"):
        runs.run_one("ce", 0)
    stopped = json.loads((run / "benchmark_timing.partial.json").read_text())["wall_seconds"]
    assert 100.0 < stopped < 130.0 and not (run / "benchmark_timing.json").exists()
    status.write_text("0")
    runs.run_one("ce", 0)
    timing = json.loads((run / "benchmark_timing.json").read_text())
    assert timing["resumed"] and stopped < timing["wall_seconds"] < stopped + 30.0
    assert timing["command"] == command[1:] and not (run / "benchmark_timing.partial.json").exists()
