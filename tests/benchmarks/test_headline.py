"""The results page's headline (benchmarks.headline): the 200-epoch table on the original pixels, which row leads
(paired by seed and image), the calibration, the published gains over CE, the JPEG shift and the data effect."""

import json

import numpy as np
import pytest

from benchmarks import headline


def correct_string(n_right, n=1000, offset=0):
    """A 0/1 string with `n_right` ones, placed from `offset` on (wrapping), so two runs can share some rights."""
    flags = np.zeros(n, bool)
    flags[(offset + np.arange(n_right)) % n] = True
    return "".join("1" if f else "0" for f in flags)


def run(seed, right, jpeg=0.6, shift=0.02, offset=0, hours=3.0):
    top1 = right / 1000
    return {"seed": seed, "validation_overall": top1 + 0.01, "wall_seconds": hours * 3600, "overall": top1,
            "test_sets": {"originals": {"top1": top1, "se": float(np.sqrt(top1 * (1 - top1) / 999)), "many": top1 + 0.05,
                                        "medium": top1 - 0.1, "correct": correct_string(right, offset=offset)},
                          "jpeg": {"top1": jpeg}, "pairs": {"shift": shift, "se": 0.008}}}


def test_the_table_shows_both_test_sets_with_the_standard_errors():
    lines = headline.table_lines({"ce": [run(0, 660), run(1, 680)], "bbn": [run(0, 700, hours=4.0)]})
    assert lines[0] == ("| method | seeds | originals | ± images | published | JPEG test | validation | many | medium | "
                        "wall time |")
    assert lines[2].startswith("| ce | 2 | 67.0 ± 1.0 | 1.1 | 70.4 (CE) | 60.0 ± 0.0 | 68.0 ± 1.0 | 72.0 ± 1.0 | 57.0 ± 1.0 "
                               "| 3.0 h |")
    assert lines[3] == "| bbn | 1 | 70.0 | 1.4 | 79.8 (BBN) | 60.0 | 71.0 | 75.0 | 60.0 | 4.0 h |"
    assert headline.table_lines({"crt": [run(0, 700)]})[2].startswith("| crt | 1 | 70.0 | 1.4 | – | ")  # none published


def test_one_seed_is_paired_by_image_and_two_by_seed():
    seeds, mean, error, kind = headline.paired_difference([run(0, 750)], [run(0, 700)])
    d = np.r_[np.zeros(700), np.ones(50), np.zeros(250)] * 100  # the same 700 right, 50 more
    assert seeds == [0] and mean == pytest.approx(5.0) and kind == "over images"
    assert error == pytest.approx(np.std(d, ddof=1) / np.sqrt(1000))
    seeds, mean, error, kind = headline.paired_difference([run(0, 750), run(1, 760)], [run(0, 700), run(1, 700)])
    assert seeds == [0, 1] and mean == pytest.approx(5.5) and error == pytest.approx(0.5) and kind == "over seeds"


def test_the_lead_names_the_best_auxlt_row_against_the_best_baseline():
    rows = {"ce": [run(0, 660)], "crt": [run(0, 700)], "auxlt": [run(0, 690)], "auxlt_mixup": [run(0, 740)]}
    line = headline.lead_line(rows, methods=tuple(rows))
    assert line.startswith("- **auxlt_mixup leads** crt by 4.0 points on the originals (± ") and "over images" in line
    assert "seed 0, paired by image" in line
    assert "waits for 2 seeds" in line
    rows = {"crt_mixup": [run(0, 780), run(1, 790)], "auxlt_mixup": [run(0, 750), run(1, 770)]}
    line = headline.lead_line(rows, methods=tuple(rows))
    assert line.startswith("- **crt_mixup leads** auxlt_mixup by 2.5 points on the originals (± 0.5 over seeds, ± ")
    assert "seeds 0, 1, paired by seed and image" in line and "does not clear +1.5" in line
    # over seeds 0 and 1, the images' standard error of the mean gap: each seed's over its 1,000 images, halved
    seed_errors = [headline.standard_error(d) for d in headline.per_seed_differences(
        rows["crt_mixup"], rows["auxlt_mixup"]).values()]
    expected = np.sqrt(sum(e ** 2 for e in seed_errors)) / 2
    assert headline.image_error(rows["crt_mixup"], rows["auxlt_mixup"]) == pytest.approx(expected)
    assert f"± {expected:.1f} over images" in line
    rows = {"crt": [run(0, 700), run(1, 700)], "auxlt_mixup": [run(0, 720), run(1, 716)]}
    assert "clears +1.5 on every seed: it stays the recommended recipe" in headline.lead_line(rows, methods=tuple(rows))


