"""The accuracy report's verdicts: paired per-seed gains, the seed minimum, missing groups."""

import pytest

from benchmarks.comparison import (
    BASELINES,
    best_row_line,
    cell,
    contribution_lines,
    error_text,
    groups_sentence,
    has_validation,
    paired_gains,
    selection_sentence,
    standard_error,
    standing_line,
    statistics_sentence,
    verdict_lines,
)


def run(seed, overall, many=None, medium=None, few=None, validation=None):
    """A finished run as load_run gives it; its validation top-1 is its test top-1 unless given."""
    return {"seed": seed, "overall": overall, "many": many, "medium": medium, "few": few,
            "validation_overall": overall if validation is None else validation}


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
    assert balanced_line.startswith("- auxlt − balanced: overall +1.5 points, standard error 0.0 (seeds 0, 1")
    assert balanced_line.endswith("**meets the bar**.")
    assert ce_line.startswith("- auxlt − ce: overall +4.0 points") and "meets the bar" in ce_line
    rows["ce"] = [run(0, 0.63), run(1, 0.62)]  # mean gain 3.0 < 4
    assert "below the bar" in verdict_lines(rows)[1]


def test_standard_error_is_the_sample_deviation_over_root_n():
    assert standard_error([2.1, 1.1, -0.6]) == pytest.approx(1.3650 / 3 ** 0.5, abs=1e-4)
    assert standard_error([1.0]) is None


def test_a_bar_within_one_standard_error_is_flagged_either_side():
    # The committed seeds: +2.1 and +1.1 clear 1.5 on the mean (+1.6), but the standard error is 0.5;
    # a third seed at -0.6 puts the mean at +0.9, 0.8 from the bar.
    rows = {"auxlt": [run(0, 0.661), run(1, 0.667)], "balanced": [run(0, 0.640), run(1, 0.656)]}
    (line,) = verdict_lines(rows)
    assert "standard error 0.5" in line
    assert line.endswith("**meets the bar** on the mean, but the bar is within one standard error of it; "
                         "more seeds would settle it.")
    rows["auxlt"].append(run(2, 0.636))
    rows["balanced"].append(run(2, 0.642))
    (line,) = verdict_lines(rows)
    assert line.startswith("- auxlt − balanced: overall +0.9 points, standard error 0.8 "
                           "(seeds 0, 1, 2: +2.1, +1.1, −0.6; bar ≥ +1.5). ")
    assert "**below the bar** on the mean, but the bar is within one standard error" in line
    # Far from the bar on either side: a plain verdict.
    rows = {"auxlt": [run(0, 0.66), run(1, 0.67)], "ce": [run(0, 0.58), run(1, 0.58)]}
    assert verdict_lines(rows)[0].endswith("**meets the bar**.")


def test_one_shared_seed_gives_no_verdict_and_absent_methods_no_line():
    rows = {"auxlt": [run(0, 0.70), run(1, 0.70)], "balanced": [run(0, 0.60)]}
    (line,) = verdict_lines(rows)
    assert "No verdict yet: 1 shared seed(s), the bar needs 2" in line
    assert verdict_lines({"auxlt": [run(0, 0.7)]}) == []


def test_cells_show_mean_and_standard_error_over_seeds():
    assert cell([run(0, 0.5), run(1, 0.6)], "overall") == "55.0 ± 5.0"  # sample std 7.07 / sqrt(2)
    assert cell([run(0, 0.5), run(1, 0.6), run(2, 0.7)], "overall") == "60.0 ± 5.8"
    assert cell([run(0, 0.5)], "overall") == "50.0"
    assert cell([run(0, 0.5)], "few") == "–"


def test_a_small_nonzero_standard_error_is_never_printed_as_zero():
    assert error_text(0.44) == "0.4" and error_text(1.25, digits=2) == "1.25"
    assert error_text(0.049) == "0.05" and error_text(0.004) == "0.004"  # one decimal would print 0.0
    assert error_text(0.0) == "0.0" and error_text(0.0004) == "0.0"  # equal seeds, or too small to show
    assert cell([run(0, 0.75), run(1, 0.7506)], "overall") == "75.0 ± 0.03"


