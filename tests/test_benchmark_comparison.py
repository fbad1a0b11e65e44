"""The accuracy report's verdicts: paired per-seed gains, the seed minimum, missing groups."""

from benchmarks.comparison import cell, paired_gains, standing_line, verdict_lines


def run(seed, overall, many=None, medium=None, few=None):
    return {"seed": seed, "overall": overall, "many": many, "medium": medium, "few": few}


def test_gains_are_paired_by_seed_over_the_shared_seeds_only():
    seeds, gains = paired_gains([run(0, 0.66, 0.71, 0.47), run(1, 0.64, 0.70, 0.44), run(2, 0.9)],
                                [run(1, 0.63, 0.69, 0.40), run(0, 0.64, 0.69, 0.47)])
    assert seeds == [0, 1]
    assert [round(g, 6) for g in gains["overall"]] == [2.0, 1.0]
    assert [round(g, 6) for g in gains["medium"]] == [0.0, 4.0]
    assert gains["few"] == []  # no few-shot class: left out, not counted as zero


def test_a_mean_gain_at_the_bar_meets_it_and_below_it_does_not():
    rows = {"auxlt": [run(0, 0.66), run(1, 0.65)], "balanced": [run(0, 0.645), run(1, 0.635)],
            "ce": [run(0, 0.63), run(1, 0.60)]}
    balanced_line, ce_line = verdict_lines(rows)
    assert balanced_line.startswith("- auxlt − balanced: overall +1.5 points") and "meets the bar" in balanced_line
    assert ce_line.startswith("- auxlt − ce: overall +4.0 points") and "meets the bar" in ce_line
    rows["ce"] = [run(0, 0.63), run(1, 0.62)]  # mean gain 3.0 < 4
    assert "below the bar" in verdict_lines(rows)[1]


def test_one_shared_seed_gives_no_verdict_and_absent_methods_no_line():
    rows = {"auxlt": [run(0, 0.70), run(1, 0.70)], "balanced": [run(0, 0.60)]}
    (line,) = verdict_lines(rows)
    assert "No verdict yet: 1 shared seed(s), the bar needs 2" in line
    assert verdict_lines({"auxlt": [run(0, 0.7)]}) == []


def test_cells_show_mean_and_spread_over_seeds():
    assert cell([run(0, 0.5), run(1, 0.6)], "overall") == "55.0 ± 5.0"
    assert cell([run(0, 0.5)], "overall") == "50.0"
    assert cell([run(0, 0.5)], "few") == "–"


def test_the_standing_names_every_baseline_ahead_of_the_method():
    rows = {"ce": [run(0, 0.55), run(1, 0.57)], "auxlt": [run(0, 0.66), run(1, 0.67)],
            "logit_adjust": [run(0, 0.69)], "drw": [run(1, 0.60)]}
    line = standing_line(rows)
    assert line == ("- auxlt against each method (overall, paired by seed): logit_adjust -3.0 (1 seed), "
                    "drw +7.0 (1 seed), ce +10.5 (2 seeds). Methods ahead of auxlt: logit_adjust.")
    del rows["logit_adjust"]
    assert standing_line(rows).endswith("(2 seeds). auxlt is ahead of every one.")
    assert standing_line({"ce": [run(0, 0.5)]}) is None