def test_no_verdict_while_a_row_of_the_table_has_not_finished():
    rows = {"crt": [run(0, 700), run(1, 700)], "auxlt_mixup": [run(0, 720), run(1, 716)]}
    line = headline.lead_line(rows)  # the table's eight rows
    assert line.startswith("- **auxlt_mixup leads** crt by 1.8 points on the originals (± 0.2 over seeds, ± ")
    assert line.endswith(" Provisional: the rows are chosen among all 8, and ce, crt_mixup, ldam_drw, logit_adjust, "
                         "auxlt, bbn have not finished.")
    assert "clears" not in line and "verdict" not in line


def test_the_rows_compared_are_chosen_on_validation():
    rows = {"crt": [run(0, 700)], "ldam_drw": [dict(run(0, 720), validation_overall=0.69)],  # best on test only
            "auxlt": [run(0, 690)], "auxlt_mixup": [dict(run(0, 740), validation_overall=0.68)]}
    assert headline.lead_line(rows).startswith("- **crt leads** auxlt by 1.0 points on the originals (± ")
    assert "over images; each side's row best on validation at seed 0; seed 0, paired by image" in headline.lead_line(rows)
    # Chosen at seed 0, which every row trains: the second seed of the two chosen rows cannot change the choice.
    rows = {"crt": [run(0, 700), dict(run(1, 700), validation_overall=0.60)], "ldam_drw": [run(0, 690)],
            "auxlt_mixup": [run(0, 740), run(1, 745)]}
    assert headline.lead_line(rows, methods=tuple(rows)).startswith("- **auxlt_mixup leads** crt by ")
    rows["bbn"] = [dict(run(0, 700), validation_overall=None)]
    assert headline.lead_line(rows) == ("- Leading: not chosen, since bbn seed 0 had no validation split (the best rows "
                                        "are chosen on validation only).")


def test_calibration_published_gains_shift_and_pending_rows():
    rows = {"ce": [run(0, 690)], "ldam_drw": [run(0, 750)], "bbn": [run(0, 720)]}
    assert headline.calibration_line(rows) == ("- ce 69.0 against the published CE 70.4: −1.4 points, within the 3 "
                                               "that count as reproducing it.")
    gains = headline.published_gain_line(rows)
    assert gains.startswith("- Gain over CE: LDAM-DRW +6.6 published, ldam_drw +6.0 ± ")
    assert "BBN +9.4 published, bbn +3.0" in gains and gains.count("here (seed 0)") == 2  # the seeds each gain is over
    assert "costs 2.0 points" in headline.shift_line(rows) and "(3 runs" in headline.shift_line(rows)
    assert headline.shift_line({"ce": [run(0, 690)]}).endswith("(one run, ± 0.8).")
    assert headline.pending_line(rows) == "- Not finished yet: auxlt_mixup, crt, crt_mixup, logit_adjust, auxlt."
    bullets = [line for line in headline.section_lines(rows, "x") if line.startswith("- ")]
    assert len(bullets) == 3 and not any("JPEG" in line for line in bullets)  # the shift: in the data effect's section


def test_the_data_effect_pairs_png_and_jpeg_runs_on_the_jpeg_test_set():
    lines = headline.data_effect_lines({"ce": [run(0, 700, jpeg=0.70), run(1, 700, jpeg=0.72)]},
                                       {"ce": [{"seed": 0, "overall": 0.66}, {"seed": 1, "overall": 0.66}],
                                        "crt": [{"seed": 0, "overall": 0.7}]})
    assert lines[-3:-1] == ["- ce: +5.0 points ± 1.0 (seeds 0, 1).", ""]
    assert lines[-1].startswith("Testing the networks trained on the original pixels on JPEG pixels costs 2.0 points")
    assert headline.data_effect_lines({"ce": [run(0, 700)]}, {})[0].startswith("Testing the networks")  # no JPEG run