def test_the_standing_names_every_baseline_ahead_of_the_method():
    rows = {"ce": [run(0, 0.55), run(1, 0.57)], "auxlt": [run(0, 0.66), run(1, 0.67)],
            "logit_adjust": [run(0, 0.69)], "drw": [run(1, 0.60)]}
    line = standing_line(rows)
    assert line == ("- auxlt against each method (overall, paired by seed): logit_adjust −3.0 (1 seed), "
                    "drw +7.0 (1 seed), ce +10.5 (2 seeds). Methods ahead of auxlt: logit_adjust.")
    del rows["logit_adjust"]
    assert standing_line(rows).endswith("(2 seeds). auxlt is ahead of every one.")
    assert standing_line({"ce": [run(0, 0.5)]}) is None


def test_the_report_says_which_checkpoint_the_test_scores_are_of():
    last = {"ce": [{"seed": 0, "overall": 0.5}]}
    validated = {**last, "auxlt": [{"seed": 0, "overall": 0.6, "validation": {"overall": 0.62}}]}
    assert not has_validation(last) and has_validation(validated)
    assert selection_sentence(last).startswith("last-epoch model")
    assert "best on the validation split" in selection_sentence(validated)
    assert "runs without one: last epoch" in selection_sentence(validated)


def test_the_report_says_which_runs_re_estimated_batch_norm_statistics():
    as_trained = {"source": "as_trained", "steps": 0, "checkpoint": "last.keras"}
    instance = {"source": "instance", "steps": 100, "checkpoint": "inference.keras"}
    rows = {"balanced": [{"seed": 0, "inference_statistics": as_trained}], "ce": [{"seed": 0}]}  # older runs: no key
    assert statistics_sentence(rows) == "BatchNorm statistics as trained."
    rows["auxlt"] = [{"seed": 0, "inference_statistics": as_trained}, {"seed": 1, "inference_statistics": instance}]
    sentence = statistics_sentence(rows)
    # Runs recorded before the streams had their names say "instance": the page names it as the flags now do.
    assert "over 100 training batches of the stream named, per seed, for auxlt as_trained, random " \
           "(`--inference_statistics`); other runs as trained." in sentence and "balanced" not in sentence
    rows["balanced"] = [{"seed": 0, "inference_statistics": {**instance, "source": "joint", "steps": 50}}]
    assert "over 50/100 training batches of the stream named, per seed, for balanced joint; auxlt as_trained, " \
           "random (" in statistics_sentence(rows)


def test_the_report_says_where_auto_kept_the_statistics_as_trained():
    kept = {"source": "as_trained", "steps": 0, "checkpoint": "best.keras", "requested": "auto"}
    chose = {"source": "instance", "steps": 100, "checkpoint": "inference.keras", "requested": "auto"}
    rows = {"balanced": [{"seed": 0, "inference_statistics": kept}]}
    assert statistics_sentence(rows).startswith("BatchNorm statistics as trained (`--inference_statistics=auto` kept")
    rows["auxlt"] = [{"seed": 0, "inference_statistics": chose}]
    sentence = statistics_sentence(rows)
    assert "per seed, for auxlt random (chosen per run by `--inference_statistics=auto` as the highest" in sentence


def test_each_recipe_step_shows_its_paired_gain_per_group():
    rows = {"auxlt": [run(0, 0.66, 0.70, 0.60), run(1, 0.68, 0.70, 0.64)],
            "auxlt_mixup": [run(0, 0.71, 0.72, 0.70), run(1, 0.72, 0.73, 0.70)],
            "auxlt_mixup_fused": [run(1, 0.73, 0.72, 0.75)]}
    assert contribution_lines(rows) == [
        "- auxlt_mixup over auxlt: overall +4.5 ± 0.5, many +2.5 ± 0.5, medium +8.0 ± 2.0 (seeds 0, 1).",
        "- auxlt_mixup_fused over auxlt_mixup: overall +1.0, many −1.0, medium +5.0 (seed 1)."]
    assert contribution_lines({"auxlt": rows["auxlt"]}) == []


