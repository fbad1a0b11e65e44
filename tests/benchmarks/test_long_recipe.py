"""The results page's section of the 200-epoch runs on the JPEG copy (benchmarks.long_recipe): its table, the calibration
against the published CE, auxlt's paired gain over ce, and the page built from a runs directory."""

import json
import subprocess
import sys

from benchmarks import long_recipe
from tests.conftest import REPO_ROOT, repo_env


def run(seed, overall, precision="off", hours=3.0):
    return {"seed": seed, "overall": overall, "many": overall + 0.05, "medium": overall - 0.1, "few": None,
            "validation_overall": overall + 0.01, "wall_seconds": hours * 3600, "mixed_precision": precision}


def test_the_table_shows_groups_seeds_wall_time_and_precision():
    rows = {"ce": [run(0, 0.70), run(1, 0.72)], "auxlt": [run(0, 0.76, "bfloat16", hours=5.0)]}
    lines = long_recipe.table_lines(rows)
    assert lines[0] == "| method | seeds | overall | many | medium | few | validation | wall time / run | precision |"
    assert lines[2] == "| ce | 2 | 71.0 ± 1.0 | 76.0 ± 1.0 | 61.0 ± 1.0 | – | 72.0 ± 1.0 | 3.0 h | float32 |"
    assert lines[3] == "| auxlt | 1 | 76.0 | 81.0 | 66.0 | – | 77.0 | 5.0 h | mixed bfloat16 |"


def test_the_standing_says_whether_ce_reproduces_the_published_figure_and_auxlt_clears_its_bar():
    """...and sets the AuxLT recipe against every other baseline, paired by seed."""
    rows = {"ce": [run(0, 0.68)], "auxlt": [run(0, 0.715)], "crt": [run(0, 0.73)]}
    lines = long_recipe.standing_lines(rows)
    assert lines[0] == ("- ce 68.0 against the published CE 70.4: −2.4 points, within the 3 points that count as "
                        "reproducing it.")
    assert lines[1] == "- auxlt − ce: +3.5 points (seed 0, one seed; bar ≥ +4): misses the bar."
    assert lines[2] == "- crt 73.0."
    standings = long_recipe.standing_lines({"crt": [run(0, 0.70), run(1, 0.72)],
                                            "auxlt_mixup": [run(0, 0.75), run(1, 0.78)], "logit_adjust": [run(1, 0.7)]})
    assert standings[0] == "- crt 71.0; auxlt_mixup − crt: +5.5 points (seeds 0, 1, standard error 0.5)."
    assert standings[1] == "- logit_adjust 70.0; auxlt_mixup − logit_adjust: +8.0 points (seed 1, one seed)."
    far = long_recipe.standing_lines({"ce": [run(0, 0.66)], "auxlt": [run(0, 0.72)]})
    assert "−4.4 points, outside the 3 points" in far[0] and "+6.0 points (seed 0, one seed" in far[1] and "meets" in far[1]


def test_without_runs_the_section_says_so_and_still_shows_the_published_figures():
    lines = long_recipe.section_lines({}, "results/runs_200_epoch", "python -m benchmarks.accuracy ...")
    text = "\n".join(lines)
    assert lines[0] == long_recipe.HEADING
    assert "No run of this recipe has finished yet (its rows: ce, crt, logit_adjust, auxlt_mixup, the AuxLT" in text
    assert "Published, not measured here (ResNet-32, CIFAR-10-LT ρ=100, 200 epochs): CE 70.4, CB focal 74.6" in text
    assert "JPEG copy of CIFAR-10" in text
    assert "Logit adjustment (Menon et al., ICLR 2021) has no published figure at this setting" in text