def test_collect_reads_scored_runs_only(tmp_path):
    for seed, scored in ((0, True), (1, False)):
        directory = tmp_path / "ce" / f"seed{seed}"
        directory.mkdir(parents=True)
        (directory / "metrics.json").write_text(json.dumps({"overall": 0.7, "images_seen": 10}))
        (directory / "benchmark_timing.json").write_text(json.dumps({"wall_seconds": 5.0}))
        if scored:
            (directory / "test_sets.json").write_text(json.dumps(run(0, 700)["test_sets"]))
    rows = headline.collect(str(tmp_path))
    assert list(rows) == ["ce"] and [r["seed"] for r in rows["ce"]] == [0]
    assert rows["ce"][0]["test_sets"]["originals"]["top1"] == 0.7
    assert headline.section_lines({}, "x")[2].startswith("No run of this table has finished yet")


def test_the_search_is_collected_from_its_notes_scored_runs_only(tmp_path):
    for note, variant, seed, scored in (("b-note", "auxlt_x", 1, True), ("b-note", "auxlt_x", 0, True),
                                        ("a-note", "auxlt_y", 0, True), ("a-note", "auxlt_y", 1, False),
                                        ("other-note", "auxlt_z", 0, True)):
        directory = tmp_path / "experiments" / note / variant / f"seed{seed}"
        directory.mkdir(parents=True)
        (directory / "metrics.json").write_text(json.dumps({"overall": 0.7, "validation": {"overall": 0.8}}))
        if scored:
            (directory / "test_sets.json").write_text(json.dumps(run(0, 700)["test_sets"]))
    found = headline.collect_search(str(tmp_path), notes=("b-note", "a-note", "missing-note"))
    assert [(run["name"], run["validation"], note) for run, note in found] == [
        ("auxlt_x/seed0", 0.8, "b-note"), ("auxlt_x/seed1", 0.8, "b-note"), ("auxlt_y/seed0", 0.8, "a-note")]


def candidate(variant, validation, right, seed=0):
    """A search run as benchmarks.paired_runs loads it."""
    return {"variant": variant, "seed": seed, "validation": validation,
            "test_sets": {"originals": {"top1": right / 1000, "correct": correct_string(right)}}}


def test_the_search_lines_set_each_auxlt_candidate_beside_the_best_baseline_row():
    """Issue 38's "if not": the AuxLT recipes searched beyond the table, chosen on validation, beside the baseline
    row that a choice on validation names; a candidate of another seed, or not AuxLT, is not listed."""
    rows = {"crt_mixup": [run(0, 835)], "crt": [run(0, 765)], "auxlt_mixup": [run(0, 806)]}
    candidates = [(candidate("auxlt_mixup_lws", 0.827, 825), "experiments/lws.md"),
                  (candidate("auxlt_mixup_lws", 0.9, 900, seed=1), "experiments/lws.md"),
                  (candidate("crt_mixup_lws", 0.8215, 828), "experiments/lws.md"),
                  (candidate("auxlt_mixup_crt", 0.8215, 822), "experiments/crt.md")]
    listed = ["AuxLT recipes searched beyond the table (issue 38: chosen on validation only; seed 0, not rows of the "
              "table), beside the best baseline row, crt_mixup: 84.50 on validation, 83.5 on the originals.", "",
              "- auxlt_mixup_lws: 82.70 on validation, 82.5 on the originals ([note](experiments/lws.md)).",
              "- auxlt_mixup_crt: 82.15 on validation, 82.2 on the originals ([note](experiments/crt.md))."]
    lines = headline.search_lines(candidates, rows)
    assert lines[:-1] == listed and len(lines) == len(listed) + 1
    assert lines[-1].startswith("- auxlt_mixup_lws, highest on validation of the AuxLT recipes, − crt_mixup: −1.0 ± ")
    assert lines[-1].endswith(" points on the originals (seed 0, paired by image). auxlt_mixup_lws does not clear +1.5 "
                              "on seed 0 (−1.0), so it cannot clear it on every seed.")
    assert headline.search_lines(candidates[2:3], rows) == []
    section = headline.section_lines(rows, "x", candidates)
    assert section[-len(lines) - 1:] == [*lines, ""]
    assert not any(line.startswith("AuxLT recipes") for line in headline.section_lines(rows, "x"))
    rows["auxlt_mixup"] = [dict(run(0, 806), validation_overall=0.83)]  # an AuxLT row above every candidate
    assert headline.search_lines(candidates, rows) == listed


