"""The results page's headline: the 200-epoch recipe trained on the original CIFAR-10 pixels (issue 38).

Every run trained on the PNG copy (../shared/data/cifar10/cifar10_png.tar.gz) and was scored once on its
1,000 original test images when training ended; benchmarks/test_sets.py scored the same network on the
10,000 JPEG test images and kept which originals it got right (test_sets.json). Pure functions over
finished runs `{method: [run dicts]}` (runs.load_run's, with "test_sets"), kept apart from
`benchmarks.accuracy`, which collects them and writes the page.
"""

import os

import numpy as np

from benchmarks.comparison import (
    best_on_validation,
    error_text,
    lacking_validation,
    mean_cell,
    not_chosen_line,
    plus_minus,
    seed_list,
    signed,
    standard_error,
)
from benchmarks.runs import TEST_SETS_FILE, load_run, load_scored, read_json, run_dir, seeds_under
from benchmarks.variants import AUXLT_RECIPE, PUBLISHED_AUXLT, RECIPES

FLAGFILE = "flags/cifar10_lt.cfg"
# The rows, in the order issue 38 trains them; the AuxLT rows are those named auxlt*.
METHODS = (("ce", AUXLT_RECIPE, "crt", "crt_mixup", "ldam_drw", "logit_adjust", PUBLISHED_AUXLT, "bbn"))
# The published figure each row stands beside (ResNet-32, CIFAR-10-LT rho=100, 200 epochs; method.md).
PUBLISHED = {"ce": ("CE", 70.4), "ldam_drw": ("LDAM-DRW", 77.0), "bbn": ("BBN", 79.8), "crt_mixup": ("MiSLAS", 82.5)}
CALIBRATION = ("ce", 3.0)  # our ce must land within this many points of the published CE
LEAD_BAR = 1.5  # the leading AuxLT row over the best baseline, paired by seed, on every seed
LEAD_SEEDS = 2  # seeds the verdict waits for
# The seed every row trains: the two rows the verdict pairs are chosen on its validation top-1, so that the
# second seed, which only those two rows train, cannot change the choice (benchmarks.verdict_seeds).
CHOICE_SEED = 0
# Issue 38's search for an AuxLT recipe that leads: each a dated note docs/experiments/<name>.md whose kept runs are
# <results tree>/experiments/<name>/<variant>/seed<k>/ (collect_search; the page lists them: search_lines).
SEARCH_NOTES = ("2026-12-06-crt-on-auxlt-mixup", "2026-12-06-lws-stage", "2026-12-07-auxlt-mislas")


def is_auxlt(method):
    return method.startswith("auxlt")


def collect(base, methods=METHODS):
    """{method: [finished runs with their test_sets.json]} under `base`/<method>/seed<k>/; runs not yet scored on
    both test sets are left out (they have no row's worth of figures)."""
    rows = {}
    for method in methods:
        for seed in seeds_under(base, method):
            run = load_run(base, method, seed)
            test_sets = read_json(os.path.join(run_dir(base, method, seed), TEST_SETS_FILE), None)
            if run is not None and test_sets is not None:
                rows.setdefault(method, []).append({**run, "test_sets": test_sets})
    return rows


def collect_search(results_tree, notes=SEARCH_NOTES):
    """[(run, note name)] of the search's runs kept under `results_tree` and scored on both test sets
    (benchmarks.runs.load_scored's), in note, variant and seed order."""
    found = []
    for note in notes:
        base = os.path.join(results_tree, "experiments", note)
        for variant in sorted(os.listdir(base)) if os.path.isdir(base) else ():
            for seed_dir in sorted(os.listdir(os.path.join(base, variant))):
                directory = os.path.join(base, variant, seed_dir)
                if os.path.isfile(os.path.join(directory, TEST_SETS_FILE)):
                    found.append((load_scored(directory), note))
    return found


def originals(run):
    return np.asarray([c == "1" for c in run["test_sets"]["originals"]["correct"]], np.float64)


