"""The accuracy report's numbers: table cells and the method-against-baseline verdicts.

Pure functions over finished runs (`{method: [metrics.json dicts, each with its "seed"]}`), kept
apart from `benchmarks.accuracy` (which owns flags and processes) so they can be tested.
"""

import numpy as np

from benchmarks.variants import AUXLT_RECIPE, PUBLISHED_AUXLT
from keras_auxlt import renamed
from keras_auxlt.data.shots import SHOT_THRESHOLDS, shot_group_sizes
from keras_auxlt.data.shots import TOP1_GROUPS as GROUPS

# What the comparison has to show on the short schedule (issues 4, 21), for the AuxLT recipe and for
# AuxLT as published: (method, baseline, minimum mean gain in overall top-1 points). Gains are means of
# per-seed differences over shared seeds.
BARS = tuple((row, baseline, bar) for row in (AUXLT_RECIPE, PUBLISHED_AUXLT)
             for baseline, bar in (("balanced", 1.5), ("ce", 4.0)))
MIN_SEEDS = 2
BASELINES = ("ce", "balanced", "cb_loss", "drw", "logit_adjust", "crt")
# What each addition of the AuxLT recipe contributes (issue 23): (row, the row it adds to).
RECIPE_STEPS = (("auxlt_mixup", "auxlt"), ("auxlt_mixup_fused", "auxlt_mixup"))
BEST_ROW_BAR = 1.5  # the best AuxLT-based row over the best baseline row, overall top-1 points
# Seeds the best-row verdict waits for, in the pair and in every baseline row (issue 23 asks for 3): unlike the
# bars' MIN_SEEDS it also decides *which* rows are compared, and a mean of fewer seeds can pick the wrong one.
BEST_ROW_MIN_SEEDS = 3


def cell(runs, key, scale=100.0):
    """'mean ± standard error' over seeds of metric `key` (percent), the mean alone for one seed, '–' if none."""
    values = [r[key] * scale for r in runs if r.get(key) is not None]
    return mean_cell(values) if values else "–"


def mean_cell(values, digits=1):
    """'mean ± standard error over seeds', the mean alone for one value."""
    return f"{np.mean(values):.{digits}f}" + plus_minus(standard_error(values), digits)


def paired_gains(runs, baseline_runs, keys=GROUPS):
    """{key: [per-seed gain in points]} over the seeds both methods have finished (keys: the shot groups)."""
    ours = {r["seed"]: r for r in runs}
    theirs = {r["seed"]: r for r in baseline_runs}
    seeds = sorted(ours.keys() & theirs.keys())
    return seeds, {group: [100.0 * (ours[s][group] - theirs[s][group]) for s in seeds
                           if ours[s].get(group) is not None and theirs[s].get(group) is not None]
                   for group in keys}


def seed_list(seeds):
    """'seed 0' or 'seeds 0, 1, 2'."""
    return f"{'seed' if len(seeds) == 1 else 'seeds'} {', '.join(map(str, seeds))}"


def signed(value, digits=1):
    """`value` with its sign, a minus sign (U+2212) for negatives as in the page's prose: '+1.2', '−0.4'."""
    return f"{value:+.{digits}f}".replace("-", "−")


def error_text(error, digits=1):
    """A standard error with `digits` decimals, or as many more (up to two) as it takes not to print a nonzero error
    as zero: '0.4', '0.05' (a page's '± 0.0' would read as no uncertainty at all); an error too small to show
    even then (equal seeds) stays '0.0'."""
    places = next((p for p in range(digits, digits + 3) if round(error, p) != 0), digits)
    return f"{error:.{places}f}"


def plus_minus(error, digits=1):
    """' ± error' (error_text), nothing for a single seed (None)."""
    return "" if error is None else f" ± {error_text(error, digits)}"


def spread(error):
    """', standard error x.y' after a mean, nothing for a single seed."""
    return "" if error is None else f", standard error {error_text(error)}"


def standard_error(values):
    """Standard error of the mean (sample standard deviation / sqrt(n)); None for fewer than two values."""
    if len(values) < 2:
        return None
    return float(np.std(values, ddof=1) / np.sqrt(len(values)))