def test_the_searched_recipe_chosen_on_validation_gets_the_verdict_by_seed():
    """Once it has the verdict's seeds, the searched AuxLT recipe highest on validation must clear the bar over the
    best baseline row on each seed, as a row of the table must."""
    rows = {"crt_mixup": [run(0, 835), run(1, 840)], "auxlt_mixup": [run(0, 806), run(1, 800)]}
    trailing = [(candidate("auxlt_mixup_lws", 0.86, 825), "n.md"), (candidate("auxlt_mixup_lws", 0.86, 850, seed=1), "n.md")]
    assert headline.search_lines(trailing, rows)[-1].endswith(
        " − crt_mixup: +0.0 ± 1.0 points on the originals (seeds 0, 1, paired by seed). auxlt_mixup_lws does not clear "
        "+1.5 on every seed (−1.0, +1.0).")
    leading = [(candidate("auxlt_mixup_lws", 0.86, 855), "n.md"), (candidate("auxlt_mixup_lws", 0.86, 860, seed=1), "n.md")]
    # one seed that clears is no verdict yet; one under the bar is
    assert headline.search_lines(leading[:1], rows)[-1].endswith("The verdict waits for 2 seeds of both.")
    assert headline.search_lines(trailing[:1], rows)[-1].endswith(" does not clear +1.5 on seed 0 (−1.0), so it cannot clear "
                                                             "it on every seed.")
    assert headline.search_lines(leading, rows)[-1].endswith(
        " − crt_mixup: +2.0 ± 0.0 points on the originals (seeds 0, 1, paired by seed). auxlt_mixup_lws clears +1.5 on "
        "every seed: it becomes the recommended recipe.")


def test_the_recommended_recipe_is_named_only_once_the_verdict_is_final():
    """Issue 38's "make the default whatever wins": the best AuxLT row if it clears the bar on every seed, else the
    searched AuxLT recipe chosen on validation once it clears, else the best baseline; nothing while the table waits."""
    methods = ("crt_mixup", "auxlt_mixup")
    trailing = {"crt_mixup": [run(0, 835), run(1, 840)], "auxlt_mixup": [run(0, 806), run(1, 800)]}
    assert headline.recommendation(trailing) is None  # the table's other six rows have not finished
    assert headline.recommendation({m: runs[:1] for m, runs in trailing.items()}, methods=methods) is None  # one seed
    assert headline.recommendation(trailing, methods=methods) == "crt_mixup"
    assert headline.recommendation_line(trailing, methods=methods) == (
        "- **Recommended recipe: crt_mixup** (`flags/cifar10_lt_crt_mixup.cfg`, what `./run train` runs).")
    leading = {"crt": [run(0, 700), run(1, 700)], "auxlt_mixup": [run(0, 720), run(1, 716)]}
    assert headline.recommendation(leading, methods=("crt", "auxlt_mixup")) == "auxlt_mixup"
    one_seed = [(candidate("auxlt_mixup_lws", 0.86, 855), "n.md")]
    # while the searched recipe's seed 1 is missing, the baseline stays: a searched recipe replaces it on a verdict
    assert headline.recommendation(trailing, one_seed, methods=methods) == "crt_mixup"
    clearing = [*one_seed, (candidate("auxlt_mixup_lws", 0.86, 860, seed=1), "n.md")]
    assert headline.recommendation(trailing, clearing, methods=methods) == "auxlt_mixup_lws"
    assert headline.recommendation_line(trailing, clearing, methods=methods) == (
        "- **Recommended recipe: auxlt_mixup_lws** (no one-command recipe ships for it yet).")
    below_the_row = [(dict(c, validation=0.8), link) for c, link in clearing]  # under auxlt_mixup's 0.816: not chosen
    assert headline.recommendation(trailing, below_the_row, methods=methods) == "crt_mixup"
    not_clearing = [*one_seed, (candidate("auxlt_mixup_lws", 0.86, 845, seed=1), "n.md")]
    assert headline.recommendation(trailing, not_clearing, methods=methods) == "crt_mixup"
    assert headline.recommendation_line(trailing, methods=("crt_mixup", "auxlt_mixup", "bbn")) is None