def table_lines(rows):
    lines = ["| method | seeds | originals | ± images | published | JPEG test | validation | many | medium | wall time |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for method, runs in rows.items():
        sets = [r["test_sets"] for r in runs]
        image_error = 100 * np.sqrt(np.mean([s["originals"]["se"] ** 2 for s in sets]) / len(sets))
        cells = [mean_cell([100 * s["originals"]["top1"] for s in sets]), f"{image_error:.1f}",
                 f"{PUBLISHED[method][1]:.1f} ({PUBLISHED[method][0]})" if method in PUBLISHED else "–",
                 mean_cell([100 * s["jpeg"]["top1"] for s in sets]),
                 mean_cell([100 * r["validation_overall"] for r in runs]),
                 mean_cell([100 * s["originals"]["many"] for s in sets]),
                 mean_cell([100 * s["originals"]["medium"] for s in sets]),
                 f"{np.mean([r['wall_seconds'] for r in runs]) / 3600:.1f} h"]
        lines.append(f"| {method} | {len(runs)} | " + " | ".join(cells) + " |")
    return lines


def paired_difference(runs_a, runs_b):
    """a − b on the originals, in points, paired by seed and by image: (seeds, mean, standard error, kind). With one
    shared seed the error is over the 1,000 images; with more, over the seeds' differences."""
    differences = per_seed_differences(runs_a, runs_b)
    seeds, per_seed = list(differences), list(differences.values())
    if not seeds:
        return seeds, None, None, None
    if len(seeds) == 1:
        return seeds, float(per_seed[0].mean()), standard_error(per_seed[0]), "over images"
    means = [float(d.mean()) for d in per_seed]
    return seeds, float(np.mean(means)), standard_error(means), "over seeds"


def image_error(runs_a, runs_b):
    """The standard error over the test images of the mean over seeds of a − b (each seed's paired over its 1,000
    images): what the finite test set alone leaves uncertain, beside the spread of the seeds."""
    per_seed = list(per_seed_differences(runs_a, runs_b).values())
    return float(np.sqrt(sum(standard_error(d) ** 2 for d in per_seed)) / len(per_seed)) if per_seed else None


def error_cell(runs_a, runs_b, error, kind):
    """'± 0.2 over seeds, ± 0.9 over images' (or the one error there is)."""
    if kind != "over seeds":
        return f"± {error_text(error)} {kind}"
    return f"± {error_text(error)} over seeds, ± {error_text(image_error(runs_a, runs_b))} over images"


def per_seed_differences(runs_a, runs_b):
    """{seed: a − b on each original image, in points} for every seed both have, in seed order."""
    a, b = ({r["seed"]: r for r in runs} for runs in (runs_a, runs_b))
    return {s: 100 * (originals(a[s]) - originals(b[s])) for s in sorted(a.keys() & b.keys())}


def best(rows, keep):
    """The row with the highest validation top-1 at CHOICE_SEED (the mean over its seeds, for a row that has no
    run of that seed) among those `keep` accepts, or None (a choice: made on validation, never on a test set)."""
    at_seed = {m: [r for r in runs if r["seed"] == CHOICE_SEED] or runs for m, runs in rows.items()}
    return best_on_validation(at_seed, [m for m in rows if keep(m)])


def lead_line(rows, methods=METHODS):
    """Which row leads: the best AuxLT row against the best baseline, paired by seed and image. While a row of
    `methods` has not finished, the lead is provisional and there is no verdict."""
    if not any(map(is_auxlt, rows)) or all(map(is_auxlt, rows)):
        return None
    lacking = lacking_validation(rows, list(rows))
    if lacking:
        return not_chosen_line("Leading", lacking)
    aux, base = best(rows, is_auxlt), best(rows, lambda m: not is_auxlt(m))
    seeds, mean, error, kind = paired_difference(rows[aux], rows[base])
    if not seeds:
        return f"- Leading: not yet comparable ({aux} and {base} share no seed)."
    leader, other, gap = (aux, base, mean) if mean >= 0 else (base, aux, -mean)
    line = (f"- **{leader} leads** {other} by {gap:.1f} points on the originals "
            f"({error_cell(rows[aux], rows[base], error, kind)}; each side's row best on validation at seed "
            f"{CHOICE_SEED}; {seed_list(seeds)}, paired by {'seed and image' if kind == 'over seeds' else 'image'}).")
    missing = unfinished(rows, methods)
    if missing:
        return line + (f" Provisional: the rows are chosen among all {len(methods)}, and {', '.join(missing)} "
                       f"{'has' if len(missing) == 1 else 'have'} not finished.")
    return line + " " + bar_verdict(aux, rows[aux], rows[base], "it stays the recommended recipe")


def clears(aux_runs, base_runs):
    """({seed: AuxLT − baseline on the originals, in points} for every seed both have, whether every one clears
    LEAD_BAR), the second None while the two share fewer than LEAD_SEEDS seeds (no verdict yet)."""
    gaps = {seed: float(d.mean()) for seed, d in per_seed_differences(aux_runs, base_runs).items()}
    return gaps, (all(g >= LEAD_BAR for g in gaps.values()) if len(gaps) >= LEAD_SEEDS else None)


def bar_verdict(aux, aux_runs, base_runs, if_clears):
    """Whether AuxLT recipe `aux` clears LEAD_BAR over the baseline on each seed both have (the verdict waits for
    LEAD_SEEDS of them, unless a seed already falls short); `if_clears`: what follows when it does."""
    gaps, cleared = clears(aux_runs, base_runs)
    if cleared:
        return f"{aux} clears +{LEAD_BAR:g} on every seed: {if_clears}."
    if cleared is not None:
        return f"{aux} does not clear +{LEAD_BAR:g} on every seed ({', '.join(signed(g) for g in gaps.values())})."
    short = {seed: gap for seed, gap in gaps.items() if gap < LEAD_BAR}
    if not short:
        return f"The verdict waits for {LEAD_SEEDS} seeds of both."
    # a seed under the bar decides it: no further seed can make it clear on every seed
    return (f"{aux} does not clear +{LEAD_BAR:g} on {seed_list(list(short))} "
            f"({', '.join(signed(g) for g in short.values())}), so it cannot clear it on every seed.")


def calibration_line(rows):
    method, tolerance = CALIBRATION
    if method not in rows:
        return None
    name, figure = PUBLISHED[method]
    mean = np.mean([100 * r["test_sets"]["originals"]["top1"] for r in rows[method]])
    gap = mean - figure
    return (f"- {method} {mean:.1f} against the published {name} {figure:.1f}: {signed(gap)} points, "
            f"{'within' if abs(gap) <= tolerance else 'outside'} the {tolerance:g} that count as reproducing it.")


def published_gain_line(rows):
    """Each baseline's published gain over CE next to ours (paired by seed and image on the originals)."""
    if "ce" not in rows:
        return None
    parts = []
    for method, (name, figure) in PUBLISHED.items():
        if method == "ce" or method not in rows:
            continue
        seeds, mean, error, _ = paired_difference(rows[method], rows["ce"])
        if seeds:
            parts.append(f"{name} {signed(figure - PUBLISHED['ce'][1])} published, {method} {signed(mean)} ± "
                         f"{error_text(error)} here ({seed_list(seeds)})")
    return f"- Gain over CE: {'; '.join(parts)}." if parts else None


def shift_line(rows):
    shifts = [100 * r["test_sets"]["pairs"]["shift"] for runs in rows.values() for r in runs]
    errors = [100 * r["test_sets"]["pairs"]["se"] for runs in rows.values() for r in runs]
    if not shifts:
        return None
    spread = (f"{len(shifts)} runs, from {min(shifts):.1f} to {max(shifts):.1f}, each ± about {np.mean(errors):.1f}"
              if len(shifts) > 1 else f"one run, ± {errors[0]:.1f}")
    return (f"Testing the networks trained on the original pixels on JPEG pixels costs {np.mean(shifts):.1f} points: "
            f"the same network on the 1,000 test images in both copies, PNG − JPEG paired by image ({spread}).")


def unfinished(rows, methods=METHODS):
    """The rows of `methods` with no finished run in `rows`, in the table's order."""
    return [m for m in methods if m not in rows]


def pending_line(rows, methods=METHODS):
    missing = unfinished(rows, methods)
    return f"- Not finished yet: {', '.join(missing)}." if missing else None


def searched_choice(candidates, rows):
    """The searched AuxLT recipe a choice on validation at CHOICE_SEED names over every AuxLT row of the table, as
    (variant, its runs of every seed), or None (no candidate above the table's best AuxLT row on validation).
    `candidates`: [(run, note link)], as search_lines takes them."""
    at_seed = [run for run, _ in candidates if run["seed"] == CHOICE_SEED and is_auxlt(run["variant"])]
    if not at_seed:
        return None
    chosen = max(at_seed, key=lambda run: run["validation"])
    row_validation = [r["validation_overall"] for r in rows.get(best(rows, is_auxlt), ()) if r["seed"] == CHOICE_SEED]
    if row_validation and chosen["validation"] <= row_validation[0]:
        return None
    return chosen["variant"], [run for run, _ in candidates if run["variant"] == chosen["variant"]]


def search_lines(candidates, rows):
    """The AuxLT recipes searched beyond the table's rows (issue 38's "if not"), each beside the best baseline row on
    validation and the originals at CHOICE_SEED: a sentence naming that row, a bullet per candidate, and one with
    the verdict on the candidate a choice on validation names; [] without candidates. `candidates`: [(run, note
    link)], run as benchmarks.paired_runs loads it (an AuxLT recipe kept beside its dated note)."""
    listed = [(run, link) for run, link in candidates if run["seed"] == CHOICE_SEED and is_auxlt(run["variant"])]
    base = best(rows, lambda m: not is_auxlt(m)) if rows else None
    if not listed or base is None:
        return []
    reference = next((r for r in rows[base] if r["seed"] == CHOICE_SEED), None)
    if reference is None:
        return []
    lines = [f"AuxLT recipes searched beyond the table (issue 38: chosen on validation only; seed {CHOICE_SEED}, "
             f"not rows of the table), beside the best baseline row, {base}: "
             f"{100 * reference['validation_overall']:.2f} on validation, "
             f"{100 * reference['test_sets']['originals']['top1']:.1f} on the originals.", ""]
    lines += [f"- {run['variant']}: {100 * run['validation']:.2f} on validation, "
              f"{100 * run['test_sets']['originals']['top1']:.1f} on the originals ([note]({link}))."
              for run, link in listed]
    choice = searched_choice(candidates, rows)
    if choice is None:
        return lines
    chosen, runs = choice
    seeds, mean, error, kind = paired_difference(runs, rows[base])
    verdict = bar_verdict(chosen, runs, rows[base], "it becomes the recommended recipe")
    return lines + [f"- {chosen}, highest on validation of the AuxLT recipes, − {base}: {signed(mean)} ± "
                    f"{error_text(error)} points on the originals ({seed_list(seeds)}, paired by "
                    f"{'seed' if kind == 'over seeds' else 'image'}). {verdict}"]


def recommendation(rows, search=(), methods=METHODS):
    """The row the table makes the default recipe once its verdict is final, or None while it waits (a row of
    `methods` unfinished, a row without validation, or fewer than LEAD_SEEDS seeds shared by the two rows compared):
    the best AuxLT row if it clears LEAD_BAR over the best baseline on every seed; else the searched AuxLT recipe
    chosen on validation (searched_choice) once it clears on LEAD_SEEDS seeds; else, and while that recipe's seeds
    are missing, the best baseline (a searched recipe replaces it only on a verdict)."""
    if unfinished(rows, methods) or lacking_validation(rows, list(rows)):
        return None
    aux, base = best(rows, is_auxlt), best(rows, lambda m: not is_auxlt(m))
    cleared = clears(rows[aux], rows[base])[1]
    if cleared is None:
        return None
    if cleared:
        return aux
    choice = searched_choice(search, rows)
    if choice is None:
        return base
    return choice[0] if clears(choice[1], rows[base])[1] else base


def recommendation_line(rows, search=(), methods=METHODS):
    """The page's statement of the default recipe, once recommendation() names it."""
    row = recommendation(rows, search, methods)
    if row is None:
        return None
    recipe = RECIPES.get(row)
    where = f"`{recipe}`, what `./run train` runs" if recipe else "no one-command recipe ships for it yet"
    return f"- **Recommended recipe: {row}** ({where})."


def section_lines(rows, runs_path, search=()):
    """The section of the 200-epoch table; `search`: the AuxLT candidates of search_lines."""
    lines = ["## 200 epochs, original pixels", ""]
    if not rows:
        return lines + [f"No run of this table has finished yet (rows: {', '.join(METHODS)}).", ""]
    bullets = [line for line in (lead_line(rows), recommendation_line(rows, search), calibration_line(rows),
                                 published_gain_line(rows), pending_line(rows)) if line]
    lines += [*table_lines(rows), "", *bullets, "",
              f"Top-1 %, CIFAR-10-LT ρ=100, ResNet-32, `{FLAGFILE}` (200 epochs), trained on the PNG copy. "
              "`originals`: the 1,000 original test images (mean over seeds ± standard error over seeds; "
              "`± images`: the standard error from the 1,000 images). `published`: the figure its authors report "
              "for the method at this setting, on all 10,000 original test images (crt_mixup: MiSLAS, whose "
              "stage 1 it trains; its stage 2 is cRT with label-aware smoothing, not MiSLAS's LWS). `JPEG test`: the 10,000 JPEG test images. "
              f"Raw runs: `{runs_path}/`.", ""]
    searched = search_lines(search, rows)
    return lines + ([*searched, ""] if searched else [])


def data_effect_lines(png_rows, jpeg_rows):
    """Trained on PNG − trained on JPEG, both scored on the 10,000 JPEG test images, paired by seed, for the rows
    that have both (`jpeg_rows`: the 200-epoch runs on the JPEG copy, metrics.json with "seed"); then what testing
    on JPEG pixels costs the PNG-trained networks (shift_line)."""
    lines = []
    for method in [m for m in png_rows if m in (jpeg_rows or {})]:
        png = {r["seed"]: 100 * r["test_sets"]["jpeg"]["top1"] for r in png_rows[method]}
        jpeg = {r["seed"]: 100 * r["overall"] for r in jpeg_rows[method]}
        seeds = sorted(png.keys() & jpeg.keys())
        if seeds:
            gains = [png[s] - jpeg[s] for s in seeds]
            lines.append(f"- {method}: {signed(np.mean(gains))} points{plus_minus(standard_error(gains))} "
                         f"({seed_list(seeds)}).")
    shift = shift_line(png_rows)
    if lines:
        lines = ["Training on the original pixels instead of the JPEG copy, both runs scored on the 10,000 JPEG test "
                 "images (PNG − JPEG, paired by seed):", "", *lines]
    if shift:
        lines += ["", shift] if lines else [shift]
    return lines
