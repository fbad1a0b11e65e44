"""The results page's section on the 200-epoch recipe trained on the JPEG copy: the published schedule run
here, beside the published figures. Pure functions over finished runs (`{method: [metrics.json dicts with
"seed" and "wall_seconds"]}`), kept apart from `benchmarks.accuracy`, which collects the runs and writes the page."""

import numpy as np

from benchmarks.comparison import cell, paired_check_lines, paired_gains, seed_list, signed, spread, standard_error
from benchmarks.variants import AUXLT_RECIPE, PUBLISHED_AUXLT

HEADING = "## 200 epochs, JPEG copy (superseded)"
FLAGFILE = "flags/cifar10_lt.cfg"
# Rows, when they have runs: the first four are the section's own (the AuxLT recipe among them).
METHODS = ("ce", "crt", "logit_adjust", AUXLT_RECIPE, PUBLISHED_AUXLT, "auxlt_mixup_fused")
# ResNet-32, CIFAR-10-LT rho=100, 200 epochs, as the papers report them (the page's published table).
PUBLISHED_RHO100 = {"CE": 70.4, "CB focal": 74.6, "LDAM-DRW": 77.0, "BBN": 79.8, "MiSLAS": 82.5}
# Why the logit_adjust row has no published figure beside it (google-research/google-research,
# logit_adjustment/utils.py, dataset_mappings: 'cifar10-lt' trains 1241 epochs).
NOT_PUBLISHED = ("Logit adjustment (Menon et al., ICLR 2021) has no published figure at this setting: its CIFAR-10-LT "
                 "figures come from a 1,241-epoch schedule (its code, google-research/google-research "
                 "`logit_adjustment/utils.py`), six times this one.")
# The bfloat16 check (issue 22): these rows trained on the short schedule in mixed bfloat16, paired by seed with
# their float32 runs of the page's table; the bar is the float32 row's seed-to-seed spread.
PRECISION_CHECK = ("ce", PUBLISHED_AUXLT)
PRECISION_SPEED = "performance.md#mixed-bfloat16-against-float32"  # the speed measurement, beside the page
CALIBRATION = ("ce", "CE", 3.0)  # our row, the published row, the largest gap that counts as reproduced
BAR = ("ce", 4.0)  # every AuxLT row against ce: the gain it must reach
# Why the section's figures may differ from the published ones: one bullet each.
WHY_IT_MAY_DIFFER = (
    "The data is a JPEG copy of CIFAR-10: quality 75, its colour stored at 16×16 (4:2:0 chroma subsampling), so "
    "decoded pixels differ from the PNG-exact originals, by about one level more with TensorFlow's fast DCT, which runs "
    "of before 2026-12-02 decoded with.",
    "Checkpoints and BatchNorm statistics are chosen on a validation split and the test set is scored once; the "
    "reference code of the CE and LDAM-DRW rows (kaidic/LDAM-DRW, cifar_train.py) reports \"Best Prec@1\", the best "
    "test accuracy over all 200 epochs, an epoch chosen on test.",
    "The validation split takes 200 of the head class's 5,000 training images; the long-tailed subset is the "
    "reference code's.",
    "Single runs vary from seed to seed (the standard errors of the table).",
    "These runs padded stride-2 convolutions as TensorFlow's \"same\" does, one pixel off the reference code's windows "
    "(code of before 2026-12-02), a difference not measured on its own.",
    "For ce, neither the choice of epoch (the last scores lower than the one chosen on validation) nor the trainer "
    "explains the gap: the reference code's CE, run here on the same pixels and schedule, lands where our ce does. What "
    "remains is the data, the framework and hardware, and the seed; the data is the likely cause "
    "([2026-12-02-ce-200-epoch-gap.md](experiments/2026-12-02-ce-200-epoch-gap.md)).",
)


def precision_name(run):
    """float32, or the mixed-precision policy a run trained with."""
    policy = run.get("mixed_precision", "off")
    return "float32" if policy == "off" else f"mixed {policy}"


def evaluated_in(run):
    """The precision a run was evaluated in: metrics.json's record, else (code of before 2026-12-02, which
    evaluated under the training policy) the precision it trained in."""
    return run.get("evaluation_precision") or precision_name(run)


