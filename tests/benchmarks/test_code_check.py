"""The results page's check of the code fixes of 2026-12-02 (benchmarks.code_check): the table's rows rerun by code
that records its decoding and padding, paired by seed with the table's runs; what the check would cost before any
rerun exists; reruns of older code left out."""

from benchmarks import code_check

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