def paired_check_lines(before, after, labels):
    """Runs `after` set against runs `before` of the same seeds (`{method: runs}` each; `labels`: the names of the two,
    e.g. ("float32", "mixed bfloat16")): a per-seed table of test top-1, then per method the mean paired difference
    against the seed-to-seed spread of the `before` row (sample standard deviation over all its seeds), the bar of
    "no change". Empty when no seed has both runs."""
    pairs = {m: paired_gains(after[m], before.get(m, []), keys=("overall",)) for m in after}
    pairs = {m: (seeds, gains["overall"]) for m, (seeds, gains) in pairs.items() if seeds}
    if not pairs:
        return []
    old, new = labels
    scores = {m: {r["seed"]: 100 * r["overall"] for r in before[m]} for m in pairs}  # top-1 % by seed
    lines = [f"| method | seed | {old} | {new} | difference |", "|---|---|---|---|---|"]
    for method, (seeds, differences) in pairs.items():
        for seed, difference in zip(seeds, differences):
            lines.append(f"| {method} | {seed} | {scores[method][seed]:.2f} | "
                         f"{scores[method][seed] + difference:.2f} | {signed(difference, 2)} |")
    lines.append("")
    for method, (seeds, differences) in pairs.items():
        values = list(scores[method].values())
        deviation = float(np.std(values, ddof=1)) if len(values) > 1 else None
        mean = float(np.mean(differences))
        if deviation is None:
            verdict = f"no seed-to-seed spread to set it against (one {old} seed)"
        else:
            inside = "within" if abs(mean) <= deviation else "outside"
            verdict = (f"the {old} row's seed-to-seed spread is {deviation:.2f} (sample standard deviation, "
                       f"{len(values)} seeds): {inside} it")
        error = standard_error(differences)
        lines.append(f"- {method}: {new} − {old} {signed(mean, 2)} points ({seed_list(seeds)}"
                     f"{', one seed' if error is None else f', standard error {error:.2f}'}); {verdict}.")
    return lines


def verdict_lines(rows, bars=BARS, min_seeds=MIN_SEEDS):
    """One markdown bullet per bar whose two methods both have finished runs.

    The verdict compares the mean per-seed gain with the bar and says so when the bar lies within one
    standard error of that mean: two or three seeds of a ~1-point gain cannot tell +1.6 from +0.9.
    """
    lines = []
    for method, baseline, bar in bars:
        if method not in rows or baseline not in rows:
            continue
        seeds, gains = paired_gains(rows[method], rows[baseline])
        if not seeds:
            continue
        mean = float(np.mean(gains["overall"]))
        error = standard_error(gains["overall"])
        if len(seeds) < min_seeds:
            verdict = f"no verdict yet: {len(seeds)} shared seed(s), the bar needs {min_seeds}"
        else:
            verdict = "**meets the bar**" if mean >= bar else "**below the bar**"
            if error is not None and abs(mean - bar) < error:
                verdict += " on the mean, but the bar is within one standard error of it; more seeds would settle it"
        per_seed = ", ".join(signed(g) for g in gains["overall"])
        by_group = "; ".join(f"{group} {signed(np.mean(gains[group]))}" for group in GROUPS[1:] if gains[group])
        groups = f" — {by_group}." if by_group else "."
        lines.append(f"- {method} − {baseline}: overall {signed(mean)} points{spread(error)} ({seed_list(seeds)}: "
                     f"{per_seed}; bar ≥ +{bar:g}){groups} {verdict[0].upper() + verdict[1:]}.")
    return lines


def standing_line(rows, method="auxlt"):
    """One sentence: `method` against every baseline with a shared seed, and which are ahead.

    The bars cover two baselines only; this puts the method among all of them, so a baseline that
    beats it cannot go unnoticed in the report.
    """
    if method not in rows:
        return None
    gains = []
    for other, runs in rows.items():
        seeds, paired = paired_gains(rows[method], runs)
        if not other.startswith("auxlt") and seeds:  # its own variants have their own lines
            gains.append((float(np.mean(paired["overall"])), other, len(seeds)))
    if not gains:
        return None
    gains.sort()
    listed = ", ".join(f"{other} {signed(gain)} ({n} seed{'s' if n > 1 else ''})" for gain, other, n in gains)
    ahead = [other for gain, other, _ in gains if gain < 0]
    verdict = f"Methods ahead of {method}: {', '.join(ahead)}." if ahead else f"{method} is ahead of every one."
    return f"- {method} against each method (overall, paired by seed): {listed}. {verdict}"


def _mean_gain(gains, group):
    values = gains[group]
    if not values:
        return None
    error = standard_error(values)
    return signed(np.mean(values)) + plus_minus(error)


def contribution_lines(rows, steps=RECIPE_STEPS):
    """One bullet per recipe step with both rows finished: its paired gain overall and per shot group."""
    lines = []
    for row, base in steps:
        if row not in rows or base not in rows:
            continue
        seeds, gains = paired_gains(rows[row], rows[base])
        if not seeds:
            continue
        groups = ", ".join(f"{group} {_mean_gain(gains, group)}" for group in GROUPS if gains[group])
        lines.append(f"- {row} over {base}: {groups} ({seed_list(seeds)}).")
    return lines


def lacking_validation(rows, names):
    """The runs of rows `names` without a validation top-1, as "method seed k"."""
    return [f"{name} seed {r['seed']}" for name in names if name in rows for r in rows[name]
            if r.get("validation_overall") is None]


def best_on_validation(rows, names):
    """The row of `names` with the highest mean validation top-1: which row is best is a choice, and choices are
    made on the validation split, never on the test set. None when no row of `names` has runs, or when one of
    their runs has no validation top-1 (lacking_validation names it)."""
    if lacking_validation(rows, names):
        return None
    means = {name: np.mean([r["validation_overall"] for r in rows[name]]) for name in names if name in rows}
    return max(means, key=means.get) if means else None