def table_lines(rows):
    lines = ["| method | seeds | overall | many | medium | few | validation | wall time / run | precision |",
             "|---|---|---|---|---|---|---|---|---|"]
    for method, runs in rows.items():
        precisions = sorted({precision_name(r) for r in runs})
        hours = np.mean([r["wall_seconds"] for r in runs]) / 3600
        lines.append(f"| {method} | {len(runs)} | {cell(runs, 'overall')} | {cell(runs, 'many')} | "
                     f"{cell(runs, 'medium')} | {cell(runs, 'few')} | {cell(runs, 'validation_overall')} | "
                     f"{hours:.1f} h | {', '.join(precisions)} |")
    return lines


def standing_lines(rows):
    """Where the runs land: the calibration against the published CE, every AuxLT row's paired gain over ce (the
    bar), and each other baseline with the AuxLT recipe's paired gain over it."""
    lines = []
    ours, published, tolerance = CALIBRATION
    if ours in rows:
        mean = float(np.mean([100 * r["overall"] for r in rows[ours]]))
        gap = mean - PUBLISHED_RHO100[published]
        verdict = "within" if abs(gap) <= tolerance else "outside"
        lines.append(f"- {ours} {mean:.1f} against the published {published} {PUBLISHED_RHO100[published]:.1f}: "
                     f"{signed(gap)} points, {verdict} the {tolerance:g} points that count as reproducing it.")
    baseline, bar = BAR
    for method in [m for m in rows if m.startswith("auxlt")] if baseline in rows else []:
        seeds, gains = paired_gains(rows[method], rows[baseline])
        if seeds:
            mean = float(np.mean(gains["overall"]))
            error = standard_error(gains["overall"])
            verdict = "meets" if mean >= bar else "misses"
            lines.append(f"- {method} − {baseline}: {signed(mean)} points ({seed_list(seeds)}"
                         f"{spread(error) or ', one seed'}; bar ≥ +{bar:g}): {verdict} the bar.")
    for method in rows:
        if method == ours or method.startswith("auxlt"):
            continue
        mean = float(np.mean([100 * r["overall"] for r in rows[method]]))
        seeds, gains = paired_gains(rows[AUXLT_RECIPE], rows[method]) if AUXLT_RECIPE in rows else ([], {})
        against = (f"; {AUXLT_RECIPE} − {method}: {signed(np.mean(gains['overall']))} points "
                   f"({seed_list(seeds)}{spread(standard_error(gains['overall'])) or ', one seed'})" if seeds else "")
        lines.append(f"- {method} {mean:.1f}{against}.")
    return lines


def precision_lines(float32_rows, bfloat16_rows, runs_path, command):
    """Why the section trains in float32: the bfloat16 runs' test top-1 against the float32 runs of the same seeds
    (`{method: runs}` of the short schedule each), the mean paired difference against the spread of the float32
    row (sample standard deviation over all its seeds). `command`: the benchmark command of the bfloat16 runs."""
    evaluations = sorted({evaluated_in(r) for runs in bfloat16_rows.values() for r in runs})
    if evaluations in ([], ["float32"]):
        evaluation = "evaluation in float32 either way"
    else:  # runs of code that evaluated under the training policy
        evaluation = (f"the bfloat16 runs were evaluated in {' and '.join(evaluations)} too: the code of before "
                      "2026-12-02 evaluated under the training policy, and now evaluates in float32")
    lines = ["Precision: the runs above train in float32. Mixed bfloat16 was checked on the short schedule: for speed "
             f"(not faster on this CPU, [performance.md]({PRECISION_SPEED})) and for accuracy, "
             f"{' and '.join(PRECISION_CHECK)} trained in mixed bfloat16 against the float32 runs of the same seeds "
             f"in the table above ({evaluation}; command `{command}`; raw runs `{runs_path}/`)."]
    check = paired_check_lines(float32_rows, {m: bfloat16_rows[m] for m in PRECISION_CHECK if m in bfloat16_rows},
                               ("float32", "mixed bfloat16"))
    if not check:
        return lines + ["", f"No bfloat16 run of {', '.join(PRECISION_CHECK)} has finished yet."]
    return lines + ["", *check]


