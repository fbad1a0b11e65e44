"""The accuracy report's numbers: table cells and the method-against-baseline verdicts.

Pure functions over finished runs (`{method: [metrics.json dicts, each with its "seed"]}`), kept
apart from `benchmarks.accuracy` (which owns flags and processes) so they can be tested.
"""

import numpy as np

GROUPS = ("overall", "many", "medium", "few")
# What the comparison has to show on the short schedule (issue 4): (method, baseline, minimum mean
# gain in overall top-1 points). Gains are means of per-seed differences over shared seeds.
BARS = (("auxlt", "balanced", 1.5), ("auxlt", "ce", 4.0))
MIN_SEEDS = 2


def cell(runs, key, scale=100.0):
    """'mean ± std' over seeds of metric `key` (percent), the mean alone for one seed, '–' if none."""
    values = [r[key] for r in runs if r.get(key) is not None]
    if not values:
        return "–"
    mean = np.mean(values) * scale
    if len(values) == 1:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {np.std(values) * scale:.1f}"


def paired_gains(runs, baseline_runs):
    """{group: [per-seed gain in points]} over the seeds both methods have finished."""
    ours = {r["seed"]: r for r in runs}
    theirs = {r["seed"]: r for r in baseline_runs}
    seeds = sorted(ours.keys() & theirs.keys())
    return seeds, {group: [100.0 * (ours[s][group] - theirs[s][group]) for s in seeds
                           if ours[s].get(group) is not None and theirs[s].get(group) is not None]
                   for group in GROUPS}


def verdict_lines(rows, bars=BARS, min_seeds=MIN_SEEDS):
    """One markdown bullet per bar whose two methods both have finished runs."""
    lines = []
    for method, baseline, bar in bars:
        if method not in rows or baseline not in rows:
            continue
        seeds, gains = paired_gains(rows[method], rows[baseline])
        if not seeds:
            continue
        mean = float(np.mean(gains["overall"]))
        if len(seeds) < min_seeds:
            verdict = f"no verdict yet: {len(seeds)} shared seed(s), the bar needs {min_seeds}"
        elif mean >= bar:
            verdict = "**meets the bar**"
        else:
            verdict = "**below the bar**"
        per_seed = ", ".join(f"{g:+.1f}" for g in gains["overall"])
        groups = "; ".join(f"{group} {np.mean(gains[group]):+.1f}" for group in GROUPS[1:] if gains[group])
        seed_list = f"{'seed' if len(seeds) == 1 else 'seeds'} {', '.join(map(str, seeds))}"
        lines.append(f"- {method} − {baseline}: overall {mean:+.1f} points ({seed_list}: {per_seed}; bar ≥ +{bar:g}) — "
                     f"{groups}. {verdict[0].upper() + verdict[1:]}.")
    return lines


def standing_line(rows, method="auxlt"):
    """One sentence: `method` against every other method with a shared seed, and which are ahead.

    The bars cover two baselines only; this puts the method among all of them, so a baseline that
    beats it cannot go unnoticed in the report.
    """
    if method not in rows:
        return None
    gains = []
    for other, runs in rows.items():
        seeds, paired = paired_gains(rows[method], runs)
        if other != method and seeds:
            gains.append((float(np.mean(paired["overall"])), other, len(seeds)))
    if not gains:
        return None
    gains.sort()
    listed = ", ".join(f"{other} {gain:+.1f} ({n} seed{'s' if n > 1 else ''})" for gain, other, n in gains)
    ahead = [other for gain, other, _ in gains if gain < 0]
    verdict = f"Methods ahead of {method}: {', '.join(ahead)}." if ahead else f"{method} is ahead of every one."
    return f"- {method} against each method (overall, paired by seed): {listed}. {verdict}"
