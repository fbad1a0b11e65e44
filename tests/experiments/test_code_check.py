"""The check of the code fixes of 2026-12-02 (experiments.code_check, kept in a dated note): the table's rows rerun
by code that records its decoding and padding, paired by seed with the table's runs; what the check would cost before
any rerun exists; reruns of older code left out; the command over a tree of kept runs."""

import json
import subprocess
import sys

from experiments import code_check
from tests.conftest import REPO_ROOT, repo_env

CURRENT = {"jpeg_dct": "INTEGER_ACCURATE", "strided_padding": "symmetric"}
OLDER = {"jpeg_dct": None, "strided_padding": None}


def run(seed, overall, facts=OLDER, minutes=30):
    return {"seed": seed, "overall": overall, "wall_seconds": minutes * 60, **facts}


TABLE = {"ce": [run(0, 0.570, minutes=28), run(1, 0.580, minutes=32), run(2, 0.575, minutes=30)],
         "auxlt_mixup": [run(0, 0.73, minutes=45), run(1, 0.74, minutes=45), run(2, 0.72, minutes=45)]}


def test_without_a_paired_rerun_the_page_says_what_the_check_costs_by_the_tables_wall_times():
    lines = code_check.check_lines(TABLE, {"ce": [run(3, 0.6, CURRENT)]}, "results/runs_rerun", "the command")
    # (30 + 45 minutes) per seed, 2 seeds: 2.5 hours.
    assert lines == ["Whether that moves these figures has not been measured; the check reruns ce, auxlt_mixup for "
                     "seeds 0, 1 (about 2.5 hours on this CPU by the table's wall times): `the command`."]


def test_reruns_are_paired_by_seed_with_the_table_and_set_against_its_seed_to_seed_spread():
    reruns = {"ce": [run(0, 0.585, CURRENT), run(1, 0.590, CURRENT)],
              "auxlt_mixup": [run(0, 0.70, CURRENT), run(1, 0.75, OLDER)]}  # seed 1: older code, left out
    lines = code_check.check_lines(TABLE, reruns, "results/runs_rerun", "the command")
    assert lines[0] == ("How much that moves them: rows of the table rerun by the code as it now trains (their "
                        "config.json records jpeg_dct=INTEGER_ACCURATE, strided_padding=symmetric), against the "
                        "table's runs of the same seeds (command `the command`; raw runs `results/runs_rerun/`; 1 run "
                        "there of older code left out). The bar for \"no change\" is the table row's seed-to-seed "
                        "spread.")
    assert [line for line in lines if line.startswith("| ")] == [
        "| method | seed | table | rerun | difference |",
        "| ce | 0 | 57.00 | 58.50 | +1.50 |", "| ce | 1 | 58.00 | 59.00 | +1.00 |",
        "| auxlt_mixup | 0 | 73.00 | 70.00 | −3.00 |"]
    # ce: +1.25 (standard error 0.25) against the table's sample standard deviation of 0.50 over 3 seeds.
    assert lines[-2] == ("- ce: rerun − table +1.25 points (seeds 0, 1, standard error 0.25); the table row's "
                         "seed-to-seed spread is 0.50 (sample standard deviation, 3 seeds): outside it.")
    assert lines[-1] == ("- auxlt_mixup: rerun − table −3.00 points (seed 0, one seed); the table row's seed-to-seed "
                         "spread is 1.00 (sample standard deviation, 3 seeds): outside it.")
    within = code_check.check_lines(TABLE, {"ce": [run(0, 0.574, CURRENT)]}, "r", "c")
    assert within[-1].endswith("+0.40 points (seed 0, one seed); the table row's seed-to-seed spread is 0.50 (sample "
                               "standard deviation, 3 seeds): within it.")


def test_the_command_prints_the_check_from_the_kept_runs(tmp_path):
    for path, seed, overall, facts in [("30_epoch/jpeg", 0, 0.57, None), ("30_epoch/jpeg", 1, 0.58, None),
                                       ("30_epoch/jpeg", 2, 0.575, None), ("30_epoch/jpeg-rerun", 0, 0.585, CURRENT)]:
        directory = tmp_path / path / "ce" / f"seed{seed}"
        directory.mkdir(parents=True)
        (directory / "metrics.json").write_text(json.dumps({"overall": overall, "images_seen": 10}))
        (directory / "benchmark_timing.json").write_text(json.dumps({"wall_seconds": 1800}))
        if facts:
            (directory / "config.json").write_text(json.dumps({"derived": facts}))
    out = subprocess.run([sys.executable, "-m", "experiments.code_check", f"--results_tree={tmp_path}"], cwd=REPO_ROOT,
                         env=repo_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f"--metrics_dir={tmp_path}/30_epoch/jpeg-rerun --results=runs/benchmark_rerun/RESULTS.md" in out.stdout
    assert "| ce | 0 | 57.00 | 58.50 | +1.50 |" in out.stdout
    assert out.stdout.rstrip().endswith("- ce: rerun − table +1.50 points (seed 0, one seed); the table row's "
                                        "seed-to-seed spread is 0.50 (sample standard deviation, 3 seeds): outside it.")
