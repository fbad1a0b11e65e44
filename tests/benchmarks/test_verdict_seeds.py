"""The rows that train a second seed are chosen on validation, once every row of the table has its seed 0."""

import json
import subprocess
import sys

import pytest

from benchmarks.headline import METHODS
from benchmarks.verdict_seeds import NotChosen, verdict_rows
from tests.conftest import REPO_ROOT, repo_env

# method: (validation, test): the highest test top-1 is never the one chosen.
FIGURES = {"ce": (0.70, 0.71), "auxlt_mixup": (0.80, 0.78), "crt": (0.76, 0.77), "crt_mixup": (0.79, 0.83),
           "ldam_drw": (0.77, 0.79), "logit_adjust": (0.75, 0.76), "auxlt": (0.78, 0.81), "bbn": (0.74, 0.80)}


def write_run(base, method, seed, validation, test):
    directory = base / method / f"seed{seed}"
    directory.mkdir(parents=True)
    metrics = {"overall": test, "images_seen": 10}
    if validation is not None:
        metrics["validation_overall"] = validation
    (directory / "metrics.json").write_text(json.dumps(metrics))
    (directory / "benchmark_timing.json").write_text(json.dumps({"wall_seconds": 5.0}))


def write_rows(base, leave_out=(), without_validation=()):
    """Seed 0 of every row (with crt_mixup's first stage, ce_mislas: its budget includes it)."""
    for method, (validation, test) in {**FIGURES, "ce_mislas": (0.72, 0.73)}.items():
        if method not in leave_out:
            write_run(base, method, 0, None if method in without_validation else validation, test)


def test_the_auxlt_row_and_the_baseline_highest_on_validation_are_chosen(tmp_path):
    assert set(FIGURES) == set(METHODS)
    write_rows(tmp_path)
    write_run(tmp_path, "bbn", 1, 0.99, 0.99)  # another seed does not enter the choice
    assert verdict_rows(str(tmp_path)) == ("auxlt_mixup", "crt_mixup")


def test_no_choice_while_a_row_is_unfinished_or_lacks_validation(tmp_path):
    write_rows(tmp_path, leave_out=("bbn",), without_validation=("ce",))
    with pytest.raises(NotChosen, match=f"seed 0 has not finished for bbn under {tmp_path}"):
        verdict_rows(str(tmp_path))
    write_run(tmp_path, "bbn", 0, *FIGURES["bbn"])
    with pytest.raises(NotChosen, match="no validation top-1 for ce seed 0: the rows are chosen on validation only"):
        verdict_rows(str(tmp_path))


def test_the_command_prints_the_two_rows_or_exits_1_saying_why(tmp_path):
    command = [sys.executable, "-m", "benchmarks.verdict_seeds", str(tmp_path)]
    write_rows(tmp_path, leave_out=("auxlt",))
    out = subprocess.run(command, cwd=REPO_ROOT, env=repo_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 1 and out.stdout == ""
    assert f"error: not chosen yet: seed 0 has not finished for auxlt under {tmp_path}" in out.stderr
    write_run(tmp_path, "auxlt", 0, *FIGURES["auxlt"])
    out = subprocess.run(command, cwd=REPO_ROOT, env=repo_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout == "auxlt_mixup crt_mixup\n"
