"""Whether the code fixes of 2026-12-02 move the results table: rows of the 30-epoch table rerun by code that
records how it decodes JPEG and pads strided convolutions (benchmarks.runs.CODE_FACTS; the table's runs are older
and record neither), paired by seed with the table's runs. Its figures are kept in
docs/experiments/2026-12-06-code-fixes-rerun.md:

    ./run python -m experiments.code_check [--results_tree=docs/results]

prints them (markdown) from the kept runs: the table's under <results_tree>/30_epoch/jpeg, the reruns under
<results_tree>/30_epoch/jpeg-rerun. The functions take finished runs (`{method: [metrics.json dicts with "seed",
"wall_seconds" and the CODE_FACTS]}`)."""

import os

import numpy as np
from absl import app, flags

from benchmarks.comparison import paired_check_lines
from benchmarks.runs import CODE_FACTS, collect_all_seeds, own_dirs_command
from benchmarks.variants import AUXLT_RECIPE

flags.DEFINE_string("results_tree", "docs/results", "The tree of kept runs (benchmarks.accuracy --results_tree).")
FLAGS = flags.FLAGS

TABLE, RERUNS = "30_epoch/jpeg", "30_epoch/jpeg-rerun"  # under --results_tree
FLAGFILE = "flags/cifar10_lt_short.cfg"

METHODS = ("ce", AUXLT_RECIPE)  # the baseline the bars start from, and the AuxLT recipe
SEEDS = (0, 1)
LABELS = ("table", "rerun")  # the runs of the table (code of before 2026-12-02), and their reruns


def records_code(run):
    """Whether a run records every CODE_FACT, i.e. was trained by code of 2026-12-02 or later."""
    return all(run.get(fact) is not None for fact in CODE_FACTS)


def hours_needed(table_rows):
    """The check's cost on this CPU by the table's own wall times: each METHODS row's mean, once per seed."""
    return sum(np.mean([r["wall_seconds"] for r in table_rows[m]]) for m in METHODS if m in table_rows) * len(SEEDS) / 3600


def check_lines(table_rows, reruns, runs_path, command):
    """The page's sentences (and table) on the check: what it would take when no rerun has a pair in the table yet,
    else each rerun against the table's run of its seed. `reruns`: {method: runs} under `runs_path`; a rerun that
    does not record the code facts (older code) is left out, and the page says so."""
    kept = {m: [r for r in runs if records_code(r)] for m, runs in reruns.items()}
    older = sum(len(runs) - len(kept[m]) for m, runs in reruns.items())
    check = paired_check_lines(table_rows, {m: runs for m, runs in kept.items() if runs}, LABELS)
    if not check:
        return [f"Whether that moves these figures has not been measured; the check reruns "
                f"{', '.join(METHODS)} for seeds {', '.join(map(str, SEEDS))} (about {hours_needed(table_rows):.1f} "
                f"hours on this CPU by the table's wall times): `{command}`."]
    facts = sorted({", ".join(f"{fact}={r[fact]}" for fact in CODE_FACTS) for runs in kept.values() for r in runs})
    left_out = (f"; {older} run{'s' if older > 1 else ''} there of older code left out" if older else "")
    return ["How much that moves them: rows of the table rerun by the code as it now trains (their config.json "
            f"records {'; '.join(facts)}), against the table's runs of the same seeds (command `{command}`; raw runs "
            f"`{runs_path}/`{left_out}). The bar for \"no change\" is the table row's seed-to-seed spread.", "", *check]


def main(argv):
    del argv
    table, reruns = (os.path.join(FLAGS.results_tree, path) for path in (TABLE, RERUNS))
    command = own_dirs_command("benchmark_rerun", FLAGFILE, METHODS, SEEDS, reruns)
    print("\n".join(check_lines(collect_all_seeds(table, METHODS), collect_all_seeds(reruns, METHODS), reruns, command)))


if __name__ == "__main__":
    app.run(main)