def not_chosen_line(what, lacking):
    return (f"- {what}: not chosen, since {', '.join(lacking)} had no validation split (the best rows are chosen on "
            "validation only).")


def best_row_line(rows, baselines=BASELINES, bar=BEST_ROW_BAR, min_seeds=BEST_ROW_MIN_SEEDS):
    """The best AuxLT-based row against the best baseline row (each the highest on validation), paired by seed
    on the test set.

    Settled only when every baseline row has `min_seeds` seeds: which baseline is best is itself a mean."""
    auxlt = [m for m in rows if m.startswith("auxlt")]
    if not auxlt or not any(b in rows for b in baselines):
        return None
    lacking = lacking_validation(rows, [*auxlt, *baselines])
    if lacking:
        return not_chosen_line("Best AuxLT-based row against the best baseline row", lacking)
    ours, theirs = best_on_validation(rows, auxlt), best_on_validation(rows, baselines)
    seeds, gains = paired_gains(rows[ours], rows[theirs])
    if not seeds:
        return None
    mean = float(np.mean(gains["overall"]))
    error = standard_error(gains["overall"])
    missing = [b for b in baselines if b not in rows]
    thin = [f"{b} {len(rows[b])}" for b in baselines if b in rows and len(rows[b]) < min_seeds]
    verdict = "**meets the bar**" if mean >= bar and len(seeds) >= min_seeds and not missing and not thin else (
        "**below the bar**" if mean < bar else "not settled yet")
    why = []
    if len(seeds) < min_seeds:
        why.append(f"{len(seeds)} shared seed(s) of the {min_seeds} it needs")
    if missing:
        why.append(f"no runs of {', '.join(missing)} yet")
    if thin:
        why.append(f"seeds of baseline rows short of {min_seeds}: {', '.join(thin)}")
    return ("- Best AuxLT-based row against the best baseline row (each the highest on validation): "
            f"{ours} − {theirs} overall {signed(mean)} points"
            f"{spread(error)} ({seed_list(seeds)}; bar ≥ +{bar:g}): "
            f"{verdict}" + (f" ({'; '.join(why)})" if why and verdict != "**below the bar**" else "") + ".")


def groups_sentence(rows):
    """How many classes each shot group holds in these runs, and why a column is empty if one is."""
    counts = next((run["train_counts"] for runs in rows.values() for run in runs if run.get("train_counts")), None)
    if counts is None:
        return ""
    sizes = shot_group_sizes(counts)
    listed = ", ".join(f"{group} {size}" for group, size in sizes.items())
    empty = [group for group, size in sizes.items() if not size]
    why = (f" The {' and '.join(empty)} column{'s are' if len(empty) > 1 else ' is'} empty: the smallest class has "
           f"{min(counts):,} training images, the largest {max(counts):,}." if empty else "")
    return f"Shot groups by training images per class ({SHOT_THRESHOLDS}), classes in each: {listed}.{why}"


def has_validation(rows):
    """Whether any run was trained with a validation split (its metrics carry `validation`)."""
    return any("validation" in run for runs in rows.values() for run in runs)


def statistics_sentence(rows):
    """Which BatchNorm statistics the scores use: as trained, or re-estimated after training (and from which stream)."""
    used, steps, auto = {}, set(), False
    for method, runs in rows.items():
        statistics = [run.get("inference_statistics", {}) for run in runs]  # older runs: no entry (as trained)
        auto |= any(s.get("requested") == "auto" for s in statistics)
        used[method] = [renamed.statistics_source(s.get("source", "as_trained"), warn=False) for s in statistics]
        steps |= {s["steps"] for s in statistics if s.get("source", "as_trained") != "as_trained"}
    if not steps:
        return ("BatchNorm statistics as trained" + (" (`--inference_statistics=auto` kept them in every run: no "
                "re-estimate scored higher on the validation split)." if auto else "."))
    which = "; ".join(f"{method} {', '.join(sources)}" for method, sources in used.items() if set(sources) != {"as_trained"})
    how = ("chosen per run by `--inference_statistics=auto` as the highest on the validation split among the statistics "
           "as trained and those re-estimated from the joint batches and the balanced and random streams" if auto
           else "`--inference_statistics`")
    return (f"BatchNorm statistics: re-estimated after training over {'/'.join(map(str, sorted(steps)))} training batches "
            f"of the stream named, per seed, for {which} ({how}); other runs as trained. The validation column is of "
            "the statistics used, `validation (as trained)` of those training left.")


def selection_sentence(rows):
    """Which checkpoint the test scores are of: the last, or the best on the validation split."""
    if not has_validation(rows):
        return "last-epoch model (no validation split, no test-set selection)."
    return ("checkpoint best on the validation split that `--val_per_class` makes from training images outside the "
            "long-tailed subset (its top-1 is the validation column; runs without one: last epoch); no test-set "
            "selection.")