REFERENCE = "kaidic/LDAM-DRW `cifar_train.py`"
REFERENCE_FILE = "reference.json"  # benchmarks/reference_log.py's summary of one reference run
REFERENCE_METHODS = {"ce": "CE"}  # our row: the reference code's loss of the same method


def reference_lines(rows, reference, runs_path):
    """Our rows beside the reference code run here on the same data and schedule (`reference`: {method: [summaries
    of benchmarks/reference_log.py with "seed"]}), paired by seed against its last epoch (nothing chosen) and its
    best epoch on test (what the published figure is), and the reference itself against its published figure."""
    lines = []
    for method, summaries in reference.items():
        theirs = {r["seed"]: r for r in summaries}
        ours = {r["seed"]: 100 * r["overall"] for r in rows.get(method, [])}
        seeds = sorted(theirs)
        last = [100 * theirs[s]["last"]["overall"] for s in seeds]
        best = [100 * theirs[s]["best_on_test"]["overall"] for s in seeds]
        name = REFERENCE_METHODS[method]
        line = (f"- The reference code's {name} ({REFERENCE}, run here on the same decoded "
                f"pixels and schedule; {seed_list(seeds)}; raw: `{runs_path}/{method}/`): {np.mean(last):.1f} at its "
                f"last epoch, {np.mean(best):.1f} at its best epoch on test (how the published figures are taken).")
        published = PUBLISHED_RHO100.get(name)
        if published is not None:
            line += (f" Against the published {name} {published:.1f}, the reference itself: "
                     f"{signed(np.mean(best) - published)} points at its best epoch on test, "
                     f"{signed(np.mean(last) - published)} at its last.")
        paired = sorted(ours.keys() & theirs.keys())
        if paired:
            gaps = [ours[s] - 100 * theirs[s]["last"]["overall"] for s in paired]
            tolerance = CALIBRATION[2]
            verdict = "within" if abs(float(np.mean(gaps))) <= tolerance else "outside"
            line += (f" Our {method} against its last epoch: {signed(np.mean(gaps))} points ({seed_list(paired)}"
                     f"{spread(standard_error(gaps)) or ', one seed'}), {verdict} {tolerance:g} points.")
        lines.append(line)
    return lines


def section_lines(rows, runs_path, command, precision=(), reference=(), data_effect=()):
    """The section's markdown lines; `rows` may be empty (no run finished yet); `precision`: the lines of the
    bfloat16 check (precision_lines), if any; `reference`: those of the reference code run here (reference_lines);
    `data_effect`: PNG − JPEG training of the rows the headline shares (headline.data_effect_lines)."""
    lines = [HEADING, "",
             "On the JPEG copy of CIFAR-10, before the original pixels were available: the headline above supersedes "
             "these runs, kept for the effect of the data (below the table).", "",
             f"The published schedule, `{FLAGFILE}` (200 epochs, 5 warm-up epochs, learning rate ×0.01 at epoch "
             "160 and ×0.0001 at 180; crt's second stage `flags/cifar10_lt_crt.cfg`, 20 epochs), under the same "
             f"validation protocol as the table above. Command: `{command}` (run and metrics directories of its own, "
             "so that it leaves the table above alone), then `python -m benchmarks.accuracy --report_only` to rebuild "
             f"this page; raw runs: `{runs_path}/`. Wall time is on this 2-core CPU.", ""]
    if rows:
        lines += table_lines(rows)
    else:
        lines.append(f"No run of this recipe has finished yet (its rows: {', '.join(METHODS[:4])}, the AuxLT "
                     "recipe, and any other AuxLT variant of the table above).")
    lines += ["", "Published, not measured here (ResNet-32, CIFAR-10-LT ρ=100, 200 epochs): "
              + ", ".join(f"{name} {value:.1f}" for name, value in PUBLISHED_RHO100.items()) + ". " + NOT_PUBLISHED]
    standing = [*standing_lines(rows), *reference]
    if standing:
        lines += ["", *standing]
    if data_effect:
        lines += ["", *data_effect]
    lines += ["", "Why figures here may differ from the published ones:", "",
              *(f"- {reason}" for reason in WHY_IT_MAY_DIFFER), ""]
    if precision:
        lines += [*precision, ""]
    return lines