def test_the_best_rows_verdict_needs_three_seeds_and_every_baseline():
    three = [0, 1, 2]
    rows = {name: [run(s, 0.60) for s in three] for name in BASELINES}
    rows["crt"] = [run(s, 0.69 + 0.01 * s) for s in three]  # best baseline: 70.0 on average
    rows["auxlt"] = [run(s, 0.68) for s in three]
    rows["auxlt_mixup_fused"] = [run(s, 0.72 + 0.01 * s) for s in three]  # 73.0: +3.0 on every seed
    assert best_row_line(rows) == ("- Best AuxLT-based row against the best baseline row (each the highest on "
                                   "validation): auxlt_mixup_fused − crt "
                                   "overall +3.0 points, standard error 0.0 (seeds 0, 1, 2; bar ≥ +1.5): "
                                   "**meets the bar**.")
    rows["cb_loss"] = rows["cb_loss"][:1]  # a baseline row of one seed might still turn out the best
    assert best_row_line(rows).endswith(": not settled yet (seeds of baseline rows short of 3: cb_loss 1).")
    del rows["drw"]
    assert best_row_line(rows).endswith(": not settled yet (no runs of drw yet; seeds of baseline rows short of 3: "
                                        "cb_loss 1).")
    rows["auxlt_mixup_fused"] = [run(s, 0.70 + 0.01 * s) for s in three[:2]]
    assert best_row_line(rows).endswith(": **below the bar**.")
    assert best_row_line({"crt": rows["crt"]}) is None


def test_the_best_rows_are_chosen_on_validation_not_on_the_test_set():
    three = [0, 1, 2]
    rows = {name: [run(s, 0.60) for s in three] for name in BASELINES}
    rows["crt"] = [run(s, 0.70, validation=0.66) for s in three]  # best on test, not on validation
    rows["logit_adjust"] = [run(s, 0.68, validation=0.67) for s in three]
    rows["auxlt_mixup"] = [run(s, 0.74, validation=0.70) for s in three]
    rows["auxlt_mixup_fused"] = [run(s, 0.73, validation=0.71) for s in three]
    assert ": auxlt_mixup_fused − logit_adjust overall +5.0 points" in best_row_line(rows)
    rows["drw"] = [dict(run(s, 0.60), validation_overall=None) for s in three[:2]]
    assert best_row_line(rows) == ("- Best AuxLT-based row against the best baseline row: not chosen, since drw seed 0, "
                                   "drw seed 1 had no validation split (the best rows are chosen on validation only).")


def test_the_shot_groups_sentence_counts_classes_and_explains_an_empty_column():
    counts = [4800, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]  # CIFAR-10-LT rho=100 beside the validation split
    rows = {"ce": [dict(run(0, 0.57), train_counts=counts)]}
    assert groups_sentence(rows) == (
        "Shot groups by training images per class (many > 100, medium 20-100, few < 20), classes in each: many 8, "
        "medium 2, few 0. The few column is empty: the smallest class has 50 training images, the largest 4,800.")
    assert groups_sentence({"ce": [dict(run(0, 0.5), train_counts=[300, 60, 12])]}).endswith("many 1, medium 1, few 1.")
    assert groups_sentence({"ce": [run(0, 0.5)]}) == ""


def test_the_auxlt_recipe_and_auxlt_as_published_each_face_the_bars():
    rows = {"ce": [run(s, 0.57) for s in (0, 1)], "balanced": [run(s, 0.65) for s in (0, 1)],
            "auxlt": [run(s, 0.68) for s in (0, 1)], "auxlt_mixup": [run(s, 0.73) for s in (0, 1)]}
    lines = verdict_lines(rows)
    assert [line.split(":")[0] for line in lines] == ["- auxlt_mixup − balanced", "- auxlt_mixup − ce",
                                                      "- auxlt − balanced", "- auxlt − ce"]
    assert all(line.endswith("**meets the bar**.") for line in lines)