def test_the_page_builds_the_section_from_the_runs_directory(tmp_path):
    tree = tmp_path / "results"  # the one tree of kept runs (benchmarks.runs.RESULT_SETS)
    short, long, bfloat16, rerun = (tree / name for name in ("30_epoch/jpeg", "200_epoch/jpeg", "30_epoch/jpeg-bfloat16",
                                                             "30_epoch/jpeg-rerun"))
    for base, method, seed, overall in [(short, "ce", 0, 0.57), (long, "ce", 0, 0.69), (long, "auxlt", 0, 0.75),
                                        (long, "ce", 1, 0.71), (bfloat16, "ce", 0, 0.565), (rerun, "ce", 0, 0.58)]:
        directory = base / method / f"seed{seed}"
        directory.mkdir(parents=True)
        metrics = {"overall": overall, "many": overall, "medium": overall, "few": None, "images_seen": 10,
                   "train_counts": [5, 1], "per_class": [overall, overall], "validation": {"overall": overall},
                   "mixed_precision": "bfloat16" if base == bfloat16 else "off"}
        (directory / "metrics.json").write_text(json.dumps(metrics))
        (directory / "benchmark_timing.json").write_text(json.dumps({"wall_seconds": 7200}))
        if base in (long, rerun):  # runs of today's code record how they decoded JPEG
            (directory / "config.json").write_text(json.dumps({"derived": {"jpeg_dct": "INTEGER_ACCURATE",
                                                                           "strided_padding": "symmetric"}}))
    reference = tree / "200_epoch" / "jpeg-reference" / "ce" / "seed0"
    reference.mkdir(parents=True)
    (reference / "reference.json").write_text(json.dumps(reference_summary(0.665, 0.672)))
    page = tmp_path / "results.md"
    command = [sys.executable, "-m", "benchmarks.accuracy", "--report_only", "--methods=ce", "--seeds=0",
               f"--metrics_dir={short}", f"--results={page}", "--readme=", f"--results_tree={tree}"]
    result = subprocess.run(command, cwd=REPO_ROOT, env=repo_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    text = page.read_text()
    section = text[text.index(long_recipe.HEADING):]
    assert (f"--methods=ce,auxlt --seeds=0,1 --output_dir=runs/benchmark_200_epoch --metrics_dir={long} "
            "--results=runs/benchmark_200_epoch/RESULTS.md --readme=` (run and metrics directories of its own") in section
    assert "raw runs: `results/200_epoch/jpeg/`" in section
    assert "| ce | 2 | 70.0 ± 1.0 | 70.0 ± 1.0 | 70.0 ± 1.0 | – | 70.0 ± 1.0 | 2.0 h | float32 |" in section
    assert "| auxlt | 1 | 75.0 |" in section
    assert "- auxlt − ce: +6.0 points (seed 0, one seed; bar ≥ +4): meets the bar." in section
    assert text.index("| ce | 1 | 57.0 |") < text.index(long_recipe.HEADING)  # the short table stays first
    assert "| CE, instance sampling | 56.6 | 57.0 (ce) | +0.4 |" in text  # the reference code beside our seed 0
    assert "| LDAM-DRW | 66.3 | – | – |" in text
    assert "| ce | 0 | 57.00 | 56.50 | −0.50 |" in section and "raw runs `results/30_epoch/jpeg-bfloat16/`" in section
    closing = text[text.index("## How these were measured"):]
    assert ("- Code of before 2026-12-02 trained differently (how much a rerun by today's code moves the table: "
            "[the check](") in closing and "experiments/2026-12-06-code-fixes-rerun.md)):" in closing
    # The runs of the page's sections: the table's, the 200-epoch and the bfloat16 ones (the rerun check is a note).
    assert "  - 2 of the 5 runs on this page decoded JPEG with TensorFlow's fast DCT" in closing
    assert "  - 2 of the 5 runs on this page padded stride-2 convolutions as TensorFlow's \"same\" does" in closing
    assert "| ce | 0 | 57.00 | 58.00 |" not in text and "jpeg-rerun" not in text
    assert ("seed 0; raw: `results/200_epoch/jpeg-reference/ce/`): 66.5 at its last epoch, 67.2 at its best epoch on "
            "test (how the published figures are taken). Against the published CE 70.4, the reference itself: "
            "−3.2 points at its best epoch on test, −3.9 at its last. Our ce against its last epoch: +2.5 points "
            "(seed 0, one seed), within 3 points.") in section

def reference_summary(last, best):
    """benchmarks/reference_log.py's summary, reduced to what the section reads."""
    return {"last": {"epoch": 200, "overall": last}, "best_on_test": {"epoch": 190, "overall": best}}


def test_the_reference_code_run_here_is_set_beside_our_row_of_the_same_seed():
    reference = {"ce": [{**reference_summary(0.70, 0.71), "seed": 0}, {**reference_summary(0.69, 0.70), "seed": 1}]}
    lines = long_recipe.reference_lines({"ce": [run(0, 0.66)]}, reference, "results/reference_200_epoch")
    assert lines == ["- The reference code's CE (kaidic/LDAM-DRW `cifar_train.py`, run here on the same decoded pixels "
                     "and schedule; seeds 0, 1; raw: `results/reference_200_epoch/ce/`): 69.5 at its last epoch, 70.5 "
                     "at its best epoch on test (how the published figures are taken). Against the published CE 70.4, "
                     "the reference itself: +0.1 points at its best epoch on test, −0.9 at its last. Our ce against its "
                     "last epoch: −4.0 points (seed 0, one seed), outside 3 points."]
    alone = long_recipe.reference_lines({}, reference, "r")  # no ce run yet: the reference figures alone
    assert alone[0].endswith("−0.9 at its last.") and "Our ce" not in alone[0]


def test_the_bfloat16_check_pairs_runs_by_seed_and_sets_the_mean_difference_against_the_float32_spread():
    float32 = {"ce": [run(0, 0.570), run(1, 0.580), run(2, 0.575)], "auxlt": [run(0, 0.68), run(1, 0.70)]}
    bfloat16 = {"ce": [run(0, 0.572, "bfloat16"), run(1, 0.584, "bfloat16")],
                "auxlt": [run(0, 0.64, "bfloat16"), run(3, 0.70, "bfloat16")]}  # seed 3 has no float32 pair
    lines = long_recipe.precision_lines(float32, bfloat16, "results/runs_bfloat16", "the command")
    assert lines[0].startswith("Precision: the runs above train in float32.")
    assert ("(the bfloat16 runs were evaluated in mixed bfloat16 too: the code of before 2026-12-02 evaluated under "
            "the training policy, and now evaluates in float32; command `the command`; raw runs "
            "`results/runs_bfloat16/`)") in lines[0]  # no evaluation_precision recorded: evaluated as trained
    for runs in bfloat16.values():
        for r in runs:
            r["evaluation_precision"] = "float32"
    again = long_recipe.precision_lines(float32, bfloat16, "results/runs_bfloat16", "the command")
    assert "(evaluation in float32 either way; command `the command`" in again[0]
    table = [line for line in lines if line.startswith("| ")]
    assert table == ["| method | seed | float32 | mixed bfloat16 | difference |",
                     "| ce | 0 | 57.00 | 57.20 | +0.20 |", "| ce | 1 | 58.00 | 58.40 | +0.40 |",
                     "| auxlt | 0 | 68.00 | 64.00 | −4.00 |"]
    # ce: mean +0.30 (standard error 0.10) against a float32 sample standard deviation of 0.50 over 3 seeds.
    assert lines[-2] == ("- ce: mixed bfloat16 − float32 +0.30 points (seeds 0, 1, standard error 0.10); the float32 "
                         "row's seed-to-seed spread is 0.50 (sample standard deviation, 3 seeds): within it.")
    assert lines[-1] == ("- auxlt: mixed bfloat16 − float32 −4.00 points (seed 0, one seed); the float32 row's "
                         "seed-to-seed spread is 1.41 (sample standard deviation, 2 seeds): outside it.")


def test_the_bfloat16_check_says_when_no_pair_has_finished():
    lines = long_recipe.precision_lines({"ce": [run(0, 0.57)]}, {"ce": [run(1, 0.57, "bfloat16")]}, "runs", "command")
    assert lines[-1] == "No bfloat16 run of ce, auxlt has finished yet."
    section = long_recipe.section_lines({}, "runs", "command", precision=lines)
    assert section[-4:] == [lines[0], "", lines[-1], ""]
